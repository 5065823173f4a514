import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { afterAll, beforeAll } from 'vitest';
import type { RunOutcome } from '../../src/executors/final-state.js';
import type { WorkerHandle } from '../../src/worker.js';
import { FAKE_WORKER_KEY, FakeApi } from './fake-api.js';
import { type Startable, tearDown } from './leaks.js';
import { startTestWorker } from './test-worker.js';
import { waitFor } from './wait.js';

/** The scripted control plane a worker talks to: a FakeApi, or a recorder in front of one. */
interface ApiServer {
  readonly url: string;
  start(): Promise<void>;
  close(): Promise<void>;
}

/** What a suite's set-up adds to its worker, made once its scratch directory exists. */
export interface WorkerSetup<A extends ApiServer> {
  /** The API, not yet started. @default a new FakeApi */
  api?: A;
  /** Flags after the fast heartbeat (300 ms) and poll wait (200 ms). */
  args?: string[];
  vars?: Record<string, string>;
  env?: Record<string, string>;
  logger?: Logger;
  /** What else the set-up started or made, ended after the worker and the API: a server, a directory. */
  cleanup?: (Startable | string | undefined)[];
}

/** A real worker of a scripted API, started before a file's tests and stopped after them. */
export interface WorkerOnFakeApi<A extends ApiServer> {
  /** The suite's directory: the worker's cache and spool, and the flows' HOME. */
  readonly scratch: string;
  readonly api: A;
  readonly worker: WorkerHandle;
  /** How each run the worker finished ended, in the order they ended. */
  readonly outcomes: RunOutcome[];
  /** Waits (a minute unless told) for run `runId` to finish, and says how it ended. */
  outcomeOf(runId: string, timeoutMs?: number): Promise<RunOutcome>;
}

/** A scripted API and a real worker of its `default` pool, started by a test itself. */
export interface FakeApiWorker<A extends ApiServer> {
  readonly api: A;
  readonly worker: WorkerHandle;
  /** How each run the worker finished ended, in the order they ended. */
  readonly outcomes: RunOutcome[];
  /** Waits (a minute unless told) for run `runId` to finish, and says how it ended. */
  outcomeOf(runId: string, timeoutMs?: number, what?: string): Promise<RunOutcome>;
  /** Stops the worker without grace, then closes the API. */
  stop(): Promise<void>;
}

/**
 * Starts the API `setup` gives (a FakeApi unless it gives one), then a worker of its `default` pool
 * in `scratch` with a fast heartbeat (300 ms) and poll wait (200 ms), recording each finished run
 * in `outcomes`. The API is closed again if the worker does not start.
 */
export async function startWorkerOnFakeApi<A extends ApiServer = FakeApi>(
  scratch: string,
  setup: Omit<WorkerSetup<A>, 'cleanup'> = {},
  outcomes: RunOutcome[] = [],
): Promise<FakeApiWorker<A>> {
  const api = setup.api ?? (new FakeApi() as unknown as A);
  await api.start();
  let worker: WorkerHandle;
  try {
    worker = await startTestWorker({
      apiUrl: api.url,
      apiKey: FAKE_WORKER_KEY,
      scratch,
      args: ['--heartbeat-interval', '300ms', '--poll-wait', '200ms', ...(setup.args ?? [])],
      ...(setup.vars ? { vars: setup.vars } : {}),
      ...(setup.env ? { env: setup.env } : {}),
      ...(setup.logger ? { logger: setup.logger } : {}),
      hooks: { onRunFinished: (o) => outcomes.push(o) },
    });
  } catch (error) {
    await api.close();
    throw error;
  }
  return {
    api,
    worker,
    outcomes,
    outcomeOf: (runId, timeout = 60_000, what = `run ${runId} to finish`) =>
      waitFor(() => outcomes.find((o) => o.runId === runId), timeout, what),
    stop: async () => {
      await worker.stop({ graceMs: 0 });
      await api.close();
    },
  };
}

/**
 * Starts the API `setup` gives (a FakeApi unless it gives one) and a worker of its `default` pool
 * before the file's tests, in a scratch directory named after `prefix`; after them stops the worker,
 * closes the API, ends what `setup` listed, removes the directory and checks no process is left.
 */
export function useWorkerOnFakeApi<A extends ApiServer = FakeApi>(
  prefix: string,
  setup: (scratch: string) => WorkerSetup<A> | Promise<WorkerSetup<A>> = () => ({}),
  timeoutMs?: number,
): WorkerOnFakeApi<A> {
  let scratch: string | undefined;
  let api: A | undefined;
  let worker: WorkerHandle | undefined;
  let cleanup: WorkerSetup<A>['cleanup'] = [];
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('the worker is not started yet: use it inside a test or hook');
    return value;
  };
  const outcomes: RunOutcome[] = [];
  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), `outpost-${prefix}-`));
    const made = await setup(scratch);
    cleanup = made.cleanup ?? [];
    ({ api, worker } = await startWorkerOnFakeApi(scratch, made, outcomes));
  }, timeoutMs);
  afterAll(() => tearDown(worker, api, ...(cleanup ?? []), scratch));
  return {
    get scratch() {
      return started(scratch);
    },
    get api() {
      return started(api);
    },
    get worker() {
      return started(worker);
    },
    outcomes,
    outcomeOf: (runId, timeout = 60_000) =>
      waitFor(() => outcomes.find((o) => o.runId === runId), timeout, `run ${runId} to finish`),
  };
}
