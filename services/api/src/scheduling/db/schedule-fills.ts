import { RUNS_CHANNEL } from '../../db/channels.js';
import type { Db } from '../../db/client.js';
import type { deploymentSchedules, Row } from '../../db/schema.js';

/** An active schedule of an unpaused deployment that is due for a fill, as the scheduler reads it. */
export interface DueSchedule
  extends Pick<
    Row<typeof deploymentSchedules>,
    'id' | 'slug' | 'cron' | 'timezone' | 'interval_seconds' | 'anchor_date' | 'catchup' | 'filled_until' | 'partitions'
  > {
  /** The row's xmin: the fill is written only if the row has not changed since it was read. */
  version: string;
  deployment_name: string;
}

/** The database clock, which alone decides what is due (a replica's clock may be wrong). */
export async function databaseNow(db: Db): Promise<Date> {
  const [row] = await db<{ now: Date }[]>`SELECT now()::timestamptz(3) AS now`;
  if (!row) throw new Error('SELECT now() returned no row');
  return row.now;
}

/**
 * Due schedules after `afterId`, in id order: a pass walks them once as a keyset, so a schedule
 * that stays due (a catch-up backlog) waits for the next pass instead of looping within this one.
 * The partial index on next_fill_at keeps a pass with little to do cheap however many schedules exist.
 *
 * A schedule of an archived workspace is not due: the workspace takes no new work. Archiving also
 * sets its schedules aside as pausing does (db/organisations.ts), and restoring fills them from now;
 * this check covers a pass that read its schedules as the archive committed. It joins the small
 * workspaces table by its key, and every pass reads it afresh.
 */
export async function findDueSchedules(db: Db, now: Date, afterId: string | null, limit: number): Promise<DueSchedule[]> {
  return db<DueSchedule[]>`
    SELECT s.id, s.xmin::text AS version, s.slug, d.name AS deployment_name, s.cron, s.timezone, s.interval_seconds,
           s.anchor_date, s.catchup, s.filled_until, s.partitions
    FROM deployment_schedules s
    JOIN deployments d ON d.id = s.deployment_id
    JOIN workspaces w ON w.id = s.workspace_id
    WHERE s.active AND NOT d.paused AND s.next_fill_at <= ${now} AND w.archived_at IS NULL
      ${afterId === null ? db`` : db`AND s.id > ${afterId}`}
    ORDER BY s.id
    LIMIT ${limit}`;
}

export interface ScheduleFill {
  id: string;
  version: string;
  filledUntil: Date;
  /** Null: the schedule has no time left, it is never due again. */
  nextFillAt: Date | null;
  /** `partitionKey`: the time window the run works on, for a schedule with time-window partitions. */
  runs: { key: string; name: string; at: Date; partitionKey?: string | null }[];
}

export interface FillResult {
  /** Schedules whose fill was written (the others changed since they were read). */
  filled: number;
  /** Runs inserted; a time that already had its run (same idempotency key) inserts nothing. */
  created: number;
}

/**
 * Writes one batch of fills in one statement: moves each schedule's mark (compare-and-set on the
 * xmin read with it), inserts the runs of the schedules whose mark moved as one multi-row INSERT …
 * ON CONFLICT DO NOTHING on the (workspace, deployment, idempotency key) index, appends their
 * SCHEDULED history, and nudges the waiting claims of each pool that got runs.
 *
 * Why it is safe with several passes at once (two replicas, a leader change, tests): a schedule row
 * another pass or an API change holds is skipped (SKIP LOCKED), and one changed since it was read
 * fails the xmin check, so only one pass writes a given mark and its runs; the unique key makes
 * even a repeated time insert nothing. Pausing, removing or redefining a schedule updates its row
 * first, so a pass that read it before cannot add runs afterwards. Runs are built from the
 * deployment's row as it is when the statement runs (parameters merged shallowly with the
 * schedule's), exactly as the refresh after a redeploy builds them.
 */
