import type { FlowRun } from '@outpost/sdk/contracts';
import type { Sql } from '../db/client.js';
import { EventStream } from '../http/event-stream.js';
import type { Logger } from '../logger.js';
import { getFlowRunsByIds } from './db/run-events.js';
import type { RunChangeListener, RunNotifier } from './run-notifier.js';

export interface RunEventHubOptions {
  /** A comment line this often keeps proxies from closing idle streams. @default 15000 */
  pingMs?: number;
  /**
   * A change arriving while nothing is being read is read at once; changes arriving while a read is
   * in flight wait for it and are read together, one query per workspace, no sooner than this long
   * after that read started. @default 25
   */
  flushMs?: number;
  /** A client this many bytes behind is disconnected; it reconnects and re-reads. @default 1048576 */
  maxBehindBytes?: number;
}

interface Subscriber {
  workspaceId: string;
  write(text: string): void;
  end(): void;
}

/**
 * Fans flow-run changes out to the Server-Sent Event streams of this API process. The process's
 * one LISTEN connection (RunNotifier) reports `(workspace, run)` pairs; changes for workspaces
 * with open streams are re-read scoped to their workspace and written to that workspace's streams
 * only. A change arriving when nothing is being read is read at once (a lone change, such as a run's
 * end, reaches its streams one read after its NOTIFY); changes arriving during a read are batched
 * into the next one, so a burst costs one query per workspace per batch and at most one read is in
 * flight. Events are hints: when the listener reconnects, every stream is ended so its client
 * reconnects and re-reads what it shows.
 */
export class RunEventHub implements RunChangeListener {
  readonly #streams = new Map<string, Set<Subscriber>>();
  #pending = new Map<string, Set<string>>();
  /** Cancels the scheduled read, when there is one: at once (an immediate) or after a read just done (a timeout). */
  #cancelScheduled: (() => void) | null = null;
  #flushing: Promise<void> | null = null;
  /** When the last read started (performance.now()), to space reads of a burst by flushMs. */
  #lastFlushStart = Number.NEGATIVE_INFINITY;
  #pingTimer: NodeJS.Timeout | null = null;
  #closed = false;
  readonly #unlisten: () => void;
  readonly #pingMs: number;
  readonly #flushMs: number;
  readonly #maxBehindBytes: number;

  constructor(
    private readonly sql: Sql,
    notifier: RunNotifier,
    private readonly logger: Logger,
    options: RunEventHubOptions = {},
  ) {
    this.#pingMs = options.pingMs ?? 15_000;
    this.#flushMs = options.flushMs ?? 25;
    this.#maxBehindBytes = options.maxBehindBytes ?? 1024 * 1024;
    this.#unlisten = notifier.onRunChange(this);
  }

  /** Open streams, for metrics and tests. */
  get size(): number {
    let n = 0;
    for (const set of this.#streams.values()) n += set.size;
    return n;
  }

  changed(workspaceId: string, runId: string): void {
    if (this.#closed || !this.#streams.has(workspaceId)) return;
    let ids = this.#pending.get(workspaceId);
    if (!ids) {
      ids = new Set();
      this.#pending.set(workspaceId, ids);
    }
    ids.add(runId);
    this.#scheduleFlush();
  }

  resync(): void {
    for (const set of [...this.#streams.values()]) for (const sub of [...set]) sub.end();
  }

  /** The event stream of one workspace, ended when `signal` aborts (the client left) or the hub closes. */
  open(workspaceId: string, signal: AbortSignal): Response {
    const stream = new EventStream({
      workspaceId,
      logger: this.logger,
      maxBehindBytes: this.#maxBehindBytes,
      onEnd: () => this.#remove(sub),
    });
    const sub: Subscriber = { workspaceId, write: (text) => stream.write(text), end: () => stream.end() };
    if (this.#closed || signal.aborted) {
      stream.end();
    } else {
      this.#add(sub);
      stream.connected();
    }
    signal.addEventListener('abort', () => sub.end(), { once: true });
    return stream.response;
  }

  /** Ends every stream and stops listening; the server calls it when shutting down. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#unlisten();
    this.#cancelScheduledFlush();
    this.#pending.clear();
    this.resync();
    this.#stopPing();
  }

  #add(sub: Subscriber): void {
    let set = this.#streams.get(sub.workspaceId);
    if (!set) {
      set = new Set();
      this.#streams.set(sub.workspaceId, set);
    }
    set.add(sub);
    this.#pingTimer ??= setInterval(() => this.#ping(), this.#pingMs);
  }

  #remove(sub: Subscriber): void {
    const set = this.#streams.get(sub.workspaceId);
    if (!set?.delete(sub)) return;
    if (set.size === 0) {
      this.#streams.delete(sub.workspaceId);
      this.#pending.delete(sub.workspaceId);
    }
    if (this.#streams.size === 0) this.#stopPing();
  }

  #stopPing(): void {
    if (this.#pingTimer) clearInterval(this.#pingTimer);
    this.#pingTimer = null;
  }

  #ping(): void {
    for (const set of [...this.#streams.values()]) for (const sub of [...set]) sub.write(': ping\n\n');
  }

  /**
   * Reads the pending changes at once unless a read is scheduled or in flight; the end of a read
   * in flight schedules the next one (#readAfter).
   */
  #scheduleFlush(): void {
    if (this.#cancelScheduled || this.#flushing || this.#closed) return;
    // An immediate, not a direct call: the notifications of the current I/O turn join this read.
    const immediate = setImmediate(() => this.#startFlush());
    this.#cancelScheduled = () => clearImmediate(immediate);
  }

  /** After a read: what arrived during it is read no sooner than flushMs after that read started. */
  #readAfter(): void {
    if (this.#cancelScheduled || this.#closed || this.#pending.size === 0) return;
    const wait = this.#lastFlushStart + this.#flushMs - performance.now();
    if (wait > 0) {
      const timeout = setTimeout(() => this.#startFlush(), wait);
      this.#cancelScheduled = () => clearTimeout(timeout);
    } else {
      const immediate = setImmediate(() => this.#startFlush());
      this.#cancelScheduled = () => clearImmediate(immediate);
    }
  }

  #startFlush(): void {
    this.#cancelScheduled = null;
    if (this.#closed) return;
    this.#lastFlushStart = performance.now();
    this.#flushing = this.#flush().finally(() => {
      this.#flushing = null;
      this.#readAfter();
    });
  }

  #cancelScheduledFlush(): void {
    this.#cancelScheduled?.();
    this.#cancelScheduled = null;
  }

  async #flush(): Promise<void> {
    const batch = this.#pending;
    this.#pending = new Map();
    for (const [workspaceId, ids] of batch) {
      if (!this.#streams.has(workspaceId)) continue;
      let runs: FlowRun[];
      try {
        runs = await getFlowRunsByIds(this.sql, workspaceId, [...ids]);
      } catch (error) {
        // The streams stay open; their clients re-read on their own schedule.
        this.logger.warn({ err: error, workspaceId }, 'cannot read changed runs for the event streams');
        continue;
      }
      if (runs.length === 0) continue;
      const text = runs.map((run) => `data: ${JSON.stringify(run)}\n\n`).join('');
      for (const sub of [...(this.#streams.get(workspaceId) ?? [])]) sub.write(text);
    }
  }
}
