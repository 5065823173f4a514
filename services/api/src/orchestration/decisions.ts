import { DEFAULT_STATE_NAME, type StateType } from '@outpost/sdk/contracts';
import type { Decision, ProposalInput, RunSnapshot, StateRecord } from './types.js';

export const AWAITING_RETRY = 'AwaitingRetry';
export const LATE = 'Late';
/** A run whose wait resolved, queued again (PAUSED → SCHEDULED). */
export const RESUMING = 'Resuming';
/** A run a user or an automation held before any worker claimed it (SCHEDULED → PAUSED). */
export const HELD = 'Paused';
/** A run parked on a durable wait (RUNNING → PAUSED). */
export const SUSPENDED = 'Suspended';

/**
 * The record for `type`, carrying the proposal's name, message and data when the proposal asked for
 * that same type; when a rule lands the run somewhere else (a cancel of a SCHEDULED run, say), the
 * proposal's name would be wrong there, so the default name is used and only the message is kept.
 */
export function recordFor(proposal: ProposalInput, type: StateType, attempt: number, name?: string): StateRecord {
  const same = proposal.state.type === type;
  return {
    type,
    name: name ?? (same ? proposal.state.name : undefined) ?? DEFAULT_STATE_NAME[type],
    message: proposal.state.message ?? null,
    data: same ? (proposal.state.data ?? null) : null,
    attempt,
  };
}

/** The state's record at the run's current attempt, without changing attempt or schedule. */
export function acceptAsProposed(run: RunSnapshot, proposal: ProposalInput, clearLease = false): Decision {
  return {
    status: 'ACCEPT',
    states: [recordFor(proposal, proposal.state.type, run.attempt)],
    attempt: run.attempt,
    expectedStartTime: null,
    clearLease,
  };
}

/**
 * Back in the queue, due now, on a new attempt (SCHEDULED/`name`): the lease is cleared and a worker
 * still holding the old attempt is fenced out.
 */
export function requeueOnNewAttempt(run: RunSnapshot, proposal: ProposalInput, name: string): Decision {
  const attempt = run.attempt + 1;
  return {
    status: 'ACCEPT',
    states: [recordFor(proposal, 'SCHEDULED', attempt, name)],
    attempt,
    expectedStartTime: proposal.now,
    clearLease: true,
  };
}

/** The run already is where the proposal wants it: nothing to append. */
export function acceptUnchanged(run: RunSnapshot): Decision {
  return { status: 'ACCEPT', states: [], attempt: run.attempt, expectedStartTime: null, clearLease: false };
}

export function reject(reason: string): Decision {
  return { status: 'REJECT', reason };
}

export function abort(reason: string): Decision {
  return { status: 'ABORT', reason };
}

export function stale(reason: string): Decision {
  return { status: 'STALE', reason };
}

/** Whole seconds, rounded up, so a client that waits exactly this long finds the run due. */
export function waitUntil(start: Date, now: Date, reason: string): Decision {
  const seconds = Math.max(1, Math.ceil((start.getTime() - now.getTime()) / 1000));
  return { status: 'WAIT', reason, seconds };
}

export function isDue(run: RunSnapshot, now: Date): boolean {
  return run.expectedStartTime.getTime() <= now.getTime();
}

export function describe(type: StateType, name: string): string {
  return name === DEFAULT_STATE_NAME[type] ? type : `${type}/${name}`;
}

/** A readable label for a transition, used in rejection reasons and logs. */
export function describeTransition(run: RunSnapshot, proposal: ProposalInput): string {
  const to = proposal.state.name ?? DEFAULT_STATE_NAME[proposal.state.type];
  return `${describe(run.stateType, run.stateName)} -> ${describe(proposal.state.type, to)}`;
}
