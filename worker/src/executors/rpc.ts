import type { CallResult } from '@outpost/sdk/client';
import { describeFailure } from '@outpost/sdk/client';
import { type ProposedState, type StateProposalResponse, statusForCode } from '@outpost/sdk/contracts';
import { RPC_PENDING_INTERVAL_MS } from '@outpost/sdk/runtime';
import type { Logger } from 'pino';
import { REDACTED, type Redactor } from '../redact.js';
import type { LogShipper } from '../ship-logs.js';
import { redactState, type TaskRunShipper } from '../ship-task-runs.js';
import type { Attempt } from './executor.js';
import type { RpcErrorBody, RpcRequestMessage as RpcRequest } from './messages.js';
import { isStaleAttempt, type RunApi } from './run-api.js';
import type { SubflowRuns } from './subflow-runs.js';

type AssetEvent = Extract<RpcRequest, { method: 'reportAssetEvents' }>['body']['events'][number];
type WaitSpec = Extract<RpcRequest, { method: 'createWait' }>['body']['spec'];
type EmittedEvent = Extract<RpcRequest, { method: 'emitEvent' }>['body']['event'];
type EventResource = NonNullable<EmittedEvent['resource']>;

/** An asset event as it leaves the network: its free text (failure messages, metadata keys and values) redacted. */
export function redactAssetEvent(redactor: Redactor, event: AssetEvent): AssetEvent {
  switch (event.kind) {
    case 'failure':
      return { ...event, message: redactor.redact(event.message) };
    case 'materialization':
    case 'check':
      return { ...event, metadata: redactor.redactJson(event.metadata ?? {}) as typeof event.metadata };
  }
}

function redactResource(redactor: Redactor, resource: EventResource): EventResource {
  return {
    kind: redactor.redact(resource.kind),
    id: redactor.redact(resource.id),
    ...(typeof resource.name === 'string'
      ? { name: redactor.redact(resource.name) }
      : resource.name === null
        ? { name: null }
        : {}),
  };
}

/** A custom event as it leaves the network: its resources and its payload (keys and values) redacted. */
export function redactEmittedEvent(redactor: Redactor, event: EmittedEvent): EmittedEvent {
  return {
    ...event,
    ...(event.resource ? { resource: redactResource(redactor, event.resource) } : {}),
    ...(event.related ? { related: event.related.map((r) => redactResource(redactor, r)) } : {}),
    ...(event.payload ? { payload: redactor.redactJson(event.payload) as typeof event.payload } : {}),
  };
}

/**
 * A wait's spec as it leaves the network: what people read (an approval's title, description and
 * form, a deferred job's label and link) redacted. What the control plane must hold exactly to do
 * its work (a job's handle, an event wait's kind and match, a token) is checked by `exactFieldHoldingSecret`.
 */
export function redactWaitSpec(redactor: Redactor, spec: WaitSpec): WaitSpec {
  switch (spec.kind) {
    case 'approval':
      return {
        ...spec,
        title: redactor.redact(spec.title),
        ...(spec.description === undefined ? {} : { description: redactor.redact(spec.description) }),
        ...(spec.form === undefined ? {} : { form: redactor.redactJson(spec.form) }),
      };
    case 'external': {
      let link = spec.link === null ? null : redactor.redact(spec.link);
      // A link masked past being a URL (the whole link was the secret) is left out rather than refused.
      if (link !== null && link !== spec.link && !URL.canParse(link)) link = null;
      return { ...spec, label: redactor.redact(spec.label), link };
    }
    default:
      return spec;
  }
}

/**
 * The field of a request that holds a secret although it must reach the API exactly — an
 * idempotency key, a name the API looks things up by, a deferred job's handle (the poll hands it
 * back to the job), a partition key, a recorded result's identity — or null when none does. Masking
 * such a value would break what it is for (a replay would not find its results, a poll would ask
 * for a job named `***`), and sending it would leak the secret, so the request is refused instead.
 */
