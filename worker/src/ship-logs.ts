import type { CallFailure, CallResult } from '@outpost/sdk/client';
import { describeFailure, isRetryable } from '@outpost/sdk/client';
import type { LogLevel } from '@outpost/sdk/contracts';
import type { Logger } from 'pino';
import { type BackoffPolicy, retryDelay, sleep } from './backoff.js';
import { LogSpool, type NumberedLine } from './spool.js';

/** The API refuses longer messages; longer lines are split into parts of this size. */
export const MAX_MESSAGE_CHARS = 32_768;
const PART_CHARS = 32_000;
/** A single runaway line (a 100 MB JSON dump) is cut after this many parts rather than flooding the API. */
const MAX_PARTS = 32;
export const CONTINUED_MARKER = ' [continued]';
/**
 * Log delivery backs off to at most 5 s between tries, not the 30 s of other calls: spooled lines
 * should reach the API soon after it is back, and a state change waits for them.
 */
export const LOG_BACKOFF: BackoffPolicy = { baseMs: 250, maxMs: 5_000 };
/** Keeps one request comfortably below the API's body limit even when every line is near the maximum. */
const MAX_BATCH_CHARS = 1_000_000;

export interface LogInput {
  level: LogLevel;
  message: string;
  stream: NumberedLine['stream'];
  /** ISO 8601; the arrival time when absent or unparseable. */
  timestamp?: string;
  taskRunId?: string;
}

export type SendLogBatch = (batch: { attempt: number; logs: NumberedLine[] }) => Promise<CallResult<unknown>>;

export interface LogShipperOptions {
  runId: string;
  attempt: number;
  spoolDir: string;
  batchSize: number;
  batchMs: number;
  send: SendLogBatch;
  logger: Logger;
  /** Applied to every message before it is numbered, spooled or sent. */
  redact?: (text: string) => string;
  backoff?: BackoffPolicy;
  /** Refusals to keep (spooled and retried) rather than drop; by default only transient failures are retried. */
  keepOnRefusal?: (failure: CallFailure) => boolean;
  /** Told how many lines the API acknowledged and how many went to the spool (the worker's metrics). */
  counts?: LogLineCounts;
  /** Lines are numbered after this seq: an attempt adopted from an earlier worker process continues its numbering. */
  after?: number;
}

/** Where a shipper reports the lines it delivered and spooled. */
export interface LogLineCounts {
  shipped(lines: number): void;
  spooled(lines: number): void;
}

interface Pending {
  line: NumberedLine;
  arrivedAt: number;
}

/** How far ahead of this machine's clock a flow's timestamp for a line may be before the line takes the worker's time. */
const FLOW_CLOCK_AHEAD_MS = 60_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Ships one run attempt's log lines: numbers them (seq from 1, in arrival order), batches them by
 * size and time, sends one batch at a time so lines arrive in order, retries with backoff, and —
 * as soon as a send fails — spools every unacknowledged line to disk so a worker restart loses
 * nothing. The API de-duplicates on (attempt, seq), so re-sending a spooled line is harmless.
 */
export class LogShipper {
  private readonly spool: LogSpool;
  private readonly queue: Pending[] = [];
  private nextSeq = 1;
  private ackedThrough = 0;
  private spooledThrough = 0;
  /** Lines refused by the API since the spool was last empty: the spool's lines were not all delivered. */
  private refusedFromSpool = 0;
  private spoolOpen = false;
  private inFlight = false;
  private timer: NodeJS.Timeout | null = null;
  private failures = 0;
  private stopped = false;
  private readonly abort = new AbortController();
  private waiters: Array<{ seq: number; resolve: () => void }> = [];
  private readonly log: Logger;
  readonly stats = { pushed: 0, delivered: 0, dropped: 0 };

  constructor(private readonly options: LogShipperOptions) {
    this.log = options.logger.child({ runId: options.runId, attempt: options.attempt, component: 'ship-logs' });
    this.spool = new LogSpool(options.spoolDir, options.runId, options.attempt);
    const left = this.spool.read();
    if (left) {
      this.nextSeq = left.maxSeq + 1;
      this.ackedThrough = left.ackedThrough;
      this.spooledThrough = left.maxSeq;
      if (left.unacked.length === 0) this.spool.remove();
      else {
        this.spoolOpen = true;
        const now = Date.now();
        for (const line of left.unacked) this.queue.push({ line, arrivedAt: now - options.batchMs });
        // Anything before the first unacknowledged line is settled; gaps were dropped by an earlier process.
        this.ackedThrough = Math.max(this.ackedThrough, (left.unacked[0]?.seq ?? 1) - 1);
        this.log.info({ lines: left.unacked.length }, 'resending spooled log lines');
        this.schedule();
      }
    }
    const after = options.after ?? 0;
    if (after >= this.nextSeq) {
      this.nextSeq = after + 1;
      this.ackedThrough = Math.max(this.ackedThrough, after);
    }
  }

