import { CONFIGURATION_ERROR, DEFAULT_STATE_NAME, FAILED_STATES, isAllowedTransition } from '@outpost/sdk/contracts';
import {
  AWAITING_RETRY,
  abort,
  acceptAsProposed,
  acceptUnchanged,
  describeTransition,
  isDue,
  LATE,
  RESUMING,
  recordFor,
  reject,
  requeueOnNewAttempt,
  waitUntil,
} from './decisions.js';
import { retryDelaySeconds } from './retry-delay.js';
import type { Decision, ProposalInput, RunSnapshot } from './types.js';

// Rules for one proposed state type each. By the time they run, the guard rules have settled
// fencing, user proposals, terminal runs and cancelling runs. Whether a move exists at all is
// STATE_TRANSITIONS' to say; these rules add what the matrix cannot: due times, attempts, names.

/** PENDING is a claim: a second claim of a held run means two workers think they own it (Prefect #12509). */
export function claimOnlyFromScheduled(run: RunSnapshot, proposal: ProposalInput): Decision | null {
  if (proposal.state.type !== 'PENDING') return null;
  if (run.stateType === 'PENDING' || run.stateType === 'RUNNING') {
    return abort(`the run is already claimed (${run.stateType}); a second claim is refused`);
  }
  if (!isAllowedTransition(run.stateType, 'PENDING', proposal.actor)) {
    return reject(`a run can be claimed only from SCHEDULED, not ${run.stateType}`);
  }
  if (!isDue(run, proposal.now)) return waitUntil(run.expectedStartTime, proposal.now, 'the run is not due yet');
  return acceptAsProposed(run, proposal);
}

/**
 * RUNNING from RUNNING is a restarted process of the same attempt reporting again; the attempt has
 * already passed the fence, so it is accepted without a new record rather than aborted (Prefect #7116).
 */
export function startRunning(run: RunSnapshot, proposal: ProposalInput): Decision | null {
  if (proposal.state.type !== 'RUNNING') return null;
  if (isAllowedTransition(run.stateType, 'RUNNING', proposal.actor)) {
    const sameName = proposal.state.name === undefined || proposal.state.name === run.stateName;
    if (run.stateType === 'RUNNING' && sameName) return acceptUnchanged(run);
    return acceptAsProposed(run, proposal);
  }
  if (run.stateType === 'SCHEDULED') {
    // The database clock decides when a run is due, never the proposer's.
    if (!isDue(run, proposal.now)) return waitUntil(run.expectedStartTime, proposal.now, 'the run is not due yet');
    return reject('the run must be claimed (PENDING) before it can run');
  }
  return reject(`cannot start a run that is ${run.stateType}`);
}

export function pauseOnlyFromRunning(run: RunSnapshot, proposal: ProposalInput): Decision | null {
  if (proposal.state.type !== 'PAUSED') return null;
  if (isAllowedTransition(run.stateType, 'PAUSED', proposal.actor)) return acceptAsProposed(run, proposal);
  return reject(`only a running run can pause, and the run is ${run.stateType}`);
}

export function completeOnlyFromRunning(run: RunSnapshot, proposal: ProposalInput): Decision | null {
  if (proposal.state.type !== 'COMPLETED') return null;
  if (isAllowedTransition(run.stateType, 'COMPLETED', proposal.actor)) return acceptAsProposed(run, proposal, true);
  return reject(`a run must be RUNNING to complete, and the run is ${run.stateType}`);
}

/**
 * FAILED or CRASHED (from the runtime, the worker, or the lease loop when a lease expired) ends the
 * attempt. With retries left the run goes straight back to SCHEDULED/AwaitingRetry on attempt + 1, in
 * the same decision, so no window exists in which a failed run with retries left looks finished.
 * Attempts count from 1, so `maxRetries` retries allow attempts 1 … maxRetries + 1, not counting the
 * attempts that resumed a suspended run (they are not retries). The delay grows
 * by the run's backoff and varies by its jitter (see retry-delay.ts).
 */
