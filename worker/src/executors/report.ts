import type { OutpostClient } from '@outpost/sdk/client';
import { type CallResult, describeFailure } from '@outpost/sdk/client';
import {
  type ClaimedRun,
  isTerminal,
  MAX_STATE_MESSAGE_LENGTH,
  type ProposedState,
  type State,
  type StateProposalResponse,
  type StateType,
} from '@outpost/sdk/contracts';
import type { Logger } from 'pino';
import { credentialValues } from '../child-env.js';
import type { WorkerOptions } from '../options.js';
import { Redactor } from '../redact.js';
import { type LogInput, type LogLineCounts, LogShipper, type SendLogBatch } from '../ship-logs.js';
import { TaskRunShipper } from '../ship-task-runs.js';
import { StackMapper } from '../stack-maps.js';
import { WORKER_VERSION } from '../version.js';
import type { Attempt, AttemptExit, AttemptSink } from './executor.js';
import { decideEnding, describeExit, type RunOutcome, type StartFailure, type StopReason } from './final-state.js';
import { ChildMessage, rpcIdOf } from './messages.js';
import { RPC_DEADLINE_MS, RpcServer } from './rpc.js';
import { RunApi } from './run-api.js';
import type { RunningProposals } from './running-proposals.js';
import { SubflowRuns } from './subflow-runs.js';

/**
 * How long a state proposal waits for earlier log lines. As long as it can be: the runtime waits
 * 120 s for its answer and the proposal itself may retry for 60 s, which leaves 50 s.
 */
const FLUSH_BEFORE_STATE_MS = 50_000;
const FINAL_FLUSH_MS = 15_000;
/** How long the attempt's environment report may retry: it is for the manifest, and never holds the run up for long. */
const ENVIRONMENT_REPORT_MS = 30_000;

/**
 * How a run's log batches (its own or a subflow run's, `runId`) reach the API: the task runs queued
 * before a batch are stored first, since a line may name one. A batch still goes after the run is
 * stopped for good: its lines are worth delivering.
 */
export function logBatchSender(api: RunApi, taskRuns: TaskRunShipper, runId: string): SendLogBatch {
  return async (batch) => {
    await taskRuns.flush();
    return api.call('logsWrite', { params: { id: runId }, body: batch }, 0, { abortable: false });
  };
}

export interface RunReportDeps {
  client: OutpostClient;
  options: Pick<WorkerOptions, 'spoolDir' | 'logBatchSize' | 'logBatchMs'>;
  /** Already bound to the run and attempt. */
  logger: Logger;
  /** The environment every flow of this worker shares: its credentials are masked like secrets. */
  baseEnv: Record<string, string>;
  /** The lease length the API last reported. */
  leaseMs: () => number;
  /** Whether the API is away: the run's calls keep retrying past their deadlines while it is. */
  apiUnreachable?: () => boolean;
  /** Counts the log lines delivered and spooled. */
  logLines?: LogLineCounts;
  /** Aborted when the run is stopped for good (lost, lease expired): its state writes stop too. */
  signal: AbortSignal;
  /** Why the worker is stopping the run, if it is. */
  stopReason: () => StopReason | null;
  /** The API's answers ask for the run to stop (cancelled, refused). */
  requestStop: (reason: StopReason, message: string) => void;
  /** A write was refused because this attempt is no longer current. */
  lose: () => void;
  /** The attempt the protocol messages go to, once started. */
  attempt: () => Attempt | null;
  /** For an attempt adopted from an earlier worker process: the highest log seq the API holds for it. */
  logSeqAfter?: number;
  /** The worker's RUNNING proposals at hand-over, batched while one is in flight; without it, each run proposes its own. */
  running?: RunningProposals;
}

/**
 * The report stage of one run attempt: everything the API hears about it. Log lines (redacted,
 * spooled, batched), task-run events, the runtime's rpcs, and the final state the worker proposes
 * when nobody else will. Every answer of the API about the run's state is read here.
 */
