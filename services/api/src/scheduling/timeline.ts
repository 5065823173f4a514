import { cronReading, type TimeWindowPartitions } from '@outpost/sdk/contracts';
import { Cron } from 'croner';
import { WindowTimeline } from './partition-windows.js';

/** The scheduled times of one schedule, as a sequence of instants. */
export interface Timeline {
  /** The first scheduled time strictly after `t`, or null when there is none. */
  next(t: Date): Date | null;
  /** The last scheduled time at or before `t`, or null when there is none. */
  latestAtOrBefore(t: Date): Date | null;
}

export type ScheduleDefinition =
  | { kind: 'cron'; cron: string; timezone: string }
  | { kind: 'interval'; intervalSeconds: number; anchorDate: Date }
  /** At each window's end (plus its end offset) of time-window partitions. */
  | { kind: 'windows'; partitions: TimeWindowPartitions };

/**
 * Croner reads the fields in the zone, DST-correct: a time that does not exist (spring forward)
 * runs once at the first valid instant after the gap, and a time that occurs twice (fall back) runs
 * once, on its first occurrence, for patterns whose second, minute and hour are single values.
 * Patterns with wildcards or steps there are interval-like: they skip the gap and run on both
 * occurrences of a repeated hour, as the instants really happen twice.
 *
 * The options are the contracts' `cronReading`, which the dashboard's preview of next times reads
 * with too. A UTC zone is a fixed offset there, about ten times faster, which matters when the
 * scheduler walks thousands of schedules.
 */
export function cronJob(cron: string, timezone: string): Cron {
  return new Cron(cron, cronReading(timezone));
}

class CronTimeline implements Timeline {
  readonly #job: Cron;

  constructor(cron: string, timezone: string) {
    this.#job = cronJob(cron, timezone);
  }

  next(t: Date): Date | null {
    return this.#job.nextRun(t);
  }

  latestAtOrBefore(t: Date): Date | null {
    // previousRuns excludes its reference; one millisecond later includes a time exactly at `t`.
    return this.#job.previousRuns(1, new Date(t.getTime() + 1))[0] ?? null;
  }
}

/** Fixed elapsed time from an anchor; slot k is anchor + k × interval, for every integer k. */
class IntervalTimeline implements Timeline {
  readonly #anchor: number;
  readonly #step: number;

  constructor(intervalSeconds: number, anchorDate: Date) {
    this.#anchor = anchorDate.getTime();
    this.#step = intervalSeconds * 1000;
  }

  next(t: Date): Date {
    const k = Math.floor((t.getTime() - this.#anchor) / this.#step) + 1;
    return new Date(this.#anchor + k * this.#step);
  }

  latestAtOrBefore(t: Date): Date {
    const k = Math.floor((t.getTime() - this.#anchor) / this.#step);
    return new Date(this.#anchor + k * this.#step);
  }
}

export function timelineOf(def: ScheduleDefinition): Timeline {
  switch (def.kind) {
    case 'cron':
      return new CronTimeline(def.cron, def.timezone);
    case 'interval':
      return new IntervalTimeline(def.intervalSeconds, def.anchorDate);
    case 'windows':
      return new WindowTimeline(def.partitions);
  }
}

/** First index of `sorted` holding a value greater than `value` (its length when none does). */
function upperBound(sorted: readonly number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] ?? Number.POSITIVE_INFINITY) > value) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * Remembers the times a cron timeline produced over one contiguous range, so schedules sharing a
 * cron and zone (most of them: `0 * * * *`, `0 0 * * *` …) walk it once per scheduler pass.
 * Queries outside the range go to the underlying timeline.
 */
class CachedTimeline implements Timeline {
  /** Every scheduled time in (lo, hi], ascending. */
  readonly #slots: number[] = [];
  #lo: number | null = null;
  #hi = 0;
  #exhausted = false;

  constructor(private readonly base: Timeline) {}

  next(t: Date): Date | null {
    const ms = t.getTime();
    if (this.#lo === null) {
      this.#lo = ms;
      this.#hi = ms;
    }
    if (ms < this.#lo || ms > this.#hi) return this.base.next(t);
    const i = upperBound(this.#slots, ms);
    if (i === this.#slots.length) {
      if (this.#exhausted) return null;
      const n = this.base.next(new Date(this.#hi));
      if (!n) {
        this.#exhausted = true;
        return null;
      }
      this.#slots.push(n.getTime());
      this.#hi = n.getTime();
    }
    return new Date(this.#slots[i] as number);
  }

  latestAtOrBefore(t: Date): Date | null {
    return this.base.latestAtOrBefore(t);
  }
}

/** Timelines for one scheduler pass: cron timelines are shared and cached by (cron, zone). */
export class TimelineCache {
  readonly #cron = new Map<string, Timeline>();

  get(def: ScheduleDefinition): Timeline {
    if (def.kind !== 'cron') return timelineOf(def);
    const key = `${def.timezone}\u0000${def.cron}`;
    let timeline = this.#cron.get(key);
    if (!timeline) {
      timeline = new CachedTimeline(timelineOf(def));
      this.#cron.set(key, timeline);
    }
    return timeline;
  }
}
