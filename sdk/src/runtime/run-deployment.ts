import { currentScope } from './context.js';
import {
  checkDeploymentRef,
  type DeploymentRun,
  DeploymentRunFailedError,
  DeploymentRunResultError,
  type DeploymentRunState,
  DeploymentRunTimeoutError,
  type DeploymentRunWaitOptions,
  FAILED_STATE_TYPES,
  type RunDeploymentOptions,
} from './deployment-run.js';
import { describeError, toError } from './errors.js';
import type { FlowInputOf, FlowResultOf } from './flow.js';
import { log } from './logger.js';
import { raceAbort } from './timers.js';
import { durableScope, durableWait, holdSeconds, WaitTimeoutError } from './wait.js';

/** A wait key is at most 200 characters, and a call's wait is `run:<key>`. */
const MAX_CALL_KEY_LENGTH = 190;

/** Parameters may be left out when the flow needs none (every field optional or defaulted). */
export type RunDeploymentArgs<F> =
  Record<string, never> extends FlowInputOf<F>
    ? [params?: FlowInputOf<F>, options?: RunDeploymentOptions]
    : [params: FlowInputOf<F>, options?: RunDeploymentOptions];

type Scope = NonNullable<ReturnType<typeof durableScope>>;

/**
 * Starts a run of another deployment — possibly on another work pool, such as a GPU pool — and
 * (by default, in a flow) waits for it to end. Name the flow's type to have the parameters checked
 * at compile time and the result typed: `runDeployment<typeof train>('train/gpu', { epochs: 3 })`.
 *
 * In a flow run by a worker, the run is the flow run's child (both pages link to each other), and
 * the call is durable: a replay after a suspension or a retried attempt finds the run it started
 * before by the call's key instead of starting another. Waiting holds the flow's process for up to
 * `OUTPOST_WAIT_HOLD_SECONDS` (60 s), then suspends the flow run (no worker slot held) until the
 * child ends. Call it from the flow's body, not from a task or a subflow.
 *
 * Anywhere else (an app, a script), it calls the API with `OUTPOST_API_URL` and `OUTPOST_API_KEY`
 * (or `{ apiUrl, apiKey }`, `{ client }`) and returns at once unless `{ wait: true }`.
 * @example
 * const child = await runDeployment<typeof train>('train/gpu', { epochs: 3 });
 * const model = await child.result();
 */
export async function runDeployment<F = unknown>(
  deployment: string,
  ...args: RunDeploymentArgs<F>
): Promise<DeploymentRun<FlowResultOf<F>>> {
  checkDeploymentRef(deployment);
  const [params, options = {}] = args as [Record<string, unknown> | undefined, RunDeploymentOptions | undefined];
  const parameters = params ?? {};
  if (typeof parameters !== 'object' || parameters === null || Array.isArray(parameters)) {
    throw new TypeError(`runDeployment('${deployment}'): parameters must be an object`);
  }
  const { run, task } = currentScope();
  const viaApi = options.client !== undefined || options.apiUrl !== undefined || options.apiKey !== undefined;
  if (!viaApi && run?.reporter.recordsRuns) {
    if (task) throw new Error(`runDeployment() was called inside task ${task.taskKey}; call it from the flow's body`);
    const scope = durableScope('runDeployment()');
    if (!scope) {
      throw new Error(`runDeployment() was called in subflow '${run.flowName}'; call it from the deployed flow's own body`);
    }
    return startChildRun<FlowResultOf<F>>(scope, deployment, parameters, options);
  }
  const { startDeploymentRunFromApp } = await import('./deployment-run-api.js');
  return startDeploymentRunFromApp<FlowResultOf<F>>(deployment, parameters, {
    ...options,
    wait: options.wait ?? run !== undefined,
  });
}

