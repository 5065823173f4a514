import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { rateLimited } from './rate-limit.js';

/**
 * Long reads that stream a tenant's whole history (the organisation's audit export) share the server
 * with every tenant's calls. Each read holds a place of its owner's (`perOwner`) and of the server's
 * (`total`); a read past either is refused with a 429 and Retry-After, so one organisation cannot
 * queue up exports, and memory stays bounded by `total` reads' buffers. While they run, the reads take
 * turns with everything else: after each slice of work a read rests, so that together the running
 * reads take at most `share` of the server's time, however many run. Each slice is short (one page of
 * the answer), so another tenant's call waits at most one slice, never a whole export.
 */
export interface BulkReadLimits {
  /** Reads of one owner (an organisation) at once. */
  perOwner: number;
  /** Reads of the whole server at once. */
  total: number;
  /** The share of the server's time the running reads take together, between 0 and 1. */
  share: number;
}

export const DEFAULT_BULK_READ_LIMITS: BulkReadLimits = { perOwner: 2, total: 16, share: 0.5 };

/** Seconds a refused read is told to wait before it asks again. */
const RETRY_AFTER_SECONDS = 10;

export class BulkReads {
  readonly limits: BulkReadLimits;
  readonly #running = new Map<string, number>();
  #total = 0;

  constructor(limits: Partial<BulkReadLimits> = {}) {
    this.limits = { ...DEFAULT_BULK_READ_LIMITS, ...limits };
    const { perOwner, total, share } = this.limits;
    if (!(Number.isInteger(perOwner) && perOwner > 0 && Number.isInteger(total) && total > 0 && share > 0 && share <= 1)) {
      throw new Error('bulk read limits: perOwner and total must be positive integers, share in (0, 1]');
    }
  }

  /** Reads running now. */
  get running(): number {
    return this.#total;
  }

  /** A place for one read of `owner`'s, or a 429 naming the limit (`what` names the read). */
  enter(owner: string, what: string): BulkRead {
    const { perOwner, total } = this.limits;
    const ours = this.#running.get(owner) ?? 0;
    if (ours >= perOwner) {
      throw rateLimited(
        RETRY_AFTER_SECONDS,
        `${what}: this organisation already runs ${perOwner} at once, the most it may; wait for one to end`,
      );
    }
    if (this.#total >= total) {
      throw rateLimited(RETRY_AFTER_SECONDS, `${what}: the server runs ${total} such reads at once, the most it takes`);
    }
    this.#running.set(owner, ours + 1);
    this.#total++;
    let released = false;
    return new BulkRead(
      this.limits.share,
      () => this.#total,
      () => {
        if (released) return;
        released = true;
        this.#total--;
        const left = (this.#running.get(owner) ?? 1) - 1;
        if (left > 0) this.#running.set(owner, left);
        else this.#running.delete(owner);
      },
    );
  }
}

/** One running read: `turn()` before each slice of work, `worked(ms)` after it, `release()` once done. */
export class BulkRead {
  #restUntil = 0;

  constructor(
    private readonly share: number,
    private readonly runningNow: () => number,
    readonly release: () => void,
  ) {}

  /** Waits out the rest the last slice earned (at least one turn of the event loop), or until `signal` aborts. */
  async turn(signal?: AbortSignal): Promise<void> {
    const wait = this.#restUntil - performance.now();
    if (wait <= 0) {
      await nextTurn();
      return;
    }
    await sleep(wait, undefined, { signal }).catch(() => undefined);
  }

  /**
   * A slice took `ms`: the rest before the next one is such that the running reads, each resting as
   * much, work `share` of the time together (one read at a half share rests as long as it worked).
   * Returns the rest, in ms.
   */
  worked(ms: number): number {
    const rest = ms * (Math.max(1, this.runningNow()) / this.share - 1);
    this.#restUntil = performance.now() + rest;
    return rest;
  }
}
