import {
  isHeld,
  type ProposedState,
  type State,
  type StateProposalResponse,
  type StateType,
  type TaskRunEvent,
} from '@outpost/sdk/contracts';
import { type AttemptFence, claimedAgain } from '../../auth/access.js';
import type { Sql, TxSql } from '../../db/client.js';
import { DomainError, notFound } from '../../domain-error.js';
import type { ApiMetrics, JudgedStatus } from '../../metrics/api-metrics.js';
import { type Actor, judge } from '../../orchestration/rules.js';
import { insertRunLogs, type LogLineRow } from './logs.js';
import { applyStateChanges, type LockedRun, lockRuns, type RunStateChange } from './run-states.js';
import { applyTaskRunEventsIn } from './task-run-batches.js';

export interface Proposal {
  workspaceId: string;
  runId: string;
  transitionId: string;
  state: ProposedState;
  /** The attempt the proposer holds; null when it names none. */
  attempt: number | null;
  actor: Actor;
  /** For the lease loop: judge only if the lease is still expired once the run is locked. */
  onlyIfLeaseExpired?: boolean;
  /** Lines of `attempt` logged before the proposal: stored first, in the same transaction. */
  logs?: LogLineRow[];
  /** Task-run events of `attempt` that happened before the proposal: applied first, in the same transaction. */
  taskRuns?: readonly TaskRunEvent[];
  /** A retry this proposal causes starts no sooner than this many seconds from now. */
  minRetryDelaySeconds?: number;
  /** The flow process's exit code, recorded on the attempt the proposal ends (holders of the attempt only). */
  exitCode?: number;
  /** A run token's fence, checked in the lock statement (auth/access.ts, FENCED_BY_HANDLER). */
  fence?: AttemptFence | null;
}

function currentState(run: LockedRun): State {
  return {
    type: run.stateType,
    name: run.stateName,
    message: run.stateMessage,
    timestamp: run.stateTimestamp.toISOString(),
    data: run.stateData ?? null,
  };
}

/** The answer to a proposal on a locked run, and the change to write when it is accepted; null for a stale attempt. */
type Verdict =
  | { kind: 'answer'; response: StateProposalResponse; change: RunStateChange | null }
  | { kind: 'stale'; reason: string };

/** Judges one proposal against its locked run by the rules: pure, so single and batch proposals decide alike. */
function decide(
  run: LockedRun,
  p: Pick<Proposal, 'state' | 'attempt' | 'actor' | 'transitionId' | 'minRetryDelaySeconds' | 'exitCode'>,
): Verdict {
  const decision = judge(
    {
      id: run.id,
      stateType: run.stateType,
      stateName: run.stateName,
      attempt: run.attempt,
      maxRetries: run.maxRetries,
      resumes: run.resumes,
      retryDelaySeconds: run.retryDelaySeconds,
      retryBackoff: run.retryBackoff,
      retryJitter: run.retryJitter,
      expectedStartTime: run.expectedStartTime,
      claimable: run.workPoolId !== null,
    },
    { state: p.state, attempt: p.attempt, actor: p.actor, now: run.now, minRetryDelaySeconds: p.minRetryDelaySeconds },
  );
  switch (decision.status) {
    case 'STALE':
      return { kind: 'stale', reason: decision.reason };
    case 'REJECT':
    case 'ABORT':
    case 'WAIT':
      return {
        kind: 'answer',
        change: null,
        response: {
          status: decision.status,
          state: currentState(run),
          attempt: run.attempt,
          reason: decision.reason,
          waitSeconds: decision.status === 'WAIT' ? decision.seconds : null,
        },
      };
    case 'ACCEPT': {
      const last = decision.states.at(-1);
      const state: State = last
        ? { type: last.type, name: last.name, message: last.message, timestamp: run.now.toISOString(), data: last.data ?? null }
        : currentState(run);
      const response: StateProposalResponse = {
        status: 'ACCEPT',
        state,
        attempt: decision.attempt,
        reason: null,
        waitSeconds: null,
      };
      return {
        kind: 'answer',
        response,
        change: {
          run,
          states: decision.states,
          attempt: decision.attempt,
          expectedStartTime: decision.expectedStartTime,
          clearLease: decision.clearLease,
          transitionId: p.transitionId,
          response,
          exitCode: p.exitCode ?? null,
        },
      };
    }
  }
}

