import type { OutpostClient } from '@outpost/sdk/client';
import { describeFailure } from '@outpost/sdk/client';
import {
  type ClaimedRun,
  CONFIGURATION_ERROR,
  isTerminal,
  MAX_STATE_MESSAGE_LENGTH,
  type ProposedState,
  type State,
  type StateType,
} from '@outpost/sdk/contracts';
import type { Logger } from 'pino';
import { canApplyAtStart, credentialValues, runChildEnv } from '../child-env.js';
import type { WorkerOptions } from '../options.js';
import { Redactor } from '../redact.js';
import type { RunnerPool } from '../runner-pool.js';
import { JobConfigError, resolveJobVariables, type SecretResolver } from '../secrets.js';
import { type LogInput, LogShipper } from '../ship-logs.js';
import { TaskRunShipper } from '../ship-task-runs.js';
import { isSourceAllowed } from '../sources/allow.js';
import { fetchBundle } from '../sources/pull.js';
import { decideEnding, describeExit, type RunOutcome, STOP_STRENGTH, type StopReason } from './final-state.js';
import { type ExitInfo, FlowProcess, type FlowProcessHandlers } from './flow-process.js';
import { ChildMessage, rpcIdOf } from './messages.js';
import { RpcServer } from './rpc.js';
import { RunApi } from './run-api.js';
import { SubflowRuns } from './subflow-runs.js';

export interface ExecutionDeps {
  client: OutpostClient;
  options: WorkerOptions;
  logger: Logger;
  workerEnv: NodeJS.ProcessEnv;
  runnerPath: string;
  /** Node options for every flow process (the result-storage registration). */
  execArgv: string[];
  /** The environment every flow process of this worker shares (`baseChildEnv`). */
  baseEnv: Record<string, string>;
  secrets: SecretResolver;
  /** Flow processes started ahead of need; null when `--prestart 0`. */
  pool: RunnerPool | null;
  /** The lease length the API last reported. */
  leaseMs: () => number;
  /** How long past an unrenewed lease the API waits before a retry of the run can start elsewhere. */
  leaseGraceMs?: () => number;
}

/**
 * How long a state proposal waits for earlier log lines. As long as it can be: the runtime waits
 * 120 s for its answer and the proposal itself may retry for 60 s, which leaves 50 s.
 */
const FLUSH_BEFORE_STATE_MS = 50_000;
const FINAL_FLUSH_MS = 15_000;
const READY_TIMEOUT_MS = 60_000;

/** One claimed run attempt, from bundle pull to its final state. */
export class RunExecution {
  readonly runId: string;
  readonly attempt: number;
  readonly done: Promise<RunOutcome>;
  readonly api: RunApi;
  private readonly log: Logger;
  private readonly shipper: LogShipper;
  /** Task-run events of the run and its subflow runs, in batches. */
  private readonly taskRuns: TaskRunShipper;
  /** Subflow runs the flow process started, each with its own log shipper. */
  private readonly subflows: SubflowRuns;
  private redactor = new Redactor([]);
  private readonly abort = new AbortController();
  private proc: FlowProcess | null = null;
  private stopReason: StopReason | null = null;
  private readonly stopRequested = new AbortController();
  private stopMessage = '';
  private stopping: Promise<void> = Promise.resolve();
  private leaseTimer: NodeJS.Timeout | null = null;
  /** The runtime had a terminal state accepted. */
  private terminalAccepted = false;
  /** The run is in a terminal state on the API: its lease is over and nothing may stop it any more. */
  private settled = false;
  private lastState: State;
  /** Lets the source cache know this run is done with its directory. */
  private releaseBundle: (() => void) | null = null;

