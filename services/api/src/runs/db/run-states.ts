import type { FlowRun, StateHistoryResponse, StateProposalResponse, StateType } from '@outpost/sdk/contracts';
import { isHeld, isTerminal } from '@outpost/sdk/contracts';
import { type AttemptFence, claimedByOther } from '../../auth/db/run-access.js';
import { RUNS_CHANNEL } from '../../db/channels.js';
import type { Db, TxSql } from '../../db/client.js';
import type { flowRuns, Row } from '../../db/schema.js';
import { iso } from '../../db/values.js';
import { leaseRunOut } from './leases.js';

/** The columns a flow run's or a task run's current state is kept in. */
export type StateColumns = 'state_type' | 'state_name' | 'state_message' | 'state_timestamp' | 'state_data';

/** A flow run's or a task run's current state, as the API answers it, from its state columns. */
export function currentState(row: Pick<Row<typeof flowRuns>, StateColumns>): FlowRun['state'] {
  return {
    type: row.state_type,
    name: row.state_name,
    message: row.state_message,
    timestamp: iso(row.state_timestamp),
    data: row.state_data ?? null,
  };
}

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
  /** Attempts that resumed the run from a suspension (they spend no retry). */
  resumes: number;
  retryDelaySeconds: number;
  retryBackoff: number;
  retryJitter: number;
  expectedStartTime: Date;
  workPoolId: string | null;
  leaseExpired: boolean;
  /** The lower bound of the run's task runs' `created_at` (`task_runs_since`): where their partitions begin. */
  taskRunsSince: Date;
  /** With a pool scope: the API key of the worker holding the run, if any. */
  holderKeyId?: string | null;
  /** The database clock (transaction start), at the stored precision. */
  now: Date;
}

interface LockedRow
  extends Pick<
    Row<typeof flowRuns>,
    | 'id'
    | 'workspace_id'
    | StateColumns
    | 'attempt'
    | 'max_retries'
    | 'resumes'
    | 'retry_delay_seconds'
    | 'retry_backoff'
    | 'retry_jitter'
    | 'expected_start_time'
    | 'work_pool_id'
  > {
  lease_expired: boolean;
  task_runs_since: Date;
  holder_key_id: string | null;
  replay: StateProposalResponse | null;
  now: Date;
  claimed_by_other: boolean;
}

/** A locked run, with the first answer to the transition id it was locked for if that was already accepted. */
export interface LockedProposalRun extends LockedRun {
  replay: StateProposalResponse | null;
  /** With a `fence`: another worker than the fence's claimed its attempt last (the run token's worker lost it). */
  claimedByOther: boolean;
}

/**
 * Locks runs of one workspace for the rest of the transaction, in id order, so two transactions
 * locking overlapping sets never deadlock, and in the same statement looks up each run's
 * transition id: a repeated proposal replays the first answer (`replay`). With `poolId`, only runs
 * of that pool, each with the API key of the worker holding it (`holderKeyId`), so a batch can
 * check who holds what. Missing runs are simply absent from the answer.
 */
export async function lockRuns(
  tx: TxSql,
  workspaceId: string,
  proposals: readonly { runId: string; transitionId: string }[],
  scope: { poolId: string } | null = null,
  fence: AttemptFence | null = null,
): Promise<LockedProposalRun[]> {
  const ids = tx.array(proposals.map((p) => p.runId));
  const transitions = tx.array(proposals.map((p) => p.transitionId));
  const rows = await tx<LockedRow[]>`
    SELECT r.id, r.workspace_id, r.state_type, r.state_name, r.state_message, r.state_timestamp, r.state_data, r.attempt,
           r.max_retries, r.resumes, r.retry_delay_seconds, r.retry_backoff, r.retry_jitter, r.expected_start_time, r.work_pool_id,
           ${leaseRunOut(tx)} AS lease_expired, now()::timestamptz(3) AS now, task_runs_since(r.created_at) AS task_runs_since,
           ${
             scope
               ? tx`(SELECT w.api_key_id FROM workers w WHERE w.workspace_id = r.workspace_id AND w.id = r.worker_id)`
               : tx`NULL::uuid`
           } AS holder_key_id,
           (SELECT s.response FROM flow_run_states s
            WHERE s.flow_run_id = r.id AND s.response IS NOT NULL
              AND s.transition_id = (${transitions}::uuid[])[array_position(${ids}::uuid[], r.id)]) AS replay,
           ${fence ? claimedByOther(tx, fence) : tx`false`} AS claimed_by_other
    FROM flow_runs r
    WHERE r.id = ANY(${ids}::uuid[]) AND r.workspace_id = ${workspaceId}
      ${scope ? tx`AND r.work_pool_id = ${scope.poolId}` : tx``}
    ORDER BY r.id
    FOR UPDATE OF r`.execute();
  return rows.map((row) => ({
    id: row.id,
    workspaceId: row.workspace_id,
    stateType: row.state_type,
    stateName: row.state_name,
    stateMessage: row.state_message,
    stateTimestamp: row.state_timestamp,
    stateData: row.state_data,
    attempt: row.attempt,
    maxRetries: row.max_retries,
    resumes: row.resumes,
    retryDelaySeconds: row.retry_delay_seconds,
    retryBackoff: row.retry_backoff,
    retryJitter: row.retry_jitter,
    expectedStartTime: row.expected_start_time,
    workPoolId: row.work_pool_id,
    leaseExpired: row.lease_expired,
    taskRunsSince: row.task_runs_since,
    holderKeyId: row.holder_key_id,
    replay: row.replay,
    claimedByOther: row.claimed_by_other,
    now: row.now,
  }));
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
  /** The flow process's exit code, as its worker saw it, recorded on the attempt this change ends. */
  exitCode?: number | null;
  /** The attempt ends here though the run stays on it (a suspension: the next attempt begins on resuming). */
  endsAttempt?: boolean;
}

