import type { RecordedResult, Wait, WaitKind, WaitSpec, WaitStatus } from '@outpost/sdk/contracts';
import { RUNS_CHANNEL } from '../../db/channels.js';
import type { Db } from '../../db/client.js';
import { iso } from '../../db/values.js';

/** A wait joined to its run's name, as every reader answers it. */
export interface WaitRow {
  id: string;
  workspace_id: string;
  flow_run_id: string;
  flow_run_name: string;
  key: string;
  kind: WaitKind;
  spec: WaitSpec;
  status: WaitStatus;
  expires_at: Date | null;
  resolved_at: Date | null;
  value: unknown;
  created_at: Date;
  poll_at: Date | null;
  cancel_pending: boolean;
  polls: number;
  failed_polls: number;
  poll_message: string | null;
  poll_logs: string[];
}

export function toWait(row: WaitRow): Wait {
  return {
    id: row.id,
    flowRunId: row.flow_run_id,
    flowRunName: row.flow_run_name,
    key: row.key,
    spec: row.spec,
    status: row.status,
    createdAt: iso(row.created_at),
    expiresAt: row.expires_at ? iso(row.expires_at) : null,
    resolvedAt: row.resolved_at ? iso(row.resolved_at) : null,
    value: (row.value ?? null) as Wait['value'],
    poll:
      row.kind === 'external'
        ? {
            count: row.polls,
            failed: row.failed_polls,
            nextAt: row.poll_at ? iso(row.poll_at) : null,
            message: row.poll_message,
            logs: row.poll_logs,
            cancelPending: row.cancel_pending,
          }
        : null,
  };
}

/** The columns of a WaitRow, over `waits w JOIN flow_runs r`. */
export const WAIT_COLUMNS = (db: Db) => db`
  w.id, w.workspace_id, w.flow_run_id, r.name AS flow_run_name, w.key, w.kind, w.spec, w.status, w.expires_at,
  w.resolved_at, w.value, w.created_at, w.poll_at, w.cancel_pending, w.polls, w.failed_polls, w.poll_message, w.poll_logs`;

/** The channel payload a wait's resolution is announced with (on the runs channel the app already listens to). */
export function waitNudgeKey(waitId: string): string {
  return `wait:${waitId}`;
}

export async function getWait(db: Db, workspaceId: string, id: string): Promise<WaitRow | null> {
  const [row] = await db<WaitRow[]>`
    SELECT ${WAIT_COLUMNS(db)} FROM waits w JOIN flow_runs r ON r.id = w.flow_run_id
    WHERE w.id = ${id} AND w.workspace_id = ${workspaceId}`;
  return row ?? null;
}

/** Locks one wait for the rest of the transaction. */
export async function lockWait(db: Db, workspaceId: string, id: string): Promise<WaitRow | null> {
  const [row] = await db<WaitRow[]>`
    SELECT ${WAIT_COLUMNS(db)} FROM waits w JOIN flow_runs r ON r.id = w.flow_run_id
    WHERE w.id = ${id} AND w.workspace_id = ${workspaceId}
    FOR UPDATE OF w`;
  return row ?? null;
}

export interface WaitListFilter {
  status?: WaitStatus | undefined;
  kind?: WaitKind | undefined;
  flowRunId?: string | undefined;
  before?: { createdAt: Date; id: string } | undefined;
}

/** Newest first, keyset-paged by (created_at, id). */
export async function listWaits(db: Db, workspaceId: string, filter: WaitListFilter, limit: number): Promise<WaitRow[]> {
  return db<WaitRow[]>`
    SELECT ${WAIT_COLUMNS(db)} FROM waits w JOIN flow_runs r ON r.id = w.flow_run_id
    WHERE w.workspace_id = ${workspaceId}
      ${filter.status ? db`AND w.status = ${filter.status}` : db``}
      ${filter.kind ? db`AND w.kind = ${filter.kind}` : db``}
      ${filter.flowRunId ? db`AND w.flow_run_id = ${filter.flowRunId}` : db``}
      ${filter.before ? db`AND (w.created_at, w.id) < (${filter.before.createdAt}, ${filter.before.id})` : db``}
    ORDER BY w.created_at DESC, w.id DESC
    LIMIT ${limit}`;
}

