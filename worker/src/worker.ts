import { randomUUID } from 'node:crypto';
import { describeFailure, failureCode, isAccessRefused, OutpostClient } from '@outpost/sdk/client';
import type { ClaimedRun } from '@outpost/sdk/contracts';
import type { Logger } from 'pino';
import { backoffDelay, retryDelay, sleep } from './backoff.js';
import { baseChildEnv, isOtelCredential } from './child-env.js';
import { DeferredSink } from './executors/deferred-sink.js';
import type { AdoptedAttempt, AttemptSink, Executor, MakeExecutor } from './executors/executor.js';
import type { RunOutcome } from './executors/final-state.js';
import { createKubernetesExecutor } from './executors/kubernetes/executor.js';
import { createProcessExecutor } from './executors/process.js';
import { type AdoptedRun, RunExecution } from './executors/run.js';
import { RunningProposals } from './executors/running-proposals.js';
import { type HealthReport, type HealthServer, healthListenFailure, startHealthServer } from './health.js';
import { Heartbeat } from './lease.js';
import { LeasedLoop } from './leased-loop.js';
import { createLogger } from './logger.js';
import { WorkerMetrics } from './metrics.js';
import type { WorkerOptions } from './options.js';
import { ClaimLoop } from './poll.js';
import { SpoolRecovery } from './recover-spools.js';
import { workerResources } from './resources.js';
import { SecretResolver } from './secrets.js';
import { evaluateSensorTick } from './sensors/evaluate.js';
import { evaluateExternalPoll } from './sensors/external-poll.js';
import { startWorkerTracing } from './telemetry/tracing.js';
import { WORKER_VERSION } from './version.js';

export type WorkerState = 'starting' | 'running' | 'draining' | 'stopped' | 'failed';

export interface WorkerHooks {
  /** @default a pino logger at `options.logLevel` */
  logger?: Logger;
  /** The worker's environment: the source of secrets and of the flow processes' allow-listed variables. @default process.env */
  env?: NodeJS.ProcessEnv;
  /** Aborting it cancels a start still waiting for the API. */
  signal?: AbortSignal;
  onStateChange?: (state: WorkerState) => void;
  onRunStarted?: (run: { runId: string; attempt: number }) => void;
  onRunFinished?: (outcome: RunOutcome) => void;
  /** Where runs execute. @default a process group per run on this machine (`createProcessExecutor`) */
  executor?: MakeExecutor;
}

export interface StopOptions {
  /** Overrides the drain grace; 0 stops every run at once (a second SIGTERM). */
  graceMs?: number;
}

export interface WorkerHandle {
  readonly workerId: string;
  readonly state: WorkerState;
  /** Runs held right now. */
  readonly runs: ReadonlyArray<{ runId: string; attempt: number }>;
  /** Where `/healthz` and `/metrics` are served (`--health-port`); null when they are not. */
  readonly healthUrl: string | null;
  /** Drains: stop claiming, let runs finish within the grace, stop the rest, flush logs. Idempotent. */
  stop(options?: StopOptions): Promise<void>;
  /** Resolves when the worker is stopped (or has failed). */
  readonly done: Promise<void>;
}

/** The API refused the worker outright (bad key, key not allowed on the pool). */
export class WorkerStartError extends Error {
  override readonly name = 'WorkerStartError';

  constructor(
    message: string,
    /** What to do about it, in the imperative. */
    readonly hint = '',
  ) {
    super(message);
  }
}

function refusalHint(unknownKey: boolean, pool: string): string {
  return unknownKey
    ? `check OUTPOST_API_KEY; an owner or admin makes a worker key with: outpost keys create <name> --role worker --pool ${pool}`
    : `use a worker key allowed on pool "${pool}": outpost keys create <name> --role worker --pool ${pool}`;
}

/**
 * Starts a worker and resolves once the API has accepted its first heartbeat (state `running`).
 * While the API is unreachable it keeps trying, in state `starting`; a 401/403 rejects with
 * `WorkerStartError` (state `failed`).
 */