/**
 * Judges and applies one proposal in one transaction: lock the run (and find a repeated transition
 * id's first answer) in one statement, then store the lines it carries, replay that answer or judge
 * it by the rules, and apply the decision in one more statement. Returns null only when
 * `onlyIfLeaseExpired` finds the lease renewed meanwhile.
 *
 * Four round trips (BEGIN, lock, writes sent together, COMMIT) instead of the six a
 * begin/lock/lookup/insert/update/commit sequence took. BEGIN and COMMIT stay with postgres.js's
 * `sql.begin`, which recovers a connection the server ended mid-transaction; a hand-written
 * BEGIN … COMMIT on a reserved connection left postgres.js writing to a closed socket.
 *
 * `metrics` (the server's; null outside a server) count the judgement (a replayed answer is not a
 * new one) and the stored lines once the transaction has committed; a fenced attempt is counted as STALE.
 */
export async function proposeState(sql: Sql, metrics: ApiMetrics | null, p: Proposal): Promise<StateProposalResponse | null> {
  // Assigned in the transaction; the cast keeps TypeScript from narrowing `judged` to null for good.
  let judged = null as JudgedStatus | null;
  let stored = 0;
  const stale = (reason: string): never => {
    judged = 'STALE';
    throw new DomainError('stale_attempt', reason);
  };
  let response: StateProposalResponse | null;
  try {
    response = await sql.begin(async (tx) => {
      const fence = p.fence ?? null;
      const [run] = await lockRuns(tx, p.workspaceId, [{ runId: p.runId, transitionId: p.transitionId }], null, fence);
      if (!run) throw notFound('flow run');
      if (fence && run.claimedByOther) {
        judged = 'STALE';
        throw claimedAgain(fence.attempt);
      }
      // A repeated transition gets its first answer, whatever happened to the run since: its lines
      // were stored with that answer, and a retry after a lost response must not look refused
      // (an accepted FAILED moves the run to its next attempt, which would make this one stale).
      if (run.replay) return run.replay;
      // Judged before anything is written, so a refusal leaves no statement in flight behind it.
      // Lines of an earlier attempt go through the logs route; here they would be judged stale anyway.
      const carries = p.logs !== undefined && p.logs.length > 0;
      const carriesTaskRuns = p.taskRuns !== undefined && p.taskRuns.length > 0;
      if ((carries || carriesTaskRuns) && p.attempt !== run.attempt) stale(`the flow run is at attempt ${run.attempt}`);
      let answer: StateProposalResponse | null;
      let change: RunStateChange | null = null;
      if (p.onlyIfLeaseExpired && (!run.leaseExpired || !isHeld(run.stateType))) {
        answer = null;
      } else {
        const verdict = decide(run, p);
        if (verdict.kind === 'stale') return stale(verdict.reason);
        change = verdict.change;
        answer = verdict.response;
        judged = answer.status;
      }
      // The task runs' events come before the run's change, whatever its verdict: they happened. An
      // event the batch route would refuse (an id another run holds, a change to a task run this run
      // never created) is skipped here as there, and the proposal is still judged.
      // The attempt is the run's: a carrying proposal of another was judged stale above.
      if (carriesTaskRuns) {
        const events = p.taskRuns ?? [];
        const input = { workspaceId: run.workspaceId, flowRunId: run.id, since: run.taskRunsSince, attempt: run.attempt, events };
        await applyTaskRunEventsIn(tx, input);
      }
      const writes: Promise<unknown>[] = [];
      if (carries) {
        const batch = [{ runId: run.id, attempt: run.attempt, lines: p.logs ?? [] }];
        writes.push(insertRunLogs(tx, run.workspaceId, batch).then((accepted) => (stored = sum(accepted))));
      }
      if (change) writes.push(applyStateChanges(tx, [change]));
      // Each write was sent when it was called (execute()), in order; they are awaited together.
      await Promise.all(writes);
      return answer;
    });
  } catch (error) {
    if (judged === 'STALE') metrics?.proposalJudged(p.state.type, 'STALE');
    throw error;
  }
  if (judged) metrics?.proposalJudged(p.state.type, judged);
  metrics?.logLinesIngested(stored);
  return response;
}

