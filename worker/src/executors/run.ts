import { setTimeout as delay } from 'node:timers/promises';
import type { OutpostClient } from '@outpost/sdk/client';
import { type ClaimedRun, CONFIGURATION_ERROR, type StateType } from '@outpost/sdk/contracts';
import type { Span } from '@outpost/sdk/telemetry';
import type { Logger } from 'pino';
import type { WorkerOptions } from '../options.js';
import { resolveJobVariables, type SecretResolver } from '../secrets.js';
import type { LogLineCounts } from '../ship-logs.js';
import { endAttemptSpan, startAttemptSpan, traceEnv } from '../telemetry/tracing.js';
import type { DeferredSink } from './deferred-sink.js';
import { type Attempt, type AttemptExit, AttemptRefused, type Executor, type StopRequest } from './executor.js';
import { type RunOutcome, STOP_STRENGTH, type StartFailure, type StopReason } from './final-state.js';
import { prepareRun } from './prepare.js';
import { RunReport } from './report.js';
import type { RunningProposals } from './running-proposals.js';

export interface ExecutionDeps {
  client: OutpostClient;
  options: WorkerOptions;
  logger: Logger;
  workerEnv: NodeJS.ProcessEnv;
  /** The environment every flow of this worker shares (`baseChildEnv`). */
  baseEnv: Record<string, string>;
  secrets: SecretResolver;
  /** Where the attempt runs. */
  executor: Executor;
  /** The lease length the API last reported. */
  leaseMs: () => number;
  /** Until when a run last renewed at `renewedAt` may go on without a renewal (Infinity: no limit); `Heartbeat.holdUntil`. */
  holdUntil?: (renewedAt: number) => number;
  /** Whether the API is away (unreachable, rather than refusing): calls of the run keep retrying while it is. */
  apiUnreachable?: () => boolean;
  /** Counts the run's log lines as they are delivered and spooled. */
  logLines?: LogLineCounts;
  /** The worker's RUNNING proposals at hand-over (RunningProposals): one request for a burst of runs. */
  running?: RunningProposals;
}

/** An attempt an earlier process of this worker started, whose run the API handed to this one. */
export interface AdoptedRun {
  handle: Attempt;
  /** Where its output waited while the API was asked. */
  sink: DeferredSink;
  /** The highest log seq the API holds for the attempt. */
  logSeq: number;
}

/** How the executor is asked to stop an attempt, for each reason the worker has to stop it. */
function stopRequestFor(reason: StopReason, message: string): StopRequest {
  switch (reason) {
    case 'lost':
    case 'lease-expired':
      return { mode: 'kill' };
    // Everything the attempt did is recorded and the run is PAUSED: nothing is left for the flow to do.
    case 'suspended':
      return { mode: 'kill' };
    case 'cancel':
      return { mode: 'cancel', reason: message };
    // The runtime was already told (its proposal was answered) and exits by itself; give it the notice period.
    case 'rejected':
      return { mode: 'await-exit' };
    // No cooperative `cancel` on shutdown: the runtime would record the run CANCELLED, and a run the
    // worker abandons must end CRASHED so the retry policy applies. SIGTERM lets the flow clean up.
    case 'drain':
      return { mode: 'terminate' };
  }
}

/**
 * One claimed run attempt, from claim to final state: prepare its source, start it on the executor,
 * wait for it to end, report. It holds the run's lease watchdog and decides why and how the attempt
 * is stopped; the executor decides nothing about the run.
 */
export class RunExecution {
  readonly runId: string;
  readonly attempt: number;
  readonly done: Promise<RunOutcome>;
  private readonly log: Logger;
  private readonly report: RunReport;
  private readonly abort = new AbortController();
  private handle: Attempt | null = null;
  private stopReason: StopReason | null = null;
  private readonly stopRequested = new AbortController();
  private stopMessage = '';
  private stopping: Promise<void> = Promise.resolve();
  private leaseTimer: NodeJS.Timeout | null = null;
  /** When the heartbeat that last renewed the lease was sent. */
  private lastRenewal = 0;
  /** The run was said to go on while the API is away (once per execution). */
  private warnedAway = false;
  /** Lets the source cache know this run is done with its directory. */
  private releaseBundle: (() => void) | null = null;
  /** The attempt's trace span, ended with its final state. */
  private readonly span: Span;
  /** When the claim's answer arrived (Date.now()): a prefetched run's due time counts from it. */
  private readonly receivedAt = Date.now();
  /** How long after `receivedAt` the run is due: > 0 for a run claimed ahead of its due time (`--prefetch`). */
  private readonly dueInMs: number;
  /** Claimed ahead of its due time and not yet started: being prepared, or prepared and waiting. */
  private beforeDue: boolean;

