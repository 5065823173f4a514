import { AsyncLocalStorage } from 'node:async_hooks';
import type { Reporter } from './reporter.js';

/** The run a flow executes as: the worker's run under the worker, a fresh local identity otherwise. */
export interface RunInfo {
  id: string;
  attempt: number;
  name: string;
  flowName: string;
  deploymentId: string | null;
}

/** What a flow body receives next to its parameters. */
export interface FlowContext {
  readonly runId: string;
  readonly runName: string;
  readonly flowName: string;
  /** The flow run's attempt, starting at 1. */
  readonly attempt: number;
  readonly deploymentId: string | null;
  /** Fires when the run is cancelled or the flow's `timeoutSeconds` passes; hand it to fetch, child processes… */
  readonly signal: AbortSignal;
}

/** What a task function can read through `taskContext()`. */
export interface TaskContext {
  readonly taskRunId: string;
  readonly taskName: string;
  /** The task's identity inside its flow run: its name and call index, e.g. `double-0`. */
  readonly taskKey: string;
  /** The call index within the flow run, as a string. */
  readonly dynamicKey: string;
  /** This attempt of the task, starting at 1. */
  readonly runCount: number;
  /** Null when the task was called outside a flow. */
  readonly flowRunId: string | null;
  /** Fires when this attempt's `timeoutSeconds` passes or the enclosing flow is cancelled or times out. */
  readonly signal: AbortSignal;
}

/** Engine state for one flow run, shared by nested flows called inside it. */
export interface RunScope {
  readonly reporter: Reporter;
  readonly run: RunInfo;
  /** The flow whose body is executing (a nested flow's own name). */
  readonly flowName: string;
  readonly signal: AbortSignal;
  /** Call counters per task name, so `taskKey` is stable across attempts of the same flow code. */
  readonly taskCalls: Map<string, number>;
}

interface Scope {
  run?: RunScope | undefined;
  task?: TaskContext | undefined;
}

const storage = new AsyncLocalStorage<Scope>();

export function currentScope(): Scope {
  return storage.getStore() ?? {};
}

export function withRunScope<T>(run: RunScope, fn: () => T): T {
  return storage.run({ run }, fn);
}

export function withTaskScope<T>(task: TaskContext, fn: () => T): T {
  return storage.run({ ...currentScope(), task }, fn);
}

/**
 * The context of the task attempt that is running. Throws when called outside a task.
 * @example
 * const fetchPage = task('fetch-page', async (url: string) => {
 *   const res = await fetch(url, { signal: taskContext().signal });
 *   return res.text();
 * });
 */
export function taskContext(): TaskContext {
  const task = currentScope().task;
  if (!task) throw new Error('taskContext() was called outside a task; call it from inside a function passed to task()');
  return task;
}
