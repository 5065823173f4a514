import postgres from 'postgres';
import { BACKFILLS_CHANNEL, LEDGER_CHANNEL, NOTIFICATIONS_CHANNEL, RUN_EVENTS_CHANNEL, RUNS_CHANNEL } from '../db/channels.js';
import type { Logger } from '../logger.js';
import { parseRunEventPayload } from './db/run-events.js';

/** Follows flow-run changes announced on the run-events channel (the live event streams). */
export interface RunChangeListener {
  changed(workspaceId: string, runId: string): void;
  /** The connection was lost and is back: changes in between were missed. */
  resync(): void;
}

const MIN_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 30_000;

/** A waiting claim's interest in one pool; nudges that arrive between waits are not lost. */
export class PoolSubscription {
  #pending = false;
  #wake: (() => void) | null = null;

  constructor(
    readonly poolId: string,
    private readonly release: (sub: PoolSubscription) => void,
  ) {}

  /** Called on NOTIFY for the pool, on reconnect and on shutdown. */
  nudge(): void {
    this.#pending = true;
    this.#wake?.();
  }

  /**
   * Resolves on the next nudge (at once if one came since the last wait), after `ms`, or when
   * `signal` aborts: true when a nudge ended it, false when time ran out or the signal aborted.
   */
  wait(ms: number, signal: AbortSignal): Promise<boolean> {
    if (this.#pending) {
      this.#pending = false;
      return Promise.resolve(true);
    }
    if (signal.aborted || ms <= 0) return Promise.resolve(false);
    return new Promise((resolve) => {
      const end = (nudged: boolean) => {
        clearTimeout(timer);
        signal.removeEventListener('abort', ended);
        this.#wake = null;
        this.#pending = false;
        resolve(nudged);
      };
      const ended = () => end(false);
      const timer = setTimeout(ended, ms);
      signal.addEventListener('abort', ended, { once: true });
      this.#wake = () => end(true);
    });
  }

  close(): void {
    this.#wake?.();
    this.release(this);
  }
}

/**
 * LISTEN/NOTIFY as a latency hint for waiting claims: a run created or rescheduled in a pool wakes
 * the claims waiting on it. It is never the only path: a waiting claim also wakes at the next
 * due time and at its deadline, so a lost connection only costs latency. The listener has its own
 * unpooled connection, reconnects with capped exponential backoff and jitter, and wakes every
 * waiter after reconnecting so notifications missed meanwhile are re-polled.
 */