export async function startWorker(given: WorkerOptions, hooks: WorkerHooks = {}): Promise<WorkerHandle> {
  const workerId = randomUUID();
  const logger = (hooks.logger ?? createLogger(given.logLevel, given.logFormat)).child({ workerId, pool: given.pool });
  const env = hooks.env ?? process.env;
  // What runs may ask of this worker: sent with every heartbeat, and the devices runs are handed.
  const options: WorkerOptions = { ...given, resources: given.resources ?? (await workerResources(given, env, logger)) };
  const executions = new Map<string, RunExecution>();
  const tracing = await startWorkerTracing(env, logger);
  // When the API last answered a heartbeat and a claim (performance.now(), monotonic), and the same as wall time.
  const contact = { heartbeat: null as number | null, poll: null as number | null, wallClock: null as number | null };
  const metrics = new WorkerMetrics(
    { worker: options.name, pool: options.pool, version: WORKER_VERSION },
    { runningAttempts: () => executions.size, lastContactAt: () => contact.wallClock },
  );
  const warnedUnknown = new Set<string>();
  const client = new OutpostClient({
    baseUrl: options.apiUrl,
    token: options.apiKey,
    identity: { name: 'worker', version: WORKER_VERSION },
    // A newer server's enum values (a state type, a kind) are kept as they are; said once each.
    onUnknownValues: (route, values) => {
      for (const { path, value } of values) {
        const where = `${route}: ${path.filter((p) => typeof p === 'string').join('.')}`;
        if (warnedUnknown.has(`${where}=${value}`)) continue;
        warnedUnknown.add(`${where}=${value}`);
        logger.warn(
          { route, field: where, value },
          `the API answered with "${value}" at ${where}, unknown to this worker (${WORKER_VERSION}): it is left as it is; upgrade the worker to act on it`,
        );
      }
    },
    onCallEnded: (call) => {
      metrics.callEnded(call);
      if (!call.result.ok) return;
      if (call.route === 'workersHeartbeat') contact.heartbeat = performance.now();
      else if (call.route === 'claim') contact.poll = performance.now();
      else return;
      contact.wallClock = Date.now();
    },
  });
  const baseEnv = baseChildEnv({
    workerEnv: env,
    passEnv: options.passEnv,
    resultStorage: options.resultStorage,
    shareCollectorCredentials: options.otelShareCollectorCredentials,
  });
  const withheld = Object.keys(env).filter((name) => isOtelCredential(name) && baseEnv[name] === undefined);
  if (withheld.length > 0) {
    logger.info(
      { withheld },
      `flows get the OTEL_* settings but not ${withheld.join(', ')} (collector credentials); --otel-share-collector-credentials gives them these too`,
    );
  }
  const secrets = new SecretResolver(
    {
      order: options.secretsOrder,
      dir: options.secretsDir,
      command: options.secretsCommand,
      timeoutMs: options.secretsTimeoutMs,
    },
    env,
  );
  const makeExecutor = hooks.executor ?? (options.type === 'kubernetes' ? createKubernetesExecutor : createProcessExecutor);
  let executor: Executor;
  try {
    executor = makeExecutor({ options, logger, baseEnv, pool: poolReader(client, options.pool, logger) });
  } catch (error) {
    await client.close();
    await tracing?.shutdown();
    throw new WorkerStartError(
      `the ${options.type} executor could not start: ${(error as Error).message}`,
      options.type === 'kubernetes' ? 'check --kubeconfig / KUBECONFIG and --namespace' : '',
    );
  }
  // Runs handed over while a RUNNING proposal is out go together in the next request.
  const running = new RunningProposals(client, options.pool, logger);
  let state: WorkerState = 'starting';
  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));
  const setState = (next: WorkerState) => {
    state = next;
    logger.info({ state: next }, `worker ${next}`);
    hooks.onStateChange?.(next);
  };

  const heartbeat = new Heartbeat({
    client,
    options,
    workerId,
    logger,
    held: () => [...executions.values()].filter((e) => e.holdsLease),
    // A server upgraded past this worker's version while it runs: said in one line, then the
    // worker stops (its runs' leases can no longer be renewed) and ends as failed.
    onClientTooOld: (detail) => {
      if (state !== 'running' || tooOld !== null) return;
      tooOld = detail;
      logger.error(detail);
      void self.stop({ graceMs: 0 });
    },
  });
  let tooOld: string | null = null;
  let slotFreed: (() => void) | null = null;
  const claims = new ClaimLoop({
    client,
    options,
    workerId,
    logger,
    freeSlots: () => (state === 'running' ? options.limit - executions.size : 0),
    onClaimed: (runs, sentAt) => {
      metrics.claimed(runs.length);
      for (const claimed of runs) launch(claimed, sentAt);
    },
    watched: () =>
      [...executions.values()].filter((e) => e.holdsLease && !e.stopAsked).map((e) => ({ id: e.runId, attempt: e.attempt })),
    onCancel: (runs) => {
      for (const run of runs) executions.get(`${run.id}#${run.attempt}`)?.cancel('cancelled');
    },
  });

  // Sensor ticks of the pool and polls of the jobs its runs deferred, evaluated beside the runs in
  // processes of their own, from the deployments' code, with this worker's credentials.
  const bundleDeps = { options, workerEnv: env, baseEnv, secrets, logger };
  const pool = { pool: options.pool };
  const sensors = new LeasedLoop({
    what: 'sensor tick',
    slots: options.sensors,
    pollMs: options.sensorPollMs,
    logger: logger.child({ component: 'sensors' }),
    claim: async (limit, signal) => {
      const body = { workerId, limit, labels: options.labels };
      const result = await client.call('sensorTicksClaim', { params: pool, body }, { signal });
      return result.ok ? { ...result, data: result.data.ticks } : result;
    },
    evaluate: (tick, stopped) => evaluateSensorTick(tick, bundleDeps, stopped),
    report: (tick, report) =>
      client.call('sensorTicksComplete', {
        params: { ...pool, id: tick.tickId },
        body: { workerId, outcome: report.outcome, logs: report.logs },
      }),
    describe: (tick) => ({ sensor: tick.sensor.name, sensorId: tick.sensor.id, tickId: tick.tickId }),
    reported: (log, answer) => {
      const { status, runs } = answer as { status: string; runs: { created: boolean }[] };
      log.info({ status, runs: runs.length, created: runs.filter((r) => r.created).length }, 'sensor tick reported');
    },
  });
  const triggers = new LeasedLoop({
    what: 'deferred job poll',
    slots: options.triggers,
    pollMs: options.sensorPollMs,
    logger: logger.child({ component: 'triggers' }),
    claim: async (limit, signal) => {
      const body = { workerId, limit, labels: options.labels };
      const result = await client.call('externalPollsClaim', { params: pool, body }, { signal });
      return result.ok ? { ...result, data: result.data.polls } : result;
    },
    evaluate: (poll, stopped) => evaluateExternalPoll(poll, bundleDeps, stopped),
    report: (poll, report) =>
      client.call('externalPollsComplete', {
        params: { ...pool, id: poll.waitId },
        body: { workerId, leaseId: poll.leaseId, outcome: report.outcome, logs: report.logs },
      }),
    describe: (poll) => ({ waitId: poll.waitId, job: poll.spec.job, action: poll.action }),
    reported: (log, answer) => log.info(answer as object, 'deferred job poll reported'),
    dueAgainInMs: (answer) => {
      const seconds = (answer as { nextPollInSeconds?: number | null }).nextPollInSeconds;
      return typeof seconds === 'number' ? seconds * 1000 : null;
    },
  });

  function launch(claimed: ClaimedRun, sentAt: number, adopted: AdoptedRun | null = null): void {
    const id = claimed.flowRun.id;
    // By run and attempt: a retry due at once may be claimed here while its failed attempt's process
    // is still exiting; that is a new attempt, not a duplicate.
    const key = `${id}#${claimed.flowRun.attempt}`;
    if (executions.has(key)) {
      logger.error({ runId: id }, 'claimed a run this worker already holds; ignoring the duplicate');
      return;
    }
    const execution = new RunExecution(
      claimed,
      {
        client,
        options,
        logger,
        workerEnv: env,
        baseEnv,
        secrets,
        executor,
        leaseMs: () => heartbeat.leaseMs,
        holdUntil: (renewedAt) => heartbeat.holdUntil(renewedAt),
        apiUnreachable: () => heartbeat.unreachable,
        logLines: metrics.logLines,
        running,
      },
      sentAt,
      adopted,
    );
    executions.set(key, execution);
    hooks.onRunStarted?.({ runId: id, attempt: execution.attempt });
    // A claim answered after the drain began: the run goes back to the queue before it starts.
    if (state !== 'running') execution.shutdown();
    execution.done
      .then((outcome) => {
        logger.info({ runId: id, attempt: outcome.attempt, ending: outcome.ending, state: outcome.state }, 'run finished');
        metrics.finished(outcome.state);
        hooks.onRunFinished?.(outcome);
      })
      .catch((error: unknown) => logger.error({ err: error, runId: id }, 'run execution failed unexpectedly'))
      .finally(() => {
        executions.delete(key);
        claims.wake();
        slotFreed?.();
      });
  }

  const recovery = new SpoolRecovery({
    client,
    options,
    logger,
    logLines: metrics.logLines,
    active: () => new Set([...executions.values()].flatMap((e) => e.spoolKeys())),
  });
  /** `/healthz`: healthy while running and the API answered within the lease it reported. */
  const report = (): HealthReport => {
    const now = performance.now();
    // Whole milliseconds, and the status judged on the same figures the report shows.
    const ageMs = (at: number | null) => (at === null ? null : Math.round(now - at));
    const heartbeatMs = ageMs(contact.heartbeat);
    const pollMs = ageMs(contact.poll);
    const reached = Math.min(heartbeatMs ?? Infinity, pollMs ?? Infinity) <= heartbeat.leaseMs;
    return {
      status: state === 'running' ? (reached ? 'ok' : 'unreachable') : state,
      worker: options.name,
      workerId,
      pool: options.pool,
      leaseSeconds: heartbeat.leaseMs / 1000,
      lastHeartbeatAgeSeconds: heartbeatMs === null ? null : heartbeatMs / 1000,
      lastPollAgeSeconds: pollMs === null ? null : pollMs / 1000,
      runningAttempts: executions.size,
    };
  };
  // Before the first heartbeat, so a probe hears "starting" while the worker waits for the API and
  // a port in use stops the worker at once.
  let health: HealthServer | null = null;
  if (options.healthPort !== null) {
    try {
      health = await startHealthServer({ host: options.healthHost, port: options.healthPort, report, metrics, logger });
    } catch (error) {
      await client.close();
      setState('failed');
      resolveDone();
      const failure = healthListenFailure(error, options.healthHost, options.healthPort);
      if (failure) throw new WorkerStartError(failure.message, failure.hint);
      throw error;
    }
    logger.info({ url: health.url }, `health and metrics at ${health.url}/healthz and ${health.url}/metrics`);
  }
  const healthUrl = health?.url ?? null;

  recovery.start();

  // Start: the first heartbeat registers the worker and tells it the lease length.
  /** Ends a start that cannot go on: what started so far stops, and the worker ends `state`. */
  const endStart = async (state: 'stopped' | 'failed', error: WorkerStartError): Promise<never> => {
    await recovery.stop();
    await client.close();
    await health?.close();
    setState(state);
    resolveDone();
    throw error;
  };
  let failures = 0;
  let lastWaitLog = 0;
  for (;;) {
    if (hooks.signal?.aborted) await endStart('stopped', new WorkerStartError('worker start aborted'));
    const result = await heartbeat.beat();
    if (result.ok) break;
    // A server that no longer supports this worker's version says so in one line, with the
    // command that upgrades it: retrying would not change its answer.
    if (failureCode(result) === 'client_too_old') {
      await endStart(
        'failed',
        new WorkerStartError(
          result.kind === 'http_error' && result.problem?.detail
            ? result.problem.detail
            : `this worker (${WORKER_VERSION}) is too old for the API at ${options.apiUrl}: upgrade it with \`npm install -g @outpost/worker\``,
        ),
      );
    }
    if (isAccessRefused(result)) {
      await endStart(
        'failed',
        new WorkerStartError(
          `the API refused the worker: ${describeFailure(result)}`,
          refusalHint(failureCode(result) === 'unauthenticated', options.pool),
        ),
      );
    }
    failures++;
    // Never a silent wait: say at once, then every half minute, what the worker is waiting for.
    if (failures === 1 || Date.now() - lastWaitLog >= 30_000) {
      lastWaitLog = Date.now();
      logger.warn(
        { apiUrl: options.apiUrl, attempts: failures },
        `waiting for the API at ${options.apiUrl}: ${describeFailure(result)}; retrying (check OUTPOST_API_URL and that the server runs)`,
      );
    }
    await sleep(result.kind === 'http_error' ? retryDelay(result, failures) : backoffDelay(failures), hooks.signal);
  }
  setState('running');
  const storage = new URL(options.resultStorage);
  logger.info(
    {
      limit: options.limit,
      labels: options.labels,
      gpus: options.resources?.gpus.map((g) => g.id) ?? [],
      memoryGb: options.resources?.memoryGb ?? null,
      cpus: options.resources?.cpus ?? null,
      queues: options.queues,
      prestart: options.prestart,
      warm: options.warm,
      resultStorage: `${storage.protocol}//${storage.host}${storage.pathname}`,
      secretSources: options.secretsOrder,
      allowSources: options.allowSources.length > 0 ? options.allowSources : 'any',
      trustKeys: options.trustKeys.map((k) => k.kid),
    },
    'worker settings',
  );
  // Said once: without trust keys, whoever holds the control plane decides what this worker runs.
  // At info, like the settings: `outpost dev`'s local worker (logging warnings only) trusts its own API.
  if (options.trustKeys.length === 0) {
    logger.info(
      'no --trust-key: this worker trusts the control plane and runs any deployment it hands over (docs/security.md, "Signed deployments")',
    );
  } else {
    logger.info({ trustKeys: options.trustKeys.map((k) => k.kid) }, 'runs only deployments signed by its trust keys');
  }
  try {
    await takeOverAdopted();
  } catch (error) {
    // Not knowing which attempts still run, the worker starts none: one of them could run twice.
    await executor.close();
    await recovery.stop();
    await client.close();
    await health?.close();
    await tracing?.shutdown();
    setState('failed');
    resolveDone();
    throw new WorkerStartError(
      `could not find the attempts an earlier worker process left running: ${(error as Error).message}`,
      'check that the worker can reach the Kubernetes API server; it starts no run until it can',
    );
  }
  executor.open();
  heartbeat.start();
  claims.start();
  sensors.start();
  triggers.start();

  /**
   * Attempts an earlier process of this worker left running (a Kubernetes Job goes on without its
   * worker). The API hands back the runs still held at those attempts by a worker of this name,
   * claimed with this key: those continue here as if claimed now. The rest are stopped: their runs
   * are the API's to retry.
   */
  async function takeOverAdopted(): Promise<void> {
    const sinks = new Map<string, DeferredSink>();
    const adopted = await executor.adopt(({ runId, attempt }) => {
      const sink = new DeferredSink();
      sinks.set(`${runId}#${attempt}`, sink);
      return sink;
    });
    if (adopted.length === 0) return;
    const sentAt = Date.now();
    const result = await client.call('poolRunsAdopt', {
      params: { pool: options.pool },
      body: { workerId, runs: adopted.map((a) => ({ id: a.runId, attempt: a.attempt })) },
    });
    const taken = new Map<string, { run: ClaimedRun; logSeq: number }>();
    if (result.ok) for (const item of result.data.adopted) taken.set(`${item.run.flowRun.id}#${item.run.flowRun.attempt}`, item);
    else
      logger.warn({ reason: describeFailure(result) }, 'could not take over the attempts an earlier worker process left running');
    const refused: AdoptedAttempt[] = [];
    for (const attempt of adopted) {
      const key = `${attempt.runId}#${attempt.attempt}`;
      const item = taken.get(key);
      const sink = sinks.get(key)!;
      if (!item) {
        sink.bind(adoptedSink(logger.child({ runId: attempt.runId, attempt: attempt.attempt })));
        refused.push(attempt);
        continue;
      }
      logger.info({ runId: attempt.runId, attempt: attempt.attempt }, 'took over an attempt an earlier worker process started');
      launch(item.run, sentAt, { handle: attempt.handle, sink, logSeq: item.logSeq });
    }
    await stopAdopted(refused, logger);
  }

  let stopping: Promise<void> | null = null;
  const graceOver = new AbortController();
  const graceOverPromise = new Promise<void>((resolve) =>
    graceOver.signal.addEventListener('abort', () => resolve(), { once: true }),
  );
  async function drain(graceMs: number): Promise<void> {
    setState('draining');
    // Runs claimed ahead of their due time (--prefetch) and not started go back to the queue now.
    for (const execution of executions.values()) if (execution.waitingForDue) execution.shutdown();
    await claims.stop();
    await Promise.all([sensors.stop(), triggers.stop()]);
    const timer = setTimeout(() => graceOver.abort(), graceMs);
    while (executions.size > 0 && !graceOver.signal.aborted) {
      await Promise.race([new Promise<void>((resolve) => (slotFreed = resolve)), graceOverPromise]);
    }
    clearTimeout(timer);
    slotFreed = null;
    if (executions.size > 0) {
      logger.warn({ runs: executions.size }, 'drain grace over; stopping the remaining runs');
      for (const execution of executions.values()) execution.shutdown();
      await Promise.allSettled([...executions.values()].map((e) => e.done));
    }
    // Only now: a running attempt may need the executor to end (a Kubernetes pod's watch and relay).
    await executor.close();
    await heartbeat.stop();
    await heartbeat.farewell();
    await recovery.stop();
    await client.close();
    await health?.close();
    await tracing?.shutdown();
    setState(tooOld === null ? 'stopped' : 'failed');
    resolveDone();
  }

  const self: WorkerHandle = {
    workerId,
    get state() {
      return state;
    },
    get runs() {
      return [...executions.values()].map((e) => ({ runId: e.runId, attempt: e.attempt }));
    },
    healthUrl,
    stop(stopOptions: StopOptions = {}) {
      const graceMs = stopOptions.graceMs ?? options.drainGraceMs;
      if (stopping) {
        if (graceMs === 0) graceOver.abort();
        return stopping;
      }
      stopping = drain(graceMs).catch(async (error: unknown) => {
        logger.error({ err: error }, 'worker shutdown failed');
        await health?.close();
        await tracing?.shutdown();
        setState('failed');
        resolveDone();
      });
      return stopping;
    },
    done,
  };
  return self;
}

