import type postgres from 'postgres';
import { runRetentionBench, timedUpgrade } from './support/partition-retention.js';
import type { Row } from './support/row.js';

/**
 * Task-run retention: a month of task runs leaving the database. Task runs live in monthly
 * partitions by their creation (migration 0045), and retention removes a month whole:
 * `detach_oldest_partition` (a catalog change, the only step that holds `task_runs`), then
 * `drop_detached_partitions` (its files removed). Baseline: the same number of task runs deleted
 * from a month of the same size in 5,000-row statements (by ctid, the cheapest such DELETE), then
 * the VACUUM that makes their space reusable. `BENCH_TASK_RUN_MONTH_ROWS` sets the task runs of a
 * month (default 1,000,000; a month of a year of 20 M task runs is about 1.7 M).
 *
 * Also the upgrade: migration 0045 run on a database whose unpartitioned `task_runs` holds a month
 * of task runs (it becomes the first partition, read once for its new key). Baseline: building the
 * new key alone on the same table, just before.
 */
export const timeoutSeconds = 900;

const TASK_RUNS = Number(process.env.BENCH_TASK_RUN_MONTH_ROWS ?? 1_000_000);
const DELETE_BATCH = 5_000;
/** Task runs a flow run has here: a mapped step's worth. */
const PER_RUN = 1_000;

export let notes: string | null = null;

/**
 * Appends `TASK_RUNS` task runs created over the month from `start` into `task_runs`, `PER_RUN` to a
 * flow run, as a worker's batches leave them (created RUNNING, then COMPLETED).
 */
async function fillMonth(sql: postgres.Sql, workspaceId: string, start: Date): Promise<void> {
  const [flow] = await sql<{ id: string }[]>`
    INSERT INTO flows (workspace_id, name) VALUES (${workspaceId}, ${`bench-${start.toISOString().slice(0, 7)}`}) RETURNING id`;
  await sql`
    INSERT INTO flow_runs (workspace_id, flow_id, name, state_type, state_name, created_at)
    SELECT ${workspaceId}, ${flow?.id as string}, 'run-' || g, 'COMPLETED', 'Completed', ${start}::timestamptz
    FROM generate_series(1, ${Math.ceil(TASK_RUNS / PER_RUN)}) g`;
  const step = (28 * 86_400) / TASK_RUNS;
  for (let done = 0; done < TASK_RUNS; done += 250_000) {
    await sql`
      INSERT INTO task_runs (id, workspace_id, flow_run_id, flow_run_attempt, name, task_key, dynamic_key, run_count,
                             state_type, state_name, state_timestamp, state_seq, start_time, end_time, created_at, updated_at)
      WITH runs AS MATERIALIZED (SELECT array_agg(id ORDER BY id) AS ids FROM flow_runs WHERE flow_id = ${flow?.id as string})
      SELECT gen_random_uuid(), ${workspaceId}, runs.ids[1 + (g - 1) / ${PER_RUN}::int],
             1, 'score', 'score-0[' || g || ']', g::text, 1, 'COMPLETED', 'Completed', c + interval '2 seconds', 1,
             c, c + interval '2 seconds', c, c + interval '2 seconds'
      FROM runs, generate_series(${done + 1}::int, ${Math.min(done + 250_000, TASK_RUNS)}::int) g
      CROSS JOIN LATERAL (SELECT ${start}::timestamptz + (g * ${step}::float8) * interval '1 second' AS c) t`;
  }
  await sql`ANALYZE task_runs`;
}

/** Milliseconds migration 0045 takes over `TASK_RUNS` task runs, and milliseconds its new key alone takes to build. */
function upgrade(): Promise<{ migrateMs: number; indexMs: number }> {
  return timedUpgrade({
    tag: '0045_task_runs_partitioned',
    fill: (sql, workspaceId) => fillMonth(sql, workspaceId, new Date(Date.now() - 40 * 86_400_000)),
    newKey: 'task_runs (id, created_at)',
    check: async (sql) => {
      const [moved] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM task_runs_history`;
      if (moved?.n !== TASK_RUNS) throw new Error(`the migration kept ${moved?.n} task runs`);
    },
  });
}

export async function run(): Promise<Row[]> {
  const result = await runRetentionBench({
    parent: 'task_runs',
    unit: 'task runs',
    count: TASK_RUNS,
    batch: DELETE_BATCH,
    batchName: '5,000-row',
    fill: (sql, workspaceId, month) => fillMonth(sql, workspaceId, month.starts),
    migration: '0045',
    upgrade,
  });
  notes = result.notes;
  return result.rows;
}