  /** Highest sequence number assigned so far. */
  get lastSeq(): number {
    return this.nextSeq - 1;
  }

  push(input: LogInput): void {
    if (this.stopped) return;
    const redacted = this.options.redact ? this.options.redact(input.message) : input.message;
    const now = Date.now();
    // The flow's own time for the line, unless it is unreadable or ahead of this machine's clock (a
    // pod's clock, a line that invents one): the API refuses a batch with a line far ahead, and would
    // drop its good lines with it.
    const given = input.timestamp ? Date.parse(input.timestamp) : Number.NaN;
    const timestamp =
      input.timestamp && !Number.isNaN(given) && given <= now + FLOW_CLOCK_AHEAD_MS
        ? input.timestamp
        : new Date(now).toISOString();
    const taskRunId = input.taskRunId && UUID.test(input.taskRunId) ? input.taskRunId : undefined;
    const added: NumberedLine[] = [];
    for (const message of splitMessage(redacted)) {
      const line: NumberedLine = { seq: this.nextSeq++, timestamp, level: input.level, message, stream: input.stream };
      if (taskRunId) line.taskRunId = taskRunId;
      this.queue.push({ line, arrivedAt: now });
      added.push(line);
    }
    this.stats.pushed += added.length;
    // While the API is unreachable every new line goes straight to disk.
    if (this.spoolOpen) this.spoolLines(added);
    this.schedule();
  }

