import type { CallResult } from '@outpost/sdk/client';
import { describeFailure, isAccessRefused } from '@outpost/sdk/client';
import type { Logger } from 'pino';
import { backoffDelay, retryDelay } from './backoff.js';

/** How many times a report is sent before the worker gives up on it (its lease then runs out). */
const REPORT_ATTEMPTS = 5;

/**
 * Work the API hands out under a lease and the worker evaluates beside its runs, in processes of
 * their own: sensor ticks, polls of deferred jobs.
 */
export interface LeasedWork<Item, Report> {
  /** What one item is called in logs: `sensor tick`. */
  what: string;
  /** How many items are evaluated at once (0: none). */
  slots: number;
  /** How often to ask for due items while a slot is free. */
  pollMs: number;
  logger: Logger;
  /** Asks for up to `limit` due items. */
  claim: (limit: number, signal: AbortSignal) => Promise<CallResult<Item[]>>;
  /** Evaluates one item; null when stopped before it finished (nothing is reported then). */
  evaluate: (item: Item, stopped: AbortSignal) => Promise<Report | null>;
  report: (item: Item, report: Report) => Promise<CallResult<unknown>>;
  /** Bindings of an item's log lines. */
  describe: (item: Item) => Record<string, unknown>;
  /** Logs an accepted report. */
  reported: (log: Logger, answer: unknown) => void;
  /**
   * Milliseconds from an accepted report's answer until the item it reported is due again, when the
   * answer says: the loop then asks at that moment instead of at its next `pollMs` cycle, so an item
   * due every 5 s is evaluated every 5 s, not every 5 s rounded up to the cycle.
   */
  dueAgainInMs?: (answer: unknown) => number | null;
}

/** Added to a due time the server gave: its clock read before the answer left, so this wakes just after. */
const DUE_MARGIN_MS = 25;

/**
 * While fewer than `slots` evaluations run, asks the API for due items every `pollMs` (at once after
 * one ends), evaluates each, and reports it. Like the claim loop it reschedules itself with
 * `setTimeout` and never throws; a report that cannot be delivered is given up after a few attempts,
 * and the item's lease running out hands it to another evaluation.
 */
export class LeasedLoop<Item, Report> {
  private timer: NodeJS.Timeout | null = null;
  /** When the pending timer fires (Date.now() time), while there is one. */
  private timerAt = 0;
  /** The earliest moment an item is known to be due again, or null. */
  private wakeAt: number | null = null;
  private claiming: Promise<void> | null = null;
  private stopped = false;
  private failures = 0;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly abort = new AbortController();

  constructor(private readonly work: LeasedWork<Item, Report>) {}

  /** Evaluations under way now. */
  get running(): number {
    return this.inFlight.size;
  }

  start(): void {
    if (this.work.slots > 0) this.schedule(0);
  }

  /** Stops claiming; evaluations under way are stopped unreported (their leases run out). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.abort.abort();
    await this.claiming;
    await Promise.all([...this.inFlight]);
  }

  private schedule(delay: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    const now = Date.now();
    const at = this.wakeAt !== null && this.wakeAt < now + delay ? Math.max(now, this.wakeAt) : now + delay;
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.wakeAt !== null && this.wakeAt <= Date.now()) this.wakeAt = null;
      this.claiming = this.claimOnce()
        .then((next) => {
          if (next !== null) this.schedule(next);
        })
        .finally(() => {
          this.claiming = null;
        });
    }, at - now);
  }

  /**
   * Asks again in `ms` (plus a margin) if that is sooner than the next ask already planned. While a
   * claim is under way or every slot is busy, the wake is kept and the next schedule honours it.
   */
  private wakeIn(ms: number): void {
    if (this.stopped) return;
    const at = Date.now() + ms + DUE_MARGIN_MS;
    if (this.wakeAt === null || at < this.wakeAt) this.wakeAt = at;
    if (this.timer !== null && this.timerAt > at) this.schedule(at - Date.now());
  }

  /** One claim; the delay before the next, or null to wait for an evaluation to end. */
  private async claimOnce(): Promise<number | null> {
    const { work } = this;
    const free = work.slots - this.inFlight.size;
    if (free <= 0) return null;
    let result: CallResult<Item[]>;
    try {
      result = await work.claim(free, this.abort.signal);
    } catch (error) {
      this.failures++;
      work.logger.error({ err: error }, `${work.what} claim failed`);
      return backoffDelay(this.failures);
    }
    if (this.stopped) return null;
    if (!result.ok) {
      this.failures++;
      const fatal = isAccessRefused(result);
      work.logger[fatal ? 'error' : 'warn'](
        { failures: this.failures, reason: describeFailure(result) },
        `${work.what} claim failed`,
      );
      return Math.max(retryDelay(result, this.failures), work.pollMs);
    }
    this.failures = 0;
    for (const item of result.data) this.run(item);
    return this.inFlight.size >= work.slots ? null : work.pollMs;
  }

  private run(item: Item): void {
    const done = this.evaluateAndReport(item)
      .catch((error: unknown) =>
        this.work.logger.error({ err: error, ...this.work.describe(item) }, `${this.work.what} failed unexpectedly`),
      )
      .finally(() => {
        this.inFlight.delete(done);
        // A slot is free: look for the next due item now.
        if (!this.stopped && this.timer === null && this.claiming === null) this.schedule(0);
      });
    this.inFlight.add(done);
  }

  private async evaluateAndReport(item: Item): Promise<void> {
    const { work } = this;
    const log = work.logger.child(work.describe(item));
    const report = await work.evaluate(item, this.abort.signal);
    if (report === null) return;
    for (let attempt = 1; attempt <= REPORT_ATTEMPTS; attempt++) {
      const result = await work.report(item, report);
      if (result.ok) {
        work.reported(log, result.data);
        const dueIn = work.dueAgainInMs?.(result.data) ?? null;
        if (dueIn !== null) this.wakeIn(dueIn);
        return;
      }
      // Refused (the lease ran out and the item was taken over, or it is gone): nothing to retry.
      if (result.kind === 'http_error' && result.status < 500 && result.status !== 429) {
        log.warn({ reason: describeFailure(result) }, `${work.what} report refused`);
        return;
      }
      if (this.stopped) return;
      log.warn({ attempt, reason: describeFailure(result) }, `${work.what} report failed; retrying`);
      await new Promise((resolve) => setTimeout(resolve, retryDelay(result, attempt)));
    }
    log.error(`${work.what} report gave up; it is evaluated again once its lease runs out`);
  }
}
