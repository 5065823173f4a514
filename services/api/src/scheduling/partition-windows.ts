import type { PartitionsDefinition, TimeWindowPartitions } from '@outpost/sdk/contracts';
import { timeWindowAt, timeWindowsReadyBy } from '@outpost/sdk/partitions';
import type { Timeline } from './timeline.js';

/*
 * Time-window partitions on a schedule: which window a run scheduled at `t` works on (the latest
 * one that is a partition by then: closed, plus its end offset), and the schedule that fires at each
 * window's end (plus the offset) when the schedule names no cron or interval.
 *
 * Windows are counted, never listed: the number of windows ready by `t` is the index of the next one
 * to become ready (the SDK computes both by arithmetic, DST-exact), so a definition started in 1900
 * costs a lookup what one started yesterday does, and a backfill over its times costs each time O(1).
 */

function offsetMs(def: TimeWindowPartitions): number {
  return (def.endOffsetMinutes ?? 0) * 60_000;
}

/**
 * The key of the latest window that is a partition at `at`, or null when none is yet (or the
 * definition is not of time windows): what a run scheduled at `at` works on.
 */
export function latestPartitionAt(def: PartitionsDefinition | null, at: Date): string | null {
  if (def?.kind !== 'time') return null;
  const ready = timeWindowsReadyBy(def, at);
  return ready === 0 ? null : (timeWindowAt(def, ready - 1)?.key ?? null);
}

/** When window `index` becomes a partition (its end plus the offset), or null when there is no such window. */
function readyAt(def: TimeWindowPartitions, index: number): Date | null {
  const window = timeWindowAt(def, index);
  return window === null ? null : new Date(window.end.getTime() + offsetMs(def));
}

/** Fires when each window becomes a partition; DST-exact, since window ends come from the SDK. */
export class WindowTimeline implements Timeline {
  constructor(private readonly def: TimeWindowPartitions) {}

  next(t: Date): Date | null {
    // The windows ready by `t` are 0 … n-1; window n is the first to become ready after `t`.
    return readyAt(this.def, timeWindowsReadyBy(this.def, t));
  }

  latestAtOrBefore(t: Date): Date | null {
    const ready = timeWindowsReadyBy(this.def, t);
    return ready === 0 ? null : readyAt(this.def, ready - 1);
  }
  /**
   * The times in [start, end), ascending, or null when there are more than `cap`: counted first
   * (windows ready by end minus those ready by start), then listed by index, never walked one
   * `next` at a time.
   */
  timesInRange(start: Date, end: Date, cap: number): Date[] | null {
    const first = timeWindowsReadyBy(this.def, new Date(start.getTime() - 1));
    const stop = timeWindowsReadyBy(this.def, new Date(end.getTime() - 1));
    if (stop - first > cap) return null;
    const times: Date[] = [];
    for (let i = first; i < stop; i++) {
      const at = readyAt(this.def, i);
      if (at !== null) times.push(at);
    }
    return times;
  }
}
