import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, expect, test } from 'vitest';
import { outpost } from './cli.support.js';

const CLI_VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string })
  .version;
const KEY = 'op_test_key';

const WHOAMI = {
  workspace: { id: '00000000-0000-4000-8000-000000000001', slug: 'acme', name: 'Acme', createdAt: '2026-01-01T00:00:00.000Z' },
  principal: { kind: 'api_key', id: '00000000-0000-4000-8000-000000000002', role: 'owner' },
};

const servers: Server[] = [];
afterAll(async () => {
  for (const s of servers) await new Promise<void>((resolve) => s.close(() => resolve()));
});

/** A stand-in API at the process seam: `answer` decides each reply; the headers of every request are kept. */
async function api(
  answer: (url: string) => { status: number; body: unknown; headers?: Record<string, string> },
): Promise<{ url: string; seen: IncomingHttpHeaders[] }> {
  const seen: IncomingHttpHeaders[] = [];
  const server = createServer((req, res) => {
    seen.push(req.headers);
    req.resume();
    const { status, body, headers } = answer(req.url ?? '');
    res.writeHead(status, { 'content-type': status >= 400 ? 'application/problem+json' : 'application/json', ...headers });
    res.end(JSON.stringify(body));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

const noRoute = (url: string) => ({
  status: 404,
  body: { type: 'about:blank', title: 'Not found', status: 404, code: 'not_found', detail: `no route GET ${url}` },
});

test('every request names the CLI and its version: outpost-version and the user agent outpost-cli/<version>', async () => {
  const server = await api(() => ({ status: 200, body: WHOAMI, headers: { 'outpost-server-version': CLI_VERSION } }));
  const result = await outpost(['whoami'], { env: { OUTPOST_API_URL: server.url, OUTPOST_API_KEY: KEY } });
  expect(result.code).toBe(0);
  expect(server.seen[0]?.['outpost-version']).toBe(CLI_VERSION);
  expect(server.seen[0]?.['user-agent']).toBe(`outpost-cli/${CLI_VERSION}`);
});

test('a CLI the server no longer supports prints the server’s one line and exits non-zero', async () => {
  const detail =
    'outpost-cli 0.2.0 is too old for this server (9.1.0), which supports 9.0.0 and newer: upgrade it with `npm install -g @outpost/cli@^9.1`';
  const server = await api(() => ({
    status: 426,
    body: { type: 'urn:outpost:problem:client_too_old', title: 'Upgrade required', status: 426, code: 'client_too_old', detail },
    headers: { 'outpost-server-version': '9.1.0' },
  }));
  const result = await outpost(['whoami'], { env: { OUTPOST_API_URL: server.url, OUTPOST_API_KEY: KEY } });
  expect(result.code).not.toBe(0);
  expect(result.stderr).toBe(`error: ${detail}\n`);
});

test('against an older server, a route it does not have adds one line saying the server is older', async () => {
  const older = await api(noRoute);
  const result = await outpost(['whoami'], { env: { OUTPOST_API_URL: older.url, OUTPOST_API_KEY: KEY } });
  expect(result.code).not.toBe(0);
  const notes = result.stderr.split('\n').filter((l) => l.includes('note:'));
  expect(notes).toEqual([
    `  note: the server runs Outpost older than 0.2.0, older than this CLI (${CLI_VERSION}), and may not know this yet: upgrade the server, or use \`npm install -g @outpost/cli@^0.1\``,
  ]);
});

test('the note stays out of the way: not when the older server answers, nor when a server as new misses a route', async () => {
  const olderAnswering = await api(() => ({ status: 200, body: WHOAMI }));
  const answered = await outpost(['whoami'], { env: { OUTPOST_API_URL: olderAnswering.url, OUTPOST_API_KEY: KEY } });
  expect(answered.code).toBe(0);
  expect(answered.stderr).not.toContain('note:');

  const sameVersion = await api((url) => ({ ...noRoute(url), headers: { 'outpost-server-version': CLI_VERSION } }));
  const missed = await outpost(['whoami'], { env: { OUTPOST_API_URL: sameVersion.url, OUTPOST_API_KEY: KEY } });
  expect(missed.code).not.toBe(0);
  expect(missed.stderr).toContain('no route GET /api/v1/whoami');
  expect(missed.stderr).not.toContain('note:');
});

test('a newer server’s values the CLI does not know are printed as they are, and its new fields are left out', async () => {
  const newer = await api(() => ({
    status: 200,
    body: { ...WHOAMI, principal: { kind: 'service_account', id: 'sa-1', role: 'auditor' }, region: 'eu-west' },
    headers: { 'outpost-server-version': '9.0.0' },
  }));
  const result = await outpost(['whoami'], { env: { OUTPOST_API_URL: newer.url, OUTPOST_API_KEY: KEY } });
  expect(result.stderr).toBe('');
  expect(result.stdout).toContain('principal:  service_account sa-1 (auditor)');
  expect(result.code).toBe(0);
});
