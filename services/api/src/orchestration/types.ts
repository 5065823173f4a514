import type { ProposedState, StateType, TransitionActor } from '@outpost/sdk/contracts';

/** Who proposes a transition (see TransitionActor). */
export type Actor = TransitionActor;

/** The parts of a run the rules need; `expectedStartTime` and `now` both come from the database clock. */
export interface RunSnapshot {
  stateType: StateType;
  stateName: string;
  attempt: number;
  maxRetries: number;
  /** Attempts that began by resuming from a suspension: they spend no retry. @default 0 */
  resumes?: number;
  retryDelaySeconds: number;
  expectedStartTime: Date;
  /** The run's id: seeds the retry jitter, so the same failure always gets the same delay. */
  id?: string;
  /** Exponential factor between retry delays. @default 1 */
  retryBackoff?: number;
  /** Fraction 0–1 by which a retry delay may vary either way. @default 0 */
  retryJitter?: number;
  /**
   * False for a run no worker can claim (a subflow run, which lives inside its parent's process and
   * has no work pool): retrying it alone would leave an attempt nothing ever starts. @default true
   */
  claimable?: boolean;
}

export interface ProposalInput {
  state: ProposedState;
  /** The attempt the proposer holds; null when it names none (users, some loops). */
  attempt: number | null;
  actor: Actor;
  now: Date;
  /**
   * A retry this decision schedules starts no sooner than this: the lease loop crashing a run whose
   * worker went silent waits the lease grace, during which that worker may still be running it.
   */
  minRetryDelaySeconds?: number;
}

/** One entry to append to the run's state history. */
export interface StateRecord {
  type: StateType;
  name: string;
  message: string | null;
  data: unknown;
  attempt: number;
}

/**
 * On ACCEPT the caller appends `states` in order and the run adopts the last one (an empty list
 * means the run already is where the proposal wants it), takes `attempt`, takes `expectedStartTime`
 * when it is not null, and drops its worker and lease when `clearLease` is set.
 * STALE is answered 409: the proposer holds an attempt the run has moved past.
 */
export type Decision =
  | { status: 'ACCEPT'; states: StateRecord[]; attempt: number; expectedStartTime: Date | null; clearLease: boolean }
  | { status: 'REJECT'; reason: string }
  | { status: 'WAIT'; reason: string; seconds: number }
  | { status: 'ABORT'; reason: string }
  | { status: 'STALE'; reason: string };

/** A rule either decides (returns a Decision) or passes the proposal on to the next rule (returns null). */
export type Rule = (run: RunSnapshot, proposal: ProposalInput) => Decision | null;
