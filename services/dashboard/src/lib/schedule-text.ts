import { cronReading, type Schedule } from '@outpost/sdk/contracts';
import { Cron } from 'croner';
import cronstrue from 'cronstrue';

/** The fields of a schedule that decide its times. */
export type ScheduleTimes = Pick<Schedule, 'cron' | 'timezone' | 'intervalSeconds' | 'anchorDate'>;

const UNITS: readonly [number, string][] = [
  [86_400, 'day'],
  [3_600, 'hour'],
  [60, 'minute'],
  [1, 'second'],
];

/** `900` → "Every 15 minutes", `3600` → "Every hour": the largest unit that divides it exactly. */
export function describeInterval(seconds: number): string {
  const [size, unit] = UNITS.find(([s]) => seconds % s === 0) ?? [1, 'second'];
  const n = seconds / size;
  return n === 1 ? `Every ${unit}` : `Every ${n.toLocaleString('en-US')} ${unit}s`;
}

/** A cron expression in words, or null when cronstrue cannot read it (croner accepts a little more). */
export function describeCron(cron: string): string | null {
  try {
    return cronstrue.toString(cron, { use24HourTimeFormat: true, throwExceptionOnParseError: true });
  } catch {
    return null;
  }
}

/**
 * A schedule in words: "At 06:00, Monday through Friday, Europe/Berlin" or "Every 15 minutes".
 * A schedule with neither fires at the end of each window of its time partitions.
 */
export function describeSchedule(s: ScheduleTimes): string {
  if (s.cron !== null) {
    const words = describeCron(s.cron) ?? `Cron ${s.cron}`;
    return `${words}, ${s.timezone ?? 'UTC'}`;
  }
  if (s.intervalSeconds !== null) return describeInterval(s.intervalSeconds);
  return "At the end of each of its partitions' time windows";
}

/**
 * The next `count` times after `now`, computed as the API's scheduler computes them: croner with the
 * same options (`cronReading`) reads the cron fields in the schedule's zone (DST-correct), and an
 * interval steps from its anchor in elapsed time. Empty when the cron cannot be read or never fires
 * again.
 */
export function nextRunTimes(s: ScheduleTimes, now: Date, count: number): Date[] {
  if (s.cron !== null) {
    const zone = s.timezone ?? 'UTC';
    try {
      const job = new Cron(s.cron, cronReading(zone));
      return job.nextRuns(count, now);
    } catch {
      return [];
    }
  }
  if (s.intervalSeconds !== null) {
    const anchor = s.anchorDate ? Date.parse(s.anchorDate) : Date.UTC(2020, 0, 1);
    const step = s.intervalSeconds * 1000;
    const first = Math.floor((now.getTime() - anchor) / step) + 1;
    return Array.from({ length: count }, (_, i) => new Date(anchor + (first + i) * step));
  }
  return [];
}

/** A scheduled time as the schedule's zone reads it, with the zone's abbreviation: "Mon 30 Mar 2026, 06:00 CEST". */
export function formatInZone(at: Date, timezone: string | null): string {
  try {
    return new Intl.DateTimeFormat('en-GB', {
      timeZone: timezone ?? undefined,
      weekday: 'short',
      day: 'numeric',
      month: 'short',
      year: 'numeric',
      hour: '2-digit',
      minute: '2-digit',
      hour12: false,
      timeZoneName: 'short',
    }).format(at);
  } catch {
    return at.toISOString();
  }
}