export function applyRetryPolicy(run: RunSnapshot, proposal: ProposalInput): Decision | null {
  const type = proposal.state.type;
  if (!FAILED_STATES.includes(type)) return null;
  if (!isAllowedTransition(run.stateType, type, proposal.actor)) {
    return reject(`a run that never started cannot become ${type}; the run is ${run.stateType}`);
  }
  const ended = recordFor(proposal, type, run.attempt);
  // A configuration error fails every attempt alike: retrying would only spend the retries.
  const hopeless = type === 'FAILED' && proposal.state.name === CONFIGURATION_ERROR;
  // Attempts that resumed a suspended run were not retries: only the others count against maxRetries.
  const tries = run.attempt - (run.resumes ?? 0);
  if (tries > run.maxRetries || hopeless) {
    return { status: 'ACCEPT', states: [ended], attempt: run.attempt, expectedStartTime: null, clearLease: true };
  }
  const delaySeconds = retryDelaySeconds(
    { delaySeconds: run.retryDelaySeconds, backoff: run.retryBackoff ?? 1, jitter: run.retryJitter ?? 0 },
    run.id ?? '',
    tries,
  );
  const attempt = run.attempt + 1;
  const waitSeconds = Math.max(delaySeconds, proposal.minRetryDelaySeconds ?? 0);
  return {
    status: 'ACCEPT',
    states: [
      ended,
      {
        type: 'SCHEDULED',
        name: AWAITING_RETRY,
        message: `Retry ${tries} of ${run.maxRetries} after ${waitSeconds} s`,
        data: null,
        attempt,
      },
    ],
    attempt,
    expectedStartTime: new Date(proposal.now.getTime() + waitSeconds * 1000),
    clearLease: true,
  };
}

/**
 * A claimed run that never started goes back to the queue on the same attempt: its worker stopped
 * between the claim and the start (a drain, or a claim answer lost on the way), and nothing ran, so
 * the run owes no retry. The holder says so itself (worker or run token, fenced by the attempt); the
 * lease loop says so for a holder that vanished. From RUNNING on, only FAILED or CRASHED end an attempt.
 */
export function handBackUnstarted(run: RunSnapshot, proposal: ProposalInput): Decision | null {
  if (proposal.state.type !== 'SCHEDULED' || run.stateType !== 'PENDING') return null;
  if (proposal.actor === 'user') return null;
  // A hand-back is a plain SCHEDULED: a loop renaming a waiting run (Late) must never pull back a
  // run that was claimed while it looked.
  const name = proposal.state.name ?? DEFAULT_STATE_NAME.SCHEDULED;
  if (name !== DEFAULT_STATE_NAME.SCHEDULED) return null;
  return {
    status: 'ACCEPT',
    states: [recordFor(proposal, 'SCHEDULED', run.attempt, DEFAULT_STATE_NAME.SCHEDULED)],
    attempt: run.attempt,
    expectedStartTime: null,
    clearLease: true,
  };
}

/**
 * A run suspended on a durable wait (PAUSED) goes back to the queue when the wait resolves or times
 * out: due now, on a new attempt (a new fencing token and run token for whichever worker claims it),
 * which the retry policy does not count, since nothing failed. Only the control plane resolves waits.
 */
export function resumeSuspended(run: RunSnapshot, proposal: ProposalInput): Decision | null {
  if (proposal.state.type !== 'SCHEDULED' || run.stateType !== 'PAUSED') return null;
  if (!isAllowedTransition('PAUSED', 'SCHEDULED', proposal.actor)) {
    return reject('a suspended run resumes only when the control plane resolves its wait');
  }
  return requeueOnNewAttempt(run, proposal, RESUMING);
}

/**
 * Only background loops rename a SCHEDULED run (Late, AwaitingConcurrencySlot). Late is decided by
 * the database clock, and a run claimed in the meantime is no longer SCHEDULED, so marking cannot
 * overwrite a claim (Prefect #12116).
 */
export function renameScheduledBySystem(run: RunSnapshot, proposal: ProposalInput): Decision | null {
  if (proposal.state.type !== 'SCHEDULED') return null;
  if (proposal.actor !== 'system') return reject('only the control plane reschedules a run');
  if (run.stateType !== 'SCHEDULED') return reject(`only a SCHEDULED run can be renamed, and the run is ${run.stateType}`);
  const name = proposal.state.name ?? DEFAULT_STATE_NAME.SCHEDULED;
  if (name === LATE && !isDue(run, proposal.now)) return reject('the run is not due yet, so it cannot be late');
  if (name === run.stateName) return acceptUnchanged(run);
  return acceptAsProposed(run, proposal);
}

/** The last rule: whatever no rule allowed is refused, with the transition named. */
export function rejectUnlisted(run: RunSnapshot, proposal: ProposalInput): Decision {
  return reject(`${describeTransition(run, proposal)} is not an allowed transition for ${proposal.actor}`);
}
