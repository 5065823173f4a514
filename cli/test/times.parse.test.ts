import { describe, expect, it } from 'vitest';
import { parseStartAt } from '../src/times.js';

// Monday 23 November 2026, 09:00 in the machine's zone.
const NOW = new Date(2026, 10, 23, 9, 0, 0);

describe('--start-at', () => {
  it('reads an ISO timestamp with its offset, and one without in the machine’s zone', () => {
    expect(parseStartAt('2026-12-01T06:00:00Z', NOW).toISOString()).toBe('2026-12-01T06:00:00.000Z');
    expect(parseStartAt('2026-12-01T06:00:00+02:00', NOW).toISOString()).toBe('2026-12-01T04:00:00.000Z');
    expect(parseStartAt('2026-12-01 06:30', NOW)).toEqual(new Date(2026, 11, 1, 6, 30));
  });

  it('reads words relative to now, a bare time meaning its next occurrence', () => {
    expect(parseStartAt('tomorrow 06:00', NOW)).toEqual(new Date(2026, 10, 24, 6, 0));
    expect(parseStartAt('in 2 hours', NOW)).toEqual(new Date(2026, 10, 23, 11, 0));
    expect(parseStartAt('next monday 9am', NOW)).toEqual(new Date(2026, 10, 30, 9, 0));
    expect(parseStartAt('06:00', NOW)).toEqual(new Date(2026, 10, 24, 6, 0));
  });

  it('refuses text it only partly understands, text it does not understand, and times in the past', () => {
    expect(() => parseStartAt('tomorrow at 6 maybe', NOW)).toThrow('--start-at cannot read "tomorrow at 6 maybe"');
    expect(() => parseStartAt('whenever', NOW)).toThrow('--start-at cannot read "whenever"');
    expect(() => parseStartAt('yesterday', NOW)).toThrow(/is in the past/);
    expect(() => parseStartAt('2020-01-01T00:00:00Z', NOW)).toThrow(/is in the past/);
  });
});
