import { describe, expect, test } from 'vitest';
import { describeInterval, describeSchedule, nextRunTimes } from '../src/lib/schedule-text.js';

const cron = (expr: string, timezone: string | null = 'UTC') => ({
  cron: expr,
  timezone,
  intervalSeconds: null,
  anchorDate: null,
});
const every = (seconds: number, anchorDate: string | null = null) => ({
  cron: null,
  timezone: null,
  intervalSeconds: seconds,
  anchorDate,
});

describe('schedules in words', () => {
  test('a cron reads as a sentence ending with its zone', () => {
    expect(describeSchedule(cron('0 6 * * 1-5', 'Europe/Berlin'))).toBe('At 06:00, Monday through Friday, Europe/Berlin');
    expect(describeSchedule(cron('*/15 * * * *', null))).toBe('Every 15 minutes, UTC');
  });

  test('an interval reads in the largest unit that divides it', () => {
    expect(describeInterval(900)).toBe('Every 15 minutes');
    expect(describeInterval(3600)).toBe('Every hour');
    expect(describeInterval(172_800)).toBe('Every 2 days');
    expect(describeInterval(90)).toBe('Every 90 seconds');
    expect(describeSchedule(every(7200))).toBe('Every 2 hours');
  });

  test('a cron cronstrue cannot read is still shown, as the expression', () => {
    expect(describeSchedule(cron('0 0 L * *'))).toMatch(/, UTC$/);
  });
});

describe('next run times', () => {
  test('a Berlin cron keeps 06:00 on the wall clock across the end of summer time', () => {
    const times = nextRunTimes(cron('0 6 * * *', 'Europe/Berlin'), new Date('2026-10-23T12:00:00Z'), 5);
    expect(times.map((t) => t.toISOString())).toEqual([
      '2026-10-24T04:00:00.000Z',
      '2026-10-25T05:00:00.000Z',
      '2026-10-26T05:00:00.000Z',
      '2026-10-27T05:00:00.000Z',
      '2026-10-28T05:00:00.000Z',
    ]);
  });

  test('an interval steps from its anchor in elapsed time, strictly after now', () => {
    const times = nextRunTimes(every(3600, '2026-01-01T00:30:00Z'), new Date('2026-03-01T10:30:00Z'), 3);
    expect(times.map((t) => t.toISOString())).toEqual([
      '2026-03-01T11:30:00.000Z',
      '2026-03-01T12:30:00.000Z',
      '2026-03-01T13:30:00.000Z',
    ]);
  });

  test('an unreadable cron has no next times', () => {
    expect(nextRunTimes(cron('not a cron at all'), new Date(), 5)).toEqual([]);
  });
});
