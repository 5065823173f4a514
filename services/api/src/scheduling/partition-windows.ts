import type { PartitionsDefinition, TimeWindowPartitions } from '@outpost/sdk/contracts';
import { partitionKeys, timeWindowOf } from '@outpost/sdk/partitions';
import type { Timeline } from './timeline.js';

/*
 * Time-window partitions on a schedule: which window a run scheduled at `t` works on (the latest
 * one that is a partition by then: closed, plus its end offset), and the schedule that fires at each
 * window's end (plus the offset) when the schedule names no cron or interval.
 *
 * The SDK enumerates keys from the definition's start; a definition started years ago would make
 * every lookup walk years of windows. Lookups here enumerate from a start moved to shortly before
 * the instant asked about, which leaves the keys near it unchanged: daily, weekly and monthly windows
 * are aligned to local dates (a weekday, the first of a month) and hourly ones to the start's minute.
 */

const DAY_MS = 86_400_000;
/** Longer than any window (a month) plus slack. */
const SPAN_MS = 40 * DAY_MS;

const dateFormats = new Map<string, Intl.DateTimeFormat>();

/** `2026-03-01`: the local date of an instant in a zone. */
function localDate(at: Date, timezone: string): string {
  let format = dateFormats.get(timezone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-CA', { timeZone: timezone, year: 'numeric', month: '2-digit', day: '2-digit' });
    dateFormats.set(timezone, format);
  }
  return format.format(at);
}

function offsetMs(def: TimeWindowPartitions): number {
  return (def.endOffsetMinutes ?? 0) * 60_000;
}

/** The definition with its start moved forward to about `SPAN_MS` before `at` (never before its own start). */
function startingNear(def: TimeWindowPartitions, at: Date): TimeWindowPartitions {
  const date = localDate(new Date(at.getTime() - SPAN_MS - offsetMs(def)), def.timezone);
  const start = def.cadence === 'hourly' ? `${date}T${def.start.length > 10 ? def.start.slice(11, 16) : '00:00'}` : date;
  return start > def.start ? { ...def, start } : def;
}

/** The keys of windows that are partitions at `at`, the last ones only (see startingNear). */
function recentKeys(def: TimeWindowPartitions, at: Date): string[] {
  return partitionKeys(startingNear(def, at), { now: at });
}

/**
 * The key of the latest window that is a partition at `at`, or null when none is yet (or the
 * definition is not of time windows): what a run scheduled at `at` works on.
 */
export function latestPartitionAt(def: PartitionsDefinition | null, at: Date): string | null {
  if (def?.kind !== 'time') return null;
  return recentKeys(def, at).at(-1) ?? null;
}

/** When a window becomes a partition: its end plus the definition's end offset. */
function readyAt(def: TimeWindowPartitions, key: string): number {
  return timeWindowOf(def, key).end.getTime() + offsetMs(def);
}

/** Fires when each window becomes a partition; DST-exact, since window ends come from the SDK. */
export class WindowTimeline implements Timeline {
  constructor(private readonly def: TimeWindowPartitions) {}

  next(t: Date): Date | null {
    // Every window closing within the span after `t` is a partition by `t + span`.
    const horizon = new Date(t.getTime() + SPAN_MS + offsetMs(this.def));
    const keys = partitionKeys(startingNear(this.def, t), { now: horizon });
    for (const key of keys) {
      const ready = readyAt(this.def, key);
      if (ready > t.getTime()) return new Date(ready);
    }
    if (keys.length > 0) return null; // windows near `t`, none after it: the definition has ended
    if (this.def.end !== undefined && this.def.end.slice(0, 10) <= localDate(t, this.def.timezone)) return null;
    // No window near `t`: the definition starts later. Zone offsets are within a day of UTC.
    const startsAround = Date.parse(`${this.def.start.slice(0, 10)}T00:00:00Z`);
    const later = partitionKeys(this.def, { now: new Date(startsAround + 2 * SPAN_MS + offsetMs(this.def)) });
    const first = later.find((key) => readyAt(this.def, key) > t.getTime());
    return first === undefined ? null : new Date(readyAt(this.def, first));
  }

  latestAtOrBefore(t: Date): Date | null {
    const key = recentKeys(this.def, t).at(-1);
    return key === undefined ? null : new Date(readyAt(this.def, key));
  }
}
