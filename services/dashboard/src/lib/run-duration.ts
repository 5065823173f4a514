import { formatDuration, pluralise, runningTimeMs, spanMs } from './format.js';

export interface RunDuration {
  /** The run's wall-clock duration: its first start to its end, or to `now` while it runs; null before it starts. */
  text: string;
  /** The attempts' summed running time, when the run had more than one attempt; null otherwise. */
  working: string | null;
}

/**
 * How long a run took, as people measure it: from its first start to its end (to now while it
 * runs), waits between attempts included. The time its attempts spent running, which leaves those
 * waits out, is given beside it when there was more than one attempt.
 */
export function runDuration(
  run: { startTime: string | null; endTime: string | null },
  attempts: readonly { startedAt: string | null; endedAt: string | null }[] | null,
  now: number,
): RunDuration {
  const wall = spanMs(run.startTime, run.endTime, now);
  const working = attempts && attempts.length > 1 ? runningTimeMs(attempts, now) : null;
  return {
    text: wall === null ? '—' : formatDuration(wall),
    working:
      attempts && working !== null ? `${formatDuration(working)} working over ${pluralise(attempts.length, 'attempt')}` : null,
  };
}
