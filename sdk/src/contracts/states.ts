import * as z from 'zod';
import { JsonValue, Timestamp } from './common.js';
import { MAX_STATE_MESSAGE_LENGTH, resultRefOf } from './limits.js';

export const StateType = z.enum([
  'SCHEDULED',
  'PENDING',
  'RUNNING',
  'PAUSED',
  'CANCELLING',
  'COMPLETED',
  'FAILED',
  'CRASHED',
  'CANCELLED',
]);
export type StateType = z.infer<typeof StateType>;

/** A query parameter of comma-separated state types (`?state=RUNNING,FAILED`). */
export const StateTypeList = z
  .string()
  .max(200)
  .transform((s) => s.split(',').filter(Boolean))
  .pipe(z.array(StateType));

/** The states a run ends in: none is left except by a user's retry, which starts a new attempt. */
export const TERMINAL_STATES: readonly StateType[] = ['COMPLETED', 'FAILED', 'CRASHED', 'CANCELLED'];
export function isTerminal(type: StateType): boolean {
  return TERMINAL_STATES.includes(type);
}

/**
 * The states in which a worker holds the run: claimed and not yet let go. A held run fills a slot
 * of every concurrency limit it falls under (queue, pool, deployment, tag, backfill), and only a
 * held run has a lease to renew or to expire. The partial indexes on `flow_runs` name this list too.
 */
export const HELD_STATES: readonly StateType[] = ['PENDING', 'RUNNING', 'CANCELLING'];
export function isHeld(type: StateType): boolean {
  return HELD_STATES.includes(type);
}

/** The states a run ends an attempt in by failing; each spends one of the run's retries. */
export const FAILED_STATES: readonly StateType[] = ['FAILED', 'CRASHED'];

/** The default display name for each state type; some types have other names (Late, AwaitingRetry, Cached…). */
export const DEFAULT_STATE_NAME: Record<StateType, string> = {
  SCHEDULED: 'Scheduled',
  PENDING: 'Pending',
  RUNNING: 'Running',
  PAUSED: 'Paused',
  CANCELLING: 'Cancelling',
  COMPLETED: 'Completed',
  FAILED: 'Failed',
  CRASHED: 'Crashed',
  CANCELLED: 'Cancelled',
};

export const StateName = z.string().min(1).max(50);

export { MAX_STATE_MESSAGE_LENGTH };

/**
 * The name of a FAILED state that no retry can fix — a missing secret, a source the worker may not
 * run, a bundle that fails its integrity check: the run ends on this attempt whatever retries it has.
 */
export const CONFIGURATION_ERROR = 'ConfigurationError';

/** A state as stored and returned. `data` holds a result *reference*, never a result. */
export const State = z.strictObject({
  type: StateType,
  name: StateName,
  message: z.string().max(MAX_STATE_MESSAGE_LENGTH).nullable(),
  timestamp: Timestamp,
  data: JsonValue.nullable(),
});
export type State = z.infer<typeof State>;

export { resultRefOf };

/** A state a client proposes. The server fills in the timestamp. */
export const ProposedState = z.strictObject({
  type: StateType,
  name: StateName.optional(),
  message: z.string().max(MAX_STATE_MESSAGE_LENGTH).optional(),
  data: JsonValue.optional(),
});
export type ProposedState = z.infer<typeof ProposedState>;

export const ProposalStatus = z.enum(['ACCEPT', 'REJECT', 'WAIT', 'ABORT']);
export type ProposalStatus = z.infer<typeof ProposalStatus>;

/** The answer to a state proposal. */
export const StateProposalResponse = z.strictObject({
  status: ProposalStatus,
  /** The run's state after the proposal was judged. */
  state: State,
  attempt: z.number().int(),
  reason: z.string().nullable(),
  /** With WAIT: seconds to wait before proposing again. */
  waitSeconds: z.number().nullable(),
});
export type StateProposalResponse = z.infer<typeof StateProposalResponse>;
