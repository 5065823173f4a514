import type { OutpostEvent } from '@outpost/sdk/contracts';
import type postgres from 'postgres';
import { afterEach } from 'vitest';
import type { AutomationEngine } from '../src/automations/engine.js';
import { insertEvents } from '../src/events/db/events.js';

/** Reads a Server-Sent Events response: data events as parsed JSON, comment lines kept apart. */
export class EventReader {
  readonly events: unknown[] = [];
  readonly comments: string[] = [];
  #buffer = '';
  #done = false;
  #waiters = new Set<() => void>();
  readonly finished: Promise<void>;

  constructor(readonly response: Response) {
    const body = response.body;
    if (!body) throw new Error('the response has no body');
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    this.finished = (async () => {
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          this.#take(value);
        }
      } catch {
        // aborted by the test
      } finally {
        this.#done = true;
        this.#wake();
      }
    })();
  }

  get done(): boolean {
    return this.#done;
  }

  #take(text: string): void {
    this.#buffer += text;
    for (;;) {
      const end = this.#buffer.indexOf('\n\n');
      if (end < 0) break;
      const block = this.#buffer.slice(0, end);
      this.#buffer = this.#buffer.slice(end + 2);
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) this.comments.push(line.slice(1).trim());
        else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
      }
      if (data.length > 0) this.events.push(JSON.parse(data.join('\n')));
    }
    this.#wake();
  }

  #wake(): void {
    for (const wake of this.#waiters) wake();
  }

  /** Resolves with the first event (from index `from`) matching `match`; fails after `timeoutMs` or when the stream ends. */
  waitFor<T>(match: (event: T) => boolean, timeoutMs = 10_000, from = 0): Promise<T> {
    const events = () => `events: ${JSON.stringify(this.events)}`;
    return this.#waitUntil(
      () => (this.events.slice(from) as T[]).find(match),
      () => `the stream ended first; ${events()}`,
      () => `no matching event within ${timeoutMs} ms; ${events()}`,
      timeoutMs,
    );
  }

  /** Resolves once a comment line equal to `text` arrived. */
  async waitForComment(text: string, timeoutMs = 10_000): Promise<void> {
    await this.#waitUntil(
      () => (this.comments.includes(text) ? true : undefined),
      () => 'the stream ended first',
      () => `no "${text}" within ${timeoutMs} ms`,
      timeoutMs,
    );
  }

  /** Resolves with what `found` gives once it gives something, checked as each block arrives. */
  #waitUntil<T>(found: () => T | undefined, ended: () => string, timedOut: () => string, timeoutMs: number): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const value = found();
        if (value !== undefined) return finish(() => resolve(value));
        if (this.#done) return finish(() => reject(new Error(ended())));
      };
      const timer = setTimeout(() => finish(() => reject(new Error(timedOut()))), timeoutMs);
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        settle();
      };
      this.#waiters.add(check);
      check();
    });
  }
}

/** Opens the run event stream over real HTTP with the given headers. */
export async function openEvents(
  baseUrl: string,
  headers: Record<string, string>,
  signal: AbortSignal,
): Promise<{ response: Response; reader: EventReader | null }> {
  const response = await fetch(`${baseUrl}/api/v1/flow-runs/events`, { headers, signal });
  return { response, reader: response.ok ? new EventReader(response) : null };
}

/**
 * Opens the event ledger's stream (`/api/v1/events/stream` and `query`) with a bearer key over real
 * HTTP, and resolves once it is an event stream the server says is connected; `signal` ends it.
 */
export async function streamEvents(
  baseUrl: string,
  key: string,
  query: string,
  signal: AbortSignal,
  headers: Record<string, string> = {},
): Promise<EventReader> {
  const response = await fetch(`${baseUrl}/api/v1/events/stream${query}`, {
    headers: { authorization: `Bearer ${key}`, ...headers },
    signal,
  });
  if (response.status !== 200) throw new Error(`the event stream answered ${response.status}: ${await response.text()}`);
  const type = response.headers.get('content-type');
  if (type !== 'text/event-stream; charset=utf-8') throw new Error(`the event stream answered ${type}`);
  const reader = new EventReader(response);
  await reader.waitForComment('connected');
  return reader;
}

/**
 * A suite's ledger streams: the function it returns opens one as `streamEvents` does, on the server
 * `baseUrl` names when called (a suite starts its server in `beforeAll`), and each stream is ended
 * after the test that opened it.
 */
export function eventStreams(
  baseUrl: () => string,
): (key: string, query?: string, headers?: Record<string, string>) => Promise<EventReader> {
  const aborts: AbortController[] = [];
  afterEach(() => {
    for (const abort of aborts.splice(0)) abort.abort();
  });
  return (key, query = '', headers = {}) => {
    const abort = new AbortController();
    aborts.push(abort);
    return streamEvents(baseUrl(), key, query, abort.signal, headers);
  };
}

/** The kinds of a page of events, in order. */
export const eventKinds = (items: OutpostEvent[]): string[] => items.map((e) => e.kind);

/**
 * Gives a new test database the event partitions months of use leave: one a month from `since` on,
 * after an empty `events_history` ending where they start, each listed in `table_partitions` and
 * made by `ensure_partitions` (migration 0044) as the server makes them.
 */
export async function eventMonthsSince(sql: postgres.Sql, since: Date): Promise<void> {
  const first = new Date(Date.UTC(since.getUTCFullYear(), since.getUTCMonth(), 1));
  await sql.begin(async (tx) => {
    const [held] = await tx<{ n: number }[]>`SELECT count(*)::int AS n FROM events`;
    if (held?.n !== 0) throw new Error('eventMonthsSince: the database already holds events');
    for (const part of await tx<{ name: string }[]>`SELECT name FROM table_partitions WHERE parent = 'events'`) {
      await tx`DROP TABLE ${tx(part.name)}`;
    }
    await tx`DELETE FROM table_partitions WHERE parent = 'events'`;
    await tx.unsafe(`CREATE TABLE events_history PARTITION OF events FOR VALUES FROM (MINVALUE) TO ('${first.toISOString()}')`);
    await tx`INSERT INTO table_partitions (name, parent, starts, ends) VALUES ('events_history', 'events', '-infinity', ${first})`;
    await tx`SELECT ensure_partitions('events', 2)`;
  });
}

/** Stores one event of `kind` in the workspace, as an API call would; its id. */
export async function emitEvent(
  sql: postgres.Sql,
  workspaceId: string,
  kind: string,
  payload: Record<string, unknown> = {},
): Promise<string> {
  const [id] = await insertEvents(sql, [
    { workspaceId, kind, resource: { kind: 'api-key', id: 'test', name: null }, payload, source: 'api' },
  ]);
  return id as string;
}

/** Runs rounds until one reads nothing: every event stored so far has been through the engine, and due windows were closed. */
export async function drainAutomations(engine: AutomationEngine, sql: postgres.Sql): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const round = await engine.round(sql);
    if (round.events === 0 && round.steppedOver === 0) return;
  }
  throw new Error('the automations engine did not drain the ledger in 100 rounds');
}