/**
 * Where an adopted attempt's output goes while it is stopped: nowhere. There is no run token to
 * deliver it with, and flow output must not reach the worker's own log unredacted.
 */
function adoptedSink(log: Logger): AttemptSink {
  return { line: () => {}, message: () => {}, note: (level, text) => log.info({ level }, text) };
}

/**
 * Attempts an earlier process of this worker left running that the API did not hand to this one
 * (the run ended, was retried, or is held elsewhere): the API settles or retries each run, and the
 * attempt is stopped so it never runs alongside that retry.
 */
async function stopAdopted(adopted: AdoptedAttempt[], logger: Logger): Promise<void> {
  await Promise.all(
    adopted.map(async ({ runId, attempt, handle }) => {
      logger.warn({ runId, attempt }, 'stopping an attempt an earlier worker process left running; the API retries its run');
      await handle.stop({ mode: 'kill' });
      await handle.exited;
      await handle.cleanUp();
    }),
  );
}

/** The pool as the API describes it, cached for half a minute; the last good answer while the API is unreachable. */
function poolReader(client: OutpostClient, pool: string, logger: Logger): () => Promise<{ baseJobTemplate?: unknown } | null> {
  let cached: { at: number; value: { baseJobTemplate?: unknown } | null } | null = null;
  return async () => {
    if (cached && Date.now() - cached.at < 30_000) return cached.value;
    const result = await client.call('poolsGet', { params: { pool } });
    if (result.ok) cached = { at: Date.now(), value: result.data as { baseJobTemplate?: unknown } };
    else
      logger.warn(
        { pool, failure: describeFailure(result) },
        'could not read the work pool; comparing its base job template with the one read before',
      );
    return cached?.value ?? null;
  };
}
