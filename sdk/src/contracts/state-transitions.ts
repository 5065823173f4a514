import type { StateType } from './states.js';

/**
 * Who proposes a transition. `worker`: a worker key acting on a run it holds. `run`: the run's own
 * token (the SDK runtime, relayed by the worker). `user`: a person, an API key or an automation (cancel, retry, hold, release).
 * `system`: a background loop (lease expiry, late marking).
 */
export type TransitionActor = 'worker' | 'run' | 'user' | 'system';
export const TRANSITION_ACTORS: readonly TransitionActor[] = ['worker', 'run', 'user', 'system'];

/** What a run in each state is doing, as the state docs and the dashboard's legend explain it. */
export const STATE_MEANING: Record<StateType, string> = {
  SCHEDULED:
    'Waiting for a worker to claim it at its expected start time; its name says why it waits (Late, AwaitingRetry, AwaitingConcurrencySlot).',
  PENDING:
    'Claimed by a worker, which is starting the flow process, or holding it for its due time (`--prefetch`); it fills a concurrency slot from here on.',
  RUNNING: 'The flow is executing on the worker that holds it.',
  PAUSED:
    'The flow suspended itself on a durable wait (Suspended), or a user held it before it started (Paused); it holds no slot and no lease until the wait resolves or the user releases it, and it is queued again.',
  CANCELLING:
    'A user cancelled it while a worker held it; the worker is stopping the process. The worker hears it at once through the claim it keeps open, and at the latest with its next heartbeat.',
  COMPLETED: 'The flow returned: the run finished successfully.',
  FAILED: 'The flow threw on its last attempt, or a configuration error that no retry can fix stopped it.',
  CRASHED: 'The process or its worker died (the lease ran out) on its last attempt.',
  CANCELLED: 'Stopped by a user before it finished.',
};

/**
 * One allowed move of a run from a state to a state (the same one for a rename), and who may
 * cause it. A proposal that no entry allows is refused; the rules in the API decide, from the
 * proposal's attempt, time and name, whether an allowed one happens now.
 */
export interface StateTransition {
  from: StateType;
  to: StateType;
  by: readonly TransitionActor[];
  /** When it happens, in a phrase for the docs. */
  when: string;
}

/** The run's holder (worker, or the run through its token) or a control-plane loop standing in for one that vanished. */
const EXECUTION: readonly TransitionActor[] = ['worker', 'run', 'system'];
const USER: readonly TransitionActor[] = ['user'];
const SYSTEM: readonly TransitionActor[] = ['system'];

/**
 * Every allowed transition. A failure with retries left is two moves in one decision (to FAILED or
 * CRASHED, then back to SCHEDULED/AwaitingRetry on the next attempt), so no moment exists in which
 * a run that will be retried looks finished. Terminal states are left only by a user's retry.
 */
export const STATE_TRANSITIONS: readonly StateTransition[] = [
  {
    from: 'SCHEDULED',
    to: 'SCHEDULED',
    by: SYSTEM,
    when: 'a loop renames a waiting run (Late once overdue, AwaitingConcurrencySlot)',
  },
  {
    from: 'SCHEDULED',
    to: 'PENDING',
    by: EXECUTION,
    when: 'a worker claims the run once it is due, or up to its `--prefetch` ahead when no concurrency limit counts the run',
  },
  { from: 'SCHEDULED', to: 'CANCELLED', by: USER, when: 'cancelled while waiting: nobody holds it, so it stops at once' },
  {
    from: 'SCHEDULED',
    to: 'PAUSED',
    by: USER,
    when: 'held by a user or an automation before any worker claimed it (Paused): no worker claims it until it is released',
  },
  {
    from: 'PENDING',
    to: 'SCHEDULED',
    by: EXECUTION,
    when: 'handed back unstarted on the same attempt (a draining worker, a lost claim answer, a vanished holder)',
  },
  { from: 'PENDING', to: 'RUNNING', by: EXECUTION, when: 'the flow process started' },
  {
    from: 'PENDING',
    to: 'FAILED',
    by: EXECUTION,
    when: 'the attempt failed before the flow started (a missing secret, a bundle that fails its check)',
  },
  { from: 'PENDING', to: 'CRASHED', by: EXECUTION, when: 'the process died while starting, or the lease ran out' },
  { from: 'PENDING', to: 'CANCELLING', by: USER, when: 'cancelled while held: the worker must stop it' },
  { from: 'RUNNING', to: 'RUNNING', by: EXECUTION, when: 'the flow renames its running state' },
  {
    from: 'RUNNING',
    to: 'PAUSED',
    by: EXECUTION,
    when: 'the flow suspends on a durable wait (Suspended): its lease is released and its attempt ends',
  },
  { from: 'RUNNING', to: 'COMPLETED', by: EXECUTION, when: 'the flow returned' },
  { from: 'RUNNING', to: 'FAILED', by: EXECUTION, when: 'the flow threw' },
  { from: 'RUNNING', to: 'CRASHED', by: EXECUTION, when: 'the process died, or the lease ran out' },
  { from: 'RUNNING', to: 'CANCELLING', by: USER, when: 'cancelled while held: the worker must stop it' },
  {
    from: 'PAUSED',
    to: 'SCHEDULED',
    by: [...SYSTEM, 'user'],
    when: 'the wait it suspended on resolved or timed out (Resuming): due now, on a new attempt that spends no retry; or a held run is released by a user (same attempt, same start time)',
  },
  { from: 'PAUSED', to: 'RUNNING', by: EXECUTION, when: 'the flow resumes' },
  { from: 'PAUSED', to: 'FAILED', by: EXECUTION, when: 'the paused flow failed' },
  { from: 'PAUSED', to: 'CRASHED', by: EXECUTION, when: 'the paused flow crashed' },
  { from: 'PAUSED', to: 'CANCELLED', by: USER, when: 'cancelled while paused: nobody holds it, so it stops at once' },
  {
    from: 'CANCELLING',
    to: 'CANCELLED',
    by: EXECUTION,
    when: 'the worker stopped the process, or the lease ran out (the worker is gone)',
  },
  { from: 'COMPLETED', to: 'SCHEDULED', by: USER, when: 'retried by a user: a new attempt, due now' },
  {
    from: 'FAILED',
    to: 'SCHEDULED',
    by: [...EXECUTION, 'user'],
    when: 'the next attempt is scheduled in the same decision as the failure while retries are left, or a user retries it later',
  },
  {
    from: 'CRASHED',
    to: 'SCHEDULED',
    by: [...EXECUTION, 'user'],
    when: 'the next attempt is scheduled in the same decision as the crash while retries are left, or a user retries it later',
  },
  { from: 'CANCELLED', to: 'SCHEDULED', by: USER, when: 'retried by a user: a new attempt, due now' },
];

/** Whether `actor` may move a run from `from` to `to`, by {@link STATE_TRANSITIONS}. */
export function isAllowedTransition(from: StateType, to: StateType, actor: TransitionActor): boolean {
  return STATE_TRANSITIONS.some((t) => t.from === from && t.to === to && t.by.includes(actor));
}

/** The states `actor` may propose from some state: for a user, cancelling and retrying. */
export function proposableBy(actor: TransitionActor): ReadonlySet<StateType> {
  return new Set(STATE_TRANSITIONS.filter((t) => t.by.includes(actor)).map((t) => t.to));
}
