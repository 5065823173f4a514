import type { FlowRun } from '@outpost/sdk/contracts';
import { describe, expect, test } from 'vitest';
import { mergeRuns, upcomingFirst } from '../src/lib/run-order.js';

type Run = Pick<FlowRun, 'id' | 'updatedAt' | 'state' | 'startTime' | 'expectedStartTime'>;

function run(id: string, updatedAt: string, type: FlowRun['state']['type'], expectedStartTime: string): Run {
  return {
    id,
    updatedAt,
    expectedStartTime,
    startTime: type === 'SCHEDULED' ? null : updatedAt,
    state: { type } as FlowRun['state'],
  };
}

describe('merging the recent runs with the upcoming ones', () => {
  test('adds the upcoming runs the recent read missed, and shows the soonest first', () => {
    const recent = [
      run('new', '2026-01-01T10:00:00Z', 'SCHEDULED', '2026-01-09T00:00:00Z'),
      run('done', '2026-01-01T09:00:00Z', 'COMPLETED', '2026-01-01T08:00:00Z'),
    ];
    const upcoming = [run('soonest', '2026-01-01T01:00:00Z', 'SCHEDULED', '2026-01-02T00:00:00Z'), recent[0] as Run];
    const merged = mergeRuns(recent, upcoming);
    expect(merged.map((r) => r.id)).toEqual(['new', 'done', 'soonest']);
    expect(upcomingFirst(merged).map((r) => r.id)).toEqual(['soonest', 'new', 'done']);
  });

  test('keeps the copy updated last, so an older read of a run that has started does not list it as upcoming again', () => {
    const started = run('a', '2026-01-02T00:00:05Z', 'RUNNING', '2026-01-02T00:00:00Z');
    const stale = run('a', '2026-01-01T00:00:00Z', 'SCHEDULED', '2026-01-02T00:00:00Z');
    expect(mergeRuns([started], [stale])).toEqual([started]);
    expect(mergeRuns([stale], [started])).toEqual([started]);
  });
});