/**
 * What a change means for its run's attempt record: it started (went RUNNING), ended (the run left
 * the attempt: a terminal state, or a retry on the next attempt), and with which state of its own. A
 * hand-back to the queue on the same attempt (never started) ends nothing: the next claim reuses the row.
 */
function attemptMark(change: RunStateChange) {
  const attempt = change.run.attempt;
  const own = change.states.filter((s) => s.attempt === attempt);
  const last = change.states.at(-1) as AppendedState;
  const leaves = change.attempt !== attempt || isTerminal(last.type) || change.endsAttempt === true;
  // A hand retry of a finished run starts the next attempt: the one that ended keeps how it ended.
  const ending = leaves ? ([...own].reverse().find((s) => s.type !== 'SCHEDULED' && s.type !== 'PENDING') ?? null) : null;
  const started = own.some((s) => s.type === 'RUNNING');
  const exitCode = change.exitCode ?? null;
  if (!started && !ending && exitCode === null) return null;
  return {
    workspace_id: change.run.workspaceId,
    flow_run_id: change.run.id,
    attempt,
    started,
    ended: ending !== null,
    type: ending?.type ?? null,
    name: ending?.name ?? null,
    message: ending?.message ?? null,
    exit_code: exitCode,
    now: change.run.now.toISOString(),
  };
}

/**
 * Applies state changes of locked runs in one statement, however many runs: it appends every
 * history row (ordered by their position `n`, so `seq` keeps each run's states in sequence, with
 * the transition id and stored answer on each change's last one), moves every run to its last
 * state, and notifies each pool that may have work now. The rows travel as one jsonb parameter each
 * (see logs.ts for why not VALUES lists). Data-modifying CTEs run exactly once whether or not the
 * final SELECT reads them. Runs inside the transaction that locked the runs; the statement is sent
 * when this is called (`execute()`), so a COMMIT sent right after follows it on the wire.
 */
