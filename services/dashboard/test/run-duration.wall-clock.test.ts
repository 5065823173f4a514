import { describe, expect, it } from 'vitest';
import { runDuration } from '../src/lib/run-duration.js';

const ATTEMPTS = [
  { startedAt: '2026-11-02T10:00:00.000Z', endedAt: '2026-11-02T10:00:01.200Z' },
  { startedAt: '2026-11-02T10:02:00.000Z', endedAt: '2026-11-02T10:02:01.200Z' },
  { startedAt: '2026-11-02T10:04:18.800Z', endedAt: '2026-11-02T10:04:20.000Z' },
];

describe('a run’s duration', () => {
  it('is the wall-clock time from the first start to the end, with the attempts’ working time beside it', () => {
    const d = runDuration(
      { startTime: '2026-11-02T10:00:00.000Z', endTime: '2026-11-02T10:04:20.000Z' },
      ATTEMPTS,
      Date.parse('2026-11-03T00:00:00.000Z'),
    );
    expect(d.text).toBe('4m 20s');
    expect(d.working).toBe('3.6s working over 3 attempts');
  });

  it('runs to now while the run has not ended', () => {
    const d = runDuration(
      { startTime: '2026-11-02T10:00:00.000Z', endTime: null },
      [{ startedAt: '2026-11-02T10:00:00.000Z', endedAt: null }],
      Date.parse('2026-11-02T10:01:30.000Z'),
    );
    expect(d).toEqual({ text: '1m 30s', working: null });
  });

  it('is a dash before the run starts', () => {
    expect(runDuration({ startTime: null, endTime: null }, [], Date.now()).text).toBe('—');
  });
});
