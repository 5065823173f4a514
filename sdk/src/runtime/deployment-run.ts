import type { ResultStorage } from './result-storage.js';

/*
 * The handle `runDeployment` returns, inside a flow (the run is a child of the flow's run, waited on
 * durably) and outside one (an app calling the API). Both behave the same way to their caller.
 */

/** The state a deployment's run ended in. */
export interface DeploymentRunState {
  /** `COMPLETED`, `FAILED`, `CRASHED` or `CANCELLED`. */
  type: string;
  name: string;
  message: string | null;
}

export interface DeploymentRunWaitOptions {
  /** Give up after this many seconds: `DeploymentRunTimeoutError` (the run goes on). @default no limit */
  timeoutSeconds?: number;
}

/** A run of a deployment, started by `runDeployment`. `R` is the flow's return type with `runDeployment<typeof myFlow>`. */
export interface DeploymentRun<R> {
  readonly id: string;
  readonly name: string;
  /** `flow/deployment`. */
  readonly deployment: string;
  /** The state the run ended in, once it ended and this handle waited for it; null before. */
  readonly state: DeploymentRunState | null;
  /**
   * Waits for the run to end. Throws `DeploymentRunFailedError` when it ended FAILED, CRASHED or
   * CANCELLED, unless `runDeployment` was given `throwOnFailure: false`.
   */
  wait(options?: DeploymentRunWaitOptions): Promise<DeploymentRun<R>>;
  /**
   * The flow's return value, read from the result storage the run wrote it to (waiting for the run
   * first). Throws `DeploymentRunFailedError` when the run did not complete, and
   * `DeploymentRunResultError` when it stored no result or this process cannot reach where it did.
   */
  result(): Promise<R>;
}

/** What `runDeployment` needs of an API client outside a flow: `OutpostClient` and `ClientCore` both fit. */
export interface DeploymentRunClient {
  call: import('../client/core.js').ClientCore['call'];
}

export interface RunDeploymentOptions {
  /**
   * The call's identity. In a flow: its key in the flow's run, so a replay after a suspension or a
   * retried attempt finds the run it started before instead of starting another (letters, digits,
   * `.`, `_`, `:`, `/`, `-`; at most 190). Outside a flow: the run's Idempotency-Key.
   * @default in a flow, `deployment-run-<n>` (the run's n-th call that gives none); outside, none
   */
  key?: string;
  /** Wait for the run to end before returning. @default true in a flow, false outside one */
  wait?: boolean;
  /** With `wait`: give up after this many seconds (`DeploymentRunTimeoutError`). @default no limit */
  timeoutSeconds?: number;
  /**
   * In a flow: how long waiting holds the flow's process before the flow run is suspended (its
   * worker slot freed) until the run ends; 0 suspends at once, for a run known to take long.
   * @default the deployment's `jobVariables.waitHoldSeconds` (the worker sets `OUTPOST_WAIT_HOLD_SECONDS`), else 60
   */
  holdSeconds?: number;
  /** Throw `DeploymentRunFailedError` when the run ends FAILED, CRASHED or CANCELLED. @default true */
  throwOnFailure?: boolean;
  /** Tags of the new run, on top of its deployment's. @default none */
  tags?: string[];
  /** Outside a flow: the API client to use. @default one for `apiUrl` and `apiKey` */
  client?: DeploymentRunClient;
  /** Outside a flow: the API's URL. @default `OUTPOST_API_URL` */
  apiUrl?: string;
  /** Outside a flow: an API key with the runner role or above. @default `OUTPOST_API_KEY` */
  apiKey?: string;
  /**
   * Outside a flow: where `.result()` reads from — a storage, or its URL. @default
   * `OUTPOST_RESULT_STORAGE`, else the directory of a `file://` result reference
   */
  resultStorage?: ResultStorage | string;
}

/** A deployment's run ended FAILED, CRASHED or CANCELLED. */
export class DeploymentRunFailedError extends Error {
  override readonly name = 'DeploymentRunFailedError';
  constructor(
    readonly run: { id: string; name: string; deployment: string },
    readonly state: DeploymentRunState,
  ) {
    super(`run ${run.name} (${run.id}) of ${run.deployment} ended ${state.type}${state.message ? `: ${state.message}` : ''}`);
  }
}

/** A deployment's run had not ended when the wait's timeout passed; the run goes on. */
export class DeploymentRunTimeoutError extends Error {
  override readonly name = 'DeploymentRunTimeoutError';
  constructor(
    readonly run: { id: string; name: string; deployment: string },
    readonly timeoutSeconds: number,
    options?: { cause: unknown },
  ) {
    super(`run ${run.name} (${run.id}) of ${run.deployment} did not end within ${timeoutSeconds}s`, options);
  }
}

/** A completed run's result cannot be read here: it stored none, or this process cannot reach where it did. */
export class DeploymentRunResultError extends Error {
  override readonly name = 'DeploymentRunResultError';
}

export const FAILED_STATE_TYPES: readonly string[] = ['FAILED', 'CRASHED', 'CANCELLED'];

/** A deployment reference as `runDeployment` takes it: `flow/deployment`. */
export function checkDeploymentRef(deployment: string): void {
  if (typeof deployment !== 'string' || !/^[^/\s]+\/[^/\s]+$/.test(deployment)) {
    throw new TypeError(`runDeployment('${String(deployment)}'): name the deployment as "<flow>/<deployment>", e.g. "train/gpu"`);
  }
}
