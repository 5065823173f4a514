import { describeFailure, isRefusal } from '@outpost/sdk/client';
import type { ProposedState, TaskRunEvent } from '@outpost/sdk/contracts';
import { MAX_STATE_MESSAGE_LENGTH, MAX_TASK_RUN_EVENTS } from '@outpost/sdk/contracts';
import type { Logger } from 'pino';
import type { RunApi } from './executors/run-api.js';
import { isStaleAttempt } from './executors/run-api.js';
import type { Redactor } from './redact.js';

/** How long an event may wait for its batch to fill; short, since a run page shows task runs live. */
const BATCH_MS = 50;
/** A queued event and how many pushed events it stands for (a creation with later changes merged in). */
interface Pending {
  flowRunId: string;
  event: TaskRunEvent;
  weight: number;
}

/** Events a state proposal carries at most; more go the usual way, in batches, before it. */
const CARRY_MAX = 100;

/** How soon a stalled shipper (a batch out of retries) tries again on its own. */
const RETRY_STALLED_MS = 5_000;
/** Worker-side retries of one batch, before the events are kept for the next flush instead. */
const BATCH_DEADLINE_MS = 60_000;

export interface TaskRunShipperOptions {
  api: RunApi;
  redactor: () => Redactor;
  logger: Logger;
  /** A batch was refused because this attempt is no longer current. */
  onStaleAttempt: () => void;
  /** A line for the run's own logs (a batch the API refused, so nobody wonders where task runs went). */
  runLog: (level: 'warning', message: string) => void;
  /** @default 50 */
  batchMs?: number;
  /** @default 500 (at most MAX_TASK_RUN_EVENTS) */
  batchSize?: number;
  /** How many events have been settled so far (the flow process's window moves on). */
  onSettled?: (settled: number) => void;
}

/**
 * Ships the task-run events of one run attempt (and its subflow runs) in batches: the flow process
 * sends each event without waiting, and a 10,000-item map becomes 40 requests instead of 20,000.
 * Events go out in the order they came, one batch in flight at a time, each batch holding one flow
 * run's events; a batch is sent when it is full or 50 ms after its first event, and at once when
 * something must not overtake the events (a log line, a state change, a subflow or an artifact
 * naming a task run: `flush()`). A failed batch is retried with backoff and its events are kept
 * until the API acknowledges them; the server applies each event once (task-run id and `seq`).
 */
export class TaskRunShipper {
  private readonly queue: Pending[] = [];
  /** Creations still waiting in the queue (not in flight), by task-run id: later changes merge into them. */
  private readonly unsent = new Map<string, Pending>();
  private timer: NodeJS.Timeout | null = null;
  private sending: Promise<void> | null = null;
  private readonly batchMs: number;
  private readonly batchSize: number;
  /** Events taken off the queue for good: acknowledged, or refused by the API. */
  private settledCount = 0;
  /** The last send gave up on a batch (out of retries); its events are still queued. */
  private stalled = false;
  readonly stats = { pushed: 0, applied: 0, refused: 0 };

  constructor(private readonly options: TaskRunShipperOptions) {
    this.batchMs = options.batchMs ?? BATCH_MS;
    this.batchSize = Math.min(options.batchSize ?? 500, MAX_TASK_RUN_EVENTS);
  }

  push(flowRunId: string, event: TaskRunEvent): void {
    this.stats.pushed++;
    const redacted = this.redact(event);
    // A task that changes again before its creation left (most tasks of a map finish within one
    // batch interval) travels as one creation carrying its latest state: half the events, and an
    // INSERT without an UPDATE on the server.
    const host = redacted.kind === 'state' ? this.unsent.get(redacted.id) : undefined;
    if (host && host.event.kind === 'create' && redacted.kind === 'state') {
      host.event = {
        ...host.event,
        state: redacted.state,
        at: redacted.at,
        seq: redacted.seq,
        ...(redacted.runCount === undefined ? {} : { runCount: redacted.runCount }),
        startedAt: host.event.startedAt ?? (host.event.state.type === 'RUNNING' ? host.event.at : redacted.at),
      };
      host.weight++;
      return;
    }
    const pending: Pending = { flowRunId, event: redacted, weight: 1 };
    this.queue.push(pending);
    if (redacted.kind === 'create') this.unsent.set(redacted.id, pending);
    // A full batch goes at once; otherwise the first event of a batch starts its clock. While a send
    // runs it takes whatever has queued when it gets there, so nothing needs scheduling.
    if (this.sending) return;
    if (this.queue.length >= this.batchSize) void this.startSending();
    else if (!this.timer) this.kick(this.batchMs);
  }

  /** Resolves true once every event pushed so far is settled (applied, or refused for good), false if some could not be sent. */
  async flush(): Promise<boolean> {
    const target = this.stats.pushed;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    for (;;) {
      while (this.sending) await this.sending;
      if (this.settledCount >= target) return true;
      if (this.stalled) {
        // The last send gave up on a batch: one more try now, then report.
        this.stalled = false;
        await this.startSending();
        return this.settledCount >= target;
      }
      await this.startSending();
    }
  }

