import { OutpostClient } from '@outpost/sdk/client';
import { parseVersion } from '@outpost/sdk/contracts';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { judgeClient, oldestSupported, SERVER_VERSION, tooOldDetail } from '../src/http/client-versions.js';
import { startTestServer, type TestServer } from '../src/testing/index.js';
import { capturedLogger } from './helpers.js';

const v = (text: string) => {
  const parsed = parseVersion(text);
  if (!parsed) throw new Error(`not a version: ${text}`);
  return parsed;
};

describe('the support policy', () => {
  test.each([
    ['0.2.0', '0.2.0', 'supported'],
    ['0.2.0', '0.2.7', 'supported'],
    ['0.2.3', '0.1.0', 'supported'],
    ['0.2.0', '0.0.9', 'too_old'],
    ['0.2.0', '0.3.0', 'newer'],
    ['0.1.0', '0.0.1', 'supported'],
    ['0.0.4', '0.0.1', 'supported'],
    ['1.4.2', '1.3.0', 'supported'],
    ['1.4.2', '1.2.9', 'too_old'],
    ['1.4.2', '1.9.0', 'newer'],
    ['1.0.0', '0.9.0', 'too_old'],
    ['1.4.2', '2.0.0', 'newer'],
  ])('a %s server judges a %s client %s', (server, client, verdict) => {
    expect(judgeClient(v(server), v(client))).toBe(verdict);
  });

  test('the oldest supported client is the previous minor of the same major, from its first patch', () => {
    expect(oldestSupported(v('0.2.5'))).toEqual(v('0.1.0'));
    expect(oldestSupported(v('1.0.3'))).toEqual(v('1.0.0'));
  });

  test('a refusal says in one line who is too old, what is supported and how to upgrade', () => {
    const detail = tooOldDetail(v('0.2.0'), v('0.0.9'), 'worker');
    expect(detail).toBe(
      'outpost-worker 0.0.9 is too old for this server (0.2.0), which supports 0.1.0 and newer: upgrade it with `npm install -g @outpost/worker@^0.2`',
    );
    expect(tooOldDetail(v('0.2.0'), v('0.0.9'), null)).toContain('this Outpost client 0.0.9');
  });
});

describe('over HTTP', () => {
  let server: TestServer;
  const log = capturedLogger('info');
  const lines = log.records;

  beforeAll(async () => {
    server = await startTestServer({ loops: false, logger: log.logger });
  });
  afterAll(async () => {
    await server?.close();
  });

  test('the server names its own version, that of its package', async () => {
    const { createRequire } = await import('node:module');
    const pkg = createRequire(import.meta.url)('../package.json') as { version: string };
    expect(SERVER_VERSION).toBe(pkg.version);
  });

  test('every answer carries outpost-server-version: probes, 404s, refusals and successes', async () => {
    const answers = await Promise.all([
      fetch(`${server.url}/healthz`),
      fetch(`${server.url}/readyz`),
      fetch(`${server.url}/api/v1/no-such-route`, { headers: { authorization: `Bearer ${server.ownerKey}` } }),
      fetch(`${server.url}/api/v1/whoami`),
      fetch(`${server.url}/api/v1/whoami`, { headers: { authorization: `Bearer ${server.ownerKey}` } }),
    ]);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 404, 401, 200]);
    for (const answer of answers) expect(answer.headers.get('outpost-server-version')).toBe(SERVER_VERSION);
  });

  test('a client too old gets 426 client_too_old in one line, before its key is even looked at', async () => {
    const old = new OutpostClient({ baseUrl: server.url, token: 'op_not-a-key', identity: { name: 'worker', version: '0.0.9' } });
    try {
      const result = await old.call('whoami', {});
      expect(result.ok).toBe(false);
      if (result.ok || result.kind !== 'http_error') throw new Error('expected an HTTP error');
      expect(result.status).toBe(426);
      expect(result.problem?.code).toBe('client_too_old');
      expect(result.problem?.detail).toMatch(
        /^outpost-worker 0\.0\.9 is too old for this server \(\d+\.\d+\.\d+\), which supports /,
      );
      expect(result.problem?.detail).toContain('`npm install -g @outpost/worker@^');
      expect(result.problem?.detail).not.toContain('\n');
    } finally {
      await old.close();
    }
    expect(lines.some((l) => l.msg?.toString().startsWith('refused a client too old: outpost-worker 0.0.9'))).toBe(true);
  });

  test('requests without a version, with one that is not a version, or from a newer client are served as before', async () => {
    const auth = { authorization: `Bearer ${server.ownerKey}` };
    const bare = await fetch(`${server.url}/api/v1/whoami`, { headers: auth });
    const garbled = await fetch(`${server.url}/api/v1/whoami`, { headers: { ...auth, 'outpost-version': 'banana' } });
    const newer = await fetch(`${server.url}/api/v1/whoami`, {
      headers: { ...auth, 'outpost-version': '9.0.0', 'user-agent': 'outpost-cli/9.0.0' },
    });
    expect([bare.status, garbled.status, newer.status]).toEqual([200, 200, 200]);
  });

  test('the SDK client of this checkout, which names its own version, is served', async () => {
    const sdk = new OutpostClient({ baseUrl: server.url, token: server.ownerKey });
    try {
      expect((await sdk.call('whoami', {})).ok).toBe(true);
    } finally {
      await sdk.close();
    }
  });
});