export async function applyFills(db: Db, fills: ScheduleFill[]): Promise<FillResult> {
  if (fills.length === 0) return { filled: 0, created: 0 };
  const ids = fills.map((f) => f.id);
  const versions = fills.map((f) => f.version);
  const marks = fills.map((f) => f.filledUntil.toISOString());
  const next = fills.map((f) => (f.nextFillAt ? f.nextFillAt.toISOString() : 'infinity'));
  // Each schedule's runs, found by its id. The statement is prepared once and then runs a generic
  // plan, which takes any array unnested from a parameter for 10 rows and any CTE for one: a join of
  // the runs to the filled schedules became a nested loop over both, 500 × 2,100 rows a batch
  // (160 of a batch's 450 ms in a first fill, `npm run bench -- scheduler-tick`). A key lookup into
  // one jsonb object per filled schedule costs the same whatever the plan.
  const slots: Record<string, { key: string; name: string; at: string; partition_key: string | null }[]> = {};
  for (const f of fills) {
    slots[f.id] = f.runs.map((run) => ({
      key: run.key,
      name: run.name,
      at: run.at.toISOString(),
      partition_key: run.partitionKey ?? null,
    }));
  }
  const [row] = await db<{ filled: number; created: number }[]>`
    WITH locked AS (
      SELECT s.id, i.filled_until, i.next_fill_at
      FROM unnest(${db.array(ids)}::uuid[], ${db.array(versions)}::text[], ${db.array(marks)}::timestamptz[],
                  ${db.array(next)}::timestamptz[]) AS i(id, version, filled_until, next_fill_at)
      JOIN deployment_schedules s ON s.id = i.id
      WHERE s.xmin::text = i.version AND s.active
      FOR UPDATE OF s SKIP LOCKED
    ), filled AS (
      UPDATE deployment_schedules s SET filled_until = l.filled_until, next_fill_at = l.next_fill_at
      FROM locked l
      WHERE s.id = l.id
      RETURNING s.id, s.workspace_id, s.deployment_id, s.parameters
    ), run AS (
      INSERT INTO flow_runs (workspace_id, flow_id, deployment_id, work_pool_id, work_queue_id, name, parameters, tags, labels,
                             state_type, state_name, state_timestamp, attempt, max_retries, retry_delay_seconds,
                             retry_backoff, retry_jitter, expected_start_time, idempotency_key, schedule_id, partition_key,
                             created_at, updated_at)
      SELECT f.workspace_id, d.flow_id, d.id, d.work_pool_id, d.work_queue_id, t.name, d.parameters || f.parameters, d.tags,
             d.labels, 'SCHEDULED', 'Scheduled', now(), 1, d.retries, d.retry_delay_seconds, d.retry_backoff, d.retry_jitter,
             t.at, t.key, f.id, t.partition_key, now(), now()
      FROM filled f
      JOIN deployments d ON d.id = f.deployment_id
      CROSS JOIN LATERAL jsonb_to_recordset(${db.json(slots)}::jsonb -> f.id::text)
        AS t(key text, name text, at timestamptz, partition_key text)
      WHERE NOT d.paused
      ON CONFLICT (workspace_id, deployment_id, idempotency_key) DO NOTHING
      RETURNING id, workspace_id, attempt, state_timestamp, work_pool_id
    ), history AS (
      INSERT INTO flow_run_states (workspace_id, flow_run_id, attempt, type, name, timestamp)
      SELECT workspace_id, id, attempt, 'SCHEDULED', 'Scheduled', state_timestamp FROM run
    )
    SELECT (SELECT count(*) FROM filled)::int AS filled, (SELECT count(*) FROM run)::int AS created,
           (SELECT count(pg_notify(${RUNS_CHANNEL}, p.work_pool_id::text)) FROM (SELECT DISTINCT work_pool_id FROM run) p) AS notified`;
  return { filled: row?.filled ?? 0, created: row?.created ?? 0 };
}