  constructor(
    private readonly claimed: ClaimedRun,
    private readonly deps: ExecutionDeps,
    claimedAt: number,
  ) {
    this.runId = claimed.flowRun.id;
    this.attempt = claimed.flowRun.attempt;
    this.lastState = claimed.flowRun.state;
    this.log = deps.logger.child({ runId: this.runId, attempt: this.attempt });
    this.api = new RunApi(deps.client, this.runId, this.attempt, claimed.token, this.log, this.abort.signal);
    this.taskRuns = new TaskRunShipper({
      api: this.api,
      redactor: () => this.redactor,
      logger: this.log,
      onStaleAttempt: () => this.lose(),
      runLog: (level, message) => this.runLog(level, message),
      onSettled: (settled) => this.proc?.send({ t: 'taskAck', settled }),
    });
    // A log line may name a task run: the task runs created before it are stored first, so the link holds.
    const sendLogs = (runId: string) => async (batch: Parameters<typeof this.api.call<'logsWrite'>>[1]['body']) => {
      await this.taskRuns.flush();
      return this.api.call('logsWrite', { params: { id: runId }, body: batch }, 0, { abortable: false });
    };
    this.shipper = new LogShipper({
      runId: this.runId,
      attempt: this.attempt,
      spoolDir: deps.options.spoolDir,
      batchSize: deps.options.logBatchSize,
      batchMs: deps.options.logBatchMs,
      logger: this.log,
      redact: (text) => this.redactor.redact(text),
      send: sendLogs(this.runId),
    });
    this.subflows = new SubflowRuns(
      this.attempt,
      (runId) =>
        new LogShipper({
          runId,
          attempt: this.attempt,
          spoolDir: deps.options.spoolDir,
          batchSize: deps.options.logBatchSize,
          batchMs: deps.options.logBatchMs,
          logger: this.log,
          redact: (text) => this.redactor.redact(text),
          send: sendLogs(runId),
        }),
    );
    this.renewed(claimedAt);
    this.done = this.execute().finally(() => {
      if (this.leaseTimer) clearTimeout(this.leaseTimer);
      this.releaseBundle?.();
    });
  }

  setToken(token: string): void {
    this.api.setToken(token);
  }

  /** `<runId>-<attempt>` of every log spool this execution writes: its own and its subflow runs'. */
  spoolKeys(): string[] {
    return [`${this.runId}-${this.attempt}`, ...this.subflows.spoolKeys()];
  }

  /**
   * The lease was renewed by a heartbeat sent at `sentAt`. The API's expiry is at least
   * `sentAt + lease`, and it lets no retry of the run start before its lease grace has passed too.
   * Until then the run goes on, so an outage of the API or its database shorter than lease + grace
   * costs nothing; at that point it is killed if no later renewal arrived, so a worker cut off from
   * the API never runs alongside the retry the API starts.
   */
  renewed(sentAt: number): void {
    if (this.leaseTimer) clearTimeout(this.leaseTimer);
    const deadline = sentAt + this.deps.leaseMs() + (this.deps.leaseGraceMs?.() ?? 0);
    this.leaseTimer = setTimeout(
      () => {
        if (this.settled) return;
        this.log.error({ leaseMs: this.deps.leaseMs() }, 'lease not renewed in time; stopping the run');
        this.requestStop('lease-expired', 'the worker could not renew the lease');
      },
      Math.max(0, deadline - Date.now()),
    );
  }

  /** The API moved the run to CANCELLING. */
  cancel(reason = 'cancelled'): void {
    this.requestStop('cancel', reason);
  }

  /** The API says this worker no longer holds the run. */
  lose(): void {
    // A run that reached a terminal state is no longer leased; the API reports it "lost" until it leaves our held set.
    if (this.settled) return;
    this.requestStop('lost', 'the worker no longer holds this run');
  }

  /** Whether heartbeats should renew this run's lease: until its terminal state is recorded. */
  get holdsLease(): boolean {
    return !this.settled;
  }

  /** The worker is shutting down and the drain grace is over. */
  shutdown(): void {
    this.requestStop('drain', 'worker shut down');
  }