  /**
   * Hands every queued event to another request that delivers them (the run's state proposal
   * carrying its last task runs), when that is all there is to send: nothing in flight or stalled,
   * only `flowRunId`'s events, a hundred at most. Until `done` is called nothing else is sent and
   * `flush()` waits, so events still arrive in order; `done(true)` settles them, `done(false)`
   * leaves them queued for the next batch. Null when they must go the usual way (then `flush` first).
   */
  takeForRequest(flowRunId: string): { events: TaskRunEvent[]; done: (delivered: boolean) => void } | null {
    if (this.sending || this.stalled || this.queue.length === 0 || this.queue.length > CARRY_MAX) return null;
    if (this.queue.some((entry) => entry.flowRunId !== flowRunId)) return null;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const taken = this.queue.slice();
    this.leave(taken);
    let release!: () => void;
    this.sending = new Promise<void>((resolve) => (release = resolve)).finally(() => {
      this.sending = null;
      if (this.queue.length > 0 && !this.timer) this.kick(this.batchMs);
    });
    let settled = false;
    return {
      events: taken.map((t) => t.event),
      done: (delivered) => {
        if (settled) return;
        settled = true;
        // Events pushed since stay behind the taken ones: the first `taken.length` are these.
        if (delivered) this.settle(taken.length);
        release();
      },
    };
  }

  /**
   * The one sending loop, started unless it runs. `sending` is cleared in a `finally` chained on
   * the loop's promise, never inside the loop: a loop that finds nothing to send returns
   * synchronously, and clearing the field from inside it would run before the assignment that
   * stores its (already settled) promise, leaving a loop that looks busy forever.
   */
  private startSending(): Promise<void> {
    this.sending ??= this.send().finally(() => {
      this.sending = null;
      // Gave up for now with events left: try again in a while even if nothing new is pushed.
      if (this.stalled && this.queue.length > 0 && !this.timer) this.kick(RETRY_STALLED_MS);
    });
    return this.sending;
  }

  /** Events pushed and not yet settled (merged ones count each). */
  get pending(): number {
    return this.stats.pushed - this.settledCount;
  }

  private kick(delayMs: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.startSending();
    }, delayMs);
  }

  /** Sends batches until the queue is empty or one cannot be delivered. Never throws. */
  private async send(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const first = this.queue[0]!;
        let n = 0;
        while (n < this.queue.length && n < this.batchSize && this.queue[n]!.flowRunId === first.flowRunId) n++;
        const batch = this.queue.slice(0, n);
        this.leave(batch);
        const result = await this.options.api.call(
          'taskRunsBatch',
          {
            params: { id: first.flowRunId },
            body: { flowRunAttempt: this.options.api.attempt, events: batch.map((b) => b.event) },
          },
          BATCH_DEADLINE_MS,
          // Still delivered after the run is stopped; held through an outage while the run goes on.
          { abortable: false, throughOutage: true },
        );
        if (result.ok) {
          this.stalled = false;
          this.settle(n);
          this.stats.applied += result.data.applied;
          this.stats.refused += result.data.refused.length;
          if (result.data.refused.length > 0) {
            const first = result.data.refused[0]!;
            this.options.logger.warn({ refused: result.data.refused.length, first }, 'task-run events refused by the API');
            this.options.runLog('warning', `${result.data.refused.length} task-run updates were refused: ${first.detail}`);
          }
          continue;
        }
        if (isStaleAttempt(result)) {
          // This attempt is over: its task runs belong to history now, and the worker stops the run.
          this.settle(this.queue.length);
          this.unsent.clear();
          this.options.onStaleAttempt();
          return;
        }
        if (isRefusal(result)) {
          this.settle(n);
          this.stats.refused += n;
          this.options.logger.error({ events: n, reason: describeFailure(result) }, 'task-run batch refused by the API');
          this.options.runLog('warning', `${n} task-run updates were refused: ${describeFailure(result)}`);
          continue;
        }
        // Out of retries for now: keep the events, try again on the next push or flush.
        this.stalled = true;
        this.options.logger.warn({ events: this.queue.length, reason: describeFailure(result) }, 'task-run batch not delivered');
        return;
      }
    } catch (error) {
      this.stalled = true;
      this.options.logger.error({ err: error }, 'task-run batch failed unexpectedly');
    }
  }

  /** Entries going out now: no later change merges into a creation in flight. */
  private leave(entries: readonly Pending[]): void {
    for (const e of entries) if (e.event.kind === 'create' && this.unsent.get(e.event.id) === e) this.unsent.delete(e.event.id);
  }

  /** Takes the first `n` entries off the queue for good, counting every event they carry. */
  private settle(n: number): void {
    for (const entry of this.queue.splice(0, n)) this.settledCount += entry.weight;
    this.options.onSettled?.(this.settledCount);
  }

  private redact(event: TaskRunEvent): TaskRunEvent {
    const redactor = this.options.redactor();
    const state = redactState(redactor, event.state);
    if (event.kind === 'state') return { ...event, state };
    // Task names and keys can be built from parameters; they leave the network like any other text.
    return {
      ...event,
      name: redactor.redact(event.name),
      taskKey: redactor.redact(event.taskKey),
      dynamicKey: redactor.redact(event.dynamicKey),
      // The runtime sends a hash here, never the key it was made from; masked all the same, like any text that leaves.
      ...(event.cacheKey === undefined ? {} : { cacheKey: redactor.redact(event.cacheKey) }),
      state,
    };
  }
}

/** State names, messages and result references are written by flow code: redacted like logs, JSON in keys and values. */
export function redactState(redactor: Redactor, state: ProposedState): ProposedState {
  const out: ProposedState = { ...state };
  if (state.name !== undefined) out.name = redactor.redact(state.name);
  if (state.message !== undefined) out.message = redactor.redact(state.message).slice(0, MAX_STATE_MESSAGE_LENGTH);
  if (state.data !== undefined) out.data = redactor.redactJson(state.data);
  return out;
}
