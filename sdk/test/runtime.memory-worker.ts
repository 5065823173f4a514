import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type {
  JsonObject,
  StateProposalResponse,
  TaskRunEvent,
  Wait,
  WaitCreateRequest,
  WaitSpec,
} from '../src/contracts/index.js';
import { flowRegistry, type RunnerToWorkerMessage, type StartMessage } from '../src/runtime/index.js';

export type Rpc = Extract<RunnerToWorkerMessage, { t: 'rpc' }>;
export type RpcOf<M extends Rpc['method']> = Extract<Rpc, { method: M }>;

/**
 * The worker's end of the IPC channel, in memory: the process seam, not our code. It records every
 * message and answers each rpc: state proposals ACCEPT, child runs get a fresh id (unless
 * `failMethods` names the method, which is then refused like an unavailable API).
 */
export class MemoryWorker extends EventEmitter {
  readonly messages: RunnerToWorkerMessage[] = [];
  readonly failMethods = new Set<Rpc['method']>();
  /** Ids of the child runs this worker created, in order. */
  readonly childIds: string[] = [];
  /** Called for each rpc before it is answered; a test can hold the answer back with a promise. */
  gate: (rpc: Rpc) => Promise<void> = async () => {};
  /** A test's own answer to an rpc (the reply's `result`), or undefined for the default one. */
  answer: (rpc: Rpc) => unknown = () => undefined;

  send = (message: unknown, callback: (error: Error | null) => void): boolean => {
    const msg = message as RunnerToWorkerMessage;
    this.messages.push(msg);
    queueMicrotask(() => callback(null));
    if (msg.t === 'rpc') void this.gate(msg).then(() => this.emit('message', this.reply(msg)));
    return true;
  };

  private reply(msg: Rpc): unknown {
    if (this.failMethods.has(msg.method)) {
      return { t: 'reply', id: msg.id, ok: false, error: { message: 'API unavailable', status: 503, code: 'unavailable' } };
    }
    const own = this.answer(msg);
    if (own !== undefined) return { t: 'reply', id: msg.id, ok: true, result: own };
    if (msg.method === 'createChildRun') {
      const flowRun = { id: randomUUID(), name: `child-${msg.body.flowName}`, attempt: 1, flowName: msg.body.flowName };
      this.childIds.push(flowRun.id);
      return { t: 'reply', id: msg.id, ok: true, result: { flowRun, created: true } };
    }
    // A run that never suspended has nothing recorded to replay.
    if (msg.method === 'replay') return { t: 'reply', id: msg.id, ok: true, result: { results: [] } };
    if (msg.method !== 'setState') return { t: 'reply', id: msg.id, ok: true, result: {} };
    const result: StateProposalResponse = {
      status: 'ACCEPT',
      reason: null,
      waitSeconds: null,
      attempt: 1,
      state: { type: msg.body.state.type, name: 'x', message: null, timestamp: new Date().toISOString(), data: null },
    };
    return { t: 'reply', id: msg.id, ok: true, result };
  }

  rpcs<M extends Rpc['method']>(method: M): RpcOf<M>['body'][] {
    const matching = this.messages.filter((m): m is RpcOf<M> => m.t === 'rpc' && m.method === method);
    return matching.map((m) => m.body as RpcOf<M>['body']);
  }

  /** Task-run creations sent, in order, each with the subflow run it names (if any). */
  creates(): (Extract<TaskRunEvent, { kind: 'create' }> & { flowRunId?: string | undefined })[] {
    return this.messages.flatMap((m) =>
      m.t === 'task' && m.event.kind === 'create' ? [{ ...m.event, flowRunId: m.flowRunId }] : [],
    );
  }

  /** Task-run state changes sent, in order. */
  taskStates(): (Extract<TaskRunEvent, { kind: 'state' }> & { flowRunId?: string | undefined })[] {
    return this.messages.flatMap((m) =>
      m.t === 'task' && m.event.kind === 'state' ? [{ ...m.event, flowRunId: m.flowRunId }] : [],
    );
  }

  logs(): Extract<RunnerToWorkerMessage, { t: 'log' }>[] {
    return this.messages.flatMap((m) => (m.t === 'log' ? [m] : []));
  }
}

export function startFor(flowName: string, parameters: JsonObject = {}): StartMessage {
  return {
    t: 'start',
    run: { id: randomUUID(), attempt: 1, name: 'calm-otter', flowName, deploymentId: null, parameters },
    entry: '/bundle/index.js',
  };
}

/** Runs the registered flow as the worker's run, reporting to `worker`. */
export async function executeUnderWorker(
  flowName: string,
  worker: MemoryWorker,
  parameters: JsonObject = {},
): Promise<StartMessage> {
  const entry = flowRegistry().get(flowName);
  if (!entry) throw new Error(`flow ${flowName} not registered`);
  const start = startFor(flowName, parameters);
  await entry.execute(start, worker);
  return start;
}

/** The wait row the API answers `createWait` with: WAITING, for a run of its own, unless `patch` says otherwise. */
export function waitRow(key: string, asked: WaitCreateRequest['spec'], patch: Partial<Wait> = {}): Wait {
  // The server names a token wait's token when the flow did not.
  const spec: WaitSpec = asked.kind === 'token' ? { kind: 'token', token: asked.token ?? `t-${key}` } : asked;
  return {
    id: randomUUID(),
    flowRunId: randomUUID(),
    flowRunName: 'calm-otter',
    poll: null,
    key,
    spec,
    status: 'WAITING',
    createdAt: new Date().toISOString(),
    expiresAt: null,
    resolvedAt: null,
    value: null,
    ...patch,
  };
}

/** Starts the registered flow as the worker's run (attempt `attempt`) and returns its completion, not awaited. */
export function launch(flowName: string, worker: MemoryWorker, attempt = 1, runId = randomUUID()) {
  const entry = flowRegistry().get(flowName);
  if (!entry) throw new Error(`flow ${flowName} not registered`);
  const start = startFor(flowName);
  start.run.id = runId;
  start.run.attempt = attempt;
  return entry.execute(start, worker);
}
