import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { ClaimedSensorTick, SensorResult } from '@outpost/sdk/contracts';
import type { Logger } from 'pino';
import { credentialValues } from '../child-env.js';
import { FlowProcess } from '../executors/flow-process.js';
import { displaySource } from '../executors/prepare.js';
import type { WorkerOptions } from '../options.js';
import { parentWatchExecArgv } from '../parent-watch-argv.js';
import { Redactor } from '../redact.js';
import { JobConfigError, resolveJobVariables, type SecretResolver } from '../secrets.js';
import { isSourceAllowed } from '../sources/allow.js';
import { fetchBundle } from '../sources/pull.js';

/** The most log lines a tick keeps (the last ones), and the longest line. */
const MAX_TICK_LOG_LINES = 200;
const MAX_TICK_LOG_LINE = 2_000;

/** The file behind `@outpost/sdk/sensor-runner`: the program a sensor process runs. */
export function sensorRunnerPath(): string {
  const resolveSpecifier = (import.meta as { resolve?: (specifier: string) => string }).resolve;
  if (typeof resolveSpecifier === 'function') {
    try {
      return fileURLToPath(resolveSpecifier('@outpost/sdk/sensor-runner'));
    } catch {
      // As runnerPath: some loaders lack import.meta.resolve; require's resolver reads the same exports map.
    }
  }
  return createRequire(import.meta.url).resolve('@outpost/sdk/sensor-runner');
}

export interface SensorEvaluationDeps {
  options: Pick<WorkerOptions, 'allowSources' | 'cacheDir' | 'cancelGraceMs'>;
  workerEnv: NodeJS.ProcessEnv;
  /** The environment every flow of this worker shares (`baseChildEnv`). */
  baseEnv: Record<string, string>;
  secrets: SecretResolver;
  logger: Logger;
}

export type TickOutcome = { status: 'ok'; result: SensorResult } | { status: 'error'; error: string };

/** What the worker reports of a tick: its outcome and its last log lines, secrets masked. */
export interface TickReport {
  outcome: TickOutcome;
  logs: string[];
}

/**
 * Evaluates one claimed tick the way a run starts, and never in the worker's own process: the
 * deployment's job variables (secrets resolved here), the `--allow-source` check, the bundle fetched
 * and verified by its pinned reference, then the sensor in a process group of its own (watched like
 * a flow process, so it dies with the worker), stopped after the tick's time bound. Resolves with
 * what to report, or null when `stopped` was aborted first (the worker is shutting down: the lease
 * runs out and another worker evaluates the tick again from the same cursor).
 */
export async function evaluateSensorTick(
  tick: ClaimedSensorTick,
  deps: SensorEvaluationDeps,
  stopped: AbortSignal,
): Promise<TickReport | null> {
  const { deployment, sensor } = tick;
  const log = deps.logger.child({ sensorId: sensor.id, tickId: tick.tickId });
  let redactor = new Redactor(credentialValues(deps.baseEnv));
  const lines: string[] = [];
  const report = (outcome: TickOutcome): TickReport => ({
    outcome: outcome.status === 'error' ? { status: 'error', error: redactor.redact(outcome.error).slice(0, 8_000) } : outcome,
    logs: lines.map((line) => redactor.redact(line).slice(0, MAX_TICK_LOG_LINE)),
  });

  let jobEnv: Record<string, string>;
  try {
    const resolved = await resolveJobVariables(deployment.jobVariables, (name) => deps.secrets.resolve(name));
    redactor = new Redactor([...resolved.secretValues, ...credentialValues(deps.baseEnv)]);
    jobEnv = resolved.env;
  } catch (error) {
    if (!(error instanceof JobConfigError)) throw error;
    return report({ status: 'error', error: `cannot evaluate the sensor: ${error.message}` });
  }
  if (!isSourceAllowed(deployment.source, deps.options.allowSources)) {
    return report({
      status: 'error',
      error: `cannot evaluate the sensor: this worker does not run code from ${displaySource(deployment.source)} (its --allow-source list does not include it)`,
    });
  }
  let bundle: Awaited<ReturnType<typeof fetchBundle>>;
  try {
    bundle = await fetchBundle(deployment.source, deployment.entrypoint, {
      cacheDir: deps.options.cacheDir,
      env: deps.workerEnv,
    });
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    log.error({ err: error, code }, 'could not fetch the sensor bundle');
    const what = code === 'integrity' ? 'refused to run the bundle (integrity check failed)' : 'could not fetch the bundle';
    return report({ status: 'error', error: `${what}: ${displaySource((error as Error).message)}` });
  }
  if (stopped.aborted) {
    bundle.release?.();
    return null;
  }

  try {
    let answer: TickOutcome | null = null;
    let answered!: () => void;
    const gotAnswer = new Promise<void>((resolve) => (answered = resolve));
    const env: Record<string, string> = { ...deps.baseEnv };
    for (const [name, value] of Object.entries(jobEnv)) if (!name.startsWith('OUTPOST_')) env[name] = value;
    env.OUTPOST_BUNDLE_DIR = bundle.dir;
    env.OUTPOST_SENSOR_NAME = sensor.name;
    env.OUTPOST_DEPLOYMENT_ID = deployment.id;
    env.OUTPOST_SENSOR_TICK = JSON.stringify({ cursor: sensor.cursor, lastTickAt: sensor.lastTickAt });
    const proc = await FlowProcess.start({
      script: sensorRunnerPath(),
      args: [bundle.entry, sensor.name],
      execArgv: parentWatchExecArgv(),
      cwd: bundle.dir,
      env,
      onLine: (_stream, line) => {
        lines.push(line);
        if (lines.length > MAX_TICK_LOG_LINES) lines.shift();
      },
      onMessage: (message) => {
        const m = message as { t?: unknown; result?: unknown; error?: unknown } | null;
        if (answer !== null) return;
        if (m?.t === 'sensorResult') answer = { status: 'ok', result: m.result as SensorResult };
        else if (m?.t === 'sensorError' && typeof m.error === 'string') answer = { status: 'error', error: m.error };
        else return;
        answered();
      },
    });
    log.info({ pid: proc.pid, sensor: sensor.name }, 'sensor process started');
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), tick.timeoutSeconds * 1_000);
    });
    const aborted = new Promise<'stopped'>((resolve) => {
      if (stopped.aborted) resolve('stopped');
      stopped.addEventListener('abort', () => resolve('stopped'), { once: true });
    });
    const ended = await Promise.race([
      gotAnswer.then(() => 'answered' as const),
      proc.exited.then(() => 'exited' as const),
      timedOut,
      aborted,
    ]);
    clearTimeout(timer);
    if (ended === 'timeout' || ended === 'stopped') await proc.kill();
    else await proc.waitForExit(deps.options.cancelGraceMs);
    await proc.reap(deps.options.cancelGraceMs);
    if (ended === 'stopped') return null;
    if (ended === 'timeout') {
      return report({ status: 'error', error: `the sensor did not finish within ${tick.timeoutSeconds} s and was stopped` });
    }
    if (answer !== null) return report(answer);
    const exit = await proc.exited;
    const last = lines.filter((line) => line.trim() !== '').at(-1);
    return report({
      status: 'error',
      error: `the sensor process exited (${exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`}) without a result${last ? `: ${last}` : ''}`,
    });
  } finally {
    bundle.release?.();
  }
}