export function exactFieldHoldingSecret(redactor: Redactor, request: RpcRequest): string | null {
  const secret = (text: string | null | undefined) => typeof text === 'string' && redactor.holdsSecret(text);
  switch (request.method) {
    case 'createChildRun':
      return secret(request.body.flowName) ? 'the subflow name' : null;
    case 'reportAssetEvents':
      for (const event of request.body.events) {
        if (secret(event.assetKey)) return 'an asset key';
        if (secret(event.partitionKey)) return 'a partition key';
        if (event.kind === 'check' && secret(event.checkName)) return 'a check name';
        if (event.kind === 'materialization' && (secret(event.codeVersion) || secret(event.dataVersion)))
          return 'a code or data version';
      }
      return null;
    case 'addDynamicPartitions':
      if (secret(request.body.name)) return 'a dynamic partition set name';
      return request.body.keys.some((key) => secret(key)) ? 'a partition key' : null;
    case 'createWait': {
      const { key, spec } = request.body;
      if (secret(key)) return 'the wait key';
      if (spec.kind === 'event' && (secret(spec.event) || secret(spec.match))) return "an event wait's kind or match";
      if (spec.kind === 'token' && secret(spec.token)) return 'the wait token';
      if (spec.kind === 'external' && secret(spec.job)) return "the deferred job's name";
      if (spec.kind === 'external' && redactor.jsonHoldsSecret(spec.handle)) return "the deferred job's handle";
      return null;
    }
    case 'suspend':
      return request.body.results.some((r) => secret(r.taskKey) || secret(r.dynamicKey) || secret(r.ref))
        ? 'a recorded task result'
        : null;
    case 'createDeploymentRun':
      if (secret(request.body.deployment)) return 'the deployment name';
      return secret(request.body.key) ? 'the run key' : null;
    case 'emitEvent':
      return secret(request.body.event.kind) ? 'the event kind' : null;
    default:
      return null;
  }
}

/** Worker-side retries of one rpc end well before the runtime gives up waiting for the reply (120 s). */
export const RPC_DEADLINE_MS = 60_000;

export interface RpcServerDeps {
  api: RunApi;
  shipper: LogShipper;
  /** Task-run events not yet delivered: flushed before anything that may name a task run or end the run. */
  taskRuns: TaskRunShipper;
  /** Subflow runs created for this run, with their own log shippers. */
  subflows: SubflowRuns;
  redactor: () => Redactor;
  logger: Logger;
  flushBeforeStateMs: number;
  /** Every answer to a state proposal of the run itself, so the execution knows the run's state. */
  onState: (response: StateProposalResponse) => void;
  /**
   * The RUNNING proposal the worker made itself at hand-over, if any and not yet given out: the
   * runtime's own first RUNNING proposal is answered with it instead of a second round trip.
   */
  takeEarlyRunning?: () => Promise<CallResult<StateProposalResponse>> | null;
  /** A write was refused because this attempt is no longer current. */
  onStaleAttempt: () => void;
  /** The API parked the run on a wait: the flow process is to end, and nothing more is proposed for this attempt. */
  onSuspended?: () => void;
}

/** How long past a wait's hold the HTTP call may take before it counts as failed. */
const WAIT_POLL_SLACK_MS = 15_000;

/** Where replies go: the attempt that sent the request. */
type Peer = Pick<Attempt, 'send'>;

/** A request naming a run this worker did not create for the process. */
const UNKNOWN_RUN: RpcErrorBody = {
  message: 'no such subflow run in this flow process',
  status: statusForCode('not_found'),
  code: 'not_found',
};

/**
 * Serves the runtime's rpcs: adds what only the worker may assert (the attempt), redacts free
 * text, forwards the call with the run token, and replies. Nothing the child sends reaches the
 * API unchecked: requests were parsed against the protocol schemas before they get here, and a
 * request about a subflow run must name one this worker created for the process.
 */
export class RpcServer {
  private readonly inflight = new Set<Promise<void>>();

  constructor(private readonly deps: RpcServerDeps) {}

  serve(proc: Peer | null, request: RpcRequest, refuse: boolean): Promise<void> {
    // The runtime gives up on a reply after its rpc timeout; while the API is away this worker keeps
    // retrying behind the rpc for as long as the run goes on, and says so.
    const pending = setInterval(() => proc?.send({ t: 'rpcPending', id: request.id }), RPC_PENDING_INTERVAL_MS);
    const task = this.handle(proc, request, refuse)
      .catch((error: unknown) => {
        this.deps.logger.error({ err: error, method: request.method }, 'rpc failed');
        this.replyError(proc, request.id, { message: 'the worker could not serve this request' });
      })
      .finally(() => clearInterval(pending));
    this.inflight.add(task);
    void task.finally(() => this.inflight.delete(task));
    return task;
  }

  /** Resolves when every rpc received so far has been answered (or has given up). */
  async settled(): Promise<void> {
    while (this.inflight.size > 0) await Promise.all([...this.inflight]);
  }

  replyError(proc: Peer | null, id: number, error: RpcErrorBody): void {
    proc?.send({ t: 'reply', id, ok: false, error });
  }

  /** The run a request is about: the worker's own, or one of its subflow runs; null for any other id. */
  private target(flowRunId: string | undefined): string | null {
    if (flowRunId === undefined || flowRunId === this.deps.api.runId) return this.deps.api.runId;
    return this.deps.subflows.has(flowRunId) ? flowRunId : null;
  }

