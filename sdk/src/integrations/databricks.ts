import { createHash } from 'node:crypto';
import type { ExternalJob, ExternalJobStatus } from './external-job.js';
import { restClient, serviceUrl } from './rest.js';

/*
 * Databricks job runs over the Jobs API 2.1: start a job that exists (`run-now`) or a one-time run
 * (`runs/submit`), both with an idempotency token, watch it with `runs/get`, stop it with
 * `runs/cancel`. Credentials come from the worker's environment (`DATABRICKS_HOST`,
 * `DATABRICKS_TOKEN`), as Databricks' own tools read them.
 *
 * Written from the Jobs API 2.1 reference; tested against a stand-in that follows it, not against
 * a real workspace.
 */

export interface DatabricksOptions {
  /** The workspace, `https://adb-123.azuredatabricks.net`. @default process.env.DATABRICKS_HOST */
  host?: string;
  /** A personal access token or an OAuth access token. @default process.env.DATABRICKS_TOKEN */
  token?: string;
  /** @default 30000 */
  requestTimeoutMs?: number;
  /** @default 3 */
  retries?: number;
  /** @default 500 */
  retryDelayMs?: number;
  /** @default process.env */
  env?: NodeJS.ProcessEnv;
}

/** A job run, by its id. */
export interface DatabricksRunHandle {
  runId: number;
  /** The run's page, when Databricks gave one. */
  url: string | null;
}

/** What a run that ended SUCCESS (or SUCCESS_WITH_FAILURES) returns. */
export interface DatabricksRunResult {
  runId: number;
  resultState: string;
  stateMessage: string;
  url: string | null;
  /** Milliseconds from start to end, as Databricks measured them. */
  durationMs: number | null;
}

export interface RunNowInput {
  jobId: number;
  /** Job-level parameters (`job_parameters`). */
  jobParameters?: Record<string, string>;
}

export interface SubmitRunInput {
  runName: string;
  /** The run's tasks, as the Jobs API takes them (`notebook_task`, `spark_python_task`, clusters…). */
  tasks: Record<string, unknown>[];
  /** Databricks stops the run after this. */
  timeoutSeconds?: number;
}

interface RunWire {
  run_id?: number;
  run_page_url?: string;
  state?: { life_cycle_state?: string; result_state?: string; state_message?: string };
  start_time?: number;
  end_time?: number;
  run_duration?: number;
}

/** Still going: queued, waiting for a cluster, running, retrying or winding down. */
const ACTIVE = new Set(['QUEUED', 'PENDING', 'RUNNING', 'TERMINATING', 'BLOCKED', 'WAITING_FOR_RETRY']);
const SUCCEEDED = new Set(['SUCCESS', 'SUCCESS_WITH_FAILURES']);

/** The Jobs API allows idempotency tokens of at most 64 characters. */
function idempotencyToken(key: string): string {
  if (key.length <= 64) return key;
  return `outpost-${createHash('sha256').update(key).digest('hex').slice(0, 56)}`;
}

/** Maps a run's `state` onto an external job's status. */
export function databricksStatus(run: RunWire): ExternalJobStatus<DatabricksRunResult> {
  const life = run.state?.life_cycle_state ?? 'UNKNOWN';
  const result = run.state?.result_state;
  const message = run.state?.state_message ?? '';
  if (ACTIVE.has(life)) return { state: 'running', message: life + (message ? ` (${message})` : '') };
  if (life === 'TERMINATED' && result && SUCCEEDED.has(result)) {
    const durationMs = run.run_duration ?? (run.start_time && run.end_time ? run.end_time - run.start_time : null);
    return {
      state: 'succeeded',
      message: result,
      result: { runId: run.run_id ?? 0, resultState: result, stateMessage: message, url: run.run_page_url ?? null, durationMs },
    };
  }
  if (life === 'TERMINATED' && result === 'CANCELED') return { state: 'cancelled', message: message || 'CANCELED' };
  const why = [life, result].filter(Boolean).join(' ');
  return { state: 'failed', message: message ? `${why}: ${message}` : why };
}

/**
 * The Jobs API of one workspace. `runNow` and `submitRun` are external jobs for `runExternalJob`;
 * `getRun` and `cancelRun` are the calls they make.
 */
export function databricksJobs(options: DatabricksOptions = {}) {
  const env = options.env ?? process.env;
  const base = serviceUrl(options.host ?? env.DATABRICKS_HOST, 'DATABRICKS_HOST', 'DATABRICKS_TOKEN');
  const token = options.token ?? env.DATABRICKS_TOKEN;
  const call = restClient({
    service: 'Databricks',
    root: `${base.href.replace(/\/+$/, '')}/api/2.1/jobs`,
    authorization: token ? `Bearer ${token}` : null,
    credentialHint: 'DATABRICKS_TOKEN',
    ...(options.requestTimeoutMs !== undefined ? { requestTimeoutMs: options.requestTimeoutMs } : {}),
    ...(options.retries !== undefined ? { retries: options.retries } : {}),
    ...(options.retryDelayMs !== undefined ? { retryDelayMs: options.retryDelayMs } : {}),
  });

  const getRun = (runId: number, signal?: AbortSignal) =>
    call<RunWire>('GET', `runs/get?${new URLSearchParams({ run_id: String(runId) })}`, null, true, signal);
  const cancelRun = async (runId: number): Promise<void> => {
    await call('POST', 'runs/cancel', { run_id: runId }, true);
  };

  /** Starts with a token, so a repeated request (or a replayed flow) gets the run already started. */
  async function started(path: 'run-now' | 'runs/submit', body: Record<string, unknown>, signal?: AbortSignal) {
    const { run_id } = await call<{ run_id?: number }>('POST', path, body, true, signal);
    if (typeof run_id !== 'number') throw new TypeError(`Databricks ${path} answered without a run_id`);
    const run = await getRun(run_id, signal);
    return { runId: run_id, url: run.run_page_url ?? null };
  }

  const watch = {
    poll: async (handle: DatabricksRunHandle, ctx: { signal?: AbortSignal }) =>
      databricksStatus(await getRun(handle.runId, ctx.signal)),
    cancel: (handle: DatabricksRunHandle) => cancelRun(handle.runId),
    link: (handle: DatabricksRunHandle) => handle.url,
  };

  const runNow: ExternalJob<RunNowInput, DatabricksRunHandle, DatabricksRunResult> = {
    kind: 'Databricks run',
    start: (input, ctx) =>
      started(
        'run-now',
        {
          job_id: input.jobId,
          ...(input.jobParameters ? { job_parameters: input.jobParameters } : {}),
          idempotency_token: idempotencyToken(ctx.idempotencyKey),
        },
        ctx.signal,
      ),
    ...watch,
  };

  const submitRun: ExternalJob<SubmitRunInput, DatabricksRunHandle, DatabricksRunResult> = {
    kind: 'Databricks run',
    start: (input, ctx) =>
      started(
        'runs/submit',
        {
          run_name: input.runName,
          tasks: input.tasks,
          ...(input.timeoutSeconds !== undefined ? { timeout_seconds: input.timeoutSeconds } : {}),
          idempotency_token: idempotencyToken(ctx.idempotencyKey),
        },
        ctx.signal,
      ),
    ...watch,
  };

  return { runNow, submitRun, getRun, cancelRun };
}

export type DatabricksJobs = ReturnType<typeof databricksJobs>;