export class RunReport {
  readonly api: RunApi;
  private readonly shipper: LogShipper;
  /** Task-run events of the run and its subflow runs, in batches. */
  private readonly taskRuns: TaskRunShipper;
  /** Subflow runs the flow process started, each with its own log shipper. */
  private readonly subflows: SubflowRuns;
  private readonly rpc: RpcServer;
  // Worker credentials a flow is given (S3 results) are masked like secrets from the first line on.
  private redactor: Redactor;
  /** Maps stack traces in the flow's output to its TypeScript, once the bundle is known. */
  private stacks: StackMapper | null = null;
  /** The runtime had a terminal state accepted. */
  private terminalAccepted = false;
  /** The run is in a terminal state on the API: its lease is over and nothing may stop it any more. */
  private isSettled = false;
  /** The API parked the run on a wait: like a terminal state, the attempt's lease is over. */
  private suspended = false;
  private lastState: State;
  /** The RUNNING proposal made at hand-over, until the runtime's own first RUNNING proposal takes it. */
  private earlyRunning: Promise<CallResult<StateProposalResponse>> | null = null;

  constructor(
    claimed: ClaimedRun,
    private readonly deps: RunReportDeps,
  ) {
    const runId = claimed.flowRun.id;
    const attempt = claimed.flowRun.attempt;
    const log = deps.logger;
    this.lastState = claimed.flowRun.state;
    this.redactor = new Redactor(credentialValues(deps.baseEnv));
    this.api = new RunApi(deps.client, runId, attempt, claimed.token, log, deps.signal, deps.apiUnreachable);
    this.taskRuns = new TaskRunShipper({
      api: this.api,
      redactor: () => this.redactor,
      logger: log,
      onStaleAttempt: () => deps.lose(),
      runLog: (level, message) => this.note(level, message),
      onSettled: (settled) => deps.attempt()?.send({ t: 'taskAck', settled }),
    });
    const shipperFor = (id: string) =>
      new LogShipper({
        ...(id === runId && deps.logSeqAfter ? { after: deps.logSeqAfter } : {}),
        runId: id,
        attempt,
        spoolDir: deps.options.spoolDir,
        batchSize: deps.options.logBatchSize,
        batchMs: deps.options.logBatchMs,
        logger: log,
        redact: (text) => this.redactor.redact(this.stacks ? this.stacks.map(text) : text),
        ...(deps.logLines ? { counts: deps.logLines } : {}),
        send: logBatchSender(this.api, this.taskRuns, id),
      });
    this.shipper = shipperFor(runId);
    this.subflows = new SubflowRuns(attempt, shipperFor);
    this.rpc = new RpcServer({
      api: this.api,
      shipper: this.shipper,
      taskRuns: this.taskRuns,
      subflows: this.subflows,
      redactor: () => this.redactor,
      logger: log,
      flushBeforeStateMs: FLUSH_BEFORE_STATE_MS,
      onState: (response) => this.onStateAnswer(response),
      takeEarlyRunning: () => {
        const early = this.earlyRunning;
        this.earlyRunning = null;
        return early;
      },
      onStaleAttempt: () => deps.lose(),
      onSuspended: () => {
        // The lease was released with the suspension: stop renewing it, and end the process.
        this.suspended = true;
        this.lastState = { ...this.lastState, type: 'PAUSED', name: 'Suspended' };
        deps.requestStop('suspended', 'the run is suspended until its wait resolves');
      },
    });
  }

  /**
   * Proposes RUNNING now, at hand-over, while the flow process loads: the runtime's own RUNNING
   * proposal, when it comes, is answered with this one's answer (`RpcServer`), so the round trip to
   * the API overlaps the process start instead of following it. The answer is taken in as it comes:
   * a run cancelled meanwhile is stopped even if its code never gets as far as proposing.
   */
  proposeRunningEarly(): void {
    if (this.earlyRunning) return;
    const proposed = this.deps.running
      ? this.deps.running.propose(this.api, RPC_DEADLINE_MS)
      : this.api.proposeState({ type: 'RUNNING' }, RPC_DEADLINE_MS);
    this.earlyRunning = proposed.then((answer) => {
      if (answer.ok) this.onStateAnswer(answer.data);
      return answer;
    });
  }

