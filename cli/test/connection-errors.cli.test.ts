import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { outpost, startWhoamiServer } from './cli.support.js';

type Server = Awaited<ReturnType<typeof startWhoamiServer>>;

let dir: string;
const servers: Server[] = [];

/** A self-signed certificate (its own CA) for `subjectAltName`, made with openssl. */
function certificate(name: string, subjectAltName: string): { key: string; cert: string; certPath: string } {
  const keyPath = join(dir, `${name}.key`);
  const certPath = join(dir, `${name}.pem`);
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      `/CN=${name}`,
      '-addext',
      `subjectAltName=${subjectAltName}`,
      '-keyout',
      keyPath,
      '-out',
      certPath,
    ],
    { stdio: 'ignore' },
  );
  return { key: readFileSync(keyPath, 'utf8'), cert: readFileSync(certPath, 'utf8'), certPath };
}

let forThisHost: { certPath: string; url: string };
let forAnotherHost: { certPath: string; url: string };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'outpost-tls-'));
  const right = certificate('right', 'IP:127.0.0.1');
  const wrong = certificate('wrong', 'DNS:api.elsewhere.test');
  const a = await startWhoamiServer({ tls: right });
  const b = await startWhoamiServer({ tls: wrong });
  servers.push(a, b);
  forThisHost = { certPath: right.certPath, url: a.url };
  forAnotherHost = { certPath: wrong.certPath, url: b.url };
});
afterAll(async () => {
  for (const s of servers) await s.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const KEY = 'op_test_key';

describe('an API behind TLS the CLI does not trust', () => {
  test('a self-signed certificate is one line naming the problem, and a hint to trust it', async () => {
    const result = await outpost(['whoami'], { env: { OUTPOST_API_URL: forThisHost.url, OUTPOST_API_KEY: KEY } });
    expect(result.code).toBe(3);
    expect(result.stderr).toBe(
      "error: cannot identify the API key: the API's TLS certificate was refused: it is self-signed (DEPTH_ZERO_SELF_SIGNED_CERT)\n" +
        '  trust it with NODE_EXTRA_CA_CERTS=<path to the certificate, PEM>\n',
    );
  });

  test('with the certificate trusted as the hint says, the same call succeeds', async () => {
    const result = await outpost(['whoami'], {
      env: { OUTPOST_API_URL: forThisHost.url, OUTPOST_API_KEY: KEY, NODE_EXTRA_CA_CERTS: forThisHost.certPath },
    });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });

  test('a trusted certificate issued for another host name says so', async () => {
    const result = await outpost(['whoami'], {
      env: { OUTPOST_API_URL: forAnotherHost.url, OUTPOST_API_KEY: KEY, NODE_EXTRA_CA_CERTS: forAnotherHost.certPath },
    });
    expect(result.code).toBe(3);
    expect(result.stderr).toBe(
      "error: cannot identify the API key: the API's TLS certificate was refused: it is not issued for this host name (ERR_TLS_CERT_ALTNAME_INVALID)\n" +
        '  use the host name the certificate names in the API URL\n',
    );
  });
});

describe('an API URL ending in /api', () => {
  test('the 404 of /api/api/v1/… comes with a hint to drop the suffix', async () => {
    const api = await startWhoamiServer();
    servers.push(api);
    for (const suffix of ['/api', '/api/']) {
      const result = await outpost(['whoami'], { env: { OUTPOST_API_URL: `${api.url}${suffix}`, OUTPOST_API_KEY: KEY } });
      expect(result.code).toBe(1);
      const lines = result.stderr.trimEnd().split('\n');
      expect(lines[0]).toBe('error: cannot identify the API key: Not found');
      expect(lines).toContain(`  the API URL ends in /api, and the CLI adds /api/v1 itself: drop the suffix (${api.url})`);
    }
  });
});
