import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type CallResult, ClientCore, describeFailure, fetchTransport, isRetryable } from '../client/core.js';
import { isTerminal, type State } from '../contracts/states.js';
import { SDK_VERSION } from '../version.js';
import {
  type DeploymentRun,
  type DeploymentRunClient,
  DeploymentRunFailedError,
  DeploymentRunResultError,
  type DeploymentRunState,
  DeploymentRunTimeoutError,
  type DeploymentRunWaitOptions,
  FAILED_STATE_TYPES,
  type RunDeploymentOptions,
} from './deployment-run.js';
import { flowResultKey, readFlowResult, resultRefOf } from './flow-result.js';
import { directoryResultStorage, type ResultStorage, resultStorageFromUrl } from './result-storage.js';
import { sleep } from './timers.js';

/*
 * `runDeployment` outside a flow run by a worker (an app, a script, a flow run locally): the run is
 * created through the same route `outpost run` uses, and waited on by polling its state.
 */

/** Polling starts quick (most short runs end within seconds) and backs off to this. */
const MAX_POLL_MS = 5_000;
const FIRST_POLL_MS = 250;

function clientFor(options: RunDeploymentOptions, env: NodeJS.ProcessEnv): DeploymentRunClient {
  if (options.client) return options.client;
  const baseUrl = options.apiUrl ?? env.OUTPOST_API_URL?.trim();
  const token = options.apiKey ?? env.OUTPOST_API_KEY?.trim();
  if (!baseUrl || !token) {
    throw new Error(
      'runDeployment() outside a worker-run flow calls the Outpost API: set OUTPOST_API_URL and OUTPOST_API_KEY, or pass { apiUrl, apiKey } or { client }',
    );
  }
  const headers = { authorization: `Bearer ${token}` };
  return new ClientCore({
    baseUrl,
    transport: fetchTransport(),
    requestHeaders: () => headers,
    timeoutMs: 30_000,
    identity: { name: 'sdk', version: SDK_VERSION },
  });
}

function data<T>(what: string, result: CallResult<T>): T {
  if (result.ok) return result.data;
  throw new Error(`${what}: ${describeFailure(result)}`);
}

/** Creates a run of `deployment` through the API and answers its handle. */
export async function startDeploymentRunFromApp<R>(
  deployment: string,
  parameters: Record<string, unknown>,
  options: RunDeploymentOptions,
  env: NodeJS.ProcessEnv = process.env,
): Promise<DeploymentRun<R>> {
  const api = clientFor(options, env);
  const [flow, name] = deployment.split('/') as [string, string];
  const what = `runDeployment('${deployment}')`;
  const found = data(what, await api.call('deploymentsGetByName', { params: { flow, name } }));
  const { flowRun } = data(
    what,
    await api.call('deploymentsCreateRun', {
      params: { id: found.id },
      body: {
        parameters: JSON.parse(JSON.stringify(parameters)) as Record<string, never>,
        ...(options.tags ? { tags: options.tags } : {}),
      },
      ...(options.key ? { headers: { 'idempotency-key': options.key } } : {}),
    }),
  );
  const run = new ApiDeploymentRun<R>(api, { id: flowRun.id, name: flowRun.name, deployment }, options, env);
  if (options.wait) await run.wait(options.timeoutSeconds === undefined ? {} : { timeoutSeconds: options.timeoutSeconds });
  return run;
}

class ApiDeploymentRun<R> implements DeploymentRun<R> {
  readonly id: string;
  readonly name: string;
  readonly deployment: string;
  private ended: State | null = null;

  constructor(
    private readonly api: DeploymentRunClient,
    run: { id: string; name: string; deployment: string },
    private readonly options: RunDeploymentOptions,
    private readonly env: NodeJS.ProcessEnv,
  ) {
    this.id = run.id;
    this.name = run.name;
    this.deployment = run.deployment;
  }

  get state(): DeploymentRunState | null {
    return this.ended ? { type: this.ended.type, name: this.ended.name, message: this.ended.message } : null;
  }

  async wait(options: DeploymentRunWaitOptions = {}): Promise<DeploymentRun<R>> {
    const { timeoutSeconds } = options;
    const deadline = timeoutSeconds === undefined ? Number.POSITIVE_INFINITY : Date.now() + timeoutSeconds * 1000;
    let delay = FIRST_POLL_MS;
    while (!this.ended) {
      const answer = await this.api.call('flowRunsGet', { params: { id: this.id } });
      if (answer.ok) {
        if (isTerminal(answer.data.state.type)) {
          this.ended = answer.data.state;
          break;
        }
      } else if (!isRetryable(answer)) {
        throw new Error(`runDeployment('${this.deployment}'): reading run ${this.name}: ${describeFailure(answer)}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new DeploymentRunTimeoutError(this, timeoutSeconds ?? 0);
      await sleep(Math.min(delay, left));
      delay = Math.min(delay * 2, MAX_POLL_MS);
    }
    const state = this.state as DeploymentRunState;
    if (this.options.throwOnFailure !== false && FAILED_STATE_TYPES.includes(state.type)) {
      throw new DeploymentRunFailedError(this, state);
    }
    return this;
  }

  async result(): Promise<R> {
    if (!this.ended) await this.wait();
    const ended = this.ended as State;
    if (ended.type !== 'COMPLETED') throw new DeploymentRunFailedError(this, this.state as DeploymentRunState);
    const ref = resultRefOf(ended.data);
    const label = `run ${this.name} (${this.id}) of ${this.deployment}`;
    if (!ref) {
      throw new DeploymentRunResultError(
        `${label} stored no result: its flow returned nothing or sets persistResult: false, or its worker predates stored results`,
      );
    }
    const storage = this.storageFor(ref);
    if (!storage) {
      throw new DeploymentRunResultError(
        `${label} stored its result at ${ref}: set OUTPOST_RESULT_STORAGE (or pass { resultStorage }) to the storage its workers write to`,
      );
    }
    let stored: { value: unknown } | null;
    try {
      stored = await readFlowResult(storage, this.id);
    } catch (error) {
      throw new DeploymentRunResultError(`${label}: its result at ${ref} could not be read: ${(error as Error).message}`, {
        cause: error,
      });
    }
    if (!stored) {
      throw new DeploymentRunResultError(
        `${label} stored its result at ${ref}, which this process's result storage does not hold: point OUTPOST_RESULT_STORAGE at the storage its workers write to`,
      );
    }
    return stored.value as R;
  }

  /** The storage given, else the one the environment names, else the directory a `file://` reference lies in. */
  private storageFor(ref: string): ResultStorage | null {
    const given = this.options.resultStorage;
    if (given !== undefined) return typeof given === 'string' ? resultStorageFromUrl(given) : given;
    const configured = this.env.OUTPOST_RESULT_STORAGE?.trim();
    if (configured) return resultStorageFromUrl(configured);
    if (!ref.startsWith('file:')) return null;
    const file = fileURLToPath(ref);
    // A directory storage keeps `<root>/<first two characters of the key>/<key>`.
    if (path.basename(file) !== flowResultKey(this.id)) return null;
    return directoryResultStorage(path.dirname(path.dirname(file)));
  }
}