  constructor(
    private readonly claimed: ClaimedRun,
    private readonly deps: ExecutionDeps,
    claimedAt: number,
    private readonly adopted: AdoptedRun | null = null,
  ) {
    this.runId = claimed.flowRun.id;
    this.attempt = claimed.flowRun.attempt;
    this.log = deps.logger.child({ runId: this.runId, attempt: this.attempt });
    // The API's figure, bounded by what this worker asked for: a control plane cannot make it hold a slot longer.
    this.dueInMs = Math.min(claimed.dueInMs ?? 0, deps.options.prefetchMs);
    this.beforeDue = this.dueInMs > 0;
    this.report = new RunReport(claimed, {
      client: deps.client,
      options: deps.options,
      logger: this.log,
      baseEnv: deps.baseEnv,
      leaseMs: deps.leaseMs,
      ...(deps.apiUnreachable ? { apiUnreachable: deps.apiUnreachable } : {}),
      ...(deps.logLines ? { logLines: deps.logLines } : {}),
      ...(deps.running ? { running: deps.running } : {}),
      signal: this.abort.signal,
      stopReason: () => this.stopReason,
      requestStop: (reason, message) => this.requestStop(reason, message),
      lose: () => this.lose(),
      attempt: () => this.handle,
      logSeqAfter: Math.max(adopted?.logSeq ?? 0, claimed.logSeqAfter ?? 0),
    });
    this.renewed(claimedAt);
    this.span = startAttemptSpan(claimed, deps.options.pool);
    this.report.api.setTraceparent(traceEnv(this.span).TRACEPARENT ?? null);
    this.done = this.execute().finally(() => {
      if (this.leaseTimer) clearTimeout(this.leaseTimer);
      this.releaseBundle?.();
    });
    this.done.then(
      (outcome) => endAttemptSpan(this.span, outcome),
      () => this.span.end(),
    );
  }

  setToken(token: string): void {
    this.report.api.setToken(token);
  }

  /** `<runId>-<attempt>` of every log spool this execution writes: its own and its subflow runs'. */
  spoolKeys(): string[] {
    return this.report.spoolKeys();
  }

  /**
   * The lease was renewed by a heartbeat sent at `sentAt`. The run goes on without another renewal
   * until `holdUntil(sentAt)`: lease + grace while the API answers, the pool's disconnected tolerance
   * while it cannot be reached (see `Heartbeat.holdUntil`). The watchdog asks again when it fires, as
   * the answer changes with the API's reachability. Once the time is up the run is stopped and the
   * API settles it; docs/outages.md says when a retry may meanwhile run beside it (a `retry` pool's
   * worker cut off while the API is up) and when never (`wait`).
   */
  renewed(sentAt: number): void {
    this.lastRenewal = sentAt;
    this.armWatchdog();
  }

  private armWatchdog(): void {
    if (this.leaseTimer) clearTimeout(this.leaseTimer);
    const until = this.holdUntil(this.lastRenewal);
    // A tolerance without limit is checked again every lease, in case the API's answer changes it.
    const delay = Number.isFinite(until) ? Math.max(0, until - Date.now()) : this.deps.leaseMs();
    this.leaseTimer = setTimeout(() => {
      this.leaseTimer = null;
      if (this.report.settled) return;
      const now = Date.now();
      const until = this.holdUntil(this.lastRenewal);
      if (until > now) {
        if (!this.warnedAway && this.deps.apiUnreachable?.()) {
          this.warnedAway = true;
          this.log.warn(
            { awayMs: now - this.lastRenewal, untilMs: Number.isFinite(until) ? until - now : null },
            "the API is unreachable; the run goes on within the pool's disconnected tolerance",
          );
        }
        this.armWatchdog();
        return;
      }
      const reason = this.deps.apiUnreachable?.()
        ? 'the worker could not reach the API within its disconnected tolerance'
        : 'the worker could not renew the lease';
      this.log.error(
        { leaseMs: this.deps.leaseMs(), sinceRenewalMs: now - this.lastRenewal },
        'lease not renewed in time; stopping the run',
      );
      this.requestStop('lease-expired', reason);
    }, delay);
  }

  private holdUntil(renewedAt: number): number {
    return this.deps.holdUntil ? this.deps.holdUntil(renewedAt) : renewedAt + this.deps.leaseMs();
  }

  /** The API moved the run to CANCELLING. */
  cancel(reason = 'cancelled'): void {
    this.requestStop('cancel', reason);
  }

  /**
   * The API says this worker no longer holds the run; `ended` is the terminal state its attempt
   * reached there, when it did.
   */
  lose(ended?: StateType): void {
    // A heartbeat names the runs held when it was sent: one that settled while it was on its way is
    // reported lost by its answer, and there is nothing to stop.
    if (this.report.settled) return;
    // The flow's final state may be on its way back: a heartbeat answered just after the API recorded
    // it calls the run lost before the proposal's answer arrives. Decide once every rpc received so
    // far is answered (each is bounded by the rpc deadline).
    void this.report.rpcsSettled().then(() => {
      if (this.report.settled) return;
      if (ended) {
        // The attempt is over on the API (the proposal's answer was lost, or someone set the state):
        // nothing is left to propose, and a flow process still going is stopped.
        this.report.endedOnApi(ended);
        if (!this.handle || this.handle.hasExited) {
          this.log.info({ state: ended }, 'the run ended on the API');
          return;
        }
        this.log.warn({ state: ended }, 'the run ended on the API while its flow process still ran; stopping it');
        this.requestStop('lost', `the run ended on the API as ${ended}`);
        return;
      }
      this.log.warn('run lost; stopping it');
      this.requestStop('lost', 'the worker no longer holds this run');
    });
  }

