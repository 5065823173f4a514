import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { credentialValues } from './child-env.js';
import { FlowProcess } from './executors/flow-process.js';
import { displaySource } from './executors/prepare.js';
import type { WorkerOptions } from './options.js';
import { parentWatchExecArgv } from './parent-watch-argv.js';
import { Redactor } from './redact.js';
import { JobConfigError, resolveJobVariables, type SecretResolver } from './secrets.js';
import { isSourceAllowed } from './sources/allow.js';
import { fetchBundle } from './sources/pull.js';
import { type ClaimedCode, checkClaimedCode } from './trust.js';

/** The most log lines an evaluation keeps (the last ones), and the longest line. */
const MAX_LOG_LINES = 200;
const MAX_LOG_LINE = 2_000;

/** The file behind an `@outpost/sdk/…` program (`sensor-runner`, `external-job-runner`). */
export function sdkProgramPath(specifier: string): string {
  const resolveSpecifier = (import.meta as { resolve?: (specifier: string) => string }).resolve;
  if (typeof resolveSpecifier === 'function') {
    try {
      return fileURLToPath(resolveSpecifier(specifier));
    } catch {
      // As runnerPath: some loaders lack import.meta.resolve; require's resolver reads the same exports map.
    }
  }
  return createRequire(import.meta.url).resolve(specifier);
}

export interface BundleProcessDeps {
  options: Pick<WorkerOptions, 'allowSources' | 'cacheDir' | 'cancelGraceMs' | 'trustKeys' | 'pool'>;
  workerEnv: NodeJS.ProcessEnv;
  /** The environment every flow of this worker shares (`baseChildEnv`). */
  baseEnv: Record<string, string>;
  secrets: SecretResolver;
  logger: Logger;
}

/** The deployment code a short evaluation runs from, with what its signature is checked against. */
export type BundleCode = ClaimedCode;

export interface BundleProcessSpec<A> {
  /** What runs, for messages: `the sensor`, `the job's poll`. */
  what: string;
  code: BundleCode;
  /** The SDK program to run (`@outpost/sdk/sensor-runner`). */
  program: string;
  /** Its arguments after the bundle's entry module. */
  args: string[];
  /** More of the process's environment, set after the job variables. */
  env: Record<string, string>;
  timeoutSeconds: number;
  /** The answer a message from the process carries, or null for another message. */
  answer: (message: unknown) => A | null;
}

/** How an evaluation ended: its answer, or why there is none; its last log lines. Secrets are masked. */
export interface BundleProcessResult<A> {
  outcome: { status: 'answered'; answer: A } | { status: 'error'; error: string };
  logs: string[];
  /** Masks the secrets this evaluation knew in what is reported from its answer. */
  redact: (text: string) => string;
  /** The same for JSON: keys as well as string values (`Redactor.redactJson`). */
  redactJson: <T>(value: T) => T;
  /** Whether a value that must be reported exactly (a cursor, a run key) holds a secret. */
  holdsSecret: (text: string) => boolean;
}

/**
 * Runs one short program of a deployment's code the way a run starts, and never in the worker's own
 * process: the deployment's job variables (secrets resolved here), the `--allow-source` check, the
 * bundle fetched and verified by its pinned reference, then the program in a process group of its
 * own (watched like a flow process, so it dies with the worker), stopped after `timeoutSeconds`.
 * Resolves with what to report, or null when `stopped` was aborted first (the worker is shutting
 * down: the lease runs out and another worker evaluates the item again).
 */
export async function runBundleProcess<A>(
  spec: BundleProcessSpec<A>,
  deps: BundleProcessDeps,
  stopped: AbortSignal,
): Promise<BundleProcessResult<A> | null> {
  const { code } = spec;
  let redactor = new Redactor(credentialValues(deps.baseEnv));
  const lines: string[] = [];
  const result = (outcome: BundleProcessResult<A>['outcome']): BundleProcessResult<A> => ({
    outcome: outcome.status === 'error' ? { status: 'error', error: redactor.redact(outcome.error).slice(0, 8_000) } : outcome,
    logs: lines.map((line) => redactor.redact(line).slice(0, MAX_LOG_LINE)),
    redact: (text) => redactor.redact(text),
    redactJson: (value) => redactor.redactJson(value),
    holdsSecret: (text) => redactor.holdsSecret(text),
  });

  const trust = await checkClaimedCode(code, { keys: deps.options.trustKeys, pool: deps.options.pool });
  if (trust.kind === 'refused') {
    deps.logger.warn({ reason: trust.reason }, `refused to run ${spec.what}: it did not verify against the trust keys`);
    return result({ status: 'error', error: `refused to run ${spec.what}: ${trust.reason}` });
  }
  let jobEnv: Record<string, string>;
  try {
    const resolved = await resolveJobVariables(code.jobVariables as never, (name) => deps.secrets.resolve(name));
    redactor = new Redactor([...resolved.secretValues, ...credentialValues(deps.baseEnv)]);
    jobEnv = resolved.env;
  } catch (error) {
    if (!(error instanceof JobConfigError)) throw error;
    return result({ status: 'error', error: `cannot run ${spec.what}: ${error.message}` });
  }
  if (!isSourceAllowed(code.source, deps.options.allowSources)) {
    return result({
      status: 'error',
      error: `cannot run ${spec.what}: this worker does not run code from ${displaySource(code.source)} (its --allow-source list does not include it)`,
    });
  }
  let bundle: Awaited<ReturnType<typeof fetchBundle>>;
  try {
    bundle = await fetchBundle(code.source, code.entrypoint, { cacheDir: deps.options.cacheDir, env: deps.workerEnv });
  } catch (error) {
    const errorCode = (error as { code?: unknown }).code;
    deps.logger.error({ err: error, code: errorCode }, `could not fetch the bundle of ${spec.what}`);
    const what = errorCode === 'integrity' ? 'refused to run the bundle (integrity check failed)' : 'could not fetch the bundle';
    return result({ status: 'error', error: `${what}: ${displaySource((error as Error).message)}` });
  }
  if (stopped.aborted) {
    bundle.release?.();
    return null;
  }

  try {
    let answer: A | null = null;
    let answered!: () => void;
    const gotAnswer = new Promise<void>((resolve) => (answered = resolve));
    const env: Record<string, string> = { ...deps.baseEnv };
    for (const [name, value] of Object.entries(jobEnv)) if (!name.startsWith('OUTPOST_')) env[name] = value;
    env.OUTPOST_BUNDLE_DIR = bundle.dir;
    Object.assign(env, spec.env);
    const proc = await FlowProcess.start({
      script: sdkProgramPath(spec.program),
      args: [bundle.entry, ...spec.args],
      execArgv: parentWatchExecArgv(),
      cwd: bundle.dir,
      env,
      onLine: (_stream, line) => {
        lines.push(line);
        if (lines.length > MAX_LOG_LINES) lines.shift();
      },
      onMessage: (message) => {
        if (answer !== null) return;
        answer = spec.answer(message);
        if (answer !== null) answered();
      },
    });
    deps.logger.info({ pid: proc.pid }, `${spec.what} started`);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), spec.timeoutSeconds * 1_000);
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
      return result({ status: 'error', error: `${spec.what} did not finish within ${spec.timeoutSeconds} s and was stopped` });
    }
    if (answer !== null) return result({ status: 'answered', answer });
    const exit = await proc.exited;
    const last = lines.filter((line) => line.trim() !== '').at(-1);
    return result({
      status: 'error',
      error: `${spec.what} exited (${exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`}) without a result${last ? `: ${last}` : ''}`,
    });
  } finally {
    bundle.release?.();
  }
}
