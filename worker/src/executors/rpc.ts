import type { CallResult } from '@outpost/sdk/client';
import { describeFailure } from '@outpost/sdk/client';
import type { ProposedState, StateProposalResponse } from '@outpost/sdk/contracts';
import type { Logger } from 'pino';
import type { Redactor } from '../redact.js';
import type { LogShipper } from '../ship-logs.js';
import type { FlowProcess } from './flow-process.js';
import type { RpcErrorBody, RpcRequestMessage as RpcRequest } from './messages.js';
import { isStaleAttempt, type RunApi } from './run-api.js';

/** Worker-side retries of one rpc end well before the runtime gives up waiting for the reply (120 s). */
const RPC_DEADLINE_MS = 60_000;

export interface RpcServerDeps {
  api: RunApi;
  shipper: LogShipper;
  redactor: () => Redactor;
  logger: Logger;
  flushBeforeStateMs: number;
  /** Every answer to a flow-run state proposal, so the execution knows the run's state. */
  onState: (response: StateProposalResponse) => void;
  /** A write was refused because this attempt is no longer current. */
  onStaleAttempt: () => void;
}

/**
 * Serves the runtime's rpcs: adds what only the worker may assert (the attempt), redacts free
 * text, forwards the call with the run token, and replies. Nothing the child sends reaches the
 * API unchecked: requests were parsed against the protocol schemas before they get here.
 */
export class RpcServer {
  private readonly inflight = new Set<Promise<void>>();

  constructor(private readonly deps: RpcServerDeps) {}

  serve(proc: FlowProcess | null, request: RpcRequest, refuse: boolean): Promise<void> {
    const task = this.handle(proc, request, refuse).catch((error: unknown) => {
      this.deps.logger.error({ err: error, method: request.method }, 'rpc failed');
      this.replyError(proc, request.id, { message: 'the worker could not serve this request' });
    });
    this.inflight.add(task);
    void task.finally(() => this.inflight.delete(task));
    return task;
  }

  /** Resolves when every rpc received so far has been answered (or has given up). */
  async settled(): Promise<void> {
    while (this.inflight.size > 0) await Promise.all([...this.inflight]);
  }

  replyError(proc: FlowProcess | null, id: number, error: RpcErrorBody): void {
    proc?.send({ t: 'reply', id, ok: false, error });
  }

  private async handle(proc: FlowProcess | null, request: RpcRequest, refuse: boolean): Promise<void> {
    const { api } = this.deps;
    if (refuse) {
      this.replyError(proc, request.id, {
        message: 'this run attempt is no longer held by the worker',
        status: 409,
        code: 'stale_attempt',
      });
      return;
    }
    let result: CallResult<unknown>;
    switch (request.method) {
      case 'setState': {
        // Lines logged before a state change must be readable once the change is.
        const flushed = await this.deps.shipper.flush(this.deps.flushBeforeStateMs);
        if (!flushed) this.deps.logger.warn('proposing a state before every earlier log line was delivered');
        const answer = await api.proposeState(this.redactState(request.body.state), RPC_DEADLINE_MS, request.body.transitionId);
        if (answer.ok) this.deps.onState(answer.data);
        result = answer;
        break;
      }
      case 'createTaskRun': {
        // Task names and keys can be built from parameters; they leave the network like any other text.
        const redactor = this.deps.redactor();
        const { name, taskKey, dynamicKey, state } = request.body;
        result = await api.call(
          'taskRunsCreate',
          {
            params: { id: api.runId },
            body: {
              ...request.body,
              name: redactor.redact(name),
              taskKey: redactor.redact(taskKey),
              dynamicKey: redactor.redact(dynamicKey),
              flowRunAttempt: api.attempt,
              state: this.redactState(state),
            },
          },
          RPC_DEADLINE_MS,
        );
        break;
      }
      case 'setTaskRunState': {
        const { taskRunId, runCount, state } = request.body;
        result = await api.call(
          'taskRunsSetState',
          {
            params: { runId: api.runId, id: taskRunId },
            body: {
              flowRunAttempt: api.attempt,
              ...(runCount === undefined ? {} : { runCount }),
              state: this.redactState(state),
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
    this.deps.logger.warn({ method: request.method, reason: describeFailure(result) }, 'rpc refused or failed');
    const error: RpcErrorBody = { message: describeFailure(result) };
    if (result.kind !== 'network_error') error.status = result.status;
    if (result.kind === 'http_error' && result.problem) error.code = result.problem.code;
    this.replyError(proc, request.id, error);
    if (isStaleAttempt(result)) this.deps.onStaleAttempt();
  }

  /** State messages and result references are free text written by flow code: redact them like logs. */
  private redactState(state: ProposedState): ProposedState {
    const redactor = this.deps.redactor();
    const out: ProposedState = { ...state };
    if (state.message !== undefined) out.message = redactor.redact(state.message).slice(0, 4000);
    if (state.data !== undefined) out.data = redactor.redactJson(state.data);
    return out;
  }
}
