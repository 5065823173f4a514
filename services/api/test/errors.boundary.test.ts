import { afterAll, beforeAll, expect, test } from 'vitest';
import { startTestServer, type TestServer } from '../src/testing/index.js';
import { type Call, capturedLogger, client } from './helpers.js';

let server: TestServer;
let owner: Call;
const log = capturedLogger('info');
const lines = log.records;

beforeAll(async () => {
  server = await startTestServer({ loops: false, logger: log.logger });
  owner = client(server, server.ownerKey);
});
afterAll(async () => {
  await server?.close();
});

test('an unexpected failure is a 500 without details, logged with its request id', async () => {
  // Break the database under the API: the handler's query fails in a way no input explains.
  await server.sql`ALTER TABLE flows RENAME TO flows_moved`;
  try {
    const res = await owner('GET', '/flows', { headers: { 'x-request-id': 'broken-1' } });
    expect(res.status).toBe(500);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(res.body).toMatchObject({ code: 'internal', status: 500, requestId: 'broken-1' });
    expect(res.text).not.toMatch(/relation|does not exist|SELECT/);
    expect(res.text).not.toMatch(/\.(ts|js):\d+/);
    const logged = lines.find((l) => l.requestId === 'broken-1' && l.msg === 'unexpected error');
    expect(logged).toBeDefined();
    expect(JSON.stringify(logged)).toContain('flows');
  } finally {
    await server.sql`ALTER TABLE flows_moved RENAME TO flows`;
  }
  expect((await owner('GET', '/flows')).status).toBe(200);
});

test('request logs never carry credentials', async () => {
  await owner('GET', '/whoami', { headers: { 'x-request-id': 'no-secrets' } });
  const all = JSON.stringify(lines);
  expect(all).toContain('no-secrets');
  expect(all).not.toContain(server.ownerKey);
});

test('readyz turns unready when migrations are missing', async () => {
  await server.sql`ALTER TABLE drizzle.__drizzle_migrations RENAME TO moved_migrations`;
  try {
    const res = await server.app.request('/readyz');
    expect(res.status).toBe(503);
    expect(((await res.json()) as { code: string }).code).toBe('unavailable');
  } finally {
    await server.sql`ALTER TABLE drizzle.moved_migrations RENAME TO __drizzle_migrations`;
  }
  expect((await server.app.request('/readyz')).status).toBe(200);
});