  /** Whether heartbeats should renew this run's lease: until its terminal state is recorded. */
  get holdsLease(): boolean {
    return !this.report.settled;
  }

  /** Something (a cancel, a drain, a lost lease) has asked this attempt to stop. */
  get stopAsked(): boolean {
    return this.stopReason !== null;
  }

  /** A run claimed ahead of its due time that has not started: a drain hands it back at once. */
  get waitingForDue(): boolean {
    return this.beforeDue;
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
    const handle = this.handle;
    if (!handle || handle.hasExited) return;
    this.log.info({ reason }, 'stopping the flow process');
    const previous = this.stopping;
    this.stopping = (async () => {
      await handle.stop(stopRequestFor(reason, message));
      await previous;
    })().catch((error: unknown) => this.log.error({ err: error }, 'stopping the flow process failed'));
  }

  private finish(exit: AttemptExit | null, startFailure: StartFailure | null = null): Promise<RunOutcome> {
    return this.report.finish({ reason: this.stopReason, message: this.stopMessage }, exit, startFailure);
  }

  private async execute(): Promise<RunOutcome> {
    if (this.adopted) return this.continueAdopted(this.adopted);
    // Prepare: secrets, allowed source, the flow's code.
    const preparation = await prepareRun(this.claimed, {
      options: this.deps.options,
      workerEnv: this.deps.workerEnv,
      secrets: this.deps.secrets,
      logger: this.log,
      stopped: this.stopRequested.signal,
      onSecrets: (values) => this.report.maskSecrets(values),
      note: (level, text) => this.report.note(level, text),
    });
    if (preparation.kind === 'refused') return this.finish(null, preparation.failure);
    if (preparation.kind === 'stopped') return this.finish(null);
    const { run } = preparation;
    Object.assign(run.runEnv, traceEnv(this.span));
    this.releaseBundle = run.bundle.release ?? null;
    this.report.mapStacksFrom(run.bundle.dir);
    if (this.stopReason) return this.finish(null);
    // A run claimed ahead of its due time (--prefetch) starts then, its source and secrets ready.
    if (this.beforeDue) {
      const left = this.receivedAt + this.dueInMs - Date.now();
      // Aborted by a stop (a cancel, a drain, a lost lease), which the check below acts on.
      if (left > 0) await delay(left, undefined, { signal: this.stopRequested.signal }).catch(() => undefined);
      this.beforeDue = false;
      if (this.stopReason) return this.finish(null);
    }
    // A local process is running the moment it is handed the run: RUNNING is proposed while it loads
    // the code. An executor that starts elsewhere (a pod waiting to be scheduled) leaves it to the runtime.
    if (this.deps.executor.kind === 'process') this.report.proposeRunningEarly();
    // Execute: the executor starts the attempt and carries the runtime protocol to the report stage.
    try {
      this.handle = await this.deps.executor.start(run, this.report.sink, this.stopRequested.signal);
    } catch (error) {
      // A run the executor refuses as configured (a job variable outside the worker's bounds) fails the same way on every attempt.
      if (error instanceof AttemptRefused) {
        return this.finish(null, {
          type: 'FAILED',
          name: CONFIGURATION_ERROR,
          message: `cannot start the run: ${error.message}`,
        });
      }
      return this.finish(null, { type: 'CRASHED', message: `could not start the flow process: ${(error as Error).message}` });
    }
    return this.followUp(this.handle);
  }

  /** An adopted attempt runs already: its output goes to this run's report from now on, and it ends as any other. */
  private async continueAdopted(adopted: AdoptedRun): Promise<RunOutcome> {
    // Its secrets are masked as they were for the process that started it.
    try {
      const resolved = await resolveJobVariables(this.claimed.deployment.jobVariables, (name) => this.deps.secrets.resolve(name));
      this.report.maskSecrets(resolved.secretValues);
    } catch (error) {
      this.log.warn({ err: error }, 'could not resolve the secrets of an adopted run to mask them');
    }
    this.handle = adopted.handle;
    adopted.sink.bind(this.report.sink);
    this.report.note('info', 'worker restarted; it took over this attempt where it runs');
    return this.followUp(adopted.handle);
  }

  private async followUp(handle: Attempt): Promise<RunOutcome> {
    // A stop asked for while the attempt was starting applies now.
    if (this.stopReason) {
      const reason = this.stopReason;
      this.stopReason = null;
      this.requestStop(reason, this.stopMessage);
    }
    // Recorded before the final state, so the manifest of an ended run names where it ran.
    const environment = this.report.reportEnvironment(handle, this.deps.executor.kind);
    const exit = await handle.exited;
    await this.stopping;
    await handle.cleanUp();
    await this.report.rpcsSettled();
    await environment;
    // Report: the state nobody else will propose, and the last log lines.
    return this.finish(exit);
  }
}
