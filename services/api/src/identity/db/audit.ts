import type { AuditActorKind, AuditChainHead, AuditEntry } from '@outpost/sdk/contracts';
import type postgres from 'postgres';
import type { Db } from '../../db/client.js';
import type { auditLog, Row } from '../../db/schema.js';
import { iso } from '../../db/values.js';

// The audit log is append-only: this module only inserts and reads, and a trigger (migration
// 0004_governance) refuses UPDATE, DELETE and TRUNCATE on the table, whoever asks.

export interface NewAuditEntry {
  workspaceId: string;
  actorKind: AuditActorKind;
  actorId: string | null;
  action: string;
  method: string | null;
  path: string | null;
  status: number;
  clientAddress: string | null;
  userAgent: string | null;
  requestId: string | null;
  targetIds: Record<string, string>;
  resultIds: Record<string, string>;
  summary: Record<string, unknown>;
}

export interface AuditFilters {
  actorId?: string | undefined;
  action?: string | undefined;
  objectId?: string | undefined;
  outcome?: 'success' | 'failure' | undefined;
  since?: Date | undefined;
  until?: Date | undefined;
}

interface AuditRow
  extends Pick<
    Row<typeof auditLog>,
    | 'id'
    | 'workspace_id'
    | 'chain_seq'
    | 'chain_prev'
    | 'chain_hash'
    | 'occurred_at'
    | 'actor_kind'
    | 'actor_id'
    | 'action'
    | 'method'
    | 'path'
    | 'status'
    | 'client_address'
    | 'user_agent'
    | 'request_id'
    | 'target_ids'
    | 'result_ids'
    | 'summary'
  > {
  actor_label: string | null;
}

function toEntry(row: AuditRow): AuditEntry {
  return {
    id: row.id,
    workspaceId: row.workspace_id,
    chain: { seq: row.chain_seq, prev: row.chain_prev, hash: row.chain_hash },
    occurredAt: iso(row.occurred_at),
    actor: { kind: row.actor_kind, id: row.actor_id, label: row.actor_label },
    action: row.action,
    method: row.method,
    path: row.path,
    status: row.status,
    clientAddress: row.client_address,
    userAgent: row.user_agent,
    requestId: row.request_id,
    targetIds: row.target_ids,
    resultIds: row.result_ids,
    summary: row.summary as AuditEntry['summary'],
  };
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: a NUL is what this escapes
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * The text as Postgres stores it: a NUL, which text and jsonb refuse, as the six characters
 * `\u0000`, and each lone surrogate, which jsonb refuses, as U+FFFD. Without this a call carrying
 * such a byte in its path, a parameter or its body would be answered while its entry failed to
 * insert, and a refusal could be kept out of the log at will.
 */
export function storableText(value: string): string {
  return value.replace(UNSTORABLE, (c) => (c === '\u0000' ? '\\u0000' : '\uFFFD'));
}

function storableValue(value: unknown): unknown {
  if (typeof value === 'string') return storableText(value);
  if (Array.isArray(value)) return value.map(storableValue);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[storableText(k)] = storableValue(v);
    return out;
  }
  return value;
}

const storableOrNull = (value: string | null) => (value === null ? null : storableText(value));

/** The entry with every text Postgres would refuse escaped: what the caller sent is recorded, never dropped. */
export function storableEntry<E extends PendingAuditEntry>(e: E): E {
  return {
    ...e,
    action: storableText(e.action),
    path: storableOrNull(e.path),
    clientAddress: storableOrNull(e.clientAddress),
    userAgent: storableOrNull(e.userAgent),
    requestId: storableOrNull(e.requestId),
    targetIds: storableValue(e.targetIds) as Record<string, string>,
    summary: storableValue(e.summary) as Record<string, unknown>,
    ...('resultIds' in e ? { resultIds: storableValue(e.resultIds) } : {}),
  };
}

export async function appendAuditEntry(db: Db, entry: NewAuditEntry): Promise<void> {
  const e = storableEntry(entry);
  const objectIds = [...new Set([...Object.values(e.targetIds), ...Object.values(e.resultIds)])];
  await db`
    INSERT INTO audit_log (workspace_id, actor_kind, actor_id, action, method, path, status, client_address, user_agent,
                           request_id, target_ids, result_ids, object_ids, summary)
    VALUES (${e.workspaceId}, ${e.actorKind}, ${e.actorId}, ${e.action}, ${e.method}, ${e.path}, ${e.status}, ${e.clientAddress},
            ${e.userAgent}, ${e.requestId}, ${db.json(e.targetIds)}, ${db.json(e.resultIds)}, ${db.array(objectIds)}::text[],
            ${db.json(e.summary as never)})`;
}