/**
 * One proposal judged and applied inside a caller's transaction (an automation's action, which
 * must commit or roll back with the firing that caused it). No logs, no lease condition.
 */
export async function proposeInTransaction(
  tx: TxSql,
  p: Omit<Proposal, 'logs' | 'onlyIfLeaseExpired'>,
): Promise<StateProposalResponse> {
  const [run] = await lockRuns(tx, p.workspaceId, [{ runId: p.runId, transitionId: p.transitionId }]);
  if (!run) throw notFound('flow run');
  if (run.replay) return run.replay;
  const verdict = decide(run, p);
  if (verdict.kind === 'stale') throw new DomainError('stale_attempt', verdict.reason);
  if (verdict.change) await applyStateChanges(tx, [verdict.change]);
  return verdict.response;
}

/** The lines stored, over all runs of an insert. */
export function sum(counts: Map<string, number>): number {
  let total = 0;
  for (const n of counts.values()) total += n;
  return total;
}

export interface BatchProposal {
  workspaceId: string;
  poolId: string;
  /** The worker key calling: only runs claimed by a worker of this key are judged. */
  apiKeyId: string | null;
  items: readonly { flowRunId: string; transitionId: string; attempt: number; state: ProposedState; exitCode?: number }[];
}

export type BatchAnswer =
  | { flowRunId: string; answer: StateProposalResponse; error: null }
  | { flowRunId: string; answer: null; error: DomainError };

/** A run the calling key's workers do not hold: the same answer as a run that does not exist. */
export function notHeld(): DomainError {
  return notFound('flow run');
}

/**
 * Judges proposals for many runs a worker key holds, in one transaction with a fixed number of
 * statements: lock the pool's named runs (id order), look up repeated transition ids, judge each
 * run by the same rules as a single proposal (actor `worker`, fenced by the attempt), then write
 * every accepted change together (applyStateChanges). A run of another pool, workspace or key is
 * answered 404 like a missing one, a stale attempt 409, each on its own item; the rest still apply.
 * A repeated transition id replays its first answer even after the run has left the worker.
 */
export async function proposeStates(sql: Sql, metrics: ApiMetrics | null, batch: BatchProposal): Promise<BatchAnswer[]> {
  // Counted once the transaction has committed, as for a single proposal.
  const judged: { to: StateType; status: JudgedStatus }[] = [];
  const result = await sql.begin(async (tx) => {
    const locked = await lockRuns(
      tx,
      batch.workspaceId,
      batch.items.map((item) => ({ runId: item.flowRunId, transitionId: item.transitionId })),
      { poolId: batch.poolId },
    );
    const runs = new Map(locked.map((run) => [run.id, run] as const));
    const changes: RunStateChange[] = [];
    const answers = batch.items.map((item): BatchAnswer => {
      const { flowRunId } = item;
      const run = runs.get(flowRunId);
      if (!run) return { flowRunId, answer: null, error: notHeld() };
      if (run.replay) return { flowRunId, answer: run.replay, error: null };
      if (batch.apiKeyId === null || run.holderKeyId !== batch.apiKeyId) return { flowRunId, answer: null, error: notHeld() };
      const verdict = decide(run, { ...item, actor: 'worker' });
      if (verdict.kind === 'stale') {
        judged.push({ to: item.state.type, status: 'STALE' });
        return { flowRunId, answer: null, error: new DomainError('stale_attempt', verdict.reason) };
      }
      if (verdict.change) changes.push(verdict.change);
      judged.push({ to: item.state.type, status: verdict.response.status });
      return { flowRunId, answer: verdict.response, error: null };
    });
    await applyStateChanges(tx, changes);
    return answers;
  });
  for (const { to, status } of judged) metrics?.proposalJudged(to, status);
  return result;
}
