import { randomUUID } from 'node:crypto';
import { DEFAULT_LEASE_SECONDS, type ProposedState, type StateType } from '@outpost/sdk/contracts';
import type { Sql } from '../db/client.js';
import { isDomainError } from '../domain-error.js';
import type { Logger } from '../logger.js';
import type { ApiMetrics } from '../metrics/api-metrics.js';
import { findExpiredLeases, graceHeldLeases, markLoopTick } from '../runs/db/leases.js';
import { proposeState } from '../runs/db/propose-state.js';
import { ElectedRounds } from './elected-loop.js';

export interface LeaseExpiryOptions {
  /** Delay after a tick that found work. @default 200 */
  busyMs?: number;
  /** Delay after an idle tick. @default 2000 */
  idleMs?: number;
  /** Runs handled per tick. @default 100 */
  batchSize?: number;
  /**
   * The lease grace, in seconds: a retry of a run whose lease ran out starts no sooner (its worker
   * goes on that long past the lease, then stops it), and after the control plane was away (longer
   * than `awayAfterSeconds` without a tick of this loop) held leases get this long to be renewed
   * before any expires. 0 gives none. @default the lease length
   */
  graceSeconds?: number;
  /**
   * A gap between two ticks longer than this means the control plane (or its database) was away.
   * @default half the lease: workers renew at least every third of a lease, so a shorter silence
   * cannot have let a live worker's lease run out.
   */
  awayAfterSeconds?: number;
}

/**
 * What a run whose lease ran out becomes: a CANCELLING run is CANCELLED (its worker is gone); a run
 * its worker claimed but never started goes back to the queue on the same attempt (nothing ran, so
 * no retry is spent); a started one CRASHED, and the retry policy applies.
 */
function expiryState(stateType: StateType): ProposedState {
  switch (stateType) {
    case 'CANCELLING':
      return { type: 'CANCELLED', message: 'lease expired while cancelling; the worker is gone' };
    case 'PENDING':
      return { type: 'SCHEDULED', message: 'the worker claimed the run but never started it; back in the queue' };
    default:
      return { type: 'CRASHED', message: 'lease expired' };
  }
}

/**
 * Recovers runs whose worker stopped renewing their lease (dead, partitioned, or shut down hard):
 * each becomes CRASHED ("lease expired"), or CANCELLED when it was CANCELLING, through the same
 * judge-and-apply path as the set-state route, so the retry policy applies. Only the database
 * clock decides expiry. One replica at a time runs it (advisory-lock leader); tick() itself is
 * idempotent and safe to run concurrently, since each run is re-checked under its row lock.
 */
export class LeaseExpiryLoop extends ElectedRounds {
  readonly #batchSize: number;

  readonly #graceSeconds: number;
  readonly #awayAfterSeconds: number;
  readonly #metrics: ApiMetrics | null;

  constructor(
    private readonly sql: Sql,
    databaseUrl: string,
    private readonly logger: Logger,
    /** `metrics`: the server's, which count the transitions the loop proposes. */
    options: LeaseExpiryOptions & { leaseSeconds?: number; metrics?: ApiMetrics | null } = {},
  ) {
    super(databaseUrl, logger, { name: 'lease-expiry', busyMs: options.busyMs ?? 200, idleMs: options.idleMs ?? 2_000 });
    this.#metrics = options.metrics ?? null;
    this.#batchSize = options.batchSize ?? 100;
    this.#graceSeconds = options.graceSeconds ?? options.leaseSeconds ?? DEFAULT_LEASE_SECONDS;
    this.#awayAfterSeconds = options.awayAfterSeconds ?? (options.leaseSeconds ?? DEFAULT_LEASE_SECONDS) / 2;
  }

  protected round(): Promise<number> {
    return this.tick();
  }

  /**
   * Handles one batch of expired leases; returns how many runs it moved. First, when the previous
   * tick was long ago — every replica down, or the database unreachable — held leases get the grace
   * period: the silence was the control plane's, not the workers'. A worker that really died is then
   * found `graceSeconds` after the control plane's return (within lease + grace of it).
   */
  async tick(): Promise<number> {
    const gap = await markLoopTick(this.sql, 'lease-expiry');
    if (gap !== null && gap > this.#awayAfterSeconds && this.#graceSeconds > 0) {
      const extended = await graceHeldLeases(this.sql, this.#graceSeconds);
      this.logger.warn(
        { awaySeconds: Math.round(gap), extended, graceSeconds: this.#graceSeconds },
        'the control plane was away; held leases get a grace period before any expires',
      );
    }
    const expired = await findExpiredLeases(this.sql, this.#batchSize);
    let moved = 0;
    for (const lease of expired) {
      const log = this.logger.child({ runId: lease.id, workspaceId: lease.workspaceId });
      try {
        const response = await proposeState(this.sql, this.#metrics, {
          workspaceId: lease.workspaceId,
          runId: lease.id,
          transitionId: randomUUID(),
          state: expiryState(lease.stateType),
          // The silent worker may go on for the grace (it stops itself at lease + grace): no retry before then.
          minRetryDelaySeconds: this.#graceSeconds,
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
        if (isDomainError(error, 'stale_attempt')) continue;
        log.error({ err: error }, 'lease expiry failed for a run');
      }
    }
    return moved;
  }
}