async function startChildRun<R>(
  scope: Scope,
  deployment: string,
  parameters: Record<string, unknown>,
  options: RunDeploymentOptions,
): Promise<DeploymentRun<R>> {
  const { durable, signal } = scope;
  // Every call takes its number, keyed or not, so an unkeyed call keeps its key when others gain one.
  const numbered = durable.nextDeploymentRunKey();
  const key = options.key ?? numbered;
  if (key.length > MAX_CALL_KEY_LENGTH) {
    throw new TypeError(`runDeployment('${deployment}'): key is longer than ${MAX_CALL_KEY_LENGTH} characters`);
  }
  const { DeploymentRunCreateRequest } = await import('../contracts/manifests.js');
  const checked = DeploymentRunCreateRequest.safeParse({
    deployment,
    parameters: JSON.parse(JSON.stringify(parameters)),
    key,
    ...(options.tags ? { tags: options.tags } : {}),
  });
  if (!checked.success) {
    const detail = checked.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new TypeError(`runDeployment('${deployment}'): ${detail}`);
  }
  const started = await raceAbort(durable.port.startDeploymentRun(checked.data), signal);
  log.info(`${started.created ? 'started' : 'found'} run ${started.name} of ${deployment} (${started.id})`);
  const child = new ChildDeploymentRun<R>(scope, { ...started, deployment }, key, {
    throwOnFailure: options.throwOnFailure !== false,
    holdSeconds: options.holdSeconds ?? holdSeconds(),
  });
  if (options.wait === false) return child;
  return child.wait(options.timeoutSeconds === undefined ? {} : { timeoutSeconds: options.timeoutSeconds });
}

/** A deployment's run started by the worker's flow run, waited on with the flow run's durable `run` wait. */
class ChildDeploymentRun<R> implements DeploymentRun<R> {
  readonly id: string;
  readonly name: string;
  readonly deployment: string;
  private ended: DeploymentRunState | null = null;

  constructor(
    private readonly scope: Scope,
    run: { id: string; name: string; deployment: string },
    private readonly key: string,
    private readonly behaviour: { throwOnFailure: boolean; holdSeconds: number },
  ) {
    this.id = run.id;
    this.name = run.name;
    this.deployment = run.deployment;
  }

  get state(): DeploymentRunState | null {
    return this.ended;
  }

  async wait(options: DeploymentRunWaitOptions = {}): Promise<DeploymentRun<R>> {
    if (!this.ended) {
      let value: unknown;
      try {
        const wait = await durableWait(
          'runDeployment()',
          this.scope,
          { kind: 'run', flowRunId: this.id },
          { key: `run:${this.key}`, ...(options.timeoutSeconds === undefined ? {} : { timeoutSeconds: options.timeoutSeconds }) },
          { numbered: false, holdFirstSeconds: this.behaviour.holdSeconds },
        );
        value = wait.value;
      } catch (error) {
        if (error instanceof WaitTimeoutError) {
          throw new DeploymentRunTimeoutError(this, options.timeoutSeconds ?? 0, { cause: error });
        }
        throw error;
      }
      const { RunWaitValue } = await import('../contracts/waits.js');
      const parsed = RunWaitValue.safeParse(value);
      if (!parsed.success) throw new Error(`runDeployment('${this.deployment}'): unexpected wait value: ${parsed.error.message}`);
      this.ended = parsed.data.state;
      log.info(`run ${this.name} of ${this.deployment} ended ${this.ended.type}`);
    }
    if (this.behaviour.throwOnFailure && FAILED_STATE_TYPES.includes(this.ended.type)) {
      throw new DeploymentRunFailedError(this, this.ended);
    }
    return this;
  }

  async result(): Promise<R> {
    if (!this.ended) await this.wait();
    const ended = this.ended as DeploymentRunState;
    if (ended.type !== 'COMPLETED') throw new DeploymentRunFailedError(this, ended);
    const label = `run ${this.name} (${this.id}) of ${this.deployment}`;
    let stored: { value: unknown } | null;
    try {
      stored = await this.scope.durable.port.readRunResult(this.id);
    } catch (error) {
      throw new DeploymentRunResultError(`${label}: its result could not be read: ${describeError(toError(error))}`, {
        cause: error,
      });
    }
    if (!stored) {
      throw new DeploymentRunResultError(
        `${label} has no result in this flow's result storage: its flow returned nothing or sets persistResult: false, or its workers write to another storage (give both pools the same OUTPOST_RESULT_STORAGE)`,
      );
    }
    return stored.value as R;
  }
}
