import { randomUUID } from 'node:crypto';
import type postgres from 'postgres';
import { runRetentionBench, timedUpgrade } from './support/partition-retention.js';
import type { Row } from './support/row.js';

/**
 * Log retention: a month of lines leaving the database. Lines live in monthly partitions (migration
 * 0042), and retention removes a month whole: `detach_oldest_partition` (a catalog change, the
 * only step that holds `logs`), then `drop_detached_partitions` (its files removed). Baseline:
 * the same number of lines deleted from a month of the same size in 20,000-line statements, the way
 * retention deleted before partitioning (the cheapest such DELETE: by ctid, no index lookup to find
 * the rows), then the VACUUM that makes their space reusable. `BENCH_LOG_MONTH_LINES` sets the
 * lines of a month (default 2,000,000; a month of a year of 100 M lines is about 8.3 M).
 *
 * Also the upgrade: migration 0042 run on a database whose unpartitioned log table holds a month of
 * lines (it becomes the first partition, read once and given its new key). Baseline: building that
 * key alone on the same table, just before.
 */
export const timeoutSeconds = 900;

const LINES = Number(process.env.BENCH_LOG_MONTH_LINES ?? 2_000_000);
const DELETE_BATCH = 20_000;
const RUNS = 200;

export let notes: string | null = null;

async function fillMonth(sql: postgres.Sql, workspaceId: string, partition: string, start: Date): Promise<void> {
  const runs = Array.from({ length: RUNS }, () => randomUUID());
  const perRun = Math.ceil(LINES / RUNS);
  for (let i = 0; i < RUNS; i += 20) {
    await sql`
      INSERT INTO logs (flow_run_id, attempt, seq, workspace_id, timestamp, level, message, stream)
      SELECT r.id, 1, s, ${workspaceId}, ${start}::timestamptz + (r.n * ${perRun} + s) * interval '1 second' / 8,
             CASE WHEN s % 10 = 0 THEN 'warning' ELSE 'info' END,
             'epoch ' || s / 100 || ' step ' || s || ': loss=0.' || (s * 7919) % 1000000 || ' lr=0.001 batch=1000 shard=' || s % 8,
             'flow'
      FROM unnest(${sql.array(runs.slice(i, i + 20))}::uuid[]) WITH ORDINALITY AS r(id, n)
      CROSS JOIN generate_series(1, ${perRun}) s`;
  }
  await sql.unsafe(`ANALYZE ${partition}`);
}

/** Milliseconds migration 0042 takes over a table of `LINES` lines, and milliseconds its key alone takes to build. */
function upgrade(): Promise<{ migrateMs: number; indexMs: number }> {
  return timedUpgrade({
    tag: '0042_logs_partitioned',
    fill: (sql, workspaceId) => fillMonth(sql, workspaceId, 'logs', new Date(Date.now() - 40 * 86_400_000)),
    newKey: 'logs (flow_run_id, attempt, seq, timestamp)',
    check: async (sql) => {
      const [moved] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM logs_history`;
      if (moved?.n !== Math.ceil(LINES / RUNS) * RUNS) throw new Error(`the migration kept ${moved?.n} lines`);
    },
  });
}

export async function run(): Promise<Row[]> {
  // Baseline: a month's lines deleted in bounded statements, then vacuumed; retention as it is:
  // another month detached (the step that holds logs), then dropped (its files removed, holding nothing).
  const result = await runRetentionBench({
    parent: 'logs',
    unit: 'log lines',
    count: Math.ceil(LINES / RUNS) * RUNS,
    batch: DELETE_BATCH,
    batchName: '20,000-line',
    fill: (sql, workspaceId, month) => fillMonth(sql, workspaceId, month.name, month.starts),
    migration: '0042',
    upgrade,
  });
  notes = result.notes;
  return result.rows;
}
