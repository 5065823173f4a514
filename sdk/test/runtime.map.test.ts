import { describe, expect, expectTypeOf, it } from 'vitest';
import { flow, task } from '../src/index.js';
import { DEFAULT_MAP_CONCURRENCY } from '../src/runtime/index.js';
import { executeUnderWorker, MemoryWorker } from './runtime.memory-worker.js';

/** A task that records how many of its calls run at once, finishing after `delays[n]` ms. */
function gauge(name: string, delays: (n: number) => number = () => 1) {
  const stats = { inFlight: 0, peak: 0, started: [] as number[] };
  const t = task(name, async (n: number) => {
    stats.started.push(n);
    stats.inFlight += 1;
    stats.peak = Math.max(stats.peak, stats.inFlight);
    await new Promise((resolve) => setTimeout(resolve, delays(n)));
    stats.inFlight -= 1;
    return n * n;
  });
  return { t, stats };
}

describe('task.map()', () => {
  it('never has more than `concurrency` calls in flight and resolves with the results in the items’ order', async () => {
    // Later items finish first, so completion order differs from item order.
    const { t, stats } = gauge('map-gauge', (n) => 30 - n);
    const items = Array.from({ length: 20 }, (_, i) => i);

    const results = await t.map(items, { concurrency: 3 });

    expect(results).toEqual(items.map((n) => n * n));
    expect(stats.peak).toBe(3);
    expect(stats.inFlight).toBe(0);
  });

  it(`runs ${DEFAULT_MAP_CONCURRENCY} at a time by default and accepts any iterable`, async () => {
    const { t, stats } = gauge('map-default', () => 5);
    const results = await t.map(new Set(Array.from({ length: 30 }, (_, i) => i)));
    expect(results).toHaveLength(30);
    expect(stats.peak).toBe(DEFAULT_MAP_CONCURRENCY);
  });

  it('resolves an empty list to an empty list', async () => {
    const { t, stats } = gauge('map-empty');
    expect(await t.map([])).toEqual([]);
    expect(stats.started).toEqual([]);
  });

  it('starts no further item after a failure, lets the ones in flight settle, then rejects with the first error', async () => {
    const settled: number[] = [];
    const t = task('map-fails', async (n: number) => {
      await new Promise((resolve) => setTimeout(resolve, n === 2 ? 5 : 40));
      settled.push(n);
      if (n === 2) throw new Error(`item ${n} failed`);
      return n;
    });

    await expect(t.map([0, 1, 2, 3, 4, 5, 6, 7], { concurrency: 3 })).rejects.toThrow('item 2 failed');

    // Items 0 and 1 were in flight when 2 failed: they finished before map rejected. 3… never started.
    expect(settled.sort()).toEqual([0, 1, 2]);
  });

  it('refuses a concurrency that is not a positive integer', async () => {
    const { t } = gauge('map-bad-options');
    await expect(t.map([1], { concurrency: 0 })).rejects.toThrow(/invalid map options of task 'map-bad-options': concurrency/);
    await expect(t.map([1], { concurrency: 1.5 })).rejects.toThrow(TypeError);
  });

  it('records each item as its own task run, keyed by the item’s index, under the worker', async () => {
    const square = task('map-square', async (n: number) => n * n);
    let result: number[] = [];
    flow({ name: 'map-flow' }, async () => {
      await square(10);
      result = await square.map([1, 2, 3], { concurrency: 2 });
    });
    const worker = new MemoryWorker();

    await executeUnderWorker('map-flow', worker);

    expect(result).toEqual([1, 4, 9]);
    const creates = worker.creates().map((b) => [b.name, b.taskKey, b.dynamicKey]);
    expect(creates).toEqual([
      ['map-square', 'map-square-0', '0'],
      ['map-square', 'map-square-1[0]', '0'],
      ['map-square', 'map-square-1[1]', '1'],
      ['map-square', 'map-square-1[2]', '2'],
    ]);
    const completed = worker.taskStates().filter((b) => b.state.type === 'COMPLETED');
    expect(completed).toHaveLength(4);
  });

  it('takes items of a one-argument task only', () => {
    const one = task('map-types-one', async (n: number, _scale?: number) => n);
    const two = task('map-types-two', async (a: string, b: number) => `${a}${b}`);
    expectTypeOf(one.map).parameter(0).toEqualTypeOf<Iterable<number>>();
    expectTypeOf(one.map([1, 2])).resolves.toEqualTypeOf<number[]>();
    expectTypeOf(two.map).parameter(0).toEqualTypeOf<Iterable<never>>();
  });
});