  private async handle(proc: Peer | null, request: RpcRequest, refuse: boolean): Promise<void> {
    const { api } = this.deps;
    if (refuse) {
      this.replyError(proc, request.id, {
        message: 'this run attempt is no longer held by the worker',
        status: statusForCode('stale_attempt'),
        code: 'stale_attempt',
      });
      return;
    }
    const runId = this.target(
      request.method === 'createChildRun'
        ? request.body.parentFlowRunId
        : 'flowRunId' in request.body
          ? request.body.flowRunId
          : undefined,
    );
    if (runId === null) {
      this.replyError(proc, request.id, UNKNOWN_RUN);
      return;
    }
    const own = runId === api.runId;
    const redactor = this.deps.redactor();
    const exact = exactFieldHoldingSecret(redactor, request);
    if (exact !== null) {
      const message = `${exact} holds a secret value: it is sent to the control plane as it is, so the request is refused`;
      this.replyError(proc, request.id, { message, status: 400, code: 'validation_failed' });
      return;
    }
    // A state change, a subflow run or an artifact may name (or end) task runs: those come first —
    // delivered before the request, or, for the run's own state change, carried in it.
    const carryTasks = own && request.method === 'setState' && api.carriesTaskRuns;
    if (!carryTasks && !(await this.deps.taskRuns.flush())) {
      this.deps.logger.warn({ runId, method: request.method }, 'going on before every task-run event was delivered');
    }
    let result: CallResult<unknown>;
    switch (request.method) {
      case 'setState': {
        const early = own && request.body.state.type === 'RUNNING' ? (this.deps.takeEarlyRunning?.() ?? null) : null;
        const earlyAnswer = early ? await early : null;
        // The report took that answer in when it came; a failed early proposal is made again here.
        if (earlyAnswer?.ok) {
          result = earlyAnswer;
          break;
        }
        const state = this.redactState(request.body.state);
        let answer = await this.propose(api, runId, own, state, request.body.transitionId, carryTasks);
        // An older API refuses the task runs' field: they go on their own, and the proposal again.
        if (carryTasks && api.refusedTaskRuns(answer)) {
          answer = await this.propose(api, runId, own, state, request.body.transitionId, false);
        }
        if (answer.ok && own) this.deps.onState(answer.data);
        result = answer;
        break;
      }
      case 'createChildRun': {
        const { id, flowName, parameters, parentTaskRunId } = request.body;
        const created = await api.call(
          'flowRunsCreateChild',
          {
            params: { id: runId },
            body: {
              id,
              attempt: api.attempt,
              flowName,
              // Subflow parameters are values from the flow's own memory: redacted (keys and values) like any text that leaves.
              parameters: redactor.redactJson(parameters),
              ...(parentTaskRunId ? { parentTaskRunId } : {}),
            },
          },
          RPC_DEADLINE_MS,
        );
        if (created.ok) this.deps.subflows.add(created.data.flowRun.id);
        result = created;
        break;
      }
      case 'reportAssetEvents': {
        result = await api.call(
          'assetEventsReport',
          {
            params: { id: runId },
            // Metadata and messages are text from the flow's memory: redacted like artifacts.
            body: { attempt: api.attempt, events: request.body.events.map((event) => redactAssetEvent(redactor, event)) },
          },
          RPC_DEADLINE_MS,
        );
        break;
      }
      case 'assetGate': {
        result = await api.call('assetGate', { params: { id: runId } }, RPC_DEADLINE_MS);
        break;
      }
      case 'addDynamicPartitions': {
        // Keys leave the network as they are (a key holding a secret was refused above).
        const { name, keys } = request.body;
        result = await api.call('dynamicPartitionsAdd', { params: { name }, body: { keys } }, RPC_DEADLINE_MS);
        break;
      }
      case 'createWait': {
        // What people read of a wait (an approval's text and form, a deferred job's label and link) is redacted like any text that leaves.
        const body = { ...request.body, spec: redactWaitSpec(redactor, request.body.spec) };
        result = await api.call('flowRunWaitsCreate', { params: { id: runId }, body }, RPC_DEADLINE_MS);
        break;
      }
      case 'getWait': {
        const { waitId, holdSeconds } = request.body;
        result = await api.call('waitsGet', { params: { id: waitId }, query: { holdSeconds } }, RPC_DEADLINE_MS, {
          timeoutMs: holdSeconds * 1000 + WAIT_POLL_SLACK_MS,
        });
        break;
      }
      case 'suspend': {
        // The attempt ends with the suspension: its log lines are stored before it does.
        if (!(await this.deps.shipper.flush(this.deps.flushBeforeStateMs))) {
          this.deps.logger.warn({ runId }, 'suspending before every earlier log line was delivered');
        }
        const answer = await api.call('flowRunSuspend', { params: { id: runId }, body: request.body }, RPC_DEADLINE_MS);
        result = answer;
        if (answer.ok && answer.data.suspended) {
          proc?.send({ t: 'reply', id: request.id, ok: true, result: answer.data });
          this.deps.onSuspended?.();
          return;
        }
        break;
      }
      case 'replay': {
        result = await api.call('flowRunReplay', { params: { id: runId } }, RPC_DEADLINE_MS);
        break;
      }
      case 'createDeploymentRun': {
        const { parameters, ...rest } = request.body;
        result = await api.call(
          'flowRunsCreateDeploymentRun',
          {
            params: { id: runId },
            // Parameters are values from the flow's memory: redacted like any text that leaves.
            body: {
              ...rest,
              ...(rest.tags ? { tags: rest.tags.map((tag) => redactor.redact(tag)) } : {}),
              ...(parameters ? { parameters: redactor.redactJson(parameters) as typeof parameters } : {}),
            },
          },
          RPC_DEADLINE_MS,
        );
        break;
      }
      case 'emitEvent': {
        const { event } = request.body;
        // A subflow's event is about the subflow run unless it names its own resource.
        const resource = event.resource ?? (own ? undefined : { kind: 'flow-run', id: runId });
        result = await api.call(
          'eventsEmit',
          {
            body: {
              // The payload and resources are values from the flow's memory: every secret the worker knows is masked, in keys and values.
              events: [redactEmittedEvent(redactor, { ...event, ...(resource ? { resource } : {}) })],
            },
          },
          RPC_DEADLINE_MS,
        );
        break;
      }
      case 'createArtifact': {
        const { key, description, data, flowRunId: _target, ...rest } = request.body;
        result = await api.call(
          'artifactsCreate',
          {
            params: { id: runId },
            body: {
              ...rest,
              flowRunAttempt: api.attempt,
              // A key must stay a key: a masked secret in it becomes the word "redacted".
              key: redactor.redact(key).replaceAll(REDACTED, 'redacted'),
              ...(description === undefined ? {} : { description: redactor.redact(description) }),
              data: redactor.redactJson(data),
            },
          },
          RPC_DEADLINE_MS,
        );
        break;
      }
    }
    if (result.ok) {
      proc?.send({ t: 'reply', id: request.id, ok: true, result: result.data });
      return;
    }
    this.deps.logger.warn({ method: request.method, runId, reason: describeFailure(result) }, 'rpc refused or failed');
    const error: RpcErrorBody = { message: describeFailure(result) };
    if (result.kind !== 'network_error') error.status = result.status;
    if (result.kind === 'http_error' && result.problem) error.code = result.problem.code;
    this.replyError(proc, request.id, error);
    if (isStaleAttempt(result)) this.deps.onStaleAttempt();
  }

