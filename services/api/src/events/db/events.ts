import type { EventResource, EventSource, OutpostEvent } from '@outpost/sdk/contracts';
import type { Db } from '../../db/client.js';
import type { events, Row } from '../../db/schema.js';
import { iso } from '../../db/values.js';

/** An event to append; system events come from triggers (0020_event_ledger.sql), these from code. */
export interface NewEvent {
  workspaceId: string;
  /** A client-chosen id makes the insert idempotent (a repeat stores nothing). */
  id?: string | undefined;
  kind: string;
  occurredAt?: Date | undefined;
  resource: EventResource;
  related?: EventResource[] | undefined;
  payload?: Record<string, unknown> | undefined;
  source: EventSource;
  sourceId?: string | null | undefined;
}

export type EventRow = Row<typeof events>;

export function toEvent(row: EventRow): OutpostEvent {
  return {
    id: row.id,
    seq: String(row.seq),
    occurredAt: iso(row.occurred_at),
    receivedAt: iso(row.received_at),
    kind: row.kind,
    resource: { kind: row.resource_kind, id: row.resource_id, name: row.resource_name },
    related: row.related,
    payload: row.payload as OutpostEvent['payload'],
    source: row.source,
  };
}

/**
 * Appends events in one statement and returns their ids in input order (an id already stored in
 * the workspace is returned as it is, nothing written twice).
 */
export async function insertEvents(db: Db, batch: readonly NewEvent[]): Promise<string[]> {
  return (await storeEvents(db, batch)).ids;
}

/** insertEvents, telling also how many of the batch were stored (repeats of a stored id are not). */
export async function storeEvents(db: Db, batch: readonly NewEvent[]): Promise<{ ids: string[]; stored: number }> {
  if (batch.length === 0) return { ids: [], stored: 0 };
  const rows = eventRows(batch);
  const [row] = await db<{ stored: number }[]>`
    WITH ${storeEventRows(db, rows)}
    SELECT count(*)::int AS stored FROM stored`;
  return { ids: rows.map((r) => r.id), stored: row?.stored ?? 0 };
}

/** A batch as the rows `storeEventRows` stores, each with its id (given, or a new one). */
export function eventRows(batch: readonly NewEvent[]) {
  return batch.map((e) => ({
    workspace_id: e.workspaceId,
    id: e.id ?? crypto.randomUUID(),
    occurred_at: (e.occurredAt ?? new Date()).toISOString(),
    kind: e.kind,
    resource_kind: e.resource.kind,
    resource_id: e.resource.id,
    resource_name: e.resource.name ?? null,
    related: e.related ?? [],
    payload: e.payload ?? {},
    source: e.source,
    source_id: e.sourceId ?? null,
  }));
}

/**
 * The common table expressions that store a batch of events, for a statement's WITH (a
 * data-modifying WITH cannot nest): the rows travel as one jsonb parameter; their ids go into
 * `event_ids` first, and only the events whose id was new there go into `events` (`stored`, one row
 * an event stored). A unique index cannot span the ledger's monthly partitions (migration 0044), so
 * `event_ids` is what stores an id once: a repeat, in this batch or from any earlier one still kept,
 * stores nothing, and a concurrent statement with the same id waits for this one's transaction and
 * then skips it. Events are stored in the batch's order, so their `seq` follows it.
 */
export function storeEventRows(db: Db, rows: ReturnType<typeof eventRows>) {
  return db`
    input AS (
      SELECT x.* FROM ROWS FROM (jsonb_to_recordset(${db.json(rows as never)}::jsonb) AS (
        workspace_id uuid, id uuid, occurred_at timestamptz, kind text, resource_kind text, resource_id text,
        resource_name text, related jsonb, payload jsonb, source text, source_id text)) WITH ORDINALITY AS x(
        workspace_id, id, occurred_at, kind, resource_kind, resource_id, resource_name, related, payload, source, source_id, n)
    ), new_ids AS (
      INSERT INTO event_ids (workspace_id, id)
      SELECT workspace_id, id FROM input ORDER BY n
      ON CONFLICT (workspace_id, id) DO NOTHING
      RETURNING workspace_id, id
    ), stored AS (
      INSERT INTO events (workspace_id, id, occurred_at, kind, resource_kind, resource_id, resource_name, related, payload, source, source_id)
      SELECT x.workspace_id, x.id, x.occurred_at, x.kind, x.resource_kind, x.resource_id, x.resource_name,
             coalesce(x.related, '[]'::jsonb), coalesce(x.payload, '{}'::jsonb), x.source, x.source_id
      -- The first of the batch's rows with a new id; a later one with the same id is a repeat.
      FROM (SELECT DISTINCT ON (i.workspace_id, i.id) i.* FROM input i JOIN new_ids USING (workspace_id, id)
            ORDER BY i.workspace_id, i.id, i.n) x
      ORDER BY x.n
      RETURNING 1
    )`;
}

