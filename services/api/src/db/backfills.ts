import { type Backfill, isTerminal, StateType } from '@outpost/sdk/contracts';
import type postgres from 'postgres';
import type { Db, TxSql } from './client.js';
import { RUNS_CHANNEL } from './flow-runs.js';
import type { backfills, Row } from './schema.js';
import { iso, isoOrNull } from './values.js';

interface BackfillRow
  extends Pick<
    Row<typeof backfills>,
    | 'id'
    | 'deployment_id'
    | 'schedule_slug'
    | 'range_start'
    | 'range_end'
    | 'max_concurrent'
    | 'parameters'
    | 'run_count'
    | 'created_at'
    | 'cancelled_at'
  > {
  counts: Record<string, number> | null;
}

function toBackfill(row: BackfillRow): Backfill {
  const counts = Object.fromEntries(StateType.options.map((t) => [t, row.counts?.[t] ?? 0])) as Backfill['counts'];
  const finished = StateType.options.filter((t) => isTerminal(t)).reduce((sum, t) => sum + counts[t], 0);
  return {
    id: row.id,
    deploymentId: row.deployment_id,
    scheduleSlug: row.schedule_slug,
    start: iso(row.range_start),
    end: iso(row.range_end),
    maxConcurrent: row.max_concurrent,
    parameters: row.parameters as Backfill['parameters'],
    status: row.cancelled_at ? 'CANCELLED' : finished >= row.run_count ? 'COMPLETED' : 'RUNNING',
    runCount: row.run_count,
    counts,
    createdAt: iso(row.created_at),
    cancelledAt: isoOrNull(row.cancelled_at),
  };
}

/** A backfill with its runs counted by state (one index range scan on flow_runs_backfill_idx). */
function backfillSelect(db: Db): postgres.PendingQuery<postgres.Row[]> {
  return db`
    SELECT b.*, (SELECT jsonb_object_agg(c.state_type, c.n)
                 FROM (SELECT state_type, count(*)::int AS n FROM flow_runs WHERE backfill_id = b.id GROUP BY state_type) c) AS counts
    FROM backfills b`;
}

export async function getBackfill(db: Db, workspaceId: string, id: string): Promise<Backfill | null> {
  const [row] = await db<BackfillRow[]>`${backfillSelect(db)} WHERE b.id = ${id} AND b.workspace_id = ${workspaceId}`;
  return row ? toBackfill(row) : null;
}

/** Newest first, after the cursor's (created_at, id). */
export async function listBackfills(
  db: Db,
  workspaceId: string,
  deploymentId: string,
  before: { createdAt: Date; id: string } | null,
  limit: number,
): Promise<Backfill[]> {
  const rows = await db<BackfillRow[]>`
    ${backfillSelect(db)}
    WHERE b.workspace_id = ${workspaceId} AND b.deployment_id = ${deploymentId}
      ${before ? db`AND (b.created_at, b.id) < (${before.createdAt}::timestamptz, ${before.id}::uuid)` : db``}
    ORDER BY b.created_at DESC, b.id DESC
    LIMIT ${limit}`;
  return rows.map(toBackfill);
}

export interface NewBackfill {
  id: string;
  workspaceId: string;
  deploymentId: string;
  scheduleSlug: string;
  start: Date;
  end: Date;
  maxConcurrent: number;
  /** The backfill's own parameters, merged over the deployment's and the schedule's. */
  parameters: Record<string, unknown>;
  runs: { key: string; name: string; at: Date }[];
}

/**
 * The backfill and all its runs in one statement: a multi-row INSERT of SCHEDULED runs due at their
 * scheduled times (so the oldest go first), their history, and a nudge to the pool's waiting claims.
 * The claim caps how many of them are active at once by the backfill's max_concurrent.
 */
