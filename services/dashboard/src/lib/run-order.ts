import type { FlowRun } from '@outpost/sdk/contracts';

/** A run waiting for its time: scheduled and not started. */
export function isUpcoming(run: Pick<FlowRun, 'state' | 'startTime'>): boolean {
  return run.state.type === 'SCHEDULED' && run.startTime === null;
}

/**
 * Runs as the deployment page and each page of the runs list show them: the upcoming ones first,
 * soonest first (by expected start time, not by when the scheduler created them, which is in
 * batches and in no useful order), then the rest in the order given (newest first).
 */
export function upcomingFirst<T extends Pick<FlowRun, 'id' | 'state' | 'startTime' | 'expectedStartTime'>>(
  runs: readonly T[],
): T[] {
  const upcoming = runs
    .filter(isUpcoming)
    .sort((a, b) => Date.parse(a.expectedStartTime) - Date.parse(b.expectedStartTime) || a.id.localeCompare(b.id));
  return [...upcoming, ...runs.filter((r) => !isUpcoming(r))];
}

/**
 * The runs of two reads as one list: `recent` in its order, then those of `more` it lacks. A run in
 * both is kept in whichever copy was updated last, so a stale read never undoes a newer state.
 */
export function mergeRuns<T extends Pick<FlowRun, 'id' | 'updatedAt'>>(recent: readonly T[], more: readonly T[]): T[] {
  const extra = new Map(more.map((r) => [r.id, r]));
  const merged = recent.map((r) => {
    const other = extra.get(r.id);
    extra.delete(r.id);
    return other && Date.parse(other.updatedAt) > Date.parse(r.updatedAt) ? other : r;
  });
  return [...merged, ...extra.values()];
}
