import { beforeAll, expect, test } from 'vitest';
import { createLogger } from '../src/logger.js';
import { RetentionLoop, type RetentionOptions } from '../src/loops/retention.js';
import { eventMonthsSince } from './events.support.js';
import { useServer } from './helpers.js';

const api = useServer();

beforeAll(async () => {
  // Four past months of partitions, as a ledger a few months old has them (the test server's
  // database is its own and holds no events yet).
  const now = new Date();
  await eventMonthsSince(api.server.sql, new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 4, 1)));
});

const DAY = 86_400_000;

function retention(options: RetentionOptions): RetentionLoop {
  return new RetentionLoop(api.server.sql, api.server.databaseUrl, createLogger('silent'), { signInEveryMs: 1e12, ...options });
}

/** Appends `n` events of `kind` received `days` ago, their ids taken as the ingest statement takes them. */
async function received(kind: string, n: number, days: number): Promise<void> {
  const ws = await api.server.createWorkspace();
  await api.server.sql`
    WITH e AS (
      INSERT INTO events (workspace_id, id, kind, resource_kind, resource_id, source, received_at, occurred_at)
      SELECT ${ws.workspaceId}, gen_random_uuid(), ${kind}, 'test', 'r', 'api', now() - make_interval(days => ${days}),
             now() - make_interval(days => ${days})
      FROM generate_series(1, ${n})
      RETURNING workspace_id, id, received_at)
    INSERT INTO event_ids (workspace_id, id, received_at) SELECT workspace_id, id, received_at FROM e`;
}

async function counts(): Promise<Record<string, number>> {
  const rows = await api.server.sql<{ kind: string; n: number }[]>`
    SELECT kind, count(*)::int AS n FROM events WHERE kind LIKE 'keep.%' OR kind LIKE 'old.%' GROUP BY kind`;
  return Object.fromEntries(rows.map((r) => [r.kind, r.n]));
}

async function eventMonths(): Promise<string[]> {
  const rows = await api.server.sql<{ name: string }[]>`SELECT name FROM table_partitions WHERE parent = 'events' ORDER BY ends`;
  return rows.map((r) => r.name);
}

/** The partition of `events` holding the time `days` ago. */
function monthOf(days: number): string {
  return `events_${new Date(Date.now() - days * DAY).toISOString().slice(0, 7).replace('-', '_')}`;
}

test('events go a month at a time once the whole month is past the retention (30 days unless set), with their ids in bounded statements, and none without a retention', async () => {
  // 100 days ago is in a month wholly past a 30-day window; 29 and 10 days ago are in months that are not.
  await received('old.expired', 7, 100);
  await received('keep.edge', 1, 29);
  await received('keep.recent', 3, 10);
  const before = await eventMonths();
  expect(before).toContain(monthOf(100));

  expect(await retention({ eventRetentionDays: null }).tick()).toBe(0);
  expect(await counts()).toEqual({ 'old.expired': 7, 'keep.edge': 1, 'keep.recent': 3 });
  expect(await eventMonths()).toEqual(before);

  // The default window; two partitions and two statements of three ids a pass, passes following
  // until nothing is left.
  const loop = retention({ eventsPerBatch: 3, batchesPerPass: 2 });
  const passes: { months: number; ids: number }[] = [];
  for (let months = before; passes.length < 10; ) {
    const [idsBefore] = await api.server.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM event_ids`;
    const done = await loop.tick();
    const now = await eventMonths();
    const [idsAfter] = await api.server.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM event_ids`;
    const pass = { months: months.length - now.length, ids: (idsBefore?.n ?? 0) - (idsAfter?.n ?? 0) };
    expect(done).toBe(pass.months + pass.ids);
    if (done === 0) break;
    passes.push(pass);
    months = now;
  }
  const after = await eventMonths();
  expect(after).not.toContain(monthOf(100));
  expect(after).toContain(monthOf(29));
  expect(after).toContain(monthOf(10));
  expect(passes.every((p) => p.months <= 2 && p.ids <= 6)).toBe(true);
  expect(passes.reduce((sum, p) => sum + p.ids, 0)).toBe(7);
  expect(passes.reduce((sum, p) => sum + p.months, 0)).toBe(before.length - after.length);
  expect(await counts()).toEqual({ 'keep.edge': 1, 'keep.recent': 3 });
  const [ids] = await api.server.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM event_ids`;
  expect(ids?.n).toBe(4);
});
