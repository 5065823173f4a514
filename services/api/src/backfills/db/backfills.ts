import {
  type Backfill,
  type BackfillPartitionCounts,
  BackfillPartitionStatus,
  type BackfillSelection,
  type BackfillStatus,
  StateType,
  type TimeWindowPartitions,
} from '@outpost/sdk/contracts';
import type postgres from 'postgres';
import { BACKFILLS_CHANNEL } from '../../db/channels.js';
import type { Db, TxSql } from '../../db/client.js';
import type { backfills, Row } from '../../db/schema.js';
import { iso, isoOrNull } from '../../db/values.js';

/** How a stored selection keeps what the contract does not show: the schedule's times. */
export type StoredSelection = BackfillSelection & {
  /** For `times`: the schedule definition the times were read from, as it was at creation. */
  timeline?:
    | { kind: 'cron'; cron: string; timezone: string }
    | { kind: 'interval'; intervalSeconds: number; anchorDate: string }
    | { kind: 'windows'; partitions: TimeWindowPartitions };
};

export type BackfillRecord = Pick<
  Row<typeof backfills>,
  | 'id'
  | 'workspace_id'
  | 'deployment_id'
  | 'target'
  | 'asset_keys'
  | 'schedule_slug'
  | 'range_start'
  | 'range_end'
  | 'partitions'
  | 'single_run'
  | 'checks_only'
  | 'max_concurrent'
  | 'parameters'
  | 'run_count'
  | 'partition_count'
  | 'position'
  | 'status'
  | 'message'
  | 'created_at'
  | 'cancelled_at'
  | 'paused_at'
  | 'finished_at'
> & { selection: StoredSelection };

interface BackfillRow extends BackfillRecord {
  run_counts: Record<string, number> | null;
  partition_counts: Record<string, number> | null;
}

/** The most keys of an explicit selection a response lists. */
const SHOWN_KEYS = 100;

function shownSelection(s: StoredSelection): BackfillSelection {
  if ('times' in s) return { times: s.times };
  if ('keys' in s) return { keys: s.keys.slice(0, SHOWN_KEYS) };
  return { range: s.range };
}

function toBackfill(row: BackfillRow): Backfill {
  const counts = Object.fromEntries(StateType.options.map((t) => [t, row.run_counts?.[t] ?? 0])) as Backfill['counts'];
  const partitions = {
    total: row.partition_count,
    notStarted: Math.max(0, row.partition_count - row.position),
    ...Object.fromEntries(BackfillPartitionStatus.options.map((s) => [s, row.partition_counts?.[s] ?? 0])),
  } as BackfillPartitionCounts;
  return {
    id: row.id,
    deploymentId: row.deployment_id,
    target: row.target,
    assets: row.asset_keys,
    scheduleSlug: row.schedule_slug,
    start: isoOrNull(row.range_start),
    end: isoOrNull(row.range_end),
    partitionsDefinition: row.partitions ?? null,
    selection: shownSelection(row.selection),
    singleRun: row.single_run,
    checksOnly: row.checks_only,
    maxConcurrent: row.max_concurrent,
    parameters: row.parameters as Backfill['parameters'],
    status: row.status,
    message: row.message,
    runCount: row.run_count,
    counts,
    partitions,
    createdAt: iso(row.created_at),
    cancelledAt: isoOrNull(row.cancelled_at),
    pausedAt: isoOrNull(row.paused_at),
    finishedAt: isoOrNull(row.finished_at),
  };
}

/**
 * A backfill with its runs counted by state (an index range scan on flow_runs_backfill_idx) and its
 * partitions by status (one on backfill_partitions_status_idx): both as large as what it reached so far.
 */
function backfillSelect(db: Db): postgres.PendingQuery<postgres.Row[]> {
  return db`
    SELECT b.*,
           (SELECT jsonb_object_agg(c.state_type, c.n)
            FROM (SELECT state_type, count(*)::int AS n FROM flow_runs WHERE backfill_id = b.id GROUP BY state_type) c) AS run_counts,
           (SELECT jsonb_object_agg(p.status, p.n)
            FROM (SELECT status, count(*)::int AS n FROM backfill_partitions WHERE backfill_id = b.id GROUP BY status) p) AS partition_counts
    FROM backfills b`;
}

export async function getBackfill(db: Db, workspaceId: string, id: string): Promise<Backfill | null> {
  const [row] = await db<BackfillRow[]>`${backfillSelect(db)} WHERE b.id = ${id} AND b.workspace_id = ${workspaceId}`;
  return row ? toBackfill(row) : null;
}

export interface BackfillListFilter {
  deploymentId?: string;
  status?: BackfillStatus;
  /** Rows strictly older than this (created_at, id). */
  before: { createdAt: Date; id: string } | null;
}

/** Newest first, after the cursor's (created_at, id). */
export async function listBackfills(db: Db, workspaceId: string, filter: BackfillListFilter, limit: number): Promise<Backfill[]> {
  const rows = await db<BackfillRow[]>`
    ${backfillSelect(db)}
    WHERE b.workspace_id = ${workspaceId}
      ${filter.deploymentId ? db`AND b.deployment_id = ${filter.deploymentId}` : db``}
      ${filter.status ? db`AND b.status = ${filter.status}` : db``}
      ${filter.before ? db`AND (b.created_at, b.id) < (${filter.before.createdAt}::timestamptz, ${filter.before.id}::uuid)` : db``}
    ORDER BY b.created_at DESC, b.id DESC
    LIMIT ${limit}`;
  return rows.map(toBackfill);
}

