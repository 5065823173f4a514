import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { flow, TaskTimeoutError, task, taskContext } from '../src/index.js';
import { retryDelayMs } from '../src/runtime/index.js';
import { usePrintedLines } from './support/console.js';

const printed = usePrintedLines();

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

describe('task()', () => {
  it('runs like the function it wraps when called outside a flow', async () => {
    const add = task('add', (a: number, b: number) => a + b);
    await expect(add(2, 3)).resolves.toBe(5);
    expect(add.taskName).toBe('add');
  });

  it('retries with exponential backoff stretched by jitter, on the injected clock', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const started: number[] = [];
    const flaky = task({ name: 'flaky', retries: 3, retryDelaySeconds: 1, backoff: 2, jitter: 0.2 }, async () => {
      started.push(Date.now());
      if (started.length < 4) throw new Error(`failure ${started.length}`);
      return taskContext().runCount;
    });
    const t0 = Date.now();

    const result = flaky();
    await vi.advanceTimersByTimeAsync(0);
    expect(started).toHaveLength(1);
    // Delays are 1 s, 2 s and 4 s, each 10% longer (jitter 0.2 × random 0.5).
    await vi.advanceTimersByTimeAsync(1099);
    expect(started).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(started).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(2200 + 4400);

    await expect(result).resolves.toBe(4);
    expect(started.map((t) => t - t0)).toEqual([0, 1100, 3300, 7700]);
    expect(printed).toContain('[flaky-0] warning attempt 1 of 4 failed: Error: failure 1; retrying in 1.1s');
  });

  it('gives up after the last retry and rethrows the last error', async () => {
    let calls = 0;
    const broken = task({ name: 'broken', retries: 1, retryDelaySeconds: 5 }, async () => {
      calls += 1;
      throw new RangeError(`try ${calls}`);
    });

    const outcome = broken().catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(5000);

    const error = await outcome;
    expect(error).toBeInstanceOf(RangeError);
    expect((error as Error).message).toBe('try 2');
    expect(calls).toBe(2);
  });

  it('does not retry an error that retryOn declines', async () => {
    let calls = 0;
    const picky = task({ name: 'picky', retries: 5, retryOn: (error) => !(error instanceof TypeError) }, async () => {
      calls += 1;
      throw new TypeError('permanent');
    });

    await expect(picky()).rejects.toThrow('permanent');
    expect(calls).toBe(1);
  });

  it('aborts the task signal and rejects with TaskTimeoutError when an attempt outlives timeoutSeconds', async () => {
    const signals: AbortSignal[] = [];
    const slow = task({ name: 'slow', timeoutSeconds: 5, retries: 1 }, () => {
      signals.push(taskContext().signal);
      return new Promise<never>(() => {});
    });

    const outcome = slow().catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(4999);
    expect(signals[0]?.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(signals[0]?.aborted).toBe(true);
    expect(signals[0]?.reason).toBeInstanceOf(TaskTimeoutError);
    // The timed-out attempt is retried once, and that attempt times out too.
    await vi.advanceTimersByTimeAsync(5000);

    const error = await outcome;
    expect(error).toBeInstanceOf(TaskTimeoutError);
    expect((error as Error).message).toBe("task 'slow-0' timed out after 5s");
    expect(signals).toHaveLength(2);
  });

  it('stops retrying once the enclosing flow has timed out', async () => {
    let calls = 0;
    const never = task({ name: 'never-done', retries: 10, retryDelaySeconds: 1 }, async () => {
      calls += 1;
      throw new Error('down');
    });
    const bounded = flow({ name: 'bounded-flow', timeoutSeconds: 3 }, async () => never());

    const outcome = bounded().catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(10_000);

    expect((await outcome) as Error).toMatchObject({ name: 'FlowTimeoutError' });
    expect(calls).toBe(3);
  });

  it('gives each call in a flow run a stable key from its name and call index', async () => {
    const seen: string[] = [];
    const step = task('step', async () => {
      const ctx = taskContext();
      seen.push(`${ctx.taskKey}|${ctx.dynamicKey}|${ctx.flowRunId === null ? 'none' : 'run'}`);
    });
    const steps = flow({ name: 'steps-flow' }, async () => {
      await Promise.all([step(), step(), step()]);
    });

    await steps();
    expect(seen).toEqual(['step-0|0|run', 'step-1|1|run', 'step-2|2|run']);
    expect(() => taskContext()).toThrow(/outside a task/);
  });
});

describe('retryDelayMs()', () => {
  it('grows by the backoff factor and never shortens a delay with jitter', () => {
    const policy = { retries: 3, retryDelaySeconds: 2, backoff: 3, jitter: 0.5 };
    expect([1, 2, 3].map((n) => retryDelayMs(n, policy, () => 0))).toEqual([2000, 6000, 18000]);
    expect([1, 2, 3].map((n) => retryDelayMs(n, policy, () => 0.999))).toEqual([2999, 8997, 26991]);
  });
});
