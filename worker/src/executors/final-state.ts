import type { ProposedState, StateType } from '@outpost/sdk/contracts';
import type { AttemptExit } from './executor.js';

/** Why the worker stopped a flow process, weakest first: a stronger reason overrides a weaker one. */
export type StopReason = 'rejected' | 'drain' | 'cancel' | 'suspended' | 'lease-expired' | 'lost';
export const STOP_STRENGTH: Record<StopReason, number> = {
  rejected: 1,
  drain: 2,
  cancel: 3,
  suspended: 4,
  'lease-expired': 5,
  lost: 6,
};

/** How a run ended, from the worker's side. */
export interface RunOutcome {
  runId: string;
  attempt: number;
  /** `reported`: the runtime's terminal state was accepted; otherwise who or what ended it. */
  ending: 'reported' | 'crashed' | 'failed-to-start' | StopReason;
  /** The terminal state the worker itself got accepted, if it proposed one. */
  proposed: StateType | null;
  /** The run's state as the API last reported it to this worker. */
  state: StateType | null;
  /** Null when no flow process was started. */
  exit: AttemptExit | null;
}

export interface EndingInput {
  stopReason: StopReason | null;
  stopMessage: string;
  /** The runtime had a terminal state accepted. */
  terminalAccepted: boolean;
  lastStateType: StateType;
  /** How the flow process ended; null when none was started. */
  exit: AttemptExit | null;
  /** Why no process was started (bad job config, bundle refused), if that is what happened. */
  startFailure: StartFailure | null;
}

/** The state a run gets when its flow never started: a configuration the worker refuses, a bundle it cannot fetch. */
export interface StartFailure {
  type: 'FAILED' | 'CRASHED';
  name?: string;
  message: string;
}

/**
 * Which terminal state, if any, the worker proposes once a run's process is gone. The worker only
 * speaks for a run nobody else will: never after the runtime's own terminal state was accepted, and
 * never for a run it no longer holds (lost, lease expired) — the API settles those.
 */
export function decideEnding(input: EndingInput): { ending: RunOutcome['ending']; proposal: ProposedState | null } {
  const { stopReason: reason, exit } = input;
  if (reason === 'lost' || reason === 'lease-expired') return { ending: reason, proposal: null };
  // Parked on a wait (PAUSED, lease released): the run goes on in a later attempt, which settles it.
  if (reason === 'suspended') return { ending: 'suspended', proposal: null };
  if (reason === 'cancel') {
    return { ending: 'cancel', proposal: input.terminalAccepted ? null : { type: 'CANCELLED', message: input.stopMessage } };
  }
  if (input.terminalAccepted) return { ending: 'reported', proposal: null };
  if (!exit) {
    if (reason === 'drain')
      // Nothing ran: back to the queue on the same attempt, spending no retry.
      return {
        ending: 'drain',
        proposal: { type: 'SCHEDULED', message: 'worker shut down before the run started; back in the queue' },
      };
    if (input.startFailure) return { ending: 'failed-to-start', proposal: { ...input.startFailure } };
    return { ending: 'failed-to-start', proposal: null };
  }
  const how = describeExit(exit);
  if (reason === 'drain') {
    return {
      ending: 'drain',
      proposal: { type: 'CRASHED', message: `worker shut down before the run finished (the flow process ${how})` },
    };
  }
  if (reason === 'rejected') {
    // A CANCELLING run can only leave through CANCELLED; any other refusal is the API's to settle.
    return {
      ending: 'rejected',
      proposal: input.lastStateType === 'CANCELLING' ? { type: 'CANCELLED', message: 'cancelled' } : null,
    };
  }
  return { ending: 'crashed', proposal: { type: 'CRASHED', message: `the flow process ${how} before reporting a final state` } };
}

export function describeExit(exit: AttemptExit): string {
  // An attempt whose platform ended it before the flow process ran (a pod never scheduled) has neither.
  if (exit.code === null && exit.signal === null) return `never ran${exit.reason ? ` (${exit.reason})` : ''}`;
  const how = exit.signal ? `was killed by signal ${exit.signal}` : `exited with code ${exit.code}`;
  return exit.reason ? `${how} (${exit.reason})` : how;
}