  private requestStop(reason: StopReason, message: string): void {
    if (this.stopReason && STOP_STRENGTH[this.stopReason] >= STOP_STRENGTH[reason]) return;
    this.stopReason = reason;
    this.stopMessage = message;
    this.stopRequested.abort();
    if (reason === 'lost' || reason === 'lease-expired') this.abort.abort();
    const proc = this.proc;
    if (!proc || proc.hasExited) return;
    this.log.info({ reason }, 'stopping the flow process');
    const { cancelNoticeMs, cancelGraceMs } = this.deps.options;
    const previous = this.stopping;
    this.stopping = (async () => {
      if (reason === 'lost' || reason === 'lease-expired') await proc.kill();
      else if (reason === 'cancel') await proc.stop(cancelGraceMs, { reason: message, waitMs: cancelNoticeMs });
      // The runtime was already told (its proposal was answered) and exits by itself; give it the notice period.
      else if (reason === 'rejected') {
        if (!(await proc.waitForExit(cancelNoticeMs))) await proc.stop(cancelGraceMs);
      }
      // No cooperative `cancel` on shutdown: the runtime would record the run CANCELLED, and a run the
      // worker abandons must end CRASHED so the retry policy applies. SIGTERM lets the flow clean up.
      else await proc.stop(cancelGraceMs);
      await previous;
    })().catch((error: unknown) => this.log.error({ err: error }, 'stopping the flow process failed'));
  }

  private runLog(level: LogInput['level'], message: string): void {
    this.shipper.push({ level, message, stream: 'worker' });
  }

