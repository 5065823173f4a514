import { createRequire } from 'node:module';
import { UsageError } from './errors.js';

type Chrono = typeof import('chrono-node');
let chronoModule: Chrono | null = null;

/**
 * chrono-node, loaded on first use: it takes about 150 ms to import, which every `outpost run`
 * would pay though only words like "tomorrow 06:00" need it (its CommonJS build loads synchronously).
 */
function chrono(): Chrono {
  chronoModule ??= createRequire(import.meta.url)('chrono-node') as Chrono;
  return chronoModule;
}

/** An ISO 8601 timestamp with a date and a time; its zone is the machine's when it names none. */
const ISO = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/i;

/** How far in the past a start time may be before it is a mistake rather than "now". */
const PAST_SLACK_MS = 60_000;

/**
 * Reads a time given on the command line: an ISO timestamp (`2026-12-01T06:00:00Z`) or words
 * chrono-node understands (`tomorrow 06:00`, `in 2 hours`, `last monday`), in the machine's time
 * zone (TZ). The whole text must be understood: `tomorrow at 6 maybe` is refused rather than read
 * as `tomorrow at 6`. With `future`, a bare time or weekday means its next occurrence.
 */
export function parseTime(raw: string, flag: string, now: Date, options: { future: boolean }): Date {
  const text = raw.trim();
  let date: Date | null = null;
  if (ISO.test(text)) {
    const ms = Date.parse(text.replace(' ', 'T'));
    date = Number.isNaN(ms) ? null : new Date(ms);
  } else {
    const [first, ...more] = chrono().parse(text, now, { forwardDate: options.future });
    if (first && more.length === 0 && first.index === 0 && first.text.length === text.length) date = first.date();
  }
  if (!date)
    throw new UsageError(`${flag} cannot read "${raw}"`, [
      'give an ISO timestamp (2026-12-01T06:00:00Z) or words such as "tomorrow 06:00" or "in 2 hours"',
    ]);
  return date;
}

/** `outpost run --start-at`: a time from now on (a minute of slack for "now"). */
export function parseStartAt(raw: string, now: Date = new Date()): Date {
  const date = parseTime(raw, '--start-at', now, { future: true });
  if (date.getTime() < now.getTime() - PAST_SLACK_MS)
    throw new UsageError(`--start-at "${raw}" is in the past (${date.toISOString()}); leave it out to start now`);
  return date;
}