  /**
   * One state proposal of the run or a subflow run. Lines logged before a state change must be
   * readable once the change is: the run's own pending lines ride along with the proposal (stored
   * first, in the same transaction), or, when they cannot (a batch in flight, lines spooled, more
   * than a batch), are flushed first. With `carryTasks` the run's pending task-run events ride
   * along the same way, or are flushed first.
   */
  private async propose(
    api: RunApi,
    runId: string,
    own: boolean,
    state: ProposedState,
    transitionId: string,
    carryTasks: boolean,
  ): Promise<CallResult<StateProposalResponse>> {
    // The log lines first: a batch of them waits for the task runs queued before it (a line may
    // name one), so the task-run events are taken for this request only once no batch is left to
    // send; taken earlier, the batch would wait for this proposal and this proposal for the batch.
    const carried = own ? this.deps.shipper.takeForRequest() : null;
    if (!carried) {
      const { flushBeforeStateMs } = this.deps;
      const flushed = own
        ? await this.deps.shipper.flush(flushBeforeStateMs)
        : await this.deps.subflows.flush(runId, flushBeforeStateMs);
      if (!flushed) this.deps.logger.warn({ runId }, 'proposing a state before every earlier log line was delivered');
    }
    const tasks = carryTasks ? this.deps.taskRuns.takeForRequest(runId) : null;
    if (carryTasks && !tasks && !(await this.deps.taskRuns.flush())) {
      this.deps.logger.warn({ runId, method: 'setState' }, 'going on before every task-run event was delivered');
    }
    let answer: CallResult<StateProposalResponse>;
    try {
      answer = await api.proposeState(state, RPC_DEADLINE_MS, transitionId, runId, carried?.lines, undefined, tasks?.events);
    } catch (error) {
      carried?.done(false);
      tasks?.done(false);
      throw error;
    }
    carried?.done(answer.ok);
    tasks?.done(answer.ok);
    return answer;
  }

  private redactState(state: ProposedState): ProposedState {
    return redactState(this.deps.redactor(), state);
  }
}