  private async execute(): Promise<RunOutcome> {
    const { deployment, flowRun } = this.claimed;
    let jobEnv: Record<string, string>;
    // Worker credentials a flow is given (S3 results) are masked like secrets from the first line on.
    this.redactor = new Redactor(credentialValues(this.deps.baseEnv));
    try {
      const resolved = await resolveJobVariables(deployment.jobVariables, (name) => this.deps.secrets.resolve(name));
      this.redactor = new Redactor([...resolved.secretValues, ...credentialValues(this.deps.baseEnv)]);
      jobEnv = resolved.env;
    } catch (error) {
      if (!(error instanceof JobConfigError)) throw error;
      return this.finish(null, {
        type: 'FAILED',
        name: CONFIGURATION_ERROR,
        message: `cannot start the run: ${error.message}`,
      });
    }
    if (!isSourceAllowed(deployment.source, this.deps.options.allowSources)) {
      return this.finish(null, {
        type: 'FAILED',
        name: CONFIGURATION_ERROR,
        message: `cannot start the run: this worker does not run code from ${displaySource(deployment.source)} (its --allow-source list does not include it)`,
      });
    }
    this.runLog('info', `pulling bundle ${displaySource(deployment.source)}`);
    // A cancel or shutdown while a large bundle downloads must not wait for the download.
    const stopped = new Promise<'stopped'>((resolve) => {
      if (this.stopRequested.signal.aborted) resolve('stopped');
      this.stopRequested.signal.addEventListener('abort', () => resolve('stopped'), { once: true });
    });
    const fetching = fetchBundle(deployment.source, deployment.entrypoint, {
      cacheDir: this.deps.options.cacheDir,
      env: this.deps.workerEnv,
    }).then(
      (value) => ({ ok: true as const, value }),
      (error: unknown) => ({ ok: false as const, error }),
    );
    const fetched = await Promise.race([fetching, stopped]);
    if (fetched === 'stopped') {
      // The fetch finishes in the background; whatever it holds in the cache is let go at once.
      void fetching.then((late) => (late.ok ? late.value.release?.() : undefined));
      return this.finish(null);
    }
    if (!fetched.ok) {
      const { error } = fetched;
      const code = (error as { code?: unknown }).code;
      const what =
        code === 'integrity' ? 'refused to run the flow bundle (integrity check failed)' : 'could not fetch the flow bundle';
      this.log.error({ err: error, code }, what);
      // A bundle that fails its digest will fail it on every attempt; a download that failed may not.
      return this.finish(null, {
        type: 'FAILED',
        ...(code === 'integrity' ? { name: CONFIGURATION_ERROR } : {}),
        message: `${what}: ${displaySource((error as Error).message)}`,
      });
    }
    const bundle = fetched.value;
    this.releaseBundle = bundle.release ?? null;
    if (this.stopReason) return this.finish(null);
    const runEnv = runChildEnv({ jobEnv, run: { id: this.runId, attempt: this.attempt, flowName: deployment.flowName } });
    const rpc = new RpcServer({
      api: this.api,
      shipper: this.shipper,
      taskRuns: this.taskRuns,
      subflows: this.subflows,
      redactor: () => this.redactor,
      logger: this.log,
      flushBeforeStateMs: FLUSH_BEFORE_STATE_MS,
      onState: (response) => this.onStateAnswer(response),
      onStaleAttempt: () => this.lose(),
    });
    let ready!: () => void;
    const readyPromise = new Promise<void>((resolve) => (ready = resolve));
    const handlers: FlowProcessHandlers = {
      onLine: (stream, line) => this.shipper.push({ level: stream === 'stderr' ? 'error' : 'info', message: line, stream }),
      onMessage: (raw) => {
        const parsed = ChildMessage.safeParse(raw);
        if (!parsed.success) {
          this.log.warn({ issues: parsed.error.issues.length }, 'ignored a malformed message from the flow process');
          const id = rpcIdOf(raw);
          if (id !== null) rpc.replyError(this.proc, id, { message: 'malformed rpc request', code: 'validation_failed' });
          return;
        }
        const message = parsed.data;
        if (message.t === 'ready') ready();
        else if (message.t === 'log') {
          const line = {
            level: message.level,
            message: message.message,
            timestamp: message.timestamp,
            taskRunId: message.taskRunId,
            stream: 'flow',
          } as const;
          if (message.flowRunId === undefined || message.flowRunId === this.runId) this.shipper.push(line);
          else if (!this.subflows.push(message.flowRunId, line)) this.log.warn('ignored a log line for an unknown subflow run');
        } else if (message.t === 'task') {
          const target = message.flowRunId ?? this.runId;
          if (target === this.runId || this.subflows.has(target)) this.taskRuns.push(target, message.event);
          else this.log.warn('ignored a task-run event for an unknown subflow run');
        } else if (message.t === 'rpc')
          void rpc.serve(this.proc, message, this.stopReason === 'lost' || this.stopReason === 'lease-expired');
      },
    };
    // A pre-started process gets the run's variables with `start`; one that needs them at process start is spawned afresh.
    const pooled = canApplyAtStart(jobEnv) ? (this.deps.pool?.take() ?? null) : null;
    try {
      if (pooled) {
        this.proc = pooled;
        pooled.attach(handlers);
      } else {
        this.proc = await FlowProcess.start({
          script: this.deps.runnerPath,
          execArgv: this.deps.execArgv,
          cwd: bundle.dir,
          env: { ...this.deps.baseEnv, ...runEnv },
          ...handlers,
        });
      }
    } catch (error) {
      return this.finish(null, { type: 'CRASHED', message: `could not start the flow process: ${(error as Error).message}` });
    }
    const proc = this.proc;
    this.log.info(
      { pid: proc.pid, digest: bundle.digest, commit: bundle.commit, prestarted: pooled !== null },
      'flow process started',
    );
    if (this.stopReason) {
      const reason = this.stopReason;
      this.stopReason = null;
      this.requestStop(reason, this.stopMessage);
    }
    const readyTimer = setTimeout(() => {
      if (!proc.hasExited) {
        this.runLog('error', `the flow process did not start within ${READY_TIMEOUT_MS / 1000} s`);
        void proc.kill();
      }
    }, READY_TIMEOUT_MS);
    await Promise.race([readyPromise, proc.exited]);
    clearTimeout(readyTimer);
    if (!proc.hasExited && !this.stopReason) {
      // Before `start`: the runtime keeps its task-run events within a window from the first task on.
      proc.send({ t: 'taskAck', settled: 0 });
      proc.send({
        t: 'start',
        run: {
          id: this.runId,
          attempt: this.attempt,
          name: flowRun.name,
          flowName: deployment.flowName,
          deploymentId: flowRun.deploymentId ?? deployment.id,
          parameters: flowRun.parameters,
          deploymentName: deployment.name,
          scheduledTime: flowRun.scheduledTime ?? null,
          scheduleId: flowRun.scheduleId ?? null,
          tags: flowRun.tags,
          partitionKey: null,
        },
        entry: bundle.entry,
        ...(pooled ? { env: runEnv, cwd: bundle.dir } : {}),
      });
    }
    const exit = await proc.exited;
    await this.stopping;
    await proc.reap(this.deps.options.cancelGraceMs);
    await rpc.settled();
    return this.finish(exit);
  }

