import { afterAll, beforeAll, expect, test } from 'vitest';
import { createLogger } from '../src/logger.js';
import { RetentionLoop, type RetentionOptions } from '../src/loops/retention.js';
import { startTestServer, type TestServer } from '../src/testing.js';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ loops: false });
});
afterAll(async () => {
  await server?.close();
});

function retention(options: RetentionOptions): RetentionLoop {
  return new RetentionLoop(server.sql, server.databaseUrl, createLogger('silent'), { signInEveryMs: 1e12, ...options });
}

/** Appends `n` events of `kind` received `days` ago. */
async function received(kind: string, n: number, days: number): Promise<void> {
  const ws = await server.createWorkspace();
  await server.sql`
    INSERT INTO events (workspace_id, kind, resource_kind, resource_id, source, received_at, occurred_at)
    SELECT ${ws.workspaceId}, ${kind}, 'test', 'r', 'api', now() - make_interval(days => ${days}), now() - make_interval(days => ${days})
    FROM generate_series(1, ${n})`;
}

async function counts(): Promise<Record<string, number>> {
  const rows = await server.sql<{ kind: string; n: number }[]>`
    SELECT kind, count(*)::int AS n FROM events WHERE kind LIKE 'keep.%' OR kind LIKE 'old.%' GROUP BY kind`;
  return Object.fromEntries(rows.map((r) => [r.kind, r.n]));
}

test('events older than the retention are deleted in bounded statements, newer ones are kept, and none without a retention', async () => {
  await received('old.expired', 7, 31);
  await received('keep.recent', 4, 29);

  expect(await retention({ eventRetentionDays: null, eventsPerBatch: 3 }).tick()).toBe(0);
  expect(await counts()).toEqual({ 'old.expired': 7, 'keep.recent': 4 });

  // At most two statements of three events a pass: the pass deletes six and the next the last one.
  const loop = retention({ eventRetentionDays: 30, eventsPerBatch: 3, batchesPerPass: 2 });
  expect(await loop.tick()).toBe(6);
  expect(await counts()).toEqual({ 'old.expired': 1, 'keep.recent': 4 });
  expect(await loop.tick()).toBe(1);
  expect(await counts()).toEqual({ 'keep.recent': 4 });
  expect(await loop.tick()).toBe(0);
});

test('the default retention is 30 days', async () => {
  await received('old.default', 2, 31);
  expect(await retention({}).tick()).toBeGreaterThanOrEqual(2);
  expect((await counts())['old.default']).toBeUndefined();
});
