import type { CallResult, OutpostClient } from '@outpost/sdk/client';
import { describeFailure, failureCode, isRetryable } from '@outpost/sdk/client';
import { DEFAULT_LEASE_SECONDS, type WorkerHeartbeatResponse, type WorkerSilencePolicy } from '@outpost/sdk/contracts';
import type { Logger } from 'pino';
import { retryDelay } from './backoff.js';
import type { RunExecution } from './executors/run.js';
import type { WorkerOptions } from './options.js';
import { WORKER_VERSION } from './version.js';

/** Until the API has told us its lease length, assume its default, short enough that the watchdog errs on the safe side. */
const ASSUMED_LEASE_MS = DEFAULT_LEASE_SECONDS * 1000;

export interface HeartbeatDeps {
  client: OutpostClient;
  options: WorkerOptions;
  workerId: string;
  logger: Logger;
  /** The runs this worker holds right now. */
  held: () => Iterable<RunExecution>;
  /** The API no longer supports this worker's version (426 `client_too_old`); `detail` is its one line. */
  onClientTooOld?: (detail: string) => void;
}

/**
 * One heartbeat per interval for the whole worker: registers it, renews the lease of every run it
 * holds (storing each fresh run token), and carries out the API's `cancel` and `lost` lists. The
 * worker, not the flow process, renews leases, so flow code that blocks its event loop for minutes
 * cannot make its run look dead.
 */
export class Heartbeat {
  private lease = ASSUMED_LEASE_MS;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  private failures = 0;
  /** The grace the API gives a lease past its expiry before retrying the run elsewhere; 0 until it says. */
  private grace = 0;
  /**
   * The pool's policy for a silent worker and its disconnected tolerance in ms (null: no limit), as
   * the API last said; undefined until it says (or when it predates them): the run stops at lease + grace.
   */
  private silence: { policy: WorkerSilencePolicy; toleranceMs: number | null } | undefined;
  /** Since when every heartbeat failed in a way that says the API is away (network, 408, 429, 5xx); null when it answers. */
  private unreachableSince: number | null = null;
  private warnedInterval = false;
  private readonly log: Logger;

  constructor(private readonly deps: HeartbeatDeps) {
    this.log = deps.logger.child({ component: 'lease' });
  }

  /** The lease length the API last reported. */
  get leaseMs(): number {
    return this.lease;
  }

  /** Whether the API is away: the last heartbeats failed with network errors, timeouts or 5xx, not refusals. */
  get unreachable(): boolean {
    return this.unreachableSince !== null;
  }

  /**
   * Until when a run whose lease was last renewed by a heartbeat sent at `renewedAt` may go on without
   * another renewal (Infinity: no limit). The API's expiry is at least `renewedAt + lease`, and:
   * - while the API is away (it cannot be reached, rather than refusing), the pool's disconnected
   *   tolerance applies: the customer's run does not die because the control plane is away. The API,
   *   back, gives held leases a grace to be renewed before it judges any;
   * - in a pool that waits for silent workers (`wait`), the API itself waits that tolerance past the
   *   lease before it retries the run, so the worker may always go on that long, and stops before;
   * - otherwise the lease grace: past it the API may start a retry elsewhere.
   * The longer of tolerance and grace applies, so no setting shortens what older workers allowed.
   */
  holdUntil(renewedAt: number): number {
    const leaseEnd = renewedAt + this.lease;
    const silence = this.silence;
    if (!silence || (silence.policy === 'retry' && this.unreachableSince === null)) return leaseEnd + this.grace;
    return silence.toleranceMs === null ? Infinity : leaseEnd + Math.max(this.grace, silence.toleranceMs);
  }

  /**
   * The configured interval, but never more than a third of the lease: two heartbeats may be lost
   * in a row before a healthy worker's run is at risk.
   */
  get intervalMs(): number {
    const configured = this.deps.options.heartbeatIntervalMs;
    const ceiling = Math.max(100, Math.floor(this.lease / 3));
    if (configured > ceiling && !this.warnedInterval) {
      this.warnedInterval = true;
      this.log.warn(
        { configuredMs: configured, leaseMs: this.lease, usingMs: ceiling },
        'heartbeat interval too close to the lease; shortened',
      );
    }
    return Math.min(configured, ceiling);
  }

