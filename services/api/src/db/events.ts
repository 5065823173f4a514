import type { EventResource, EventSource, OutpostEvent } from '@outpost/sdk/contracts';
import type { Db } from './client.js';
import type { events, Row } from './schema.js';
import { iso } from './values.js';

/** The channel the ledger's statement trigger notifies once per transaction that wrote events. */
export const LEDGER_CHANNEL = 'outpost_events';

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
  const rows = batch.map((e) => ({
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
  const stored = await db`
    INSERT INTO events (workspace_id, id, occurred_at, kind, resource_kind, resource_id, resource_name, related, payload, source, source_id)
    SELECT x.workspace_id, x.id, x.occurred_at, x.kind, x.resource_kind, x.resource_id, x.resource_name,
           coalesce(x.related, '[]'::jsonb), coalesce(x.payload, '{}'::jsonb), x.source, x.source_id
    FROM jsonb_to_recordset(${db.json(rows as never)}::jsonb) AS x(
      workspace_id uuid, id uuid, occurred_at timestamptz, kind text, resource_kind text, resource_id text,
      resource_name text, related jsonb, payload jsonb, source text, source_id text)
    ON CONFLICT (workspace_id, id) DO NOTHING`;
  return { ids: rows.map((r) => r.id), stored: stored.count };
}

/** Where a reader of the whole ledger stands: the last event it read, in commit order. */
export interface LedgerCursor {
  txid: string;
  seq: string;
}

export const LEDGER_START: LedgerCursor = { txid: '0', seq: '0' };

/**
 * The next events of every workspace after `cursor`, in commit order, none of them from a
 * transaction that may still be running: events are read in `(txid, seq)` order, only below the
 * oldest transaction still in progress. Every transaction that commits later has a txid at or above
 * that bound, so it sorts after everything returned here: a reader that advances its cursor to the
 * last row returned never skips an event, and never reads one twice.
 */
export async function readCommittedEvents(db: Db, cursor: LedgerCursor, limit: number): Promise<EventRow[]> {
  return db<EventRow[]>`
    SELECT e.* FROM events e
    WHERE (e.txid, e.seq) > (${cursor.txid}::xid8, ${cursor.seq}::int8)
      AND e.txid < pg_snapshot_xmin(pg_current_snapshot())
    ORDER BY e.txid, e.seq
    LIMIT ${limit}`;
}