/**
 * Deletes, at most `batch` at a time, the ids of events retention dropped: those received before the
 * oldest partition of `events` still attached, a range of `event_ids_received_idx` (none while the
 * history partition, from -infinity, is kept). Returns how many it deleted.
 */
export async function deleteExpiredEventIds(db: Db, batch: number): Promise<number> {
  const result = await db`
    DELETE FROM event_ids WHERE ctid = ANY(ARRAY(
      SELECT ctid FROM event_ids
      WHERE received_at < (SELECT min(starts) FROM table_partitions WHERE parent = 'events' AND NOT detached)
      ORDER BY received_at LIMIT ${batch}))`;
  return result.count;
}

/**
 * Where a reader of the whole ledger stands, as Postgres snapshots (`pg_snapshot` text). Every event
 * visible in `from` has been read. `to`, when set, is the snapshot of the window being read: events
 * visible in `to` but not in `from`, in `(txid, seq)` order, read up to `(txid, seq)` so far. A
 * window is read in batches against the same `to`; once it is exhausted `to` becomes the next `from`.
 */
export interface LedgerCursor {
  from: string;
  to: string | null;
  /** The last event read in the window; `0`/`0` before the first. */
  txid: string;
  seq: string;
}

/** Before any event: every transaction id is at or above 1. */
export const LEDGER_START: LedgerCursor = { from: '1:1:', to: null, txid: '0', seq: '0' };

/** A cursor as its table columns store it (`snap_from`, `snap_to`, `txid`, `seq`). */
interface LedgerCursorColumns {
  snap_from: string;
  snap_to: string | null;
  txid: string;
  seq: string;
}

/** The tables a ledger reader keeps its one-row cursor in. */
export type LedgerCursorTable = 'automation_cursor' | 'wait_event_cursor';

/**
 * Locks a reader's cursor row for the rest of the transaction and returns it (LEDGER_START when the
 * row is missing). A reader on another replica waits here, then reads the cursor this one stored:
 * windows are taken one after another, each after the previous one was stored.
 */
export async function lockLedgerCursor(tx: Db, table: LedgerCursorTable, name: string): Promise<LedgerCursor> {
  const [row] = await tx<LedgerCursorColumns[]>`
    SELECT snap_from::text AS snap_from, snap_to::text AS snap_to, txid::text AS txid, seq::text AS seq
    FROM ${tx(table)} WHERE name = ${name} FOR UPDATE`;
  return row ? { from: row.snap_from, to: row.snap_to, txid: row.txid, seq: row.seq } : LEDGER_START;
}

/** Stores where the reader stands, in the transaction that handled what it read. */
export async function saveLedgerCursor(tx: Db, table: LedgerCursorTable, name: string, cursor: LedgerCursor): Promise<void> {
  await tx`
    UPDATE ${tx(table)}
    SET snap_from = ${cursor.from}::pg_snapshot, snap_to = ${cursor.to}::pg_snapshot, txid = ${cursor.txid}::xid8,
        seq = ${cursor.seq}::int8 ${table === 'automation_cursor' ? tx`, updated_at = now()` : tx``}
    WHERE name = ${name}`;
}

