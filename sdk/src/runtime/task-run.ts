import { randomUUID } from 'node:crypto';
import { MAX_STATE_MESSAGE_LENGTH } from '../contracts/limits.js';
import type { ProposedState } from '../contracts/states.js';
import { currentScope, type RunScope, type TaskContext, withTaskScope } from './context.js';
import { describeError, TaskTimeoutError, toError } from './errors.js';
import { log } from './logger.js';
import type { Reporter } from './reporter.js';
import { localReporter } from './reporter-local.js';
import { type RetryPolicy, retryDelayMs } from './retry.js';
import type { TaskCache } from './task-cache.js';
import { deadline, raceAbort, sleep } from './timers.js';

/** The settings one task run needs, resolved from `TaskOptions`. */
export interface TaskRunSettings extends RetryPolicy {
  name: string;
  timeoutSeconds?: number | undefined;
  retryOn?: ((error: Error) => boolean) | undefined;
}

/** Where a call sits in its flow run: `double-3` (the fourth call) or `double-0[3]` (item 3 of the first map). */
export interface TaskSlot {
  taskKey: string;
  dynamicKey: string;
}

/** Call indexes for tasks run outside any flow, so their keys still differ within the process. */
const looseCalls = new Map<string, number>();

/** The next call index of `name` in the run (or outside any run). */
export function nextCallIndex(run: RunScope | undefined, name: string): number {
  const calls = run?.taskCalls ?? looseCalls;
  const index = calls.get(name) ?? 0;
  calls.set(name, index + 1);
  return index;
}

export function callSlot(run: RunScope | undefined, name: string): TaskSlot {
  const index = nextCallIndex(run, name);
  return { taskKey: `${name}-${index}`, dynamicKey: String(index) };
}

/**
 * The signal of a task outside any flow and without a timeout: nothing can abort it. Shared, since
 * allocating an AbortController per call was most of a task call's cost (and of its garbage).
 */
const NEVER_ABORTED = new AbortController().signal;

/**
 * One call of a task: a cache lookup when caching is on (a hit is recorded COMPLETED/Cached and the
 * body never runs), then attempts with retries and timeouts, every state reported to the run. The
 * task run is created RUNNING, so an uncached call sends two events (create, then COMPLETED or
 * FAILED), neither waited for: the worker ships them in batches.
 */
export async function runTask<A extends unknown[], R>(
  settings: TaskRunSettings,
  fn: (...args: A) => R,
  args: A,
  slot: TaskSlot | undefined,
  cache: TaskCache<A> | null,
): Promise<Awaited<R>> {
  const { run } = currentScope();
  const identity = { taskRunId: randomUUID(), taskName: settings.name, ...(slot ?? callSlot(run, settings.name)) };
  const durable = run?.durable;
  if (!durable) return executeTask(run, identity, settings, fn, args, cache);
  // After a suspension the run replays from the start: a call an earlier attempt completed is
  // answered from its recorded result, without running again or recording a new task run.
  const recorded = durable.recordedFor(identity);
  if (recorded) return (await durable.answer(recorded)) as Awaited<R>;
  return durable.track(identity, executeTask(run, identity, settings, fn, args, cache));
}

