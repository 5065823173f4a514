import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { flow, task } from '../src/index.js';
import { DEFAULT_MAP_CONCURRENCY, TASK_EVENT_WINDOW } from '../src/runtime/index.js';
import { executeUnderWorker, MemoryWorker } from './runtime.memory-worker.js';

/** Counts the task-run events the flow sends; settles them only when told to. */
function countingWorker() {
  const worker = new MemoryWorker();
  let sent = 0;
  let autoSettle = false;
  let onCount: (() => void) | null = null;
  const send = worker.send;
  worker.send = (message, callback) => {
    const result = send(message, callback);
    if ((message as { t?: string }).t === 'task') {
      sent += 1;
      if (sent === 1 || autoSettle)
        queueMicrotask(() => worker.emit('message', { t: 'taskAck', settled: autoSettle ? sent : 0 }));
      onCount?.();
    }
    return result;
  };
  return {
    worker,
    get sent() {
      return sent;
    },
    reached(n: number): Promise<void> {
      return new Promise((resolve) => {
        onCount = () => {
          if (sent >= n) resolve();
        };
      });
    },
    settleEverything() {
      autoSettle = true;
      worker.emit('message', { t: 'taskAck', settled: sent });
    },
  };
}

describe('task-run event window', () => {
  it('holds new task runs once a window of events is unsettled, and goes on as the worker settles them', async () => {
    const noop = task('window-noop', async (n: number) => n);
    const items = Array.from({ length: TASK_EVENT_WINDOW }, (_, i) => i);
    let result: number[] = [];
    flow({ name: 'window-flow' }, async () => {
      result = await noop.map(items);
    });
    const w = countingWorker();
    let done = false;
    const running = executeUnderWorker('window-flow', w.worker).then(() => {
      done = true;
    });

    await w.reached(TASK_EVENT_WINDOW);
    // Let the flow go as far as it can: tasks already started may finish, none may start.
    for (let i = 0; i < 50; i++) await nextTurn();
    expect(done).toBe(false);
    expect(w.sent).toBeGreaterThanOrEqual(TASK_EVENT_WINDOW);
    expect(w.sent).toBeLessThanOrEqual(TASK_EVENT_WINDOW + DEFAULT_MAP_CONCURRENCY);

    w.settleEverything();
    await running;
    expect(result).toEqual(items);
    // Every task run sent its creation and its completion.
    expect(w.sent).toBe(2 * TASK_EVENT_WINDOW);
  });

  it('sends without a window when the worker never settles anything (an older worker)', async () => {
    const noop = task('window-free-noop', async (n: number) => n);
    const items = Array.from({ length: TASK_EVENT_WINDOW }, (_, i) => i);
    flow({ name: 'window-free-flow' }, async () => {
      await noop.map(items);
    });
    const worker = new MemoryWorker();
    await executeUnderWorker('window-free-flow', worker);
    expect(worker.messages.filter((m) => m.t === 'task')).toHaveLength(2 * TASK_EVENT_WINDOW);
  });
});
