import type { Sql } from '../db/client.js';
import { EventStream } from '../http/event-stream.js';
import type { Logger } from '../logger.js';
import type { RunNotifier } from '../runs/run-notifier.js';
import { AUDIT_KIND_PREFIX, type EventFilters, hiddenKinds, kindMatches } from './db/event-list.js';
import { type EventRow, type LedgerCursor, readLedger, toEvent } from './db/events.js';

export interface EventHubOptions {
  /** A comment line this often keeps proxies from closing idle streams. @default 15000 */
  pingMs?: number;
  /** Notifications arriving within this long are read together. @default 25 */
  flushMs?: number;
  /**
   * The ledger is also read this often while streams are open, a safety net for a NOTIFY lost with a
   * dropped connection. @default 1000
   */
  pollMs?: number;
  /** A client this many bytes behind is disconnected; it reconnects with its last seq. @default 1048576 */
  maxBehindBytes?: number;
}

interface Subscriber {
  workspaceId: string;
  filters: EventFilters;
  /** Live events that arrive while the replay is still being read, written after it. */
  held: string[] | null;
  write(text: string): void;
  end(): void;
}

const READ_BATCH = 1000;
/** The most stored events a reconnecting stream replays; a client further behind pages through `GET /events`. */
const MAX_REPLAY = 1000;

function frame(row: EventRow): string {
  // The seq as the SSE id: a browser's EventSource sends it back as Last-Event-ID when it reconnects.
  return `id: ${row.seq}\ndata: ${JSON.stringify(toEvent(row))}\n\n`;
}

function matches(row: EventRow, f: EventFilters): boolean {
  if (f.withoutAudit && row.kind.startsWith(AUDIT_KIND_PREFIX)) return false;
  if (hiddenKinds(f).includes(row.kind)) return false;
  if (!kindMatches(row.kind, f.kinds)) return false;
  if (f.resourceId && row.resource_id !== f.resourceId && !row.related.some((r) => r.id === f.resourceId)) return false;
  return true;
}

/**
 * The live event streams of one API process. The ledger's events are read as they commit
 * (`readLedger`) from one cursor for every workspace, woken by the ledger's NOTIFY and by a short
 * poll, so a stream never skips an event committed late with a lower seq and never shows one twice,
 * and a transaction left open elsewhere holds back nothing but its own events; each event is written to the open streams of its workspace whose filters it matches. The
 * cursor exists only while streams are open: with none, nothing is read.
 */
export class EventHub {
  readonly #subs = new Set<Subscriber>();
  #cursor: LedgerCursor | null = null;
  #starting: Promise<LedgerCursor> | null = null;
  #flushTimer: NodeJS.Timeout | null = null;
  #flushing: Promise<void> | null = null;
  #again = false;
  #pingTimer: NodeJS.Timeout | null = null;
  #pollTimer: NodeJS.Timeout | null = null;
  #closed = false;
  readonly #unlisten: () => void;
  readonly #pingMs: number;
  readonly #flushMs: number;
  readonly #pollMs: number;
  readonly #maxBehindBytes: number;

  constructor(
    private readonly sql: Sql,
    notifier: RunNotifier,
    private readonly logger: Logger,
    options: EventHubOptions = {},
  ) {
    this.#pingMs = options.pingMs ?? 15_000;
    this.#flushMs = options.flushMs ?? 25;
    this.#pollMs = options.pollMs ?? 1000;
    this.#maxBehindBytes = options.maxBehindBytes ?? 1024 * 1024;
    this.#unlisten = notifier.onLedgerEvents(() => this.#scheduleFlush());
  }

  get size(): number {
    return this.#subs.size;
  }