async function executeTask<A extends unknown[], R>(
  run: RunScope | undefined,
  identity: { taskRunId: string; taskName: string } & TaskSlot,
  settings: TaskRunSettings,
  fn: (...args: A) => R,
  args: A,
  cache: TaskCache<A> | null,
): Promise<Awaited<R>> {
  const record = new TaskRunRecord(run?.reporter ?? localReporter, identity.taskRunId);
  const flowRunId = run?.run.id ?? null;
  const contextFor = (runCount: number, signal: AbortSignal): TaskContext => ({
    taskRunId: identity.taskRunId,
    taskName: identity.taskName,
    taskKey: identity.taskKey,
    dynamicKey: identity.dynamicKey,
    runCount,
    flowRunId,
    signal,
  });
  const inScope = (fn: () => void) => withTaskScope(contextFor(1, run?.signal ?? NEVER_ABORTED), fn);
  const created = { id: identity.taskRunId, name: settings.name, taskKey: identity.taskKey, dynamicKey: identity.dynamicKey };

  const room = record.recorded ? (run?.reporter ?? localReporter).taskRoom() : null;
  if (room) await room;
  const lookup = cache ? await cache.lookup(args, inScope) : null;
  if (lookup?.hit) {
    record.create({ ...created, cacheKey: lookup.key }, { type: 'COMPLETED', name: 'Cached', data: { cacheKey: lookup.key } });
    return lookup.hit.value as Awaited<R>;
  }
  record.create(lookup ? { ...created, cacheKey: lookup.key } : created, { type: 'RUNNING' });
  for (let runCount = 1; ; runCount++) {
    if (runCount > 1) record.set(runCount, { type: 'RUNNING', name: 'Retrying' });
    try {
      const result = await attempt(settings, fn, args, identity.taskKey, run?.signal, (signal) => contextFor(runCount, signal));
      const stored = lookup && cache ? await cache.store(lookup.key, result, inScope) : null;
      record.set(runCount, { type: 'COMPLETED', data: stored });
      return result;
    } catch (thrown) {
      const error = toError(thrown);
      const scoped = contextFor(runCount, run?.signal ?? NEVER_ABORTED);
      const canRetry = runCount <= settings.retries && !run?.signal.aborted && (settings.retryOn?.(error) ?? true);
      if (!canRetry) {
        withTaskScope(scoped, () => log.error(`task failed after ${runCount} attempt(s): ${describeError(error)}`));
        record.set(runCount, { type: 'FAILED', message: describeError(error).slice(0, MAX_STATE_MESSAGE_LENGTH) });
        throw thrown;
      }
      const delayMs = retryDelayMs(runCount, settings);
      withTaskScope(scoped, () =>
        log.warning(
          `attempt ${runCount} of ${settings.retries + 1} failed: ${describeError(error)}; retrying in ${delayMs / 1000}s`,
        ),
      );
      try {
        await sleep(delayMs, run?.signal);
      } catch (aborted) {
        record.set(runCount, { type: 'FAILED', message: describeError(toError(aborted)).slice(0, MAX_STATE_MESSAGE_LENGTH) });
        throw aborted;
      }
    }
  }
}

/** One attempt, raced against its own timeout and the flow's signal. */
async function attempt<A extends unknown[], R>(
  settings: TaskRunSettings,
  fn: (...args: A) => R,
  args: A,
  taskKey: string,
  flowSignal: AbortSignal | undefined,
  contextFor: (signal: AbortSignal) => TaskContext,
): Promise<Awaited<R>> {
  const timeoutSeconds = settings.timeoutSeconds;
  if (timeoutSeconds === undefined) {
    // No timeout: the flow's own signal (or none at all) is the attempt's, with nothing to combine or clear.
    const signal = flowSignal ?? NEVER_ABORTED;
    const body = withTaskScope(contextFor(signal), async () => await fn(...args));
    return signal === NEVER_ABORTED ? await body : await raceAbort(body, signal);
  }
  const limit = deadline(timeoutSeconds, () => new TaskTimeoutError(taskKey, timeoutSeconds));
  const signal = flowSignal ? AbortSignal.any([flowSignal, limit.signal]) : limit.signal;
  try {
    return await withTaskScope(contextFor(signal), () => raceAbort((async () => await fn(...args))(), signal));
  } finally {
    limit.clear();
  }
}

/**
 * The task run as the control plane sees it. Its creation and state changes are events the reporter
 * sends on without waiting (the worker batches them), each numbered so the server applies them once
 * and in order. Run locally, nothing is sent.
 */
export class TaskRunRecord {
  private readonly records: boolean;
  /** The sequence number of the last event sent: 0 is the creation. */
  private seq = 0;

  constructor(
    private readonly reporter: Reporter,
    private readonly taskRunId: string,
  ) {
    this.records = reporter.recordsRuns;
  }

  create(body: { id: string; name: string; taskKey: string; dynamicKey: string; cacheKey?: string }, state: ProposedState): void {
    if (!this.records) return;
    this.reporter.taskRunEvent({ kind: 'create', ...body, state, at: new Date().toISOString() });
  }

  set(runCount: number, state: ProposedState): void {
    if (!this.records) return;
    this.seq += 1;
    this.reporter.taskRunEvent({
      kind: 'state',
      id: this.taskRunId,
      seq: this.seq,
      runCount,
      state,
      at: new Date().toISOString(),
    });
  }

  /** False when the task run is not being recorded (run locally). */
  get recorded(): boolean {
    return this.records;
  }
}
