import type { StateHistoryResponse, StateProposalResponse, StateType } from '@outpost/sdk/contracts';
import { isTerminal } from '@outpost/sdk/contracts';
import type { Db, TxSql } from './client.js';
import { RUNS_CHANNEL } from './flow-runs.js';
import { iso, jsonb } from './values.js';

const ACTIVE: ReadonlySet<StateType> = new Set(['PENDING', 'RUNNING', 'CANCELLING']);

export interface LockedRun {
  id: string;
  workspaceId: string;
  stateType: StateType;
  stateName: string;
  stateMessage: string | null;
  stateTimestamp: Date;
  stateData: unknown;
  attempt: number;
  maxRetries: number;
  retryDelaySeconds: number;
  retryBackoff: number;
  retryJitter: number;
  expectedStartTime: Date;
  workPoolId: string | null;
  leaseExpired: boolean;
  /** The database clock (transaction start), at the stored precision. */
  now: Date;
}

/** Locks the run for the rest of the transaction: proposals on one run are judged one at a time. */
export async function lockRun(tx: TxSql, workspaceId: string, id: string): Promise<LockedRun | null> {
  const [row] = await tx<
    {
      id: string;
      workspace_id: string;
      state_type: StateType;
      state_name: string;
      state_message: string | null;
      state_timestamp: Date;
      state_data: unknown;
      attempt: number;
      max_retries: number;
      retry_delay_seconds: number;
      retry_backoff: number;
      retry_jitter: number;
      expected_start_time: Date;
      work_pool_id: string | null;
      lease_expired: boolean;
      now: Date;
    }[]
  >`
    SELECT id, workspace_id, state_type, state_name, state_message, state_timestamp, state_data, attempt, max_retries,
           retry_delay_seconds, retry_backoff, retry_jitter, expected_start_time, work_pool_id,
           coalesce(lease_expires_at < now(), true) AS lease_expired, now()::timestamptz(3) AS now
    FROM flow_runs WHERE id = ${id} AND workspace_id = ${workspaceId}
    FOR UPDATE`;
  if (!row) return null;
  return {
    id: row.id,
    workspaceId: row.workspace_id,
    stateType: row.state_type,
    stateName: row.state_name,
    stateMessage: row.state_message,
    stateTimestamp: row.state_timestamp,
    stateData: row.state_data,
    attempt: row.attempt,
    maxRetries: row.max_retries,
    retryDelaySeconds: row.retry_delay_seconds,
    retryBackoff: row.retry_backoff,
    retryJitter: row.retry_jitter,
    expectedStartTime: row.expected_start_time,
    workPoolId: row.work_pool_id,
    leaseExpired: row.lease_expired,
    now: row.now,
  };
}

/** The answer given the first time this transition id was accepted for the run, if it was. */
export async function findTransition(db: Db, runId: string, transitionId: string): Promise<StateProposalResponse | null> {
  const [row] = await db<{ response: StateProposalResponse }[]>`
    SELECT response FROM flow_run_states
    WHERE flow_run_id = ${runId} AND transition_id = ${transitionId} AND response IS NOT NULL`;
  return row?.response ?? null;
}

export interface AppendedState {
  type: StateType;
  name: string;
  message: string | null;
  data: unknown;
  attempt: number;
}

export interface RunStateChange {
  run: LockedRun;
  states: AppendedState[];
  attempt: number;
  expectedStartTime: Date | null;
  clearLease: boolean;
  transitionId: string | null;
  response: StateProposalResponse | null;
}

/**
 * Appends the states to the history (the transition id and stored answer on the last one) and moves
 * the run to the last state. Runs inside the transaction that locked the run.
 */
export async function applyStateChange(tx: TxSql, change: RunStateChange): Promise<void> {
  const { run, states } = change;
  const last = states.at(-1);
  if (!last) return;
  for (const [i, state] of states.entries()) {
    const final = i === states.length - 1;
    await tx`
      INSERT INTO flow_run_states (workspace_id, flow_run_id, attempt, type, name, message, data, timestamp, transition_id, response)
      VALUES (${run.workspaceId}, ${run.id}, ${state.attempt}, ${state.type}, ${state.name}, ${state.message},
              ${jsonb(tx, state.data)}, ${run.now}, ${final ? change.transitionId : null}, ${final ? jsonb(tx, change.response) : null})`;
  }
  const entersRunning = states.some((s) => s.type === 'RUNNING');
  await tx`
    UPDATE flow_runs SET
      state_type = ${last.type}, state_name = ${last.name}, state_message = ${last.message},
      state_data = ${jsonb(tx, last.data)}, state_timestamp = ${run.now},
      attempt = ${change.attempt},
      expected_start_time = coalesce(${change.expectedStartTime}::timestamptz, expected_start_time),
      start_time = CASE WHEN ${entersRunning}::boolean THEN coalesce(start_time, ${run.now}) ELSE start_time END,
      end_time = ${isTerminal(last.type) ? run.now : null}::timestamptz,
      worker_id = CASE WHEN ${change.clearLease}::boolean THEN NULL ELSE worker_id END,
      lease_expires_at = CASE WHEN ${change.clearLease}::boolean THEN NULL ELSE lease_expires_at END,
      updated_at = ${run.now}
    WHERE id = ${run.id} AND workspace_id = ${run.workspaceId}`;
  // Waiting claims of the pool may have work now: the run is SCHEDULED again (a retry) or it gave up
  // a concurrency slot. NOTIFY is delivered at commit, so no claim wakes before the change is visible.
  const freedSlot = ACTIVE.has(run.stateType) && !ACTIVE.has(last.type);
  if (run.workPoolId && (last.type === 'SCHEDULED' || freedSlot)) await tx`SELECT pg_notify(${RUNS_CHANNEL}, ${run.workPoolId})`;
}

export async function listRunStates(db: Db, workspaceId: string, runId: string): Promise<StateHistoryResponse['items']> {
  const rows = await db<
    { id: string; attempt: number; type: StateType; name: string; message: string | null; data: unknown; timestamp: Date }[]
  >`
    SELECT id, attempt, type, name, message, data, timestamp FROM flow_run_states
    WHERE flow_run_id = ${runId} AND workspace_id = ${workspaceId}
    ORDER BY seq`;
  return rows.map((r) => ({
    id: r.id,
    attempt: r.attempt,
    state: { type: r.type, name: r.name, message: r.message, timestamp: iso(r.timestamp), data: r.data ?? null },
  }));
}