  /**
   * Resolves true once every line pushed so far is acknowledged (or refused outright by the API),
   * false when `timeoutMs` passes first or the shipper stops.
   */
  flush(timeoutMs?: number): Promise<boolean> {
    const target = this.nextSeq - 1;
    if (this.ackedThrough >= target) return Promise.resolve(true);
    if (this.stopped) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      let timer: NodeJS.Timeout | null = null;
      const waiter = {
        seq: target,
        resolve: () => {
          if (timer) clearTimeout(timer);
          resolve(this.ackedThrough >= target);
        },
      };
      this.waiters.push(waiter);
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          this.waiters = this.waiters.filter((w) => w !== waiter);
          resolve(false);
        }, timeoutMs);
      }
      this.schedule();
    });
  }

  /**
   * Hands every queued line to another request that delivers them (a state proposal carrying its
   * run's lines), when that is all there is to send: nothing in flight, nothing spooled, one batch's
   * worth at most. Until `done` is called nothing else is sent, so lines still arrive in order;
   * `done(true)` acknowledges them, `done(false)` leaves them queued for the next batch. Null when
   * the lines must go the usual way (then `flush` first).
   */
  takeForRequest(): { lines: NumberedLine[]; done: (delivered: boolean) => void } | null {
    if (this.stopped || this.inFlight || this.spoolOpen || this.queue.length === 0) return null;
    const lines = this.takeBatch();
    if (lines.length !== this.queue.length) return null;
    this.inFlight = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const last = lines[lines.length - 1]!.seq;
    let settled = false;
    return {
      lines,
      done: (delivered) => {
        if (settled) return;
        settled = true;
        this.inFlight = false;
        if (delivered) {
          this.stats.delivered += lines.length;
          this.options.counts?.shipped(lines.length);
          this.settle(last);
        }
        this.schedule();
      },
    };
  }

  /** Flushes for at most `timeoutMs`, then stops; whatever is still unacknowledged stays spooled on disk. */
  async close(timeoutMs: number): Promise<boolean> {
    const delivered = await this.flush(timeoutMs);
    this.stop();
    return delivered;
  }

  /** Stops sending at once; unacknowledged lines are written to the spool for a later process to send. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.abort.abort();
    const unsent = this.queue.map((p) => p.line).filter((l) => l.seq > this.spooledThrough);
    if (unsent.length > 0) {
      this.spoolLines(unsent);
      this.log.warn({ lines: this.queue.length, spool: this.spool.path }, 'log lines left in the spool for a later delivery');
    }
    for (const w of this.waiters.splice(0)) w.resolve();
  }

  private schedule(): void {
    if (this.stopped || this.inFlight || this.queue.length === 0) return;
    const wait = this.dueIn();
    if (wait <= 0) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      void this.pump();
    } else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.schedule();
      }, wait);
    }
  }

  /** Milliseconds until the next batch is due: now when full, flushed or old enough. */
  private dueIn(): number {
    const first = this.queue[0];
    if (!first) return Number.POSITIVE_INFINITY;
    if (this.queue.length >= this.options.batchSize || this.waiters.length > 0) return 0;
    return first.arrivedAt + this.options.batchMs - Date.now();
  }

  private async pump(): Promise<void> {
    this.inFlight = true;
    try {
      while (!this.stopped && this.queue.length > 0 && this.dueIn() <= 0) {
        const batch = this.takeBatch();
        const last = batch[batch.length - 1]!.seq;
        let result: CallResult<unknown>;
        try {
          result = await this.options.send({ attempt: this.options.attempt, logs: batch });
        } catch (error) {
          result = { ok: false, kind: 'network_error', message: (error as Error).message, cause: error };
        }
        if (result.ok) {
          this.failures = 0;
          this.stats.delivered += batch.length;
          this.options.counts?.shipped(batch.length);
          this.settle(last);
        } else if (isRetryable(result) || this.options.keepOnRefusal?.(result)) {
          this.failures++;
          this.spoolLines(this.queue.map((p) => p.line).filter((l) => l.seq > this.spooledThrough));
          const delay = retryDelay(result, this.failures, this.options.backoff ?? LOG_BACKOFF);
          this.log.warn(
            { failures: this.failures, retryInMs: delay, reason: describeFailure(result), spooled: this.queue.length },
            'log batch not delivered; retrying',
          );
          await sleep(delay, this.abort.signal);
        } else {
          // A refusal (stale attempt, validation) will not change on retry; keep the rest flowing.
          this.failures = 0;
          this.stats.dropped += batch.length;
          if (this.spoolOpen) this.refusedFromSpool += batch.filter((line) => line.seq <= this.spooledThrough).length;
          this.log.error(
            { lines: batch.length, firstSeq: batch[0]!.seq, reason: describeFailure(result) },
            'log batch refused by the API; its lines are dropped',
          );
          this.settle(last);
        }
      }
    } finally {
      this.inFlight = false;
    }
    this.schedule();
  }

  private takeBatch(): NumberedLine[] {
    const batch: NumberedLine[] = [];
    let chars = 0;
    for (const pending of this.queue) {
      if (batch.length >= this.options.batchSize) break;
      if (batch.length > 0 && chars + pending.line.message.length > MAX_BATCH_CHARS) break;
      batch.push(pending.line);
      chars += pending.line.message.length;
    }
    return batch;
  }

  /** Everything through `seq` is done with: drop it from memory, mark it in the spool, wake flushers. */
  private settle(seq: number): void {
    while (this.queue.length > 0 && this.queue[0]!.line.seq <= seq) this.queue.shift();
    this.ackedThrough = Math.max(this.ackedThrough, seq);
    if (this.spoolOpen) {
      try {
        if (seq >= this.spooledThrough) {
          this.spool.remove();
          this.spoolOpen = false;
          // Only lines the API stored are reported delivered; a refusal is never called delivery.
          if (this.refusedFromSpool > 0) {
            this.log.error({ refused: this.refusedFromSpool }, 'spooled log lines were refused by the API and dropped');
          } else this.log.info('spooled log lines delivered');
          this.refusedFromSpool = 0;
        } else this.spool.appendAck(seq);
      } catch (error) {
        this.log.error({ err: error, spool: this.spool.path }, 'cannot update the log spool');
      }
    }
    const ready = this.waiters.filter((w) => w.seq <= this.ackedThrough);
    this.waiters = this.waiters.filter((w) => w.seq > this.ackedThrough);
    for (const w of ready) w.resolve();
  }

  private spoolLines(lines: NumberedLine[]): void {
    if (lines.length === 0) return;
    try {
      this.spool.appendLines(lines);
      this.spooledThrough = lines[lines.length - 1]!.seq;
      this.spoolOpen = true;
      this.options.counts?.spooled(lines.length);
    } catch (error) {
      // A full or read-only disk must not stop the run; the lines stay in memory and keep retrying.
      this.log.error({ err: error, spool: this.spool.path }, 'cannot write the log spool');
    }
  }
}

/**
 * Splits a message the API would refuse for length into numbered parts, never inside a UTF-16
 * surrogate pair, and truncates a runaway line with a marker saying how much was cut.
 */
export function splitMessage(message: string): string[] {
  if (message.length <= MAX_MESSAGE_CHARS) return [message];
  const parts: string[] = [];
  let at = 0;
  while (at < message.length && parts.length < MAX_PARTS) {
    let end = Math.min(message.length, at + PART_CHARS);
    const code = message.charCodeAt(end - 1);
    if (end < message.length && code >= 0xd800 && code <= 0xdbff) end--;
    parts.push(message.slice(at, end));
    at = end;
  }
  const rest = message.length - at;
  for (let i = 0; i < parts.length - 1; i++) parts[i] += CONTINUED_MARKER;
  if (rest > 0) parts[parts.length - 1] += `${CONTINUED_MARKER} [truncated ${rest} more characters]`;
  return parts;
}
