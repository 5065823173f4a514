import type { FlowRun } from '@outpost/sdk/contracts';
import { describe, expect, test } from 'vitest';
import { durationScatter, timeTicks } from '../src/lib/duration-scatter.js';

function run(id: string, startTime: string | null, endTime: string | null, type: FlowRun['state']['type']): FlowRun {
  return { id, name: id, startTime, endTime, state: { type } } as unknown as FlowRun;
}

const T0 = Date.parse('2026-01-01T00:00:00Z');
const at = (minutes: number, seconds = 0) => new Date(T0 + minutes * 60_000 + seconds * 1000).toISOString();

describe('the duration scatter', () => {
  test('places a dot per started run across by its start and up by its duration, a running one by its time so far', () => {
    const chart = durationScatter(
      [
        run('late', at(100), at(100, 8), 'FAILED'),
        run('early', at(0), at(0, 4), 'COMPLETED'),
        run('waiting', null, null, 'SCHEDULED'),
        run('going', at(50), null, 'RUNNING'),
      ],
      T0 + 50 * 60_000 + 6_000,
      1000,
      100,
    );
    expect(chart.dots.map((d) => [d.runId, d.state, d.durationMs, d.running])).toEqual([
      ['early', 'COMPLETED', 4000, false],
      ['going', 'RUNNING', 6000, true],
      ['late', 'FAILED', 8000, false],
    ]);
    expect(chart.scale).toBe('linear');
    const [early, going, late] = chart.dots;
    // 3% margins on a 100-minute span: the first and last starts sit 3 minutes in from each edge.
    expect(early?.x).toBeCloseTo((3 / 106) * 1000, 6);
    expect(going?.x).toBeCloseTo(500, 6);
    expect(late?.x).toBeCloseTo((103 / 106) * 1000, 6);
    // Linear axis to 8 s in 2 s steps: y counts down from the bottom.
    expect(chart.yTicks.map((t) => t.ms)).toEqual([0, 2000, 4000, 6000, 8000]);
    expect(late?.y).toBe(0);
    expect(early?.y).toBe(50);
    expect(going?.y).toBe(25);
  });

  test('switches to a log axis with ticks people say when durations spread over more than a factor of 20', () => {
    const chart = durationScatter(
      [run('quick', at(0), at(0, 2), 'COMPLETED'), run('slow', at(10), at(100), 'COMPLETED')],
      T0 + 200 * 60_000,
      1000,
      300,
    );
    expect(chart.scale).toBe('log');
    // 2 s to 90 min: from 1 s up to 6 h, a tick at each readable step between.
    expect(chart.yTicks.map((t) => t.ms)).toEqual([1_000, 10_000, 60_000, 600_000, 3_600_000, 21_600_000]);
    expect(chart.yTicks[0]?.y).toBe(300);
    expect(chart.yTicks.at(-1)?.y).toBeCloseTo(0, 9);
    const [quick, slow] = chart.dots;
    const y = (ms: number) => 300 - (Math.log(ms / 1000) / Math.log(21_600)) * 300;
    expect(quick?.y).toBeCloseTo(y(2000), 9);
    expect(slow?.y).toBeCloseTo(y(5_400_000), 9);
    // A run of no time at all still gets a dot, on the axis's floor.
    const withZero = durationScatter(
      [run('none', at(0), at(0), 'COMPLETED'), run('hour', at(1), at(61), 'COMPLETED')],
      T0,
      100,
      100,
    );
    expect(withZero.scale).toBe('log');
    expect(withZero.dots[0]?.y).toBe(100);
    expect(durationScatter([run('a', at(0), at(0, 1), 'COMPLETED')], T0, 100, 100, { scale: 'log' }).scale).toBe('log');
  });

  test('centres a lone run in an hour, and draws an empty hour up to now with no runs', () => {
    const lone = durationScatter([run('only', at(30), at(31), 'COMPLETED')], T0, 1000, 100);
    expect(lone.dots[0]?.x).toBeCloseTo(500, 6);
    expect(lone.toMs - lone.fromMs).toBe(3_600_000);
    const empty = durationScatter([run('waiting', null, null, 'SCHEDULED')], T0, 1000, 100);
    expect(empty.dots).toEqual([]);
    expect([empty.fromMs, empty.toMs]).toEqual([T0 - 3_600_000, T0]);
  });

  test('keeps the newest starts when there are more runs than dots', () => {
    const runs = Array.from({ length: 10 }, (_, i) => run(`r${i}`, at(i), at(i, 1), 'COMPLETED'));
    const chart = durationScatter(runs, T0, 100, 100, { maxDots: 3 });
    expect(chart.dots.map((d) => d.runId)).toEqual(['r7', 'r8', 'r9']);
  });

  test('puts time ticks on whole readable steps, local midnights with an offset from UTC', () => {
    expect(timeTicks(T0 + 7 * 60_000, T0 + 67 * 60_000)).toEqual([15, 30, 45, 60].map((m) => T0 + m * 60_000));
    const day = 86_400_000;
    const plusTwo = 2 * 3_600_000;
    // Five days in UTC+2: ticks at each local midnight, 22:00 UTC the day before.
    expect(timeTicks(T0, T0 + 5 * day, 6, plusTwo)).toEqual([1, 2, 3, 4, 5].map((d) => T0 + d * day - plusTwo));
  });
});
