import { setTimeout as sleep } from 'node:timers/promises';
import type { AssetContext } from '../assets/asset.js';
import { artifact } from '../runtime/artifacts.js';
import { currentScope } from '../runtime/context.js';
import { describeError, toError } from '../runtime/errors.js';
import { type Logger, log } from '../runtime/logger.js';

/** Where an external job stands, as its system says. */
export type ExternalJobStatus<R> =
  | { state: 'running'; message?: string }
  | { state: 'succeeded'; result: R; message?: string }
  | { state: 'failed'; message: string }
  | { state: 'cancelled'; message: string };

/**
 * Work that runs in another system (a Databricks job, a training job, a pod): started once, watched
 * by polling, cancelled on request. The handle is plain JSON naming the job in that system, so it
 * can be recorded and polled again by another process.
 */
export interface ExternalJob<I, H, R> {
  /** Names the job in logs and errors: `Databricks run`. */
  readonly kind: string;
  /**
   * Starts the work and returns its handle. Called again with the same `idempotencyKey` (a retried
   * request, a replayed flow), it must return the handle of the job already started, not start a
   * second one.
   */
  start(input: I, ctx: { idempotencyKey: string; signal?: AbortSignal }): Promise<H>;
  poll(handle: H, ctx: { signal?: AbortSignal }): Promise<ExternalJobStatus<R>>;
  /** Asks the system to stop the job; resolves once the request is accepted. */
  cancel?(handle: H): Promise<void>;
  /** The job's page in its system, when it has one. */
  link?(handle: H): string | null;
}

export interface RunExternalJobOptions {
  /** Time between two polls. @default 15000 */
  pollIntervalMs?: number;
  /** Fail (and cancel the job) when it has not finished by then. @default no limit beyond the task's own */
  timeoutSeconds?: number;
  /**
   * What makes a start idempotent. @default `<run id>:<task key>:<task attempt>` inside a task, so a
   * flow replayed after a crash finds the job it started, and a retried task starts a new one
   */
  idempotencyKey?: string;
  /** Inside an asset: the link and logs are the asset's. */
  asset?: AssetContext;
  /** Stops waiting and cancels the job. @default the run's signal */
  signal?: AbortSignal;
}

/** The job ended FAILED or CANCELLED, or did not finish in time. */
export class ExternalJobError extends Error {
  override readonly name = 'ExternalJobError';
  constructor(
    message: string,
    readonly state: 'failed' | 'cancelled' | 'timed_out',
    /** The handle, so the job can be found in its system. */
    readonly handle: unknown,
  ) {
    super(message);
  }
}

function defaultIdempotencyKey(): string {
  const { run, task } = currentScope();
  if (run && task) return `${run.run.id}:${task.taskKey}:${task.runCount}`;
  if (run) return `${run.run.id}:flow:${run.context.attempt}`;
  return crypto.randomUUID();
}

/**
 * Starts `job` and waits for it here, polling, holding the flow's process while it runs: for jobs of
 * minutes. Logs each change of state, publishes a link artifact to the job's page, and returns its
 * result when it succeeds. When the run is cancelled, the task times out or `timeoutSeconds` passes,
 * the job is cancelled in its system before this throws.
 */
export async function runExternalJob<I, H, R>(
  job: ExternalJob<I, H, R>,
  input: I,
  options: RunExternalJobOptions = {},
): Promise<R> {
  const { run, task } = currentScope();
  const logger: Logger = options.asset?.log ?? log;
  const runSignal = options.asset?.signal ?? task?.signal ?? run?.signal;
  const deadline = options.timeoutSeconds !== undefined ? AbortSignal.timeout(options.timeoutSeconds * 1000) : undefined;
  const signals = [runSignal, options.signal, deadline].filter((s): s is AbortSignal => s !== undefined);
  const signal = signals.length === 0 ? undefined : signals.length === 1 ? signals[0] : AbortSignal.any(signals);
  const interval = options.pollIntervalMs ?? 15_000;

  const handle = await job.start(input, {
    idempotencyKey: options.idempotencyKey ?? defaultIdempotencyKey(),
    ...(signal ? { signal } : {}),
  });
  const url = job.link?.(handle) ?? null;
  logger.info(`started ${job.kind} ${JSON.stringify(handle)}${url ? ` ${url}` : ''}`);
  if (url && run)
    await artifact.link(`${job.kind.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`, url, `${job.kind} ${JSON.stringify(handle)}`);

  let last = '';
  try {
    for (;;) {
      const status = await job.poll(handle, signal ? { signal } : {});
      const shown = `${status.state}${status.message ? `: ${status.message}` : ''}`;
      if (shown !== last) logger.info(`${job.kind} ${shown}`);
      last = shown;
      switch (status.state) {
        case 'succeeded':
          return status.result;
        case 'failed':
          throw new ExternalJobError(`${job.kind} ${JSON.stringify(handle)} failed: ${status.message}`, 'failed', handle);
        case 'cancelled':
          throw new ExternalJobError(
            `${job.kind} ${JSON.stringify(handle)} was cancelled: ${status.message}`,
            'cancelled',
            handle,
          );
        case 'running':
          await sleep(interval, undefined, signal ? { signal } : undefined);
      }
    }
  } catch (error) {
    if (!signal?.aborted || error instanceof ExternalJobError) throw error;
    const timedOut = deadline?.aborted === true;
    if (job.cancel) {
      try {
        await job.cancel(handle);
        logger.warning(`cancelled ${job.kind} ${JSON.stringify(handle)}`);
      } catch (cancelError) {
        logger.error(`could not cancel ${job.kind} ${JSON.stringify(handle)}: ${describeError(toError(cancelError))}`);
      }
    }
    if (timedOut) {
      throw new ExternalJobError(
        `${job.kind} ${JSON.stringify(handle)} did not finish within ${options.timeoutSeconds} s`,
        'timed_out',
        handle,
      );
    }
    // Why the run stopped (cancelled, the task's time limit), as the SDK's own waits report it.
    throw signal.reason instanceof Error ? signal.reason : error;
  }
}
