/*
 * The task-run window of an IPC port, kept per port for the whole process. Apart from the channel
 * (and from zod) because the runner records the worker's first `taskAck` before it loads anything
 * else, and the bundle's own copy of the runtime reads it later.
 */

/** Task-run events sent over a port, and how many the worker last said it settled (null: it never said, so no window). */
export interface TaskWindow {
  sent: number;
  settled: number | null;
  waiters: (() => void)[];
}

/**
 * Task-run events a flow process may have sent and the worker not yet settled. Past it the next task
 * waits to start until the worker catches up, so a map far faster than the API holds a bounded
 * backlog (about 1 KB an event in the worker) instead of the whole map.
 */
export const TASK_EVENT_WINDOW = 10_000;

const TASK_WINDOWS_KEY = Symbol.for('outpost.ipc.taskWindows');

/** The window of `port`, shared by every copy of the SDK in the process. */
export function taskWindow(port: object): TaskWindow {
  const holder = globalThis as { [TASK_WINDOWS_KEY]?: WeakMap<object, TaskWindow> };
  holder[TASK_WINDOWS_KEY] ??= new WeakMap();
  let window = holder[TASK_WINDOWS_KEY].get(port);
  if (!window) {
    window = { sent: 0, settled: null, waiters: [] };
    holder[TASK_WINDOWS_KEY].set(port, window);
  }
  return window;
}

/** Records a `taskAck`'s count, if `raw` carries one; true when it did. */
export function recordTaskAck(port: object, raw: unknown): boolean {
  const settled = (raw as { settled?: unknown } | null)?.settled;
  if (typeof settled !== 'number' || !Number.isFinite(settled)) return false;
  const window = taskWindow(port);
  window.settled = Math.max(window.settled ?? 0, settled);
  return true;
}
