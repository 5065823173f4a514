import type { CatchupPolicy } from '@outpost/sdk/contracts';
import type { Timeline } from './timeline.js';

/** How far ahead the scheduler keeps each schedule filled: Prefect's defaults. */
export interface FillBounds {
  /** Keep at least this many runs ahead… */
  minRuns: number;
  /** …and runs at least this far ahead. */
  minAheadMs: number;
  /** But never more than this many runs ahead… */
  maxRuns: number;
  /** …or further ahead than this. */
  maxAheadMs: number;
  /** Missed times one pass creates under catch-up `all`; the rest follow on the next passes. */
  maxCatchup: number;
}

export const DEFAULT_FILL_BOUNDS: FillBounds = {
  minRuns: 3,
  minAheadMs: 3_600_000,
  maxRuns: 100,
  maxAheadMs: 100 * 86_400_000,
  maxCatchup: 100,
};

export interface FillState {
  /** Every time up to here has its run or was skipped; null for a schedule never filled. */
  filledUntil: Date | null;
  catchup: CatchupPolicy;
}

export interface FillPlan {
  /** Scheduled times to create runs for, ascending. */
  times: Date[];
  /** The new mark: times at or before it are never considered again. */
  filledUntil: Date;
  /** When the schedule next needs a pass; null when it has no time left at all. */
  nextFillAt: Date | null;
  /** Missed times (before `now`) that the catch-up policy skipped: the first and the last, when any. */
  skipped: { from: Date; through: Date } | null;
}

/**
 * Which runs one pass creates for a schedule, given its mark and the database's `now`:
 *
 * - Missed times (after the mark, at or before now) follow the catch-up policy: `all` creates them
 *   (at most `maxCatchup` per pass, and the future waits until the backlog is done), `latest` the
 *   most recent one, `none` none. The mark moves past them, so skipped times never come back.
 * - Then future times are added until at least `minRuns` runs and `minAheadMs` are covered, never
 *   beyond `maxRuns` runs or `maxAheadMs` ahead.
 * - `nextFillAt` is the earliest moment either minimum would no longer hold (or a time beyond the
 *   horizon comes within reach), so the scheduler skips schedules that have nothing to do.
 */
export function planFill(timeline: Timeline, state: FillState, now: Date, bounds: FillBounds = DEFAULT_FILL_BOUNDS): FillPlan {
  const times: Date[] = [];
  let skipped: FillPlan['skipped'] = null;
  let cursor = now;
  const mark = state.filledUntil;
  if (mark !== null && mark > now) cursor = mark;
  else if (mark !== null) {
    const firstMissed = timeline.next(mark);
    if (firstMissed && firstMissed <= now) {
      const lastMissed = timeline.latestAtOrBefore(now) ?? firstMissed;
      switch (state.catchup) {
        case 'all': {
          for (let t: Date | null = firstMissed; t && t <= now; t = timeline.next(t)) {
            if (times.length === bounds.maxCatchup) {
              // More missed times than one pass may create: the rest come next pass, before any future one.
              return { times, filledUntil: times.at(-1) ?? mark, nextFillAt: now, skipped: null };
            }
            times.push(t);
          }
          break;
        }
        case 'latest':
          times.push(lastMissed);
          if (firstMissed < lastMissed)
            skipped = {
              from: firstMissed,
              through: timeline.latestAtOrBefore(new Date(lastMissed.getTime() - 1)) ?? firstMissed,
            };
          break;
        case 'none':
          skipped = { from: firstMissed, through: lastMissed };
          break;
      }
    }
  }

  // Times already materialised ahead of now count towards the bounds.
  const ahead: Date[] = [];
  if (cursor > now) {
    for (let t = timeline.next(now); t && t <= cursor && ahead.length < bounds.maxRuns; t = timeline.next(t)) ahead.push(t);
  }
  const minUntil = now.getTime() + bounds.minAheadMs;
  const horizon = now.getTime() + bounds.maxAheadMs;
  let last = cursor;
  let beyondHorizon: Date | null = null;
  let exhausted = false;
  while (ahead.length < bounds.maxRuns && (ahead.length < bounds.minRuns || last.getTime() < minUntil)) {
    const t = timeline.next(last);
    if (!t) {
      exhausted = true;
      break;
    }
    if (t.getTime() > horizon) {
      beyondHorizon = t;
      break;
    }
    times.push(t);
    ahead.push(t);
    last = t;
  }

  let nextFillAt: Date | null;
  if (exhausted && ahead.length === 0) nextFillAt = null;
  else {
    const fewRunsAt = ahead.length >= bounds.minRuns ? (ahead[ahead.length - bounds.minRuns] as Date).getTime() : now.getTime();
    let at = Math.min(fewRunsAt, last.getTime() - bounds.minAheadMs);
    // Below the minimums only because the next time lies beyond the horizon: wait until it comes within reach.
    if (beyondHorizon) at = Math.max(at, beyondHorizon.getTime() - bounds.maxAheadMs);
    if (exhausted) at = Math.max(at, (ahead.at(-1) as Date).getTime());
    nextFillAt = new Date(at);
  }
  return { times, filledUntil: last, nextFillAt, skipped };
}
