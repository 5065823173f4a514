import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { ProposedState } from '../contracts/states.js';
import { currentScope, type RunScope, type TaskContext, withTaskScope } from './context.js';
import { describeError, TaskTimeoutError, toError } from './errors.js';
import { log } from './logger.js';
import type { Reporter } from './reporter.js';
import { localReporter } from './reporter-local.js';
import { type RetryPolicy, retryDelayMs } from './retry.js';
import { deadline, raceAbort, sleep } from './timers.js';

export interface TaskOptions {
  /** The task's name; with its call index inside a flow run it forms the task key (`double-0`). */
  name: string;
  /** @default undefined */
  description?: string;
  /** Attempts after the first when the function throws. @default 0 */
  retries?: number;
  /** Delay before the first retry. @default 0 */
  retryDelaySeconds?: number;
  /** Each further retry waits this factor longer than the one before (2 doubles it). @default 1 */
  backoff?: number;
  /** Stretch each delay by a random fraction of up to this much (0.2 → up to 20% longer). @default 0 */
  jitter?: number;
  /**
   * Give up on an attempt after this many seconds: `taskContext().signal` fires and the attempt
   * fails with a `TaskTimeoutError` (and is retried if retries remain). @default undefined (no limit)
   */
  timeoutSeconds?: number;
  /** Decide whether an error is worth retrying. @default every error is retried */
  retryOn?: (error: Error) => boolean;
}

const TaskOptionsSchema = z.strictObject({
  name: z.string().min(1).max(200),
  description: z.string().optional(),
  retries: z.number().int().min(0).default(0),
  retryDelaySeconds: z.number().min(0).default(0),
  backoff: z.number().min(1).default(1),
  jitter: z.number().min(0).max(1).default(0),
  timeoutSeconds: z.number().positive().optional(),
  retryOn: z.custom<(error: Error) => boolean>((value) => typeof value === 'function').optional(),
});
type ResolvedTaskOptions = z.output<typeof TaskOptionsSchema>;

/** A task: call it like the function it wraps; each call is a recorded, retried task run. */
export type Task<A extends unknown[], R> = ((...args: A) => Promise<R>) & {
  readonly taskName: string;
  readonly description: string | undefined;
};

/**
 * Define a task. Inside a flow each call becomes a task run (reported to the control plane under
 * the worker, with its own log lines); outside a flow it simply runs, with retries and timeout.
 * The function reads its abort signal, task run id and attempt through `taskContext()`.
 * @example
 * const double = task({ name: 'double', retries: 2, retryDelaySeconds: 1 }, async (n: number) => n * 2);
 */
export function task<A extends unknown[], R>(
  options: TaskOptions | string,
  fn: (...args: A) => R | Promise<R>,
): Task<A, Awaited<R>> {
  const parsed = TaskOptionsSchema.safeParse(typeof options === 'string' ? { name: options } : options);
  if (!parsed.success) {
    const detail = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new TypeError(`invalid task options: ${detail}`);
  }
  const resolved = parsed.data;
  const call = (...args: A) => runTask(resolved, fn, args) as Promise<Awaited<R>>;
  return Object.assign(call, { taskName: resolved.name, description: resolved.description });
}

/** Call indexes for tasks run outside any flow, so their keys still differ within the process. */
const looseCalls = new Map<string, number>();

function nextCallIndex(run: RunScope | undefined, name: string): number {
  const calls = run?.taskCalls ?? looseCalls;
  const index = calls.get(name) ?? 0;
  calls.set(name, index + 1);
  return index;
}

async function runTask<A extends unknown[], R>(
  options: ResolvedTaskOptions,
  fn: (...args: A) => R,
  args: A,
): Promise<Awaited<R>> {
  const { run } = currentScope();
  const index = nextCallIndex(run, options.name);
  const identity = {
    taskRunId: randomUUID(),
    taskName: options.name,
    taskKey: `${options.name}-${index}`,
    dynamicKey: String(index),
  };
  const record = new TaskRunRecord(run?.reporter ?? localReporter, identity.taskRunId);
  const contextFor = (runCount: number, signal: AbortSignal): TaskContext => ({
    ...identity,
    runCount,
    flowRunId: run?.run.id ?? null,
    signal,
  });

  await record.create({ id: identity.taskRunId, name: options.name, taskKey: identity.taskKey, dynamicKey: identity.dynamicKey });
  for (let runCount = 1; ; runCount++) {
    await record.set(runCount, runCount === 1 ? { type: 'RUNNING' } : { type: 'RUNNING', name: 'Retrying' });
    try {
      const result = await attempt(options, fn, args, identity.taskKey, run?.signal, (signal) => contextFor(runCount, signal));
      await record.set(runCount, { type: 'COMPLETED', data: null });
      return result;
    } catch (thrown) {
      const error = toError(thrown);
      const scoped = contextFor(runCount, run?.signal ?? new AbortController().signal);
      const canRetry = runCount <= options.retries && !run?.signal.aborted && (options.retryOn?.(error) ?? true);
      if (!canRetry) {
        withTaskScope(scoped, () => log.error(`task failed after ${runCount} attempt(s): ${describeError(error)}`));
        await record.set(runCount, { type: 'FAILED', message: describeError(error).slice(0, 4000) });
        throw thrown;
      }
      const delayMs = retryDelayMs(runCount, options as RetryPolicy);
      withTaskScope(scoped, () =>
        log.warning(
          `attempt ${runCount} of ${options.retries + 1} failed: ${describeError(error)}; retrying in ${delayMs / 1000}s`,
        ),
      );
      try {
        await sleep(delayMs, run?.signal);
      } catch (aborted) {
        await record.set(runCount, { type: 'FAILED', message: describeError(toError(aborted)).slice(0, 4000) });
        throw aborted;
      }
    }
  }
}

/** One attempt, raced against its own timeout and the flow's signal. */
async function attempt<A extends unknown[], R>(
  options: ResolvedTaskOptions,
  fn: (...args: A) => R,
  args: A,
  taskKey: string,
  flowSignal: AbortSignal | undefined,
  contextFor: (signal: AbortSignal) => TaskContext,
): Promise<Awaited<R>> {
  const timeoutSeconds = options.timeoutSeconds;
  const limit = deadline(timeoutSeconds, () => new TaskTimeoutError(taskKey, timeoutSeconds ?? 0));
  const signal = flowSignal ? AbortSignal.any([flowSignal, limit.signal]) : limit.signal;
  try {
    return await withTaskScope(contextFor(signal), () => raceAbort((async () => await fn(...args))(), signal));
  } finally {
    limit.clear();
  }
}

/**
 * The task run as the control plane sees it. Reporting is best effort: a task run the worker could
 * not record must not fail the customer's computation, so failures become one warning line.
 */
class TaskRunRecord {
  private disabled = false;

  constructor(
    private readonly reporter: Reporter,
    private readonly taskRunId: string,
  ) {}

  async create(body: { id: string; name: string; taskKey: string; dynamicKey: string }): Promise<void> {
    await this.report(() => this.reporter.createTaskRun({ ...body, state: { type: 'PENDING' } }));
  }

  async set(runCount: number, state: ProposedState): Promise<void> {
    await this.report(() => this.reporter.setTaskRunState({ taskRunId: this.taskRunId, runCount, state }));
  }

  private async report(send: () => Promise<void>): Promise<void> {
    if (this.disabled) return;
    try {
      await send();
    } catch (error) {
      this.disabled = true;
      log.warning(`task run ${this.taskRunId} could not be recorded: ${describeError(toError(error))}`);
    }
  }
}