  /** Sends one heartbeat and applies its answer; never throws. */
  async beat(): Promise<CallResult<WorkerHeartbeatResponse>> {
    const held = [...this.deps.held()];
    const sentAt = Date.now();
    const { options, workerId } = this.deps;
    let result: CallResult<WorkerHeartbeatResponse>;
    try {
      result = await this.deps.client.call(
        'workersHeartbeat',
        {
          params: { pool: options.pool },
          body: {
            workerId,
            name: options.name,
            labels: options.labels,
            capacity: options.limit,
            version: WORKER_VERSION,
            ...(options.resources ? { resources: options.resources } : {}),
            runs: held.map((r) => ({ id: r.runId, attempt: r.attempt })),
          },
        },
        { timeoutMs: Math.max(2_000, this.intervalMs) },
      );
    } catch (error) {
      result = { ok: false, kind: 'network_error', message: (error as Error).message, cause: error };
    }
    if (!result.ok) {
      this.failures++;
      if (isRetryable(result)) this.unreachableSince ??= sentAt;
      else this.unreachableSince = null;
      this.log.warn({ failures: this.failures, runs: held.length, reason: describeFailure(result) }, 'heartbeat failed');
      if (failureCode(result) === 'client_too_old') {
        const detail = result.kind === 'http_error' ? result.problem?.detail : undefined;
        this.deps.onClientTooOld?.(detail ?? `this worker (${WORKER_VERSION}) is too old for the API: upgrade it`);
      }
      return result;
    }
    if (this.failures > 0) this.log.info({ failures: this.failures }, 'heartbeat recovered; leases renewed');
    this.failures = 0;
    this.unreachableSince = null;
    this.lease = Math.max(1_000, result.data.leaseSeconds * 1000);
    this.grace = Math.max(0, (result.data.leaseGraceSeconds ?? 0) * 1000);
    const tolerance = result.data.disconnectedToleranceSeconds;
    this.silence =
      result.data.onWorkerSilence === undefined || tolerance === undefined
        ? undefined
        : { policy: result.data.onWorkerSilence, toleranceMs: tolerance === null ? null : tolerance * 1000 };
    const byKey = new Map(held.map((r) => [`${r.runId}/${r.attempt}`, r]));
    for (const renewed of result.data.renewed) {
      const run = byKey.get(`${renewed.id}/${renewed.attempt}`);
      if (!run) continue;
      run.setToken(renewed.token);
      run.renewed(sentAt);
    }
    for (const c of result.data.cancel) byKey.get(`${c.id}/${c.attempt}`)?.cancel('cancelled');
    const ended = new Map((result.data.ended ?? []).map((e) => [`${e.id}/${e.attempt}`, e.stateType]));
    // Each run decides (and says) whether to stop: its final state may have been recorded meanwhile.
    for (const lost of result.data.lost) byKey.get(`${lost.id}/${lost.attempt}`)?.lose(ended.get(`${lost.id}/${lost.attempt}`));
    return result;
  }

  /**
   * The last heartbeat of a graceful stop, once every run is handed back: the API shows the worker
   * OFFLINE at once instead of after three missed heartbeats. Best effort, never throws.
   */
  async farewell(): Promise<void> {
    const { options, workerId } = this.deps;
    const result = await this.deps.client
      .call(
        'workersHeartbeat',
        {
          params: { pool: options.pool },
          body: { workerId, name: options.name, labels: options.labels, capacity: options.limit, runs: [], stopping: true },
        },
        { timeoutMs: 5_000 },
      )
      .catch((error: unknown) => ({ ok: false as const, kind: 'network_error' as const, message: String(error), cause: error }));
    if (!result.ok) this.log.warn({ reason: describeFailure(result) }, 'could not tell the API the worker stopped');
  }

  start(): void {
    this.schedule(this.intervalMs);
  }

  /** Stops the loop, waiting for a heartbeat in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  private schedule(delay: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.running = this.tick();
    }, delay);
  }

  private async tick(): Promise<void> {
    let next = this.intervalMs;
    try {
      const result = await this.beat();
      // Retry a failed heartbeat sooner than a full interval, unless the API asked us to back off.
      if (!result.ok) next = Math.min(this.intervalMs, retryDelay(result, this.failures));
      if (!result.ok && result.kind === 'http_error' && result.retryAfterMs !== null) next = retryDelay(result, this.failures);
    } catch (error) {
      this.log.error({ err: error }, 'heartbeat tick failed');
    }
    this.running = null;
    this.schedule(next);
  }
}
