import { AsyncLocalStorage } from 'node:async_hooks';
import type { RunDurability } from './durable.js';
import type { Reporter } from './reporter.js';

/** The run a flow executes as: the worker's run under the worker, a fresh local identity otherwise. */
export interface RunInfo {
  id: string;
  attempt: number;
  name: string;
  flowName: string;
  deploymentId: string | null;
  deploymentName?: string | null;
  /** When the run was first due; absent: when the flow was called. */
  scheduledTime?: Date;
  scheduleId?: string | null;
  tags?: readonly string[];
  partitionKey?: string | null;
}

/**
 * What a running flow knows about its run, the same inside its tasks (`runContext()`) and as the
 * flow body's `ctx`. Run locally (no worker) the fields have these defaults: a fresh id and name,
 * attempt 1, `scheduledTime` = when the flow was called, no deployment, no schedule, no tags, no
 * partition. A subflow has its own id and name and no deployment, and shares its parent's attempt,
 * scheduled time, schedule, tags and partition key.
 */
export interface RunContext {
  readonly runId: string;
  readonly runName: string;
  readonly flowName: string;
  /** The flow run's attempt, starting at 1. */
  readonly attempt: number;
  readonly deploymentId: string | null;
  readonly deploymentName: string | null;
  /** When the run was first due (a schedule's slot, a backfill's date, or when it was created); retries keep it. */
  readonly scheduledTime: Date;
  /** The schedule that created the run, if one did (a schedule fill or a backfill of it). */
  readonly scheduleId: string | null;
  readonly tags: readonly string[];
  /** The partition the run materialises, for partitioned assets; null otherwise. */
  readonly partitionKey: string | null;
}

/** What a flow body receives next to its parameters: its run's context and the signal to stop by. */
export interface FlowContext extends RunContext {
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
  /** The run's context as flows and tasks read it (set for each flow body). */
  readonly context: RunContext;
  readonly signal: AbortSignal;
  /** Call counters per task name, so `taskKey` is stable across attempts of the same flow code. */
  readonly taskCalls: Map<string, number>;
  /**
   * The run's durable waits and recorded task results: present for the worker's own run (not a
   * subflow run of its own, and not run locally).
   */
  readonly durable?: RunDurability | undefined;
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

/** The run context of `run` and the flow whose body is executing (a subflow inline keeps its parent's run). */
export function toRunContext(run: RunInfo, flowName: string, calledAt = new Date()): RunContext {
  return Object.freeze({
    runId: run.id,
    runName: run.name,
    flowName,
    attempt: run.attempt,
    deploymentId: run.deploymentId,
    deploymentName: run.deploymentName ?? null,
    scheduledTime: run.scheduledTime ?? calledAt,
    scheduleId: run.scheduleId ?? null,
    tags: Object.freeze([...(run.tags ?? [])]),
    partitionKey: run.partitionKey ?? null,
  });
}

/**
 * The context of the flow run that is executing, from the flow body or any task it calls. Throws
 * when called outside a flow.
 * @example
 * const load = task('load', async () => {
 *   const { scheduledTime } = runContext();
 *   return readPartition(scheduledTime.toISOString().slice(0, 10));
 * });
 */
export function runContext(): RunContext {
  const run = currentScope().run;
  if (!run) throw new Error('runContext() was called outside a flow; call it from a flow body or a task a flow calls');
  return run.context;
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