  /** Whether the run is in a terminal state on the API (its lease is over). */
  get settled(): boolean {
    return this.isSettled || this.suspended;
  }

  /** `<runId>-<attempt>` of every log spool this run writes: its own and its subflow runs'. */
  spoolKeys(): string[] {
    return [`${this.api.runId}-${this.api.attempt}`, ...this.subflows.spoolKeys()];
  }

  /** The run's secret values are known: masked from now on, along with the worker's credentials. */
  maskSecrets(values: string[]): void {
    this.redactor = new Redactor([...values, ...credentialValues(this.deps.baseEnv)]);
  }

  /** The run's code is in `bundleDir`: stack traces in its output are mapped to the flow's sources from now on. */
  mapStacksFrom(bundleDir: string): void {
    this.stacks = new StackMapper(bundleDir);
  }

  /** A line of the worker's own in the run's log. */
  note(level: LogInput['level'], message: string): void {
    this.shipper.push({ level, message, stream: 'worker' });
  }

  /** Where the attempt's output and protocol messages go. */
  readonly sink: AttemptSink = {
    line: (stream, text) => this.shipper.push({ level: stream === 'stderr' ? 'error' : 'info', message: text, stream }),
    note: (level, text) => this.note(level, text),
    message: (raw) => this.onMessage(raw),
  };

  /**
   * Records where the attempt runs in the run's manifest: this worker's version, the executor, and
   * what the attempt knows of itself (the Node version; a pod's image digest once it started).
   * A failure is logged and changes nothing about the run.
   */
  async reportEnvironment(handle: Attempt, executor: string): Promise<void> {
    try {
      const known = handle.environment
        ? await handle.environment()
        : { executor, nodeVersion: null, image: null, imageDigest: null };
      const result = await this.api.call(
        'flowRunsReportEnvironment',
        {
          params: { id: this.api.runId, attempt: String(this.api.attempt) },
          body: { workerVersion: WORKER_VERSION, ...known },
        },
        ENVIRONMENT_REPORT_MS,
      );
      if (!result.ok) this.deps.logger.warn({ reason: describeFailure(result) }, "could not record the attempt's environment");
    } catch (error) {
      this.deps.logger.warn({ err: error }, "could not record the attempt's environment");
    }
  }

  /**
   * The API holds a terminal state for this attempt that no answer brought here (a proposal's answer
   * lost on the way, or the state set by someone else): the run is settled, and nothing is proposed.
   */
  endedOnApi(type: StateType): void {
    this.lastState = { ...this.lastState, type, name: type.charAt(0) + type.slice(1).toLowerCase() };
    this.isSettled = true;
    this.terminalAccepted = true;
  }

  /** Resolves when every rpc received so far has been answered. */
  rpcsSettled(): Promise<void> {
    return this.rpc.settled();
  }

  private onMessage(raw: unknown): void {
    const runId = this.api.runId;
    const parsed = ChildMessage.safeParse(raw);
    if (!parsed.success) {
      this.deps.logger.warn({ issues: parsed.error.issues.length }, 'ignored a malformed message from the flow process');
      const id = rpcIdOf(raw);
      if (id !== null)
        this.rpc.replyError(this.deps.attempt(), id, { message: 'malformed rpc request', code: 'validation_failed' });
      return;
    }
    const message = parsed.data;
    // `ready` is the executor's handshake: it answers with `start`.
    if (message.t === 'log') {
      const line = {
        level: message.level,
        message: message.message,
        timestamp: message.timestamp,
        taskRunId: message.taskRunId,
        stream: 'flow',
      } as const;
      if (message.flowRunId === undefined || message.flowRunId === runId) this.shipper.push(line);
      else if (!this.subflows.push(message.flowRunId, line))
        this.deps.logger.warn('ignored a log line for an unknown subflow run');
    } else if (message.t === 'task') {
      const target = message.flowRunId ?? runId;
      if (target === runId || this.subflows.has(target)) this.taskRuns.push(target, message.event);
      else this.deps.logger.warn('ignored a task-run event for an unknown subflow run');
    } else if (message.t === 'rpc') {
      const reason = this.deps.stopReason();
      void this.rpc.serve(this.deps.attempt(), message, reason === 'lost' || reason === 'lease-expired');
    }
  }

