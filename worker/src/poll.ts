import type { CallResult, OutpostClient } from '@outpost/sdk/client';
import { describeFailure, isAccessRefused } from '@outpost/sdk/client';
import type { ClaimedRun, ClaimResponse, HeldRun } from '@outpost/sdk/contracts';
import type { Logger } from 'pino';
import { retryDelay } from './backoff.js';
import type { WorkerOptions } from './options.js';

/** With long-polling off (or an API that answers at once), an empty claim waits this long before the next. */
const IDLE_DELAY_MS = 1_000;

export interface ClaimLoopDeps {
  client: OutpostClient;
  options: WorkerOptions;
  workerId: string;
  logger: Logger;
  /** How many more runs the worker can take now. */
  freeSlots: () => number;
  /** Claimed runs; `sentAt` is when the claim was sent, a lower bound of each lease's start. */
  onClaimed: (runs: ClaimedRun[], sentAt: number) => void;
  /** The attempts running here that nothing has asked to stop yet: the claim watches them for a cancel. */
  watched?: () => HeldRun[];
  /** The API asked to cancel these (answered by a claim as soon as it happened). */
  onCancel?: (runs: HeldRun[]) => void;
}

/**
 * The claim loop: long-polls the pool, asks for exactly as many runs as it has slots, and
 * reschedules itself with `setTimeout` so two claims never overlap. Each claim names the attempts
 * running here, and the API answers it as soon as one of them is asked to cancel; a full worker
 * keeps one such claim (limit 0) open only to hear cancels, and drops it when a slot frees up.
 * It never throws: every failure is logged and retried with capped backoff and jitter, or after the
 * server's Retry-After on a 429.
 */
export class ClaimLoop {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private idle = false;
  /** The watch-only claim in flight, aborted when a slot frees up. */
  private watching: AbortController | null = null;
  /** An API that refuses a watch-only claim (older than this worker): watch through heartbeats only. */
  private watchRefused = false;
  /** An API that refuses `prefetchMs` (older than this worker): claim runs when they are due. */
  private prefetchRefused = false;
  private stopped = false;
  private failures = 0;
  private readonly abort = new AbortController();
  private readonly log: Logger;

  constructor(private readonly deps: ClaimLoopDeps) {
    this.log = deps.logger.child({ component: 'poll' });
  }

  start(): void {
    this.schedule(0);
  }

  /** A slot freed up: claim again now if the loop was waiting for one, or only watching. */
  wake(): void {
    if (this.stopped) return;
    if (this.watching) {
      this.watching.abort();
      return;
    }
    if (!this.idle) return;
    this.idle = false;
    this.schedule(0);
  }

  /**
   * Stops claiming. A long-poll in flight is abandoned: should the API have claimed a run for it
   * anyway, that run's lease expires unrenewed and the API retries it, as for a worker that died.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.abort.abort();
    await this.running;
  }

  private schedule(delay: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.running = this.tick().finally(() => {
        this.running = null;
      });
    }, delay);
  }

  private async tick(): Promise<void> {
    let next: number | null;
    try {
      next = await this.claimOnce();
    } catch (error) {
      this.failures++;
      next = retryDelay({ ok: false, kind: 'network_error', message: String(error), cause: error }, this.failures);
      this.log.error({ err: error, retryInMs: next }, 'claim loop error');
    }
    if (this.stopped) return;
    if (next === null) {
      this.idle = true;
      // A run may have finished between the capacity check and now; its wake-up would have been missed.
      if (this.deps.freeSlots() > 0) this.wake();
    } else this.schedule(next);
  }

  /** One claim; returns the delay before the next, or null to wait for a free slot. */
  private async claimOnce(): Promise<number | null> {
    const free = this.deps.freeSlots();
    const { options, workerId } = this.deps;
    const held = (this.deps.watched?.() ?? []).slice(0, 1000);
    const watchOnly = free <= 0;
    if (watchOnly && (held.length === 0 || options.pollWaitMs === 0 || this.watchRefused)) return null;
    const sentAt = Date.now();
    const body: {
      workerId: string;
      limit: number;
      waitMs: number;
      queues?: string[];
      labels?: Record<string, string>;
      held?: HeldRun[];
      prefetchMs?: number;
    } = {
      workerId,
      limit: watchOnly ? 0 : Math.min(free, 100),
      waitMs: options.pollWaitMs,
    };
    if (options.queues.length > 0) body.queues = options.queues;
    if (Object.keys(options.labels).length > 0) body.labels = options.labels;
    if (held.length > 0) body.held = held;
    const prefetching = !watchOnly && options.prefetchMs > 0 && !this.prefetchRefused;
    if (prefetching) body.prefetchMs = options.prefetchMs;
    // A watch-only claim claims nothing, so dropping it for a freed slot loses nothing.
    const watch = watchOnly ? new AbortController() : null;
    this.watching = watch;
    const result: CallResult<ClaimResponse> = await this.deps.client
      .call(
        'claim',
        { params: { pool: options.pool }, body },
        {
          signal: watch ? AbortSignal.any([this.abort.signal, watch.signal]) : this.abort.signal,
        },
      )
      .finally(() => {
        this.watching = null;
      });
    if (this.stopped && !result.ok) return null;
    if (watch?.signal.aborted && !this.stopped) return 0;
    if (!result.ok && watchOnly && result.kind === 'http_error' && result.status === 400) {
      this.watchRefused = true;
      this.log.info('the API does not take watch-only claims; cancels reach this worker with its heartbeats');
      return 0;
    }
    // An older API's strict body refuses the field by name; any other 400 is a failure like the rest.
    if (
      !result.ok &&
      prefetching &&
      result.kind === 'http_error' &&
      result.status === 400 &&
      JSON.stringify(result.problem ?? {}).includes('prefetchMs')
    ) {
      this.prefetchRefused = true;
      this.log.warn('the API does not take --prefetch; runs are claimed when they are due');
      return 0;
    }
    if (!result.ok) {
      this.failures++;
      const delay = retryDelay(result, this.failures);
      const fatal = isAccessRefused(result);
      this.log[fatal ? 'error' : 'warn'](
        {
          failures: this.failures,
          retryInMs: delay,
          status: result.kind === 'network_error' ? null : result.status,
          reason: describeFailure(result),
        },
        fatal ? 'claim refused: check the worker API key and its pools' : 'claim failed',
      );
      return delay;
    }
    this.failures = 0;
    const cancel = result.data.cancel ?? [];
    if (cancel.length > 0) {
      this.log.info({ runs: cancel.map((r) => r.id) }, 'cancel requested');
      this.deps.onCancel?.(cancel);
    }
    const runs = result.data.runs;
    if (runs.length > 0) {
      this.log.info({ runs: runs.map((r) => r.flowRun.id) }, 'claimed runs');
      this.deps.onClaimed(runs, sentAt);
      return 0;
    }
    if (cancel.length > 0) return 0;
    // A long-poll that came back early and empty (a server without the wait) must not become a busy loop.
    const waited = Date.now() - sentAt;
    return waited < IDLE_DELAY_MS ? IDLE_DELAY_MS - waited : 0;
  }
}
