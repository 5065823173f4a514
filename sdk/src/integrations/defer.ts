import type { ExternalJobOutcome, WaitSpec } from '../contracts/waits.js';
import { artifact } from '../runtime/artifacts.js';
import { currentScope } from '../runtime/context.js';
import { log } from '../runtime/logger.js';
import { task } from '../runtime/task.js';
import { durableScope, durableWait, WaitTimeoutError } from '../runtime/wait.js';
import { type ExternalJob, ExternalJobError, runExternalJob } from './external-job.js';

/** Where deferrable jobs are found by name: on globalThis, so the worker's poll process sees the bundle's. */
export const EXTERNAL_JOB_REGISTRY_KEY = Symbol.for('outpost.externalJobs');

/** How often a deferred job is polled unless `deferrable()` or `defer()` says otherwise. */
export const DEFAULT_DEFER_POLL_SECONDS = 30;

/** An external job registered under a name, so that any worker of the pool can poll it from the deployment's code. */
export interface DeferrableJob<I, H, R> {
  /** The name the worker finds the job by: unique in the deployment's code. */
  readonly name: string;
  /** The job, made on first use when `deferrable()` was given a function (once per process). */
  job(): Promise<ExternalJob<I, H, R>>;
  /** Time between two polls. */
  readonly pollSeconds: number;
}

// biome-ignore lint/suspicious/noExplicitAny: the registry holds jobs of every input, handle and result type.
type AnyDeferrable = DeferrableJob<any, any, any>;

/** The jobs the loaded code registered, by name. */
export function externalJobRegistry(): Map<string, AnyDeferrable> {
  const holder = globalThis as { [EXTERNAL_JOB_REGISTRY_KEY]?: Map<string, AnyDeferrable> };
  holder[EXTERNAL_JOB_REGISTRY_KEY] ??= new Map();
  return holder[EXTERNAL_JOB_REGISTRY_KEY];
}

const JOB_NAME = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,199}$/;

/** What each registered name was given, to tell the same registration repeated from a second one. */
const givenFor = new Map<string, unknown>();

/**
 * Registers a job under `name` so a flow can `defer()` it. Call it at module scope (next to the
 * flow), never inside a flow or task: the worker that polls the job loads the deployment's code
 * and finds the job by this name, with the worker's own credentials, and nothing created while a
 * run executes exists in that process. Give a function that makes the job (it may be async) when
 * making it reads the worker's environment (`() => databricksJobs().runNow`): it is called on first
 * use, so loading the code where those variables are not set (a laptop, `outpost deploy`) does not fail.
 * @example
 * const training = deferrable('churn-training', () => databricksJobs().runNow, { pollSeconds: 60 });
 */
export function deferrable<I, H, R>(
  name: string,
  job: ExternalJob<I, H, R> | (() => ExternalJob<I, H, R> | Promise<ExternalJob<I, H, R>>),
  options: { pollSeconds?: number } = {},
): DeferrableJob<I, H, R> {
  if (!JOB_NAME.test(name)) {
    throw new TypeError(`deferrable(): invalid name '${name}': use letters, digits, ".", "_", ":", "/" or "-" (at most 200)`);
  }
  if (currentScope().run) {
    throw new Error(
      `deferrable('${name}') was called while a run executes; call it at module scope, where the worker that polls the job can find it`,
    );
  }
  const pollSeconds = options.pollSeconds ?? DEFAULT_DEFER_POLL_SECONDS;
  checkPollSeconds('deferrable()', pollSeconds);
  const registry = externalJobRegistry();
  const existing = registry.get(name);
  if (existing) {
    if (givenFor.get(name) === job) return existing as DeferrableJob<I, H, R>;
    throw new Error(`deferrable(): two different jobs are registered as '${name}'; give each its own name`);
  }
  let made: Promise<ExternalJob<I, H, R>> | undefined;
  const registered: DeferrableJob<I, H, R> = {
    name,
    pollSeconds,
    job: () => {
      made ??= typeof job === 'function' ? Promise.resolve().then(job) : Promise.resolve(job);
      return made;
    },
  };
  registry.set(name, registered);
  givenFor.set(name, job);
  return registered;
}

function checkPollSeconds(what: string, seconds: number): void {
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > 86_400) {
    throw new TypeError(`${what}: pollSeconds must be a whole number of seconds from 1 to 86400 (is ${seconds})`);
  }
}

export interface DeferOptions {
  /** The wait's name in the run. @default the run's next `wait-<n>` */
  key?: string;
  /** Time between two polls. @default the job's (`deferrable()`), else 30 */
  pollSeconds?: number;
  /** Fail the job (and cancel it in its system) when it has not ended by then. @default no limit (at most 90 days) */
  timeoutSeconds?: number;
  /** Start the job again this many times when it ends failed. @default 0 */
  retries?: number;
}

/** What the start task records: the handle and the job's page. */
interface Started<H> {
  handle: H;
  link: string | null;
}

