import { randomUUID } from 'node:crypto';
import type { CallInput, CallOutput, CallResult, OutpostClient } from '@outpost/sdk/client';
import { describeFailure, failureCode, isRetryable } from '@outpost/sdk/client';
import {
  type ProposedState,
  type RouteName,
  type StateProposalResponse,
  statusForCode,
  type TaskRunEvent,
} from '@outpost/sdk/contracts';
import type { Logger } from 'pino';
import { retryDelay, sleep } from '../backoff.js';
import type { NumberedLine } from '../spool.js';

/**
 * Clients (one a worker) whose API refused `taskRuns` on a state proposal: a server older than the
 * field. For the worker's life its task-run events then go in batches of their own, as before,
 * and the refusal costs one request once, not one a run.
 */
const carryRefusedBy = new WeakSet<OutpostClient>();

/**
 * The API as one run attempt sees it: every call carries the run's token (refreshed by each
 * heartbeat) rather than the worker's key, and retryable failures (network, 408, 429, 5xx) are
 * retried with backoff until `deadlineMs` — safe because every write here is idempotent
 * (`transitionId`, task-run `id`, log `seq`). While the worker finds the API away (`unreachable`),
 * the deadline waits: the run goes on through an outage within its pool's disconnected tolerance,
 * and its task runs, states and rpcs are delivered when the API is back. The run's signal, aborted
 * when that tolerance is spent, ends them.
 */
export class RunApi {
  private token: string;
  /** The attempt's span as a W3C `traceparent`: every call of the run continues its trace. */
  private traceparent: string | null = null;

  constructor(
    private readonly client: OutpostClient,
    readonly runId: string,
    readonly attempt: number,
    token: string,
    private readonly logger: Logger,
    private readonly signal: AbortSignal,
    private readonly unreachable: () => boolean = () => false,
  ) {
    this.token = token;
  }

  setToken(token: string): void {
    this.token = token;
  }

  setTraceparent(traceparent: string | null): void {
    this.traceparent = traceparent;
  }

  /**
   * `abortable: false` keeps a call going after the run is stopped for good (lost, lease expired):
   * its log lines are still worth delivering, while its state writes are not. An abortable call, or
   * one with `throughOutage`, retries past its deadline while the API is away and the run goes on.
   * `timeoutMs` replaces the client's timeout for a call that holds on purpose (a wait's long-poll).
   */
  async call<N extends RouteName>(
    name: N,
    input: CallInput<N>,
    deadlineMs: number,
    {
      abortable = true,
      throughOutage = abortable,
      timeoutMs,
    }: { abortable?: boolean; throughOutage?: boolean; timeoutMs?: number } = {},
  ): Promise<CallResult<CallOutput<N>>> {
    const deadline = Date.now() + deadlineMs;
    const signal = abortable ? this.signal : undefined;
    let failures = 0;
    const traced: CallInput<N> = this.traceparent
      ? ({ ...input, headers: { ...input.headers, traceparent: this.traceparent } } as CallInput<N>)
      : input;
    for (;;) {
      const options = { ...(signal ? { signal } : {}), ...(timeoutMs === undefined ? {} : { timeoutMs }) };
      const result = await this.client.withToken(this.token).call(name, traced, options);
      if (result.ok || !isRetryable(result) || signal?.aborted) return result;
      failures++;
      const delay = retryDelay(result, failures);
      const holding = throughOutage && !this.signal.aborted && this.unreachable();
      if (Date.now() + delay > deadline && !holding) return result;
      // Through a long outage a call retries hundreds of times: say so at the 1st, 2nd, 4th, 8th… failure.
      if ((failures & (failures - 1)) === 0)
        this.logger.warn(
          { route: name, failures, retryInMs: delay, reason: describeFailure(result) },
          'API call failed; retrying',
        );
      await sleep(delay, signal);
    }
  }

  /**
   * Proposes a state of the run — or of one of its subflow runs (`runId`), which carry the run's
   * attempt and are written with its token — storing `logs` (lines of this attempt not yet
   * delivered) first, in the same request.
   */
  proposeState(
    state: ProposedState,
    deadlineMs: number,
    transitionId: string = randomUUID(),
    runId: string = this.runId,
    logs?: NumberedLine[],
    exitCode?: number | null,
    taskRuns?: TaskRunEvent[],
  ): Promise<CallResult<StateProposalResponse>> {
    return this.call(
      'flowRunsSetState',
      {
        params: { id: runId },
        body: {
          transitionId,
          attempt: this.attempt,
          state,
          ...(logs && logs.length > 0 ? { logs } : {}),
          ...(taskRuns && taskRuns.length > 0 ? { taskRuns } : {}),
          ...(exitCode === undefined || exitCode === null ? {} : { exitCode }),
        },
      },
      deadlineMs,
    );
  }

  /** Whether this worker's API takes task-run events with a state proposal (it has not refused them). */
  get carriesTaskRuns(): boolean {
    return !carryRefusedBy.has(this.client);
  }

  /**
   * True, and remembered for the worker's life, when `result` is an API refusing the `taskRuns`
   * field of a proposal (a server older than it answers 400 naming `body.taskRuns`).
   */
  refusedTaskRuns(result: CallResult<unknown>): boolean {
    if (result.ok || result.kind !== 'http_error' || result.status !== 400) return false;
    if (!result.problem?.errors?.some((e) => e.path === 'body.taskRuns')) return false;
    carryRefusedBy.add(this.client);
    this.logger.warn('the API takes no task-run events with a state proposal (an older server): they go in batches of their own');
    return true;
  }
}

/** True for the API's answer to a write that carries a superseded attempt: this worker no longer owns the run. */
export function isStaleAttempt(result: CallResult<unknown>): boolean {
  if (result.ok) return false;
  if (failureCode(result) === 'stale_attempt') return true;
  // A 409 that carries no problem (a proxy's page) names no code; reading it as stale stops the run
  // rather than retrying a write the API refused.
  return result.kind === 'http_error' && result.problem === null && result.status === statusForCode('stale_attempt');
}