export interface NewBackfill {
  id: string;
  workspaceId: string;
  deploymentId: string;
  target: 'deployment' | 'assets';
  assetKeys: string[] | null;
  scheduleSlug: string | null;
  start: Date | null;
  end: Date | null;
  partitions: unknown;
  selection: StoredSelection;
  singleRun: boolean;
  /** Run the assets' checks only. */
  checksOnly: boolean;
  maxConcurrent: number;
  /** The backfill's own parameters, merged over the deployment's and the schedule's. */
  parameters: Record<string, unknown>;
  partitionCount: number;
}

/** The backfill's row alone: its runs come from advanceBackfill, a few at a time. */
export async function insertBackfill(tx: TxSql, b: NewBackfill): Promise<void> {
  await tx`
    INSERT INTO backfills (id, workspace_id, deployment_id, target, asset_keys, schedule_slug, range_start, range_end,
                           partitions, selection, single_run, checks_only, max_concurrent, parameters, run_count, partition_count)
    VALUES (${b.id}, ${b.workspaceId}, ${b.deploymentId}, ${b.target},
            ${b.assetKeys ? tx.array(b.assetKeys) : null}::text[], ${b.scheduleSlug}, ${b.start}, ${b.end},
            ${b.partitions === null ? null : tx.json(b.partitions as postgres.JSONValue)},
            ${tx.json(b.selection as postgres.JSONValue)}, ${b.singleRun}, ${b.checksOnly}, ${b.maxConcurrent},
            ${tx.json(b.parameters as postgres.JSONValue)}, 0, ${b.partitionCount})`;
}

/**
 * The backfill's row, locked for one pass of the loop, when it is RUNNING and no one else holds it:
 * another replica's pass, or a pause, cancel or retry under way, makes this one skip it (SKIP LOCKED)
 * rather than wait, and the holder's changes are seen by the next pass.
 *
 * A backfill of an archived workspace is left alone (it stays RUNNING, and goes on once the
 * workspace is restored). Checked here as well as in `runningBackfillIds`, since a pass over many
 * backfills may still be going when the archive commits.
 */
export async function lockRunningBackfill(tx: TxSql, id: string): Promise<BackfillRecord | null> {
  const [row] = await tx<BackfillRecord[]>`
    SELECT * FROM backfills b
    WHERE b.id = ${id} AND b.status = 'RUNNING'
      AND NOT EXISTS (SELECT 1 FROM workspaces w WHERE w.id = b.workspace_id AND w.archived_at IS NOT NULL)
    FOR UPDATE OF b SKIP LOCKED`;
  return row ?? null;
}

/** The backfill's row, locked (waiting for a pass under way) for a control: pause, resume, cancel, retry. */
export async function lockBackfill(tx: TxSql, workspaceId: string, id: string): Promise<BackfillRecord | null> {
  const [row] = await tx<BackfillRecord[]>`
    SELECT * FROM backfills WHERE id = ${id} AND workspace_id = ${workspaceId} FOR UPDATE`;
  return row ?? null;
}

/**
 * The RUNNING backfills, for one pass of the loop (the partial index backfills_running_idx), except
 * those of archived workspaces: they take no new work, and must not take up the pass's batch either.
 */
export async function runningBackfillIds(db: Db, limit: number): Promise<string[]> {
  const rows = await db<{ id: string }[]>`
    SELECT b.id FROM backfills b
    WHERE b.status = 'RUNNING'
      AND NOT EXISTS (SELECT 1 FROM workspaces w WHERE w.id = b.workspace_id AND w.archived_at IS NOT NULL)
    ORDER BY b.id
    LIMIT ${limit}`;
  return rows.map((r) => r.id);
}

/** After a pass: how far it got, and the runs it created. */
export async function saveProgress(tx: TxSql, id: string, position: number, runsCreated: number): Promise<void> {
  await tx`UPDATE backfills SET position = ${position}, run_count = run_count + ${runsCreated} WHERE id = ${id}`;
}

export async function setBackfillStatus(
  tx: TxSql,
  id: string,
  change: { status: BackfillStatus; message?: string | null },
): Promise<void> {
  const finished = change.status === 'COMPLETED' || change.status === 'FAILED' || change.status === 'CANCELLED';
  await tx`
    UPDATE backfills SET status = ${change.status},
      message = ${change.message === undefined ? tx`message` : change.message},
      paused_at = ${change.status === 'PAUSED' ? tx`coalesce(paused_at, now())` : tx`NULL`},
      cancelled_at = ${change.status === 'CANCELLED' ? tx`coalesce(cancelled_at, now())` : tx`cancelled_at`},
      finished_at = ${finished ? tx`coalesce(finished_at, now())` : tx`NULL`}
    WHERE id = ${id}`;
}

/** Wakes the backfill loop on every replica at commit. */
export async function nudgeBackfillLoop(db: Db, id: string): Promise<void> {
  await db`SELECT pg_notify(${BACKFILLS_CHANNEL}, ${id})`;
}

/** The backfill's runs still waiting to be claimed, for a cancel to cancel one by one through the state rules. */
export async function waitingBackfillRuns(db: Db, id: string): Promise<string[]> {
  const runs = await db<{ id: string }[]>`
    SELECT id FROM flow_runs WHERE backfill_id = ${id} AND state_type = 'SCHEDULED' ORDER BY expected_start_time, id`;
  return runs.map((r) => r.id);
}