/** Records an operator's change in each workspace: the operator has no id, the change no request. */
export async function appendOperatorEntries(
  db: Db,
  workspaceIds: Iterable<string>,
  entry: { action: string; targetIds: Record<string, string>; summary: Record<string, unknown> },
): Promise<void> {
  for (const workspaceId of new Set(workspaceIds)) {
    await appendAuditEntry(db, {
      workspaceId,
      actorKind: 'operator',
      actorId: null,
      method: null,
      path: null,
      status: 200,
      clientAddress: null,
      userAgent: null,
      requestId: null,
      resultIds: {},
      ...entry,
    });
  }
}

/** An entry whose result ids the statement writing it computes (auditInsertFrom). */
export type PendingAuditEntry = Omit<NewAuditEntry, 'resultIds'>;

/**
 * The INSERT of an entry for a change made by the same statement, for a data-modifying CTE: one row
 * per row of `from`, with result ids computed from it (`ids`, each a name and a text expression over
 * `from`; nulls are left out, as collectIds leaves them out) and object ids as appendAuditEntry
 * makes them (target ids, then result ids, each once). Returns `result_ids`.
 */
export function auditInsertFrom(
  db: Db,
  entry: PendingAuditEntry,
  from: postgres.PendingQuery<postgres.Row[]>,
  ids: { name: string; value: postgres.PendingQuery<postgres.Row[]> }[],
): postgres.PendingQuery<postgres.Row[]> {
  const e = storableEntry(entry);
  const targets = [...new Set(Object.values(e.targetIds))];
  const pairs = ids.flatMap(({ name, value }, i) => (i === 0 ? [db`${name}::text, ${value}`] : [db`, ${name}::text, ${value}`]));
  const values = ids.map(({ value }, i) => (i === 0 ? value : db`, ${value}`));
  return db`
    INSERT INTO audit_log (workspace_id, actor_kind, actor_id, action, method, path, status, client_address, user_agent,
                           request_id, target_ids, result_ids, object_ids, summary)
    SELECT ${e.workspaceId}::uuid, ${e.actorKind}, ${e.actorId}::uuid, ${e.action}, ${e.method}, ${e.path}, ${e.status}::int,
           ${e.clientAddress}, ${e.userAgent}, ${e.requestId}, ${db.json(e.targetIds)}, x.result_ids,
           ARRAY(SELECT t.v FROM unnest(${db.array(targets)}::text[] || x.result_values) WITH ORDINALITY AS t(v, n)
                 GROUP BY t.v ORDER BY min(t.n)),
           ${db.json(e.summary as never)}
    FROM ${from}
    CROSS JOIN LATERAL (SELECT jsonb_strip_nulls(jsonb_build_object(${pairs})) AS result_ids,
                               array_remove(ARRAY[${values}]::text[], NULL) AS result_values) x
    RETURNING result_ids`;
}

function where(db: Db, workspaceId: string, f: AuditFilters) {
  return db`
    a.workspace_id = ${workspaceId}
    ${f.actorId ? db`AND a.actor_id = ${f.actorId}` : db``}
    ${f.action ? db`AND a.action = ${f.action}` : db``}
    ${f.objectId ? db`AND ${f.objectId} = ANY(a.object_ids)` : db``}
    ${f.outcome === 'success' ? db`AND a.status < 400` : f.outcome === 'failure' ? db`AND a.status >= 400` : db``}
    ${f.since ? db`AND a.occurred_at >= ${f.since}` : db``}
    ${f.until ? db`AND a.occurred_at < ${f.until}` : db``}`;
}

// The label is read at query time: who a key or user is now is what a reviewer looks up anyway,
// and the write path stays one INSERT with no lookups.
const SELECT = (db: Db) => db`
  SELECT a.id::text AS id, a.workspace_id, a.chain_seq::text AS chain_seq, a.chain_prev, a.chain_hash, a.occurred_at, a.actor_kind, a.actor_id, coalesce(u.email, k.name, ot.name) AS actor_label, a.action,
         a.method, a.path, a.status, a.client_address, a.user_agent, a.request_id, a.target_ids, a.result_ids, a.summary
  FROM audit_log a
  LEFT JOIN api_keys k ON a.actor_kind = 'api_key' AND k.id = a.actor_id
  LEFT JOIN users u ON a.actor_kind = 'user' AND u.id = a.actor_id
  LEFT JOIN organisation_tokens ot ON a.actor_kind = 'organisation_token' AND ot.id = a.actor_id`;

/** Newest first, entries older than `before` (an entry id) when given. */
export async function listAuditEntries(
  db: Db,
  workspaceId: string,
  filters: AuditFilters,
  before: string | null,
  limit: number,
): Promise<AuditEntry[]> {
  const rows = await db<AuditRow[]>`
    ${SELECT(db)}
    WHERE ${where(db, workspaceId, filters)} ${before ? db`AND a.id < ${before}::bigint` : db``}
    ORDER BY a.id DESC
    LIMIT ${limit}`;
  return rows.map(toEntry);
}