  private onStateAnswer(response: { status: string; state: State }): void {
    this.lastState = response.state;
    if (isTerminal(response.state.type)) this.settled = true;
    if (response.status === 'ACCEPT' && isTerminal(response.state.type)) this.terminalAccepted = true;
    else if (response.status === 'ABORT' || response.status === 'REJECT') {
      if (response.state.type === 'CANCELLING') this.requestStop('cancel', 'cancelled');
      else this.requestStop('rejected', `state proposal answered ${response.status}`);
    }
  }

  /** After the process is gone (or was never started): propose the state nobody else will, flush logs, report. */
  private async finish(
    exit: ExitInfo | null,
    startFailure: { type: 'FAILED' | 'CRASHED'; name?: string; message: string } | null = null,
  ): Promise<RunOutcome> {
    const { ending, proposal } = decideEnding({
      stopReason: this.stopReason,
      stopMessage: this.stopMessage,
      terminalAccepted: this.terminalAccepted,
      lastStateType: this.lastState.type,
      exit,
      startFailure,
    });
    if (exit) {
      this.log.info({ code: exit.code, signal: exit.signal, ending }, 'flow process ended');
      if (ending !== 'reported') this.runLog(ending === 'crashed' ? 'error' : 'info', `flow process ${describeExit(exit)}`);
    } else if (startFailure) this.runLog('error', startFailure.message);
    // Task runs the process reported are recorded before the run's final state, and before the lines that name them.
    if (this.taskRuns.pending > 0 && !(await this.taskRuns.flush())) this.log.warn('some task-run events were not delivered');
    const proposed = proposal ? await this.proposeFinal(proposal, exit?.code ?? null) : null;
    await Promise.all([this.shipper.close(FINAL_FLUSH_MS), this.subflows.close(FINAL_FLUSH_MS)]);
    return { runId: this.runId, attempt: this.attempt, ending, proposed, state: this.lastState.type, exit };
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
      this.log.error(
        { proposed: state.type, reason: describeFailure(result) },
        'could not record the final state; the lease expiry will',
      );
      return null;
    }
    this.lastState = result.data.state;
    if (isTerminal(result.data.state.type)) this.settled = true;
    this.log.info({ proposed: state.type, status: result.data.status, state: result.data.state.type }, 'final state proposed');
    return result.data.status === 'ACCEPT' ? state.type : null;
  }
}

/** A source (or a message quoting one) as it may appear in logs and states: any `user[:password]@` in a URL is masked. */
export function displaySource(source: string): string {
  return source.replace(/\/\/[^/@\s"]+@/g, '//***@').replace(/[^\s"/@]+:[^\s"/@]+@/g, '***@');
}
