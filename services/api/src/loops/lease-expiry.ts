import { randomUUID } from 'node:crypto';
import type { Sql } from '../db/client.js';
import { findExpiredLeases } from '../db/leases.js';
import { ApiError } from '../errors.js';
import type { Logger } from '../logger.js';
import { proposeState } from '../runs/propose-state.js';
import { ElectedLoop } from './elected-loop.js';

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
  readonly #loop: ElectedLoop;
  readonly #batchSize: number;

  constructor(
    private readonly sql: Sql,
    databaseUrl: string,
    private readonly logger: Logger,
    options: LeaseExpiryOptions = {},
  ) {
    this.#batchSize = options.batchSize ?? 100;
    this.#loop = new ElectedLoop(databaseUrl, logger, {
      name: 'lease-expiry',
      tick: () => this.tick(),
      busyMs: options.busyMs ?? 200,
      idleMs: options.idleMs ?? 2_000,
    });
  }

  start(): void {
    this.#loop.start();
  }

  stop(): Promise<void> {
    return this.#loop.stop();
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
}