/**
 * A workspace's entries in chain order, after place `afterSeq` of its chain. Entries commit in chain
 * order (the trigger holds the chain's head until its entry commits), so a reader that resumes
 * after the last place it read never skips an entry that commits later.
 */
export async function readAuditEntriesAfter(
  db: Db,
  workspaceId: string,
  filters: AuditFilters,
  afterSeq: string | null,
  limit: number,
): Promise<AuditEntry[]> {
  const rows = await db<AuditRow[]>`
    ${SELECT(db)}
    WHERE ${where(db, workspaceId, filters)} ${afterSeq ? db`AND a.chain_seq > ${afterSeq}::bigint` : db``}
    ORDER BY a.chain_seq
    LIMIT ${limit}`;
  return rows.map(toEntry);
}

/** The head of each workspace's chain (place 0 and 64 zeros for a workspace with no entry yet). */
export async function readChainHeads(db: Db, workspaceIds: readonly string[]): Promise<AuditChainHead[]> {
  const rows = await db<{ workspace_id: string; seq: string; hash: string }[]>`
    SELECT w.id AS workspace_id, coalesce(h.seq, 0)::text AS seq, coalesce(h.hash, repeat('0', 64)) AS hash
    FROM unnest(${db.array([...workspaceIds])}::uuid[]) WITH ORDINALITY AS w(id, n)
    LEFT JOIN audit_chain_heads h ON h.workspace_id = w.id
    ORDER BY w.n`;
  return rows.map((r) => ({ workspaceId: r.workspace_id, seq: r.seq, hash: r.hash }));
}

/**
 * Every matching entry of several workspaces: each workspace's in chain order, the workspaces merged
 * by time (then entry id), read a page per workspace at a time so memory stays bounded by the page
 * size times the number of workspaces, however long the logs are. `pageSize` may be a function of the
 * workspaces still being read, so a fixed buffer is shared among fewer as they run out.
 */
export async function* mergedAuditEntries(
  db: Db,
  workspaceIds: readonly string[],
  filters: AuditFilters,
  pageSize: number | ((liveWorkspaces: number) => number),
  firstAfterSeq: string | null = null,
): AsyncGenerator<AuditEntry> {
  interface Cursor {
    workspaceId: string;
    buffer: AuditEntry[];
    afterSeq: string | null;
    done: boolean;
  }
  const cursors: Cursor[] = workspaceIds.map((workspaceId) => ({
    workspaceId,
    buffer: [],
    afterSeq: firstAfterSeq,
    done: false,
  }));
  // Workspaces not yet read to their end: a page size given as a function grows as they run out.
  let live = cursors.length;
  const refill = async (c: Cursor) => {
    if (c.done || c.buffer.length > 0) return;
    const size = typeof pageSize === 'number' ? pageSize : pageSize(live);
    const page = await readAuditEntriesAfter(db, c.workspaceId, filters, c.afterSeq, size);
    c.buffer = page;
    c.afterSeq = page.at(-1)?.chain.seq ?? c.afterSeq;
    if (page.length < size) {
      c.done = true;
      live--;
    }
  };
  const earlier = (a: AuditEntry, b: AuditEntry) =>
    a.occurredAt < b.occurredAt || (a.occurredAt === b.occurredAt && BigInt(a.id) < BigInt(b.id));
  for (let i = 0; i < cursors.length; i += 4) await Promise.all(cursors.slice(i, i + 4).map(refill));
  // The cursors with entries, as a binary heap on their first entry: each entry costs O(log n)
  // comparisons, where a scan of every workspace's cursor cost n (100 for 100 workspaces).
  const heap = new MinHeap<Cursor>((a, b) => earlier(a.buffer[0] as AuditEntry, b.buffer[0] as AuditEntry));
  for (const c of cursors) if (c.buffer.length > 0) heap.push(c);
  for (;;) {
    const next = heap.pop();
    if (!next) return;
    yield next.buffer.shift() as AuditEntry;
    await refill(next);
    if (next.buffer.length > 0) heap.push(next);
  }
}

/** A binary min-heap under `less`. */
class MinHeap<T> {
  readonly #items: T[] = [];
  constructor(private readonly less: (a: T, b: T) => boolean) {}

  push(item: T): void {
    const items = this.#items;
    items.push(item);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(items[i] as T, items[parent] as T)) break;
      [items[i], items[parent]] = [items[parent] as T, items[i] as T];
      i = parent;
    }
  }

  pop(): T | undefined {
    const items = this.#items;
    const top = items[0];
    const last = items.pop();
    if (items.length === 0 || last === undefined) return top;
    items[0] = last;
    for (let i = 0; ; ) {
      const left = 2 * i + 1;
      const right = left + 1;
      let least = i;
      if (left < items.length && this.less(items[left] as T, items[least] as T)) least = left;
      if (right < items.length && this.less(items[right] as T, items[least] as T)) least = right;
      if (least === i) break;
      [items[i], items[least]] = [items[least] as T, items[i] as T];
      i = least;
    }
    return top;
  }
}
