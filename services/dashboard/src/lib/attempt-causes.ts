import type { StateHistoryResponse } from '@outpost/sdk/contracts';

/**
 * Why an attempt began: the run's first attempt, a run suspended on a durable wait (or a deferred
 * job) that resumed when the wait ended, a retry the retry policy made after a failure, or a retry
 * someone asked for after the run had finished.
 */
export type AttemptCause = 'first' | 'resumed' | 'retried' | 'retried_by_hand';

export const ATTEMPT_CAUSE_TEXT: Record<AttemptCause, string> = {
  first: 'first attempt',
  resumed: 'resumed after a wait',
  retried: 'retried automatically',
  retried_by_hand: 'retried by hand',
};

type StateEntry = Pick<StateHistoryResponse['items'][number], 'attempt'> & {
  state: Pick<StateHistoryResponse['items'][number]['state'], 'type' | 'name' | 'timestamp'>;
};

/**
 * Each attempt's cause, read from the run's state history (in the order it was written). A new
 * attempt opens with a SCHEDULED state: `Resuming` when the control plane resumed a suspended run;
 * `AwaitingRetry` otherwise, which the retry policy writes in the same decision as the failure it
 * answers (the same timestamp, right after a FAILED or CRASHED state of the attempt before), while a
 * user's retry comes later, by itself, from a finished run. Attempts the history does not open are
 * left out.
 */
export function attemptCauses(states: readonly StateEntry[]): Map<number, AttemptCause> {
  const causes = new Map<number, AttemptCause>();
  for (const [i, entry] of states.entries()) {
    if (causes.has(entry.attempt)) continue;
    if (entry.attempt <= 1) {
      causes.set(entry.attempt, 'first');
      continue;
    }
    const before = states[i - 1];
    if (!before || before.attempt >= entry.attempt) continue;
    if (entry.state.type !== 'SCHEDULED') continue;
    if (entry.state.name === 'Resuming') causes.set(entry.attempt, 'resumed');
    else if (
      (before.state.type === 'FAILED' || before.state.type === 'CRASHED') &&
      Date.parse(before.state.timestamp) === Date.parse(entry.state.timestamp)
    )
      causes.set(entry.attempt, 'retried');
    else causes.set(entry.attempt, 'retried_by_hand');
  }
  return causes;
}

/**
 * The run's attempt as a sentence: its number, why it began and, for a retry, which of the run's
 * retries it spends. Attempts that resumed a suspended run are not retries, so they are not counted
 * against `maxRetries`.
 */
export function describeRunAttempt(
  run: { attempt: number; maxRetries: number },
  causes: ReadonlyMap<number, AttemptCause>,
): string {
  const cause = causes.get(run.attempt);
  if (run.attempt === 1 || cause === 'first') return `1 of ${run.maxRetries + 1}`;
  if (!cause) return String(run.attempt);
  if (cause === 'resumed') return `${run.attempt} (${ATTEMPT_CAUSE_TEXT.resumed})`;
  let resumes = 0;
  for (let n = 2; n <= run.attempt; n++) if (causes.get(n) === 'resumed') resumes++;
  const retry = run.attempt - 1 - resumes;
  if (cause === 'retried') return `${run.attempt} (${ATTEMPT_CAUSE_TEXT.retried}: retry ${retry} of ${run.maxRetries})`;
  return `${run.attempt} (${ATTEMPT_CAUSE_TEXT.retried_by_hand})`;
}
