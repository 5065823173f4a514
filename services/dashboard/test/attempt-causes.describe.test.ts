import { describe, expect, it } from 'vitest';
import { attemptCauses, describeRunAttempt } from '../src/lib/attempt-causes.js';

type Entry = Parameters<typeof attemptCauses>[0][number];

function entry(attempt: number, type: Entry['state']['type'], name: string, timestamp: string): Entry {
  return { attempt, state: { type, name, timestamp } };
}

// A run that failed once and was retried by its policy, then suspended on a wait and resumed, then
// failed for good and was retried by a user four minutes later.
const HISTORY: Entry[] = [
  entry(1, 'SCHEDULED', 'Scheduled', '2026-11-02T10:00:00.000Z'),
  entry(1, 'PENDING', 'Pending', '2026-11-02T10:00:01.000Z'),
  entry(1, 'RUNNING', 'Running', '2026-11-02T10:00:02.000Z'),
  entry(1, 'FAILED', 'Failed', '2026-11-02T10:00:03.000Z'),
  entry(2, 'SCHEDULED', 'AwaitingRetry', '2026-11-02T10:00:03.000Z'),
  entry(2, 'PENDING', 'Pending', '2026-11-02T10:00:13.000Z'),
  entry(2, 'RUNNING', 'Running', '2026-11-02T10:00:14.000Z'),
  entry(2, 'PAUSED', 'Suspended', '2026-11-02T10:00:15.000Z'),
  entry(3, 'SCHEDULED', 'Resuming', '2026-11-02T10:02:00.000Z'),
  entry(3, 'PENDING', 'Pending', '2026-11-02T10:02:01.000Z'),
  entry(3, 'RUNNING', 'Running', '2026-11-02T10:02:02.000Z'),
  entry(3, 'FAILED', 'Failed', '2026-11-02T10:02:03.000Z'),
  entry(4, 'SCHEDULED', 'AwaitingRetry', '2026-11-02T10:06:03.000Z'),
];

describe('attempt causes', () => {
  it('tells a resumed attempt, a retry by the retry policy and a retry by hand apart', () => {
    expect([...attemptCauses(HISTORY)]).toEqual([
      [1, 'first'],
      [2, 'retried'],
      [3, 'resumed'],
      [4, 'retried_by_hand'],
    ]);
  });

  it('calls an attempt after a failure a retry by hand when it was not written with the failure', () => {
    const causes = attemptCauses([
      entry(1, 'RUNNING', 'Running', '2026-11-02T10:00:02.000Z'),
      entry(1, 'FAILED', 'Failed', '2026-11-02T10:00:03.000Z'),
      entry(2, 'SCHEDULED', 'AwaitingRetry', '2026-11-02T10:05:00.000Z'),
    ]);
    expect(causes.get(2)).toBe('retried_by_hand');
  });

  it('labels a resumed attempt as resumed, not as a retry by hand beyond the run’s retries', () => {
    const history = [
      entry(1, 'RUNNING', 'Running', '2026-11-02T10:00:02.000Z'),
      entry(1, 'PAUSED', 'Suspended', '2026-11-02T10:00:03.000Z'),
      entry(2, 'SCHEDULED', 'Resuming', '2026-11-02T10:01:00.000Z'),
      entry(2, 'RUNNING', 'Running', '2026-11-02T10:01:02.000Z'),
      entry(2, 'PAUSED', 'Suspended', '2026-11-02T10:01:03.000Z'),
      entry(3, 'SCHEDULED', 'Resuming', '2026-11-02T10:04:00.000Z'),
    ];
    expect(describeRunAttempt({ attempt: 3, maxRetries: 0 }, attemptCauses(history))).toBe('3 (resumed after a wait)');
  });

  it('counts only retries against the run’s retries, leaving resumed attempts out', () => {
    const causes = attemptCauses(HISTORY);
    expect(describeRunAttempt({ attempt: 2, maxRetries: 2 }, causes)).toBe('2 (retried automatically: retry 1 of 2)');
    expect(describeRunAttempt({ attempt: 4, maxRetries: 1 }, causes)).toBe('4 (retried by hand)');
    expect(describeRunAttempt({ attempt: 1, maxRetries: 2 }, causes)).toBe('1 of 3');
  });

  it('gives only the number of an attempt whose history has not been read', () => {
    expect(describeRunAttempt({ attempt: 3, maxRetries: 0 }, new Map())).toBe('3');
  });
});
