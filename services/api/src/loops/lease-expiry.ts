import { randomUUID } from 'node:crypto';
import type { Sql } from '../db/client.js';
import { findExpiredLeases } from '../db/leases.js';
import { ApiError } from '../errors.js';
import type { Logger } from '../logger.js';
import { proposeState } from '../runs/propose-state.js';
import { LeaderLock } from './leader-lock.js';

export interface LeaseExpiryOptions {
  /** Delay after a tick that found work. @default 200 */
  busyMs?: number;
  /** Delay after an idle tick. @default 2000 */
  idleMs?: number;
  /** Runs handled per tick. @default 100 */
  batchSize?: number;
}

/**
 * Recovers runs whose worker stopped renewing their lease (dead, partitioned, or shut down hard):
 * each becomes CRASHED ("lease expired"), or CANCELLED when it was CANCELLING, through the same
 * judge-and-apply path as the set-state route, so the retry policy applies. Only the database
 * clock decides expiry. One replica at a time runs it (advisory-lock leader); tick() itself is
 * idempotent and safe to run concurrently, since each run is re-checked under its row lock.
 */
export class LeaseExpiryLoop {
  readonly #leader: LeaderLock;
  readonly #busyMs: number;
  readonly #idleMs: number;
  readonly #batchSize: number;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  #stopped = true;

  constructor(
    private readonly sql: Sql,
    databaseUrl: string,
    private readonly logger: Logger,
    options: LeaseExpiryOptions = {},
  ) {
    this.#leader = new LeaderLock(databaseUrl, 'lease-expiry', logger);
    this.#busyMs = options.busyMs ?? 200;
    this.#idleMs = options.idleMs ?? 2_000;
    this.#batchSize = options.batchSize ?? 100;
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#schedule(0);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#running;
    await this.#leader.release();
  }

  /** Handles one batch of expired leases; returns how many runs it moved. */
  async tick(): Promise<number> {
    const expired = await findExpiredLeases(this.sql, this.#batchSize);
    let moved = 0;
    for (const lease of expired) {
      const log = this.logger.child({ runId: lease.id, workspaceId: lease.workspaceId });
      try {
        const cancelling = lease.stateType === 'CANCELLING';
        const response = await proposeState(this.sql, {
          workspaceId: lease.workspaceId,
          runId: lease.id,
          transitionId: randomUUID(),
          state: cancelling
            ? { type: 'CANCELLED', message: 'lease expired while cancelling; the worker is gone' }
            : { type: 'CRASHED', message: 'lease expired' },
          attempt: lease.attempt,
          actor: 'system',
          onlyIfLeaseExpired: true,
        });
        if (response?.status === 'ACCEPT') {
          moved++;
          log.warn({ state: response.state.type, attempt: response.attempt }, 'lease expired');
        } else if (response) {
          log.warn({ status: response.status, reason: response.reason }, 'lease expired but the transition was not accepted');
        }
      } catch (error) {
        // A stale attempt means the run moved on between the scan and the lock: nothing to do.
        if (error instanceof ApiError && error.code === 'stale_attempt') continue;
        log.error({ err: error }, 'lease expiry failed for a run');
      }
    }
    return moved;
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#running = this.#run().finally(() => {
        this.#running = null;
      });
    }, ms);
  }

  async #run(): Promise<void> {
    let found = 0;
    try {
      if (await this.#leader.acquire()) found = await this.tick();
    } catch (error) {
      this.logger.error({ err: error }, 'lease expiry tick failed');
    }
    this.#schedule(found > 0 ? this.#busyMs : this.#idleMs);
  }
}
