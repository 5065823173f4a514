import { expect, test } from 'vitest';
import { capturedLogger, useServer } from './helpers.js';

const log = capturedLogger('info');
const lines = log.records;

const api = useServer({ loops: false, logger: log.logger });

test('an unexpected failure is a 500 without details, logged with its request id', async () => {
  // Break the database under the API: the handler's query fails in a way no input explains.
  await api.server.sql`ALTER TABLE flows RENAME TO flows_moved`;
  try {
    const res = await api.owner('GET', '/flows', { headers: { 'x-request-id': 'broken-1' } });
    expect(res.status).toBe(500);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(res.body).toMatchObject({ code: 'internal', status: 500, requestId: 'broken-1' });
    expect(res.text).not.toMatch(/relation|does not exist|SELECT/);
    expect(res.text).not.toMatch(/\.(ts|js):\d+/);
    const logged = lines.find((l) => l.requestId === 'broken-1' && l.msg === 'unexpected error');
    expect(logged).toBeDefined();
    expect(JSON.stringify(logged)).toContain('flows');
  } finally {
    await api.server.sql`ALTER TABLE flows_moved RENAME TO flows`;
  }
  expect((await api.owner('GET', '/flows')).status).toBe(200);
});

test('request logs never carry credentials', async () => {
  await api.owner('GET', '/whoami', { headers: { 'x-request-id': 'no-secrets' } });
  const all = JSON.stringify(lines);
  expect(all).toContain('no-secrets');
  expect(all).not.toContain(api.server.ownerKey);
});

test('readyz turns unready when migrations are missing', async () => {
  await api.server.sql`ALTER TABLE drizzle.__drizzle_migrations RENAME TO moved_migrations`;
  try {
    const res = await api.server.app.request('/readyz');
    expect(res.status).toBe(503);
    expect(((await res.json()) as { code: string }).code).toBe('unavailable');
  } finally {
    await api.server.sql`ALTER TABLE drizzle.moved_migrations RENAME TO __drizzle_migrations`;
  }
  expect((await api.server.app.request('/readyz')).status).toBe(200);
});
