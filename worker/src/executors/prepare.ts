import { type ClaimedRun, CONFIGURATION_ERROR } from '@outpost/sdk/contracts';
import type { Logger } from 'pino';
import { runChildEnv } from '../child-env.js';
import type { WorkerOptions } from '../options.js';
import { JobConfigError, resolveJobVariables, type SecretResolver } from '../secrets.js';
import type { LogInput } from '../ship-logs.js';
import { isSourceAllowed } from '../sources/allow.js';
import { fetchBundle } from '../sources/pull.js';
import { checkClaimedCode } from '../trust.js';
import type { PreparedRun } from './executor.js';
import type { StartFailure } from './final-state.js';

export interface PrepareDeps {
  options: Pick<WorkerOptions, 'allowSources' | 'cacheDir' | 'resources' | 'trustKeys' | 'pool'>;
  /** The worker's own environment: the only place registry and git credentials come from. */
  workerEnv: NodeJS.ProcessEnv;
  secrets: SecretResolver;
  logger: Logger;
  /** Aborted when the run is to stop: a download in progress is not waited for. */
  stopped: AbortSignal;
  /** The run's secret values, once resolved: masked from then on in everything that leaves. */
  onSecrets: (values: string[]) => void;
  /** A line of the worker's own in the run's log. */
  note: (level: LogInput['level'], text: string) => void;
}

export type Preparation =
  | { kind: 'prepared'; run: PreparedRun }
  /** The run cannot start on this worker; the failure becomes its state. */
  | { kind: 'refused'; failure: StartFailure }
  /** The run was stopped before its source was ready. */
  | { kind: 'stopped' };

/**
 * The stage between claim and execute: checks the deployment's signature against `--trust-key`,
 * resolves its secrets, checks the source against `--allow-source`, and fetches the flow's code by
 * its pinned reference. Everything that can refuse a run before any of its code runs happens here;
 * the signature is checked first, so no secret is read for a run the customer did not sign.
 */
export async function prepareRun(claimed: ClaimedRun, deps: PrepareDeps): Promise<Preparation> {
  const { deployment, flowRun } = claimed;
  const trust = await checkClaimedCode(
    deployment,
    { keys: deps.options.trustKeys, pool: deps.options.pool },
    flowRun.parameters as Record<string, unknown>,
  );
  if (trust.kind === 'refused') {
    deps.logger.warn({ reason: trust.reason }, 'refused a run that did not verify against the trust keys');
    return refused({ type: 'FAILED', name: SIGNATURE_REFUSED, message: `refused to run: ${trust.reason}` });
  }
  if (trust.kid) deps.note('info', `deployment signature verified (key ${trust.kid})`);
  let jobEnv: Record<string, string>;
  let waitHoldSeconds: number | null;
  try {
    const resolved = await resolveJobVariables(deployment.jobVariables, (name) => deps.secrets.resolve(name));
    deps.onSecrets(resolved.secretValues);
    jobEnv = resolved.env;
    waitHoldSeconds = resolved.waitHoldSeconds;
  } catch (error) {
    if (!(error instanceof JobConfigError)) throw error;
    return refused({ type: 'FAILED', name: CONFIGURATION_ERROR, message: `cannot start the run: ${error.message}` });
  }
  if (!isSourceAllowed(deployment.source, deps.options.allowSources)) {
    return refused({
      type: 'FAILED',
      name: CONFIGURATION_ERROR,
      message: `cannot start the run: this worker does not run code from ${displaySource(deployment.source)} (its --allow-source list does not include it)`,
    });
  }
  deps.note('info', `pulling bundle ${displaySource(deployment.source)}`);
  // A cancel or shutdown while a large bundle downloads must not wait for the download.
  const stopped = new Promise<'stopped'>((resolve) => {
    if (deps.stopped.aborted) resolve('stopped');
    deps.stopped.addEventListener('abort', () => resolve('stopped'), { once: true });
  });
  const fetching = fetchBundle(deployment.source, deployment.entrypoint, {
    cacheDir: deps.options.cacheDir,
    env: deps.workerEnv,
  }).then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  const fetched = await Promise.race([fetching, stopped]);
  if (fetched === 'stopped') {
    // The fetch finishes in the background; whatever it holds in the cache is let go at once.
    void fetching.then((late) => (late.ok ? late.value.release?.() : undefined));
    return { kind: 'stopped' };
  }
  if (!fetched.ok) {
    const { error } = fetched;
    const code = (error as { code?: unknown }).code;
    const what =
      code === 'integrity' ? 'refused to run the flow bundle (integrity check failed)' : 'could not fetch the flow bundle';
    deps.logger.error({ err: error, code }, what);
    // A bundle that fails its digest will fail it on every attempt; a download that failed may not.
    return refused({
      type: 'FAILED',
      ...(code === 'integrity' ? { name: CONFIGURATION_ERROR } : {}),
      message: `${what}: ${displaySource((error as Error).message)}`,
    });
  }
  const bundle = fetched.value;
  const run = { id: flowRun.id, attempt: flowRun.attempt, flowName: deployment.flowName };
  return {
    kind: 'prepared',
    run: {
      claimed,
      runId: run.id,
      attempt: run.attempt,
      bundle,
      jobEnv,
      runEnv: runChildEnv({ jobEnv, run, gpus: gpuEnv(claimed, deps.options), waitHoldSeconds, bundleDir: bundle.dir }),
    },
  };
}

/**
 * The devices the run may see: those it was assigned, or none on a worker that has GPUs, so a run
 * that asked for no GPU never lands on a device another run holds. Nothing on a worker without GPUs.
 */
function gpuEnv(claimed: ClaimedRun, options: Pick<WorkerOptions, 'resources'>): string[] | null {
  const assigned = claimed.assigned?.gpus ?? [];
  if (assigned.length > 0) return assigned;
  return (options.resources?.gpus.length ?? 0) > 0 ? [] : null;
}

/** The state name of a run refused by the signature check: a retry would be refused alike, so none is made. */
export const SIGNATURE_REFUSED = CONFIGURATION_ERROR;

function refused(failure: StartFailure): Preparation {
  return { kind: 'refused', failure };
}

/** A source (or a message quoting one) as it may appear in logs and states: any `user[:password]@` in a URL is masked. */
export function displaySource(source: string): string {
  return source.replace(/\/\/[^/@\s"]+@/g, '//***@').replace(/[^\s"/@]+:[^\s"/@]+@/g, '***@');
}