export async function applyStateChanges(tx: TxSql, changes: readonly RunStateChange[]): Promise<void> {
  const moving = changes.filter((change) => change.states.length > 0);
  if (moving.length === 0) return;
  const history = moving
    .flatMap((change) =>
      change.states.map((state, i) => {
        const final = i === change.states.length - 1;
        return {
          workspace_id: change.run.workspaceId,
          flow_run_id: change.run.id,
          attempt: state.attempt,
          type: state.type,
          name: state.name,
          message: state.message,
          data: state.data ?? null,
          timestamp: change.run.now.toISOString(),
          transition_id: final ? change.transitionId : null,
          response: final ? change.response : null,
        };
      }),
    )
    .map((row, n) => ({ ...row, n }));
  const runs = moving.map((change) => {
    const last = change.states.at(-1) as AppendedState;
    return {
      id: change.run.id,
      workspace_id: change.run.workspaceId,
      type: last.type,
      name: last.name,
      message: last.message,
      data: last.data ?? null,
      attempt: change.attempt,
      expected_start_time: change.expectedStartTime?.toISOString() ?? null,
      enters_running: change.states.some((s) => s.type === 'RUNNING'),
      terminal: isTerminal(last.type),
      resumed: change.run.stateType === 'PAUSED' && last.type === 'SCHEDULED',
      clear_lease: change.clearLease,
      now: change.run.now.toISOString(),
    };
  });
  const marks = moving.flatMap((change) => attemptMark(change) ?? []);
  // A run that ends (cancelled while suspended, or failed while holding a wait) waits for nothing more.
  const ended = runs.filter((run) => run.terminal).map((run) => run.id);
  // Waiting claims of a pool may have work now: a run is SCHEDULED again (a retry) or gave up a
  // concurrency slot. NOTIFY is delivered at commit, so no claim wakes before the change is visible.
  const pools = new Set<string>();
  for (const change of moving) {
    const last = change.states.at(-1) as AppendedState;
    const freedSlot = isHeld(change.run.stateType) && !isHeld(last.type);
    if (change.run.workPoolId && (last.type === 'SCHEDULED' || freedSlot)) pools.add(change.run.workPoolId);
  }
  await tx`
    WITH appended AS (
      INSERT INTO flow_run_states (workspace_id, flow_run_id, attempt, type, name, message, data, timestamp, transition_id, response)
      SELECT h.workspace_id, h.flow_run_id, h.attempt, h.type, h.name, h.message, h.data, h.timestamp, h.transition_id, h.response
      FROM jsonb_to_recordset(${tx.json(history as never)}::jsonb)
        AS h(workspace_id uuid, flow_run_id uuid, attempt int, type text, name text, message text, data jsonb,
             timestamp timestamptz, transition_id uuid, response jsonb, n int)
      ORDER BY h.n
    ), moved AS (
      UPDATE flow_runs r SET
        state_type = c.type, state_name = c.name, state_message = c.message, state_data = c.data, state_timestamp = c.now,
        attempt = c.attempt,
        resumes = r.resumes + CASE WHEN c.resumed THEN 1 ELSE 0 END,
        expected_start_time = coalesce(c.expected_start_time, r.expected_start_time),
        start_time = CASE WHEN c.enters_running THEN coalesce(r.start_time, c.now) ELSE r.start_time END,
        end_time = CASE WHEN c.terminal THEN c.now END,
        worker_id = CASE WHEN c.clear_lease THEN NULL ELSE r.worker_id END,
        lease_expires_at = CASE WHEN c.clear_lease THEN NULL ELSE r.lease_expires_at END,
        updated_at = c.now
      FROM jsonb_to_recordset(${tx.json(runs as never)}::jsonb)
        AS c(id uuid, workspace_id uuid, type text, name text, message text, data jsonb, attempt int,
             expected_start_time timestamptz, enters_running boolean, terminal boolean, resumed boolean, clear_lease boolean,
             now timestamptz)
      WHERE r.id = c.id AND r.workspace_id = c.workspace_id
    )${
      marks.length === 0
        ? tx``
        : tx`, attempt_marks AS (
      UPDATE flow_run_attempts a SET
        started_at = CASE WHEN m.started THEN coalesce(a.started_at, m.now) ELSE a.started_at END,
        ended_at = CASE WHEN m.ended THEN m.now ELSE a.ended_at END,
        state_type = CASE WHEN m.ended THEN m.type ELSE a.state_type END,
        state_name = CASE WHEN m.ended THEN m.name ELSE a.state_name END,
        state_message = CASE WHEN m.ended THEN m.message ELSE a.state_message END,
        exit_code = coalesce(m.exit_code, a.exit_code)
      FROM jsonb_to_recordset(${tx.json(marks as never)}::jsonb)
        AS m(workspace_id uuid, flow_run_id uuid, attempt int, started boolean, ended boolean, type text, name text,
             message text, exit_code int, now timestamptz)
      WHERE a.workspace_id = m.workspace_id AND a.flow_run_id = m.flow_run_id AND a.attempt = m.attempt
    )`
    }${
      ended.length === 0
        ? tx``
        : tx`, waits_cancelled AS (
      UPDATE waits SET status = 'CANCELLED', resolved_at = statement_timestamp(), due_at = NULL, looked_back = true,
        -- An external job is cancelled in its system by a worker of the pool (waits/external-polls.ts).
        cancel_pending = (kind = 'external'), poll_at = CASE WHEN kind = 'external' THEN statement_timestamp() END,
        poll_lease_id = NULL, poll_lease_expires_at = NULL
      WHERE flow_run_id = ANY(${tx.array(ended)}::uuid[]) AND status = 'WAITING'
      RETURNING pg_notify(${RUNS_CHANNEL}, 'wait:' || id::text)
    )`
    }
    SELECT pg_notify(${RUNS_CHANNEL}, pool) FROM unnest(${tx.array([...pools])}::text[]) AS pool`.execute();
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
