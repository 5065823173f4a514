import type { CallResult, OutpostClient } from '@outpost/sdk/client';
import { describeFailure, isAccessRefused } from '@outpost/sdk/client';
import type { ClaimedRun, ClaimResponse } from '@outpost/sdk/contracts';
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
}

/**
 * The claim loop: long-polls the pool only while the worker has a free slot, asks for exactly as
 * many runs as it has slots, and reschedules itself with `setTimeout` so two claims never overlap.
 * It never throws: every failure is logged and retried with capped backoff and jitter, or after the
 * server's Retry-After on a 429.
 */
export class ClaimLoop {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private idle = false;
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

  /** A slot freed up: claim again now if the loop was waiting for one. */
  wake(): void {
    if (this.stopped || !this.idle) return;
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
    if (free <= 0) return null;
    const { options, workerId } = this.deps;
    const sentAt = Date.now();
    const body: { workerId: string; limit: number; waitMs: number; queues?: string[]; labels?: Record<string, string> } = {
      workerId,
      limit: Math.min(free, 100),
      waitMs: options.pollWaitMs,
    };
    if (options.queues.length > 0) body.queues = options.queues;
    if (Object.keys(options.labels).length > 0) body.labels = options.labels;
    const result: CallResult<ClaimResponse> = await this.deps.client.call(
      'claim',
      { params: { pool: options.pool }, body },
      { signal: this.abort.signal },
    );
    if (this.stopped && !result.ok) return null;
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
    const runs = result.data.runs;
    if (runs.length > 0) {
      this.log.info({ runs: runs.map((r) => r.flowRun.id) }, 'claimed runs');
      this.deps.onClaimed(runs, sentAt);
      return 0;
    }
    // A long-poll that came back early and empty (a server without the wait) must not become a busy loop.
    const waited = Date.now() - sentAt;
    return waited < IDLE_DELAY_MS ? IDLE_DELAY_MS - waited : 0;
  }
}