export interface WaitOutcome {
  status: Exclude<WaitStatus, 'WAITING'>;
  value: unknown;
  decidedBy?: string | null;
}

/**
 * Ends WAITING waits with their outcomes in one statement (a wait no longer WAITING is left as it
 * is, so two resolvers racing resolve it once). Returns the waits it ended.
 */
export async function endWaits(
  db: Db,
  outcomes: readonly { id: string; outcome: WaitOutcome }[],
): Promise<{ id: string; workspace_id: string; flow_run_id: string }[]> {
  if (outcomes.length === 0) return [];
  const rows = outcomes.map(({ id, outcome }) => ({
    id,
    status: outcome.status,
    value: outcome.value ?? null,
    decided_by: outcome.decidedBy ?? null,
  }));
  // Each ended wait is announced (delivered at commit) to the held `GET /waits/:id` calls waiting on it.
  return db<{ id: string; workspace_id: string; flow_run_id: string }[]>`
    UPDATE waits w SET status = o.status, value = o.value, decided_by = o.decided_by,
           resolved_at = statement_timestamp(), due_at = NULL, looked_back = true,
           -- An external job still running when its wait ends (cancelled, timed out) is cancelled
           -- in its system by a worker of the pool, once (waits/external-polls.ts).
           cancel_pending = (w.kind = 'external' AND o.status <> 'RESOLVED'),
           poll_at = CASE WHEN w.kind = 'external' AND o.status <> 'RESOLVED' THEN statement_timestamp() END,
           poll_lease_id = NULL, poll_lease_expires_at = NULL
    FROM jsonb_to_recordset(${db.json(rows as never)}::jsonb) AS o(id uuid, status text, value jsonb, decided_by uuid)
    WHERE w.id = o.id AND w.status = 'WAITING'
    RETURNING w.id, w.workspace_id, w.flow_run_id, pg_notify(${RUNS_CHANNEL}, 'wait:' || w.id::text)`;
}

/** Records where the suspending attempt's completed task results are; a later record of the same task replaces it. */
export async function recordResults(
  db: Db,
  input: { workspaceId: string; flowRunId: string; attempt: number; results: readonly RecordedResult[] },
): Promise<void> {
  if (input.results.length === 0) return;
  const rows = input.results.map((r) => ({
    task_key: r.taskKey,
    dynamic_key: r.dynamicKey,
    task_run_id: r.taskRunId,
    ref: r.ref,
  }));
  await db`
    INSERT INTO recorded_results (workspace_id, flow_run_id, task_key, dynamic_key, task_run_id, ref, attempt)
    SELECT ${input.workspaceId}, ${input.flowRunId}, x.task_key, x.dynamic_key, x.task_run_id, x.ref, ${input.attempt}
    FROM jsonb_to_recordset(${db.json(rows as never)}::jsonb) AS x(task_key text, dynamic_key text, task_run_id uuid, ref text)
    ON CONFLICT (flow_run_id, task_key, dynamic_key) DO UPDATE
      SET task_run_id = excluded.task_run_id, ref = excluded.ref, attempt = excluded.attempt, recorded_at = excluded.recorded_at`;
}

export async function listRecordedResults(db: Db, workspaceId: string, flowRunId: string): Promise<RecordedResult[]> {
  const rows = await db<{ task_run_id: string; task_key: string; dynamic_key: string; ref: string }[]>`
    SELECT task_run_id, task_key, dynamic_key, ref FROM recorded_results
    WHERE workspace_id = ${workspaceId} AND flow_run_id = ${flowRunId}
    ORDER BY recorded_at, task_key, dynamic_key`;
  return rows.map((r) => ({ taskRunId: r.task_run_id, taskKey: r.task_key, dynamicKey: r.dynamic_key, ref: r.ref }));
}