export class RunNotifier {
  readonly #subs = new Map<string, Set<PoolSubscription>>();
  readonly #runListeners = new Set<RunChangeListener>();
  /** Waiting claims' held runs (run id → their callbacks): a cancel wakes the claim that holds it. */
  readonly #runWatchers = new Map<string, Set<() => void>>();
  /** Channels whose NOTIFY only says "look now": each listener is also called after a reconnect. */
  readonly #hints = new Map<string, Set<() => void>>([
    [BACKFILLS_CHANNEL, new Set()],
    [LEDGER_CHANNEL, new Set()],
    [NOTIFICATIONS_CHANNEL, new Set()],
  ]);
  #sql: postgres.Sql | null = null;
  #failures = 0;
  #timer: NodeJS.Timeout | null = null;
  #closed = false;
  #connected = false;

  constructor(
    private readonly url: string,
    private readonly logger: Logger,
  ) {}

  get connected(): boolean {
    return this.#connected;
  }

  start(): Promise<void> {
    return this.#connect();
  }

  subscribe(poolId: string): PoolSubscription {
    const sub = new PoolSubscription(poolId, (s) => this.#subs.get(s.poolId)?.delete(s));
    if (this.#closed) {
      sub.nudge();
      return sub;
    }
    let set = this.#subs.get(poolId);
    if (!set) {
      set = new Set();
      this.#subs.set(poolId, set);
    }
    set.add(sub);
    return sub;
  }

  /** One listener per API process serves every event stream; returns the function that removes it. */
  onRunChange(listener: RunChangeListener): () => void {
    this.#runListeners.add(listener);
    return () => this.#runListeners.delete(listener);
  }

  /**
   * Calls `onChange` when one of these runs changes, and after a reconnect (changes may have been
   * missed); returns the function that stops it. Run ids are unique across workspaces.
   */
  watchRuns(runIds: readonly string[], onChange: () => void): () => void {
    for (const id of runIds) {
      let set = this.#runWatchers.get(id);
      if (!set) {
        set = new Set();
        this.#runWatchers.set(id, set);
      }
      set.add(onChange);
    }
    return () => {
      for (const id of runIds) {
        const set = this.#runWatchers.get(id);
        set?.delete(onChange);
        if (set?.size === 0) this.#runWatchers.delete(id);
      }
    };
  }

  /**
   * Called when a backfill may have work (a run of it left flight, it was created, resumed or
   * re-queued), and after a reconnect; returns the function that removes it.
   */
  onBackfillNudge(listener: () => void): () => void {
    return this.#onHint(BACKFILLS_CHANNEL, listener);
  }

  /**
   * Called when a transaction that wrote events committed (the ledger's one NOTIFY per transaction),
   * and after a reconnect; returns the function that removes it.
   */
  onLedgerEvents(listener: () => void): () => void {
    return this.#onHint(LEDGER_CHANNEL, listener);
  }

  /**
   * Called when a notification delivery became due (created or retried), and after a reconnect;
   * returns the function that removes it.
   */
  onNotificationsDue(listener: () => void): () => void {
    return this.#onHint(NOTIFICATIONS_CHANNEL, listener);
  }

  #onHint(channel: string, listener: () => void): () => void {
    const listeners = this.#hints.get(channel) as Set<() => void>;
    listeners.add(listener);
    return () => listeners.delete(listener);
  }

  /** Stops listening and wakes every waiting claim so it can answer at once. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#wakeAll();
    this.#subs.clear();
    const sql = this.#sql;
    this.#sql = null;
    this.#connected = false;
    if (sql) await sql.end({ timeout: 1 });
  }

  #wakeAll(): void {
    for (const set of this.#subs.values()) for (const sub of set) sub.nudge();
  }

  async #connect(): Promise<void> {
    if (this.#closed) return;
    // `onnotify` is the option postgres.js' own listen() is built on; a connection of our own lets us see it close.
    const options = {
      max: 1,
      idle_timeout: 0,
      max_lifetime: null,
      onnotice: () => {},
      // LISTEN takes no arrays; see connectDatabase for why a type fetch per connection is avoided.
      fetch_types: false,
      connection: { application_name: 'outpost-api-listener' },
      onnotify: (channel: string, payload: string) => {
        const hinted = this.#hints.get(channel);
        if (hinted) {
          for (const listener of hinted) listener();
          return;
        }
        if (channel === RUN_EVENTS_CHANNEL) {
          const change = parseRunEventPayload(payload);
          if (!change) return;
          for (const listener of this.#runListeners) listener.changed(change.workspaceId, change.runId);
          for (const watcher of this.#runWatchers.get(change.runId) ?? []) watcher();
          return;
        }
        for (const sub of this.#subs.get(payload) ?? []) sub.nudge();
      },
      onclose: () => this.#lost(sql),
    };
    const sql = postgres(this.url, options as unknown as postgres.Options<Record<string, postgres.PostgresType>>);
    this.#sql = sql;
    try {
      await sql`LISTEN ${sql(RUNS_CHANNEL)}`;
      await sql`LISTEN ${sql(RUN_EVENTS_CHANNEL)}`;
      for (const channel of this.#hints.keys()) await sql`LISTEN ${sql(channel)}`;
    } catch (error) {
      this.logger.warn({ err: error }, 'run notifier cannot listen; waiting claims fall back to polling');
      this.#lost(sql);
      return;
    }
    if (this.#closed || this.#sql !== sql) return;
    if (this.#failures > 0) {
      this.logger.info('run notifier reconnected');
      for (const listener of this.#runListeners) listener.resync();
      for (const watchers of this.#runWatchers.values()) for (const watcher of watchers) watcher();
      for (const listeners of this.#hints.values()) for (const listener of listeners) listener();
    }
    this.#failures = 0;
    this.#connected = true;
    this.#wakeAll();
  }

  #lost(sql: postgres.Sql): void {
    if (this.#sql !== sql) return;
    this.#sql = null;
    this.#connected = false;
    void sql.end({ timeout: 0 }).catch(() => undefined);
    if (this.#closed) return;
    const ceiling = Math.min(MAX_BACKOFF_MS, MIN_BACKOFF_MS * 2 ** this.#failures);
    this.#failures++;
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    if (this.#failures === 1) this.logger.warn('run notifier lost its connection; reconnecting');
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.#connect();
    }, delay);
  }
}
