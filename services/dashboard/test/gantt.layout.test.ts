import type { TaskRun } from '@outpost/sdk/contracts';
import { describe, expect, it } from 'vitest';
import { buildGantt } from '../src/lib/gantt.js';

const T0 = Date.parse('2026-03-01T12:00:00.000Z');
const at = (s: number) => new Date(T0 + s * 1000).toISOString();

function task(name: string, start: number | null, end: number | null, extra: Partial<TaskRun> = {}): TaskRun {
  return {
    id: `00000000-0000-4000-8000-${name.padStart(12, '0')}`,
    flowRunId: '00000000-0000-4000-8000-000000000001',
    flowRunAttempt: 1,
    name,
    taskKey: `${name}-0`,
    dynamicKey: '0',
    runCount: 1,
    cacheKey: null,
    state: {
      type: end === null ? 'RUNNING' : 'COMPLETED',
      name: end === null ? 'Running' : 'Completed',
      message: null,
      timestamp: at(0),
      data: null,
    },
    startTime: start === null ? null : at(start),
    endTime: end === null ? null : at(end),
    createdAt: at(start ?? 100),
    ...extra,
  };
}

describe('task run Gantt layout', () => {
  it('places each task on one axis from the first start to the last end, in start order', () => {
    const model = buildGantt([task('b', 50, 100), task('a', 0, 50)], T0 + 500_000, null);
    expect(model.bars.map((b) => [b.name, b.left, b.width])).toEqual([
      ['a', 0, 50],
      ['b', 50, 50],
    ]);
    expect(model.endMs - model.startMs).toBe(100_000);
    expect(model.ticks[0]).toEqual({ left: 0, offsetMs: 0 });
    expect(model.ticks.length).toBeGreaterThan(2);
    expect(model.ticks.length).toBeLessThanOrEqual(9);
  });

  it('runs an unfinished task to now and leaves a task that has not started without width', () => {
    const now = T0 + 40_000;
    const model = buildGantt([task('done', 0, 10), task('running', 10, null), task('waiting', null, null)], now, at(0));
    const [done, running, waiting] = model.bars;
    expect(running).toMatchObject({ open: true, durationMs: 30_000, left: 25, width: 75 });
    expect(done).toMatchObject({ open: false, durationMs: 10_000, width: 25 });
    expect(waiting).toMatchObject({ started: false, width: 0, durationMs: null });
  });

  it('keeps retried tasks visible with their run count and a minimum width', () => {
    const retried = task('flaky', 0, 0.001, {
      runCount: 3,
      state: { type: 'RUNNING', name: 'Retrying', message: null, timestamp: at(0), data: null },
    });
    const model = buildGantt([retried, task('long', 0, 1000)], T0 + 2_000_000, null);
    expect(model.bars[0]).toMatchObject({ runCount: 3, state: { name: 'Retrying' } });
    expect(model.bars[0]?.width).toBeGreaterThan(0);
  });
});
