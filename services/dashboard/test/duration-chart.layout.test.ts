import type { FlowRun } from '@outpost/sdk/contracts';
import { describe, expect, test } from 'vitest';
import { durationAxis, durationBars } from '../src/lib/duration-chart.js';

function run(id: string, startTime: string | null, endTime: string | null, type: FlowRun['state']['type']): FlowRun {
  return { id, name: id, startTime, endTime, state: { type } } as unknown as FlowRun;
}

describe('the duration chart', () => {
  test('the axis is a readable step that holds the longest run', () => {
    expect(durationAxis(0)).toEqual({ maxMs: 1000, stepMs: 1000 });
    expect(durationAxis(7_000)).toEqual({ maxMs: 8000, stepMs: 2000 });
    expect(durationAxis(250_000)).toEqual({ maxMs: 360_000, stepMs: 120_000 });
  });

  test('one bar per started run, oldest first, as tall as it took and coloured by its state', () => {
    const chart = durationBars(
      [
        run('b', '2026-01-01T00:10:00Z', '2026-01-01T00:10:10Z', 'FAILED'),
        run('a', '2026-01-01T00:00:00Z', '2026-01-01T00:00:05Z', 'COMPLETED'),
        run('waiting', null, null, 'SCHEDULED'),
        run('c', '2026-01-01T00:20:00Z', null, 'RUNNING'),
      ],
      Date.parse('2026-01-01T00:20:02Z'),
      1200,
      100,
    );
    expect(chart.bars.map((b) => [b.runId, b.state, b.durationMs])).toEqual([
      ['a', 'COMPLETED', 5000],
      ['b', 'FAILED', 10_000],
      ['c', 'RUNNING', 2000],
    ]);
    expect(chart.maxMs).toBe(10_000);
    expect(chart.bars[1]?.height).toBe(100);
    expect(chart.bars[0]?.height).toBe(50);
    expect(chart.gridlines.map((g) => g.ms)).toEqual([0, 5000, 10_000]);
  });
});