  private onStateAnswer(response: { status: string; state: State }): void {
    this.lastState = response.state;
    if (isTerminal(response.state.type)) this.isSettled = true;
    if (response.status === 'ACCEPT' && isTerminal(response.state.type)) this.terminalAccepted = true;
    else if (response.status === 'ABORT' || response.status === 'REJECT') {
      if (response.state.type === 'CANCELLING') this.deps.requestStop('cancel', 'cancelled');
      else this.deps.requestStop('rejected', `state proposal answered ${response.status}`);
    }
  }

  /** After the attempt is gone (or was never started): propose the state nobody else will, flush logs, report. */
  async finish(
    stop: { reason: StopReason | null; message: string },
    exit: AttemptExit | null,
    startFailure: StartFailure | null = null,
  ): Promise<RunOutcome> {
    const { ending, proposal } = decideEnding({
      stopReason: stop.reason,
      stopMessage: stop.message,
      terminalAccepted: this.terminalAccepted,
      lastStateType: this.lastState.type,
      exit,
      startFailure,
    });
    if (exit) {
      this.deps.logger.info({ code: exit.code, signal: exit.signal, reason: exit.reason, ending }, 'flow process ended');
      if (ending !== 'reported' && ending !== 'suspended')
        this.note(ending === 'crashed' ? 'error' : 'info', `flow process ${describeExit(exit)}`);
    } else if (startFailure) this.note('error', startFailure.message);
    // Task runs the process reported are recorded before the run's final state, and before the lines that name them.
    if (this.taskRuns.pending > 0 && !(await this.taskRuns.flush()))
      this.deps.logger.warn('some task-run events were not delivered');
    const proposed = proposal ? await this.proposeFinal(proposal, exit?.code ?? null) : null;
    await Promise.all([this.shipper.close(FINAL_FLUSH_MS), this.subflows.close(FINAL_FLUSH_MS)]);
    return { runId: this.api.runId, attempt: this.api.attempt, ending, proposed, state: this.lastState.type, exit };
  }

  /**
   * Proposes a terminal state after flushing the run's logs; a CANCELLING run can only become
   * CANCELLED. The flow process's exit code, if it exited with one, goes on the attempt's record.
   */
  private async proposeFinal(state: ProposedState, exitCode: number | null): Promise<StateType | null> {
    await this.shipper.flush(FINAL_FLUSH_MS);
    const deadline = Math.max(this.deps.leaseMs(), 30_000);
    const redacted: ProposedState = {
      ...state,
      message: state.message ? this.redactor.redact(state.message).slice(0, MAX_STATE_MESSAGE_LENGTH) : undefined,
    };
    let result = await this.api.proposeState(redacted, deadline, undefined, undefined, undefined, exitCode);
    if (result.ok && result.data.status === 'REJECT' && result.data.state.type === 'CANCELLING' && state.type !== 'CANCELLED') {
      result = await this.api.proposeState(
        { type: 'CANCELLED', message: 'cancelled' },
        deadline,
        undefined,
        undefined,
        undefined,
        exitCode,
      );
      state = { type: 'CANCELLED' };
    }
    if (!result.ok) {
      this.deps.logger.error(
        { proposed: state.type, reason: describeFailure(result) },
        'could not record the final state; the lease expiry will',
      );
      return null;
    }
    this.lastState = result.data.state;
    if (isTerminal(result.data.state.type)) this.isSettled = true;
    this.deps.logger.info(
      { proposed: state.type, status: result.data.status, state: result.data.state.type },
      'final state proposed',
    );
    return result.data.status === 'ACCEPT' ? state.type : null;
  }
}
