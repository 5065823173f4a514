import { isAllowedTransition, isTerminal, proposableBy } from '@outpost/sdk/contracts';
import {
  AWAITING_RETRY,
  acceptAsProposed,
  describeTransition,
  HELD,
  recordFor,
  reject,
  requeueOnNewAttempt,
  SUSPENDED,
  stale,
} from './decisions.js';
import type { Decision, ProposalInput, RunSnapshot, StateRecord } from './types.js';

// Rules that hold for every proposal, whatever state it asks for. They run before the per-state rules.
// Which moves exist, and for whom, is STATE_TRANSITIONS in the contracts; the rules apply it.

/** What a user may ask for: the targets of the user's transitions. */
const USER_PROPOSALS = proposableBy('user');

/**
 * The attempt is the lease's fencing token: a process still holding attempt N after the run moved to
 * N + 1 (lease expired, retried) must not write, or one attempt would run twice (Prefect #12509).
 */
export function fenceAttempt(run: RunSnapshot, proposal: ProposalInput): Decision | null {
  if (proposal.attempt === null || proposal.attempt === run.attempt) return null;
  return stale(`attempt ${proposal.attempt} is stale; the run is on attempt ${run.attempt}`);
}

/**
 * A worker or run token that names no attempt could not be fenced, so it may not write. A claim
 * (PENDING) is the exception: the claimer holds nothing yet, and the claim rule guards it by state.
 */
export function requireHolderAttempt(_run: RunSnapshot, proposal: ProposalInput): Decision | null {
  if (proposal.attempt !== null || proposal.state.type === 'PENDING') return null;
  if (proposal.actor !== 'worker' && proposal.actor !== 'run') return null;
  return reject('a worker or run must name the attempt it holds');
}

/** People and API keys steer runs only by cancelling or retrying them; execution states belong to the holder. */
export function limitUserProposals(_run: RunSnapshot, proposal: ProposalInput): Decision | null {
  if (proposal.actor !== 'user') return null;
  const type = proposal.state.type;
  if (USER_PROPOSALS.has(type)) return null;
  return reject(`a user may cancel a run (CANCELLING, CANCELLED), hold or release it, or retry it, not propose ${type}`);
}

/**
 * A user (or an automation) may hold a run nobody has claimed yet (PAUSED/Paused) and release it later
 * on the same attempt and start time. A run suspended on a durable wait is not released this way: its
 * wait decides when it resumes, so a release could not give the flow what it waits for.
 */
export function holdOrReleaseForUser(run: RunSnapshot, proposal: ProposalInput): Decision | null {
  if (proposal.actor !== 'user') return null;
  const type = proposal.state.type;
  if (type === 'PAUSED') {
    if (run.stateType !== 'SCHEDULED') return reject(`only a SCHEDULED run can be held, and the run is ${run.stateType}`);
    return held(run, recordFor(proposal, 'PAUSED', run.attempt, HELD));
  }
  if (type !== 'SCHEDULED' || run.stateType !== 'PAUSED') return null;
  if (run.stateName === SUSPENDED) {
    return reject('the run is suspended on a durable wait: resolve the wait, or cancel the run');
  }
  return held(run, recordFor(proposal, 'SCHEDULED', run.attempt));
}

/** Holding and releasing keep the attempt, the start time and the (absent) lease as they are. */
function held(run: RunSnapshot, state: StateRecord): Decision {
  return { status: 'ACCEPT', states: [state], attempt: run.attempt, expectedStartTime: null, clearLease: false };
}

/** A user retry of a finished run starts a fresh attempt now, so a worker holding the old one is fenced out. */
export function retryFinishedRunForUser(run: RunSnapshot, proposal: ProposalInput): Decision | null {
  if (proposal.actor !== 'user' || proposal.state.type !== 'SCHEDULED') return null;
  if (!isAllowedTransition(run.stateType, 'SCHEDULED', 'user')) {
    return reject(`only a finished run can be retried; the run is ${run.stateType}`);
  }
  if (run.claimable === false) return reject('a subflow run runs inside its parent; retry the parent run');
  return requeueOnNewAttempt(run, proposal, AWAITING_RETRY);
}

/**
 * A run nobody holds stops at once; a held run goes to CANCELLING so its worker kills the process
 * and reports CANCELLED (or the lease loop does, if the worker is gone).
 */
export function cancelForUser(run: RunSnapshot, proposal: ProposalInput): Decision | null {
  const type = proposal.state.type;
  if (proposal.actor !== 'user' || (type !== 'CANCELLING' && type !== 'CANCELLED')) return null;
  // Whether the run stops at once or through its worker is which of the two moves the matrix allows.
  for (const to of ['CANCELLED', 'CANCELLING'] as const) {
    if (!isAllowedTransition(run.stateType, to, 'user')) continue;
    return {
      status: 'ACCEPT',
      states: [recordFor(proposal, to, run.attempt)],
      attempt: run.attempt,
      expectedStartTime: null,
      clearLease: to === 'CANCELLED',
    };
  }
  if (run.stateType === 'CANCELLING') return reject('the run is already cancelling');
  return reject(`the run already finished as ${run.stateType}`);
}

/** Terminal states are final (Prefect #16429): only a user retry, judged above, leaves them. */
export function keepTerminalFinal(run: RunSnapshot, proposal: ProposalInput): Decision | null {
  if (!isTerminal(run.stateType)) return null;
  return reject(`the run already finished as ${run.stateType}; ${describeTransition(run, proposal)} is not allowed`);
}

/**
 * A cancelling run may only become CANCELLED; anything else is rejected so the runtime adopts
 * CANCELLING and stops, instead of a late COMPLETED or RUNNING undoing the cancel.
 */
export function cancellingExitsOnlyToCancelled(run: RunSnapshot, proposal: ProposalInput): Decision | null {
  if (run.stateType !== 'CANCELLING') return null;
  if (isAllowedTransition(run.stateType, proposal.state.type, proposal.actor)) return acceptAsProposed(run, proposal, true);
  return reject(`the run is cancelling; it may only become CANCELLED, not ${proposal.state.type}`);
}