/**
 * The next events of every workspace after `cursor`, each exactly once over successive reads, and
 * the cursor to store once they are handled. An event becomes readable as soon as its transaction
 * commits, whatever other sessions of the cluster do: a reader compares two snapshots of the
 * database rather than waiting for the oldest running transaction to end, so a session left idle
 * in a transaction (another application, a `psql` left open) holds back only its own events.
 *
 * A window is the events visible in `to` (taken by the first read of the window, after the caller
 * locked its cursor row, so windows follow one another in time) and not in `from`: those of
 * transactions still running at `from` (`from`'s xip, looked up one by one) or started after it
 * (`txid >= xmax(from)`, a range of the `(txid, seq)` index). Within a window, events are read in
 * `(txid, seq)` order in batches of `limit`. A reader's own transaction counts as running in `to`
 * (Postgres leaves it out of its own snapshot's xip): the events the reader writes itself are read
 * in a later window, once committed.
 */
export async function readLedger(db: Db, cursor: LedgerCursor, limit: number): Promise<{ rows: EventRow[]; next: LedgerCursor }> {
  const rows = await db<Array<EventRow & { window_to: string }>>`
    WITH own AS (SELECT pg_current_xact_id_if_assigned() AS x, pg_current_snapshot() AS s),
    w AS (
      SELECT ${cursor.from}::pg_snapshot AS f,
             coalesce(${cursor.to}::pg_snapshot,
               CASE WHEN own.x IS NULL OR own.x >= pg_snapshot_xmax(own.s) THEN own.s
               ELSE (least(pg_snapshot_xmin(own.s), own.x)::text || ':' || pg_snapshot_xmax(own.s)::text || ':' ||
                     array_to_string(ARRAY(SELECT x FROM (SELECT pg_snapshot_xip(own.s) AS x UNION SELECT own.x) ids ORDER BY x), ','))::pg_snapshot
               END) AS t
      FROM own
    ),
    picked AS (
      (SELECT e.* FROM events e, w
       WHERE e.txid = ANY(ARRAY(SELECT pg_snapshot_xip(w.f))) AND pg_visible_in_snapshot(e.txid, w.t)
         AND (e.txid, e.seq) > (${cursor.txid}::xid8, ${cursor.seq}::int8)
       ORDER BY e.txid, e.seq LIMIT ${limit})
      UNION ALL
      (SELECT e.* FROM events e, w
       WHERE e.txid >= pg_snapshot_xmax(w.f) AND e.txid < pg_snapshot_xmax(w.t) AND pg_visible_in_snapshot(e.txid, w.t)
         AND (e.txid, e.seq) > (${cursor.txid}::xid8, ${cursor.seq}::int8)
       ORDER BY e.txid, e.seq LIMIT ${limit})
    ),
    batch AS (SELECT * FROM picked ORDER BY txid, seq LIMIT ${limit})
    SELECT batch.*, w.t::text AS window_to FROM w LEFT JOIN batch ON true ORDER BY batch.txid, batch.seq`;
  const to = rows[0]?.window_to ?? cursor.to ?? cursor.from;
  const events: EventRow[] = [];
  for (const row of rows) {
    if (row.id === null) continue;
    const { window_to: _, ...event } = row;
    events.push(event as EventRow);
  }
  const last = events.at(-1);
  const next: LedgerCursor =
    events.length < limit
      ? { from: to, to: null, txid: '0', seq: '0' }
      : { from: cursor.from, to, txid: String(last?.txid), seq: String(last?.seq) };
  return { rows: events, next };
}

/**
 * Whether the reader keeping its cursor in `table` has read every event committed by now: each is
 * visible in the cursor's `from` snapshot. (For tests and health checks; it scans the events not yet
 * below that snapshot's xmin.)
 */
export async function ledgerReadUpToNow(db: Db, table: LedgerCursorTable): Promise<boolean> {
  const [row] = await db<{ behind: boolean }[]>`
    SELECT EXISTS (
      SELECT 1 FROM events e, ${db(table)} c
      WHERE e.txid >= pg_snapshot_xmin(c.snap_from) AND NOT pg_visible_in_snapshot(e.txid, c.snap_from)
    ) OR NOT EXISTS (SELECT 1 FROM ${db(table)}) AS behind`;
  return row?.behind === false;
}
