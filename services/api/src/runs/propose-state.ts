import type { ProposedState, State, StateProposalResponse } from '@outpost/sdk/contracts';
import type { Sql } from '../db/client.js';
import { applyStateChange, findTransition, type LockedRun, lockRun } from '../db/run-states.js';
import { ApiError, notFound } from '../errors.js';
import { type Actor, judge } from '../orchestration/rules.js';

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

/**
 * Judges and applies one proposal in one transaction: lock the run, replay a repeated transition
 * id's first answer, otherwise judge it by the rules and apply the decision. Returns null only
 * when `onlyIfLeaseExpired` finds the lease renewed meanwhile.
 */
export async function proposeState(sql: Sql, p: Proposal): Promise<StateProposalResponse | null> {
  return sql.begin(async (tx) => {
    const run = await lockRun(tx, p.workspaceId, p.runId);
    if (!run) throw notFound('flow run');
    const replay = await findTransition(tx, run.id, p.transitionId);
    if (replay) return replay;
    if (p.onlyIfLeaseExpired && (!run.leaseExpired || !['PENDING', 'RUNNING', 'CANCELLING'].includes(run.stateType))) return null;
    const decision = judge(
      {
        id: run.id,
        stateType: run.stateType,
        stateName: run.stateName,
        attempt: run.attempt,
        maxRetries: run.maxRetries,
        retryDelaySeconds: run.retryDelaySeconds,
        retryBackoff: run.retryBackoff,
        retryJitter: run.retryJitter,
        expectedStartTime: run.expectedStartTime,
        claimable: run.workPoolId !== null,
      },
      { state: p.state, attempt: p.attempt, actor: p.actor, now: run.now },
    );
    switch (decision.status) {
      case 'STALE':
        throw new ApiError('stale_attempt', decision.reason);
      case 'REJECT':
      case 'ABORT':
        return {
          status: decision.status,
          state: currentState(run),
          attempt: run.attempt,
          reason: decision.reason,
          waitSeconds: null,
        };
      case 'WAIT':
        return {
          status: 'WAIT',
          state: currentState(run),
          attempt: run.attempt,
          reason: decision.reason,
          waitSeconds: decision.seconds,
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
        await applyStateChange(tx, {
          run,
          states: decision.states,
          attempt: decision.attempt,
          expectedStartTime: decision.expectedStartTime,
          clearLease: decision.clearLease,
          transitionId: p.transitionId,
          response,
        });
        return response;
      }
    }
  });
}
