import { deleteExpiredEventIds } from '@outpost/api/testing';
import type postgres from 'postgres';
import { runRetentionBench, timedUpgrade } from './support/partition-retention.js';
import { type Row, row } from './support/row.js';

/**
 * Event retention: a month of the ledger leaving the database. Events live in monthly partitions by
 * the time they were received (migration 0044), and retention removes a month whole:
 * `detach_oldest_partition` (a catalog change, the only step that holds `events`), then
 * `drop_detached_partitions` (its files removed), then the month's ids leave `event_ids` in
 * 5,000-row statements (a range of its `received_at` index). Baseline: the same number of events
 * deleted from a month of the same size in 5,000-event statements, the way retention deleted before
 * partitioning (here by ctid, the cheapest such DELETE, since the index it walked is gone), then
 * the VACUUM that makes their space reusable. `BENCH_EVENT_MONTH_EVENTS` sets the events of a month
 * (default 1,000,000; a month of a year of 10 M events is about 0.83 M).
 *
 * Also the upgrade: migration 0044 run on a database whose unpartitioned ledger holds a month of
 * events (it becomes the first partition, read once for its new key, and its ids are copied to
 * `event_ids`). Baseline: building the new key alone on the same table, just before.
 */
export const timeoutSeconds = 900;

const EVENTS = Number(process.env.BENCH_EVENT_MONTH_EVENTS ?? 1_000_000);
const DELETE_BATCH = 5_000;

export let notes: string | null = null;

/**
 * Appends `EVENTS` events received over the month from `start` into `events`, with their ids in
 * `event_ids` when `withIds` (as the ingest statement stores them; before 0044 there is no such table).
 */
async function fillMonth(sql: postgres.Sql, workspaceId: string, start: Date, withIds: boolean): Promise<void> {
  const step = (28 * 86_400) / EVENTS;
  for (let done = 0; done < EVENTS; done += 250_000) {
    const rows = sql`
      SELECT ${workspaceId}::uuid AS workspace_id, gen_random_uuid() AS id,
             ${start}::timestamptz + (g * ${step}::float8) * interval '1 second' AS received_at,
             'flow-run.' || (g % 7) AS kind, gen_random_uuid()::text AS resource_id, g
      FROM generate_series(${done + 1}::int, ${Math.min(done + 250_000, EVENTS)}::int) g`;
    const insert = sql`
      INSERT INTO events (workspace_id, id, occurred_at, received_at, kind, resource_kind, resource_id, resource_name, related, payload, source)
      SELECT workspace_id, id, received_at, received_at, kind, 'flow-run', resource_id, 'run-' || g,
             jsonb_build_array(jsonb_build_object('kind', 'flow', 'id', resource_id, 'name', 'orders-etl')),
             jsonb_build_object('state', 'COMPLETED', 'n', g), 'system'
      FROM rows`;
    if (withIds) {
      await sql`
        WITH rows AS (${rows}), e AS (${insert} RETURNING workspace_id, id, received_at)
        INSERT INTO event_ids (workspace_id, id, received_at) SELECT workspace_id, id, received_at FROM e`;
    } else {
      await sql`WITH rows AS (${rows}) ${insert}`;
    }
  }
  await sql`ANALYZE events`;
}

/** Milliseconds migration 0044 takes over a ledger of `EVENTS` events, and milliseconds its new key alone takes to build. */
function upgrade(): Promise<{ migrateMs: number; indexMs: number }> {
  return timedUpgrade({
    tag: '0044_events_partitioned',
    fill: (sql, workspaceId) => fillMonth(sql, workspaceId, new Date(Date.now() - 40 * 86_400_000), false),
    newKey: 'events (seq, received_at)',
    check: async (sql) => {
      const [moved] = await sql<{ n: number; ids: number }[]>`
        SELECT (SELECT count(*)::int FROM events_history) AS n, (SELECT count(*)::int FROM event_ids) AS ids`;
      if (moved?.n !== EVENTS || moved.ids !== EVENTS)
        throw new Error(`the migration kept ${moved?.n} events, ${moved?.ids} ids`);
    },
  });
}

export async function run(): Promise<Row[]> {
  // Baseline: a month's events deleted in bounded statements, then vacuumed; retention as it is:
  // another month detached (the step that holds events) and dropped, then its ids.
  const result = await runRetentionBench({
    parent: 'events',
    unit: 'events',
    count: EVENTS,
    batch: DELETE_BATCH,
    batchName: '5,000-event',
    fill: (sql, workspaceId, month, dropped) => fillMonth(sql, workspaceId, month.starts, dropped),
    migration: '0044',
    upgrade,
    afterDrop: async (sql, baseline) => {
      const idsStarted = performance.now();
      let ids = 0;
      for (;;) {
        const deleted = await deleteExpiredEventIds(sql, DELETE_BATCH);
        ids += deleted;
        if (deleted < DELETE_BATCH) break;
      }
      const idsMs = performance.now() - idsStarted;
      if (ids !== EVENTS) throw new Error(`expected ${EVENTS} ids deleted, deleted ${ids}`);
      const millions = (EVENTS / 1e6).toFixed(1);
      return {
        rows: [row(`retention: then delete its ${millions} M ids from event_ids, 5,000 a statement`, idsMs, 'ms', baseline)],
        note: `Deleting its ${ids.toLocaleString('en')} ids from event_ids took ${idsMs.toFixed(0)} ms.`,
      };
    },
  });
  notes = result.notes;
  return result.rows;
}