  /**
   * A stream of the workspace's events matching `filters`: first the stored events after `afterSeq`
   * (when given) up to where the live part begins, then every event as it is committed.
   */
  async open(workspaceId: string, filters: EventFilters, afterSeq: string | null, signal: AbortSignal): Promise<Response> {
    if (this.#closed) throw new Error('the event hub is closed');
    const start = this.#cursor ?? (await this.#start());
    const stream = new EventStream({
      workspaceId,
      logger: this.logger,
      maxBehindBytes: this.#maxBehindBytes,
      onEnd: () => this.#remove(sub),
    });
    const sub: Subscriber = {
      workspaceId,
      filters,
      held: afterSeq === null ? null : [],
      write: (text) => {
        if (stream.ended) return;
        if (sub.held) {
          sub.held.push(text);
          return;
        }
        stream.write(text);
      },
      end: () => stream.end(),
    };
    stream.connected();
    // Added before the replay is read: what commits meanwhile is held and written after it.
    this.#cursor ??= start;
    const until = this.#cursor;
    this.#add(sub);
    signal.addEventListener('abort', () => sub.end(), { once: true });
    if (signal.aborted) sub.end();
    if (afterSeq !== null) {
      try {
        const replay = await this.#replay(workspaceId, filters, afterSeq, until);
        const held = sub.held ?? [];
        sub.held = null;
        for (const row of replay) sub.write(frame(row));
        for (const text of held) sub.write(text);
      } catch (error) {
        sub.end();
        throw error;
      }
    }
    return stream.response;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#unlisten();
    if (this.#flushTimer) clearTimeout(this.#flushTimer);
    this.#flushTimer = null;
    for (const sub of [...this.#subs]) sub.end();
    this.#stopTimers();
  }

  /** Where the live part begins: every event committed now counts as read (the replay covers those a client asks for). */
  #start(): Promise<LedgerCursor> {
    this.#starting ??= this.sql<{ now: string }[]>`SELECT pg_current_snapshot()::text AS now`
      .then(([row]) => {
        this.#cursor ??= { from: row?.now ?? '1:1:', to: null, txid: '0', seq: '0' };
        return this.#cursor;
      })
      .finally(() => {
        this.#starting = null;
      });
    return this.#starting;
  }

  /**
   * Stored events after `afterSeq` that the live part will not write: those visible in `until.from`,
   * and those of the window being read up to where it has been read.
   */
  async #replay(workspaceId: string, f: EventFilters, afterSeq: string, until: LedgerCursor): Promise<EventRow[]> {
    const rows = await this.sql<EventRow[]>`
      SELECT e.* FROM events e
      WHERE e.workspace_id = ${workspaceId} AND e.seq > ${afterSeq}::int8
        AND (pg_visible_in_snapshot(e.txid, ${until.from}::pg_snapshot)
             OR (${until.to}::pg_snapshot IS NOT NULL AND pg_visible_in_snapshot(e.txid, ${until.to}::pg_snapshot)
                 AND (e.txid, e.seq) <= (${until.txid}::xid8, ${until.seq}::int8)))
      ORDER BY e.seq
      LIMIT ${MAX_REPLAY * 5}`;
    return rows.filter((row) => matches(row, f)).slice(0, MAX_REPLAY);
  }

  #add(sub: Subscriber): void {
    this.#subs.add(sub);
    this.#pingTimer ??= setInterval(() => {
      for (const s of [...this.#subs]) s.write(': ping\n\n');
    }, this.#pingMs);
    this.#pollTimer ??= setInterval(() => this.#scheduleFlush(), this.#pollMs);
  }

  #remove(sub: Subscriber): void {
    if (!this.#subs.delete(sub)) return;
    if (this.#subs.size === 0) {
      this.#stopTimers();
      // Nobody listens: the next stream starts from the ledger's end, not from here.
      this.#cursor = null;
    }
  }

  #stopTimers(): void {
    if (this.#pingTimer) clearInterval(this.#pingTimer);
    if (this.#pollTimer) clearInterval(this.#pollTimer);
    this.#pingTimer = null;
    this.#pollTimer = null;
  }

  #scheduleFlush(): void {
    if (this.#closed || this.#subs.size === 0) return;
    if (this.#flushing) {
      this.#again = true;
      return;
    }
    if (this.#flushTimer) return;
    this.#flushTimer = setTimeout(() => {
      this.#flushTimer = null;
      this.#flushing = this.#flush().finally(() => {
        this.#flushing = null;
        if (this.#again) {
          this.#again = false;
          this.#scheduleFlush();
        }
      });
    }, this.#flushMs);
  }

  async #flush(): Promise<void> {
    for (;;) {
      const from = this.#cursor;
      if (!from || this.#subs.size === 0) return;
      let read: { rows: EventRow[]; next: LedgerCursor };
      try {
        read = await readLedger(this.sql, from, READ_BATCH);
      } catch (error) {
        // The streams stay open; the next poll reads again from the same cursor.
        this.logger.warn({ err: error }, 'cannot read the event ledger for the live streams');
        return;
      }
      // The last stream left while reading (the cursor was dropped) or a new start replaced it.
      if (this.#cursor !== from) return;
      const { rows, next } = read;
      this.#cursor = next;
      for (const row of rows) {
        const text = frame(row);
        for (const sub of this.#subs) if (sub.workspaceId === row.workspace_id && matches(row, sub.filters)) sub.write(text);
      }
      if (rows.length < READ_BATCH) return;
    }
  }
}