export async function insertBackfill(tx: TxSql, b: NewBackfill): Promise<void> {
  await tx`
    WITH backfill AS (
      INSERT INTO backfills (id, workspace_id, deployment_id, schedule_slug, range_start, range_end, max_concurrent, parameters, run_count)
      VALUES (${b.id}, ${b.workspaceId}, ${b.deploymentId}, ${b.scheduleSlug}, ${b.start}, ${b.end}, ${b.maxConcurrent},
              ${tx.json(b.parameters as postgres.JSONValue)}, ${b.runs.length})
      RETURNING id, workspace_id, deployment_id, parameters
    ), slots AS (
      SELECT * FROM unnest(${tx.array(b.runs.map((r) => r.key))}::text[], ${tx.array(b.runs.map((r) => r.name))}::text[],
                           ${tx.array(b.runs.map((r) => r.at.toISOString()))}::timestamptz[]) AS t(key, name, at)
    ), run AS (
      INSERT INTO flow_runs (workspace_id, flow_id, deployment_id, work_pool_id, work_queue_id, name, parameters, tags, labels,
                             state_type, state_name, state_timestamp, attempt, max_retries, retry_delay_seconds,
                             retry_backoff, retry_jitter, expected_start_time, idempotency_key, backfill_id, schedule_id,
                             created_at, updated_at)
      SELECT b.workspace_id, d.flow_id, d.id, d.work_pool_id, d.work_queue_id, t.name, d.parameters || s.parameters || b.parameters,
             d.tags, d.labels, 'SCHEDULED', 'Scheduled', now(), 1, d.retries, d.retry_delay_seconds, d.retry_backoff,
             d.retry_jitter, t.at, t.key, b.id, s.id, now(), now()
      FROM slots t
      CROSS JOIN backfill b
      JOIN deployments d ON d.id = b.deployment_id
      JOIN deployment_schedules s ON s.deployment_id = d.id AND s.slug = ${b.scheduleSlug}
      ON CONFLICT (workspace_id, deployment_id, idempotency_key) DO NOTHING
      RETURNING id, workspace_id, attempt, state_timestamp, work_pool_id
    ), history AS (
      INSERT INTO flow_run_states (workspace_id, flow_run_id, attempt, type, name, timestamp)
      SELECT workspace_id, id, attempt, 'SCHEDULED', 'Scheduled', state_timestamp FROM run
    )
    SELECT count(pg_notify(${RUNS_CHANNEL}, p.work_pool_id::text)) FROM (SELECT DISTINCT work_pool_id FROM run) p`;
  // A schedule removed by a redeploy meanwhile joins no row: count what was really created.
  await tx`UPDATE backfills SET run_count = (SELECT count(*) FROM flow_runs WHERE backfill_id = ${b.id}) WHERE id = ${b.id}`;
}

/**
 * Marks the backfill cancelled — from then on the claim takes none of its runs — and returns its
 * runs still waiting (SCHEDULED), for the caller to cancel one by one through the state rules.
 * Null when the workspace has no such backfill.
 */
export async function markBackfillCancelled(tx: TxSql, workspaceId: string, id: string): Promise<string[] | null> {
  const [row] = await tx<{ id: string }[]>`
    UPDATE backfills SET cancelled_at = coalesce(cancelled_at, now())
    WHERE id = ${id} AND workspace_id = ${workspaceId}
    RETURNING id`;
  if (!row) return null;
  const runs = await tx<{ id: string }[]>`
    SELECT id FROM flow_runs WHERE backfill_id = ${id} AND state_type = 'SCHEDULED' ORDER BY expected_start_time, id`;
  return runs.map((r) => r.id);
}

/**
 * For the claim: takes a transaction-scoped advisory lock on every backfill (not cancelled) with a
 * due run in the pool, in ascending key order, and returns their ids. Claimers that could start
 * runs of one backfill so run one after another, and each counts the backfill's active runs after
 * the previous one committed, so max_concurrent holds under concurrent claimers. Called after the
 * concurrency-limit locks, so every claimer takes all its locks in one global order (limits, then
 * backfills) and none can wait on another in a cycle. The partial index flow_runs_backfill_due_idx
 * makes the probe free for pools without backfill runs.
 */
export async function lockDueBackfills(tx: TxSql, input: { workspaceId: string; poolId: string }): Promise<string[]> {
  const rows = await tx<{ id: string }[]>`
    SELECT ordered.id, pg_advisory_xact_lock(ordered.h) IS NULL AS _
    FROM (
      SELECT b.id, hashtextextended(${'outpost.backfill.'} || b.id::text, 0) AS h
      FROM backfills b
      WHERE b.workspace_id = ${input.workspaceId} AND b.cancelled_at IS NULL
        AND b.id IN (SELECT r.backfill_id FROM flow_runs r
                     WHERE r.work_pool_id = ${input.poolId} AND r.backfill_id IS NOT NULL
                       AND r.state_type = 'SCHEDULED' AND r.expected_start_time <= now())
      ORDER BY h, b.id
    ) ordered`;
  return rows.map((r) => r.id);
}