/** The start task of each job, one per name, so a replay answers it from its recorded result. */
const startTasks = new Map<string, (input: unknown) => Promise<Started<unknown>>>();

function startTask<I, H, R>(job: DeferrableJob<I, H, R>): (input: I) => Promise<Started<H>> {
  let start = startTasks.get(job.name);
  if (!start) {
    start = task({ name: `defer-${job.name}` }, async (input: unknown) => {
      const { run, task: current } = currentScope();
      // The same key when this task runs again after a crash: the job's start finds the job it began.
      const idempotencyKey = `${run?.run.id ?? 'local'}:${current?.taskKey ?? job.name}:${current?.runCount ?? 1}`;
      const external = await job.job();
      const handle = await external.start(input as I, {
        idempotencyKey,
        ...(current?.signal ? { signal: current.signal } : {}),
      });
      const link = external.link?.(handle) ?? null;
      log.info(`started ${external.kind} ${JSON.stringify(handle)}${link ? ` ${link}` : ''}`);
      if (link && run) await artifact.link(`${job.name.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`, link, external.kind);
      return { handle, link } as Started<unknown>;
    });
    startTasks.set(job.name, start);
  }
  return start as (input: I) => Promise<Started<H>>;
}

/**
 * Starts `job` in its system and waits for it to end without holding anything: the start is a task
 * (its handle recorded, so a replay does not start the job again), then the run suspends on an
 * external wait. A worker of the pool polls the job every `pollSeconds`, in a short-lived process
 * loaded from the run's pinned code, with the worker's own credentials; when the job ends the run
 * resumes on any worker and this call returns the job's result. A job that fails (after `retries`)
 * throws `ExternalJobError`; when the run is cancelled or `timeoutSeconds` passes, a worker cancels
 * the job in its system. Call it from the flow's body. Run locally (not under a worker), it polls
 * in this process instead, as `runExternalJob` does.
 * @example
 * const training = deferrable('churn-training', databricksJobs({ host }).runNow);
 * export const train = flow({ name: 'train' }, async () => {
 *   const run = await defer(training, { jobId: 42 }, { timeoutSeconds: 3 * 86400 });
 * });
 */
export async function defer<I, H, R>(job: DeferrableJob<I, H, R>, input: I, options: DeferOptions = {}): Promise<R> {
  const pollSeconds = options.pollSeconds ?? job.pollSeconds;
  checkPollSeconds('defer()', pollSeconds);
  const retries = options.retries ?? 0;
  if (!Number.isInteger(retries) || retries < 0)
    throw new TypeError(`defer(): retries must be a whole number ≥ 0 (is ${retries})`);
  if (externalJobRegistry().get(job.name) !== job) {
    throw new Error(`defer(): the job '${job.name}' is not registered; create it with deferrable() at module scope`);
  }
  const scope = durableScope('defer()');
  if (!scope) {
    return runExternalJob(await job.job(), input, {
      pollIntervalMs: pollSeconds * 1000,
      ...(options.timeoutSeconds === undefined ? {} : { timeoutSeconds: options.timeoutSeconds }),
    });
  }
  const start = startTask(job);
  const { kind } = await job.job();
  let baseKey = options.key;
  for (let attempt = 0; ; attempt++) {
    const started = await start(input);
    const spec: WaitSpec = {
      kind: 'external',
      job: job.name,
      handle: started.handle as never,
      pollSeconds,
      label: kind.slice(0, 200) || job.name,
      link: started.link,
    };
    const timeout = options.timeoutSeconds === undefined ? {} : { timeoutSeconds: options.timeoutSeconds };
    let outcome: ExternalJobOutcome;
    try {
      // The first attempt takes the run's next wait number; a retry waits under the first one's key.
      const key = baseKey === undefined ? {} : { key: attempt === 0 ? baseKey : `${baseKey}.retry-${attempt}` };
      const wait = await durableWait('defer()', scope, spec, { ...timeout, ...key }, { numbered: attempt === 0 });
      baseKey ??= wait.key;
      outcome = wait.value as ExternalJobOutcome;
    } catch (error) {
      if (error instanceof WaitTimeoutError) {
        throw new ExternalJobError(
          `${kind} ${JSON.stringify(started.handle)} did not end within ${options.timeoutSeconds} s; it is being cancelled`,
          'timed_out',
          started.handle,
        );
      }
      throw error;
    }
    if (outcome.state === 'succeeded') return outcome.result as R;
    const what = `${kind} ${JSON.stringify(started.handle)} ${outcome.state === 'failed' ? 'failed' : 'was cancelled'}: ${outcome.message}`;
    if (outcome.state === 'failed' && attempt < retries) {
      log.warning(`${what}; starting it again (retry ${attempt + 1} of ${retries})`);
      continue;
    }
    throw new ExternalJobError(what, outcome.state, started.handle);
  }
}
