import { auditEventKind, INTERNAL_EVENT_KINDS, legacyAuditKind, routes } from '@outpost/sdk/contracts';
import { type Db, type Sql, withPlanner } from '../../db/client.js';
import { kindListSql } from '../../db/event-index.js';
import { textArray } from '../../db/values.js';
import type { EventRow } from './events.js';

/** What `GET /events` and the live stream filter on; kinds are exact or a prefix ending in `*`. */
export interface EventFilters {
  kinds?: readonly string[] | undefined;
  resourceId?: string | undefined;
  resourceKind?: string | undefined;
  source?: string | undefined;
  since?: Date | undefined;
  until?: Date | undefined;
  /**
   * Leave out the audit log's own events (`audit.*`): a caller whose role may not read the audit
   * log must not read it through the ledger either, filtered or not.
   */
  withoutAudit?: boolean | undefined;
  /** Also read internal bookkeeping (INTERNAL_EVENT_KINDS); left out unless set or named exactly in `kinds`. */
  withInternal?: boolean | undefined;
}

const INTERNAL_KINDS = Object.keys(INTERNAL_EVENT_KINDS);

/** The internal kinds a read leaves out: none when asked for them, and never one its `kinds` names exactly. */
export function hiddenKinds(f: EventFilters): string[] {
  if (f.withInternal) return [];
  return INTERNAL_KINDS.filter((k) => !f.kinds?.includes(k));
}

/** The kinds of the events the audit log writes into the ledger (migration 0020). */
export const AUDIT_KIND_PREFIX = 'audit.';

/**
 * Each audited route's kind in both spellings, the one before migration 0060 and the one since
 * (`audit.apikeyscreate` ↔ `audit.api-keys-create`): a filter naming either finds both, so a saved
 * link, a script or a dashboard written against the old names still finds old and new events.
 */
const AUDIT_KIND_SPELLINGS = new Map<string, readonly string[]>();
const CURRENT_AUDIT_KIND = new Map<string, string>();
for (const action of Object.keys(routes)) {
  const legacy = legacyAuditKind(action);
  const current = auditEventKind(action);
  if (legacy === current) continue;
  AUDIT_KIND_SPELLINGS.set(legacy, [legacy, current]);
  AUDIT_KIND_SPELLINGS.set(current, [legacy, current]);
  CURRENT_AUDIT_KIND.set(legacy, current);
}

/**
 * An automation's expression with every audit kind of the old spelling in its text written the
 * current way (`"audit.deploymentspause"` → `"audit.deployments-pause"`), so an automation written
 * before migration 0060 keeps matching the events written since. Only whole kinds are rewritten.
 */
export function currentAuditKinds(expression: string): string {
  return expression.replace(/audit\.[a-z0-9_]+(?![a-z0-9_-])/g, (kind) => CURRENT_AUDIT_KIND.get(kind) ?? kind);
}

/** `kinds` with each exact audit kind joined by its other spelling (prefixes are left as they are). */
export function withAuditSpellings(kinds: readonly string[]): string[] {
  return [...new Set(kinds.flatMap((k) => AUDIT_KIND_SPELLINGS.get(k) ?? [k]))];
}

/** `"flow-run.*, model.metrics"` → the kinds to match, or undefined for every kind. */
export function parseKinds(text: string | undefined): string[] | undefined {
  const kinds = (text ?? '')
    .split(',')
    .map((k) => k.trim())
    .filter((k) => k !== '');
  return kinds.length > 0 ? withAuditSpellings(kinds) : undefined;
}

/** Whether an event's kind is one of `kinds` (the same rule as the SQL below, for the live stream). */
export function kindMatches(kind: string, kinds: readonly string[] | undefined): boolean {
  if (!kinds) return true;
  return kinds.some((k) => (k.endsWith('*') ? kind.startsWith(k.slice(0, -1)) : kind === k));
}

function likePrefix(prefix: string): string {
  return `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/**
 * The kinds filter. Exact kinds alone stay `kind = ANY(…)`, which walks events_kind_idx
 * (workspace, kind, seq) newest first; an OR with an empty LIKE list made the planner walk the whole
 * workspace's events instead (a kind that never occurs read them all).
 */
function kindCondition(db: Db, exact: string[], prefixes: string[]) {
  if (prefixes.length === 0) return db`AND e.kind = ANY(${textArray(db, exact)})`;
  if (exact.length === 0) return db`AND e.kind LIKE ANY(${textArray(db, prefixes)})`;
  return db`AND (e.kind = ANY(${textArray(db, exact)}) OR e.kind LIKE ANY(${textArray(db, prefixes)}))`;
}

function where(db: Db, workspaceId: string, f: EventFilters) {
  const exact = (f.kinds ?? []).filter((k) => !k.endsWith('*'));
  const prefixes = (f.kinds ?? []).filter((k) => k.endsWith('*')).map((k) => likePrefix(k.slice(0, -1)));
  const hidden = hiddenKinds(f);
  return db`
    e.workspace_id = ${workspaceId}
    ${hidden.length > 0 ? db`AND e.kind NOT IN ${db.unsafe(kindListSql(hidden))}` : db``}
    ${f.withoutAudit ? db`AND NOT starts_with(e.kind, ${AUDIT_KIND_PREFIX})` : db``}
    ${f.kinds ? kindCondition(db, exact, prefixes) : db``}
    ${
      f.resourceId
        ? db`AND (e.resource_id = ${f.resourceId} OR e.related @> jsonb_build_array(jsonb_build_object('id', ${f.resourceId}::text)))`
        : db``
    }
    ${f.resourceKind ? db`AND e.resource_kind = ${f.resourceKind}` : db``}
    ${f.source ? db`AND e.source = ${f.source}` : db``}
    ${f.since ? db`AND e.occurred_at >= ${f.since}` : db``}
    ${f.until ? db`AND e.occurred_at < ${f.until}` : db``}`;
}

/**
 * One page of a workspace's events by `seq`: newest first below `before`, or in ledger order above
 * `after`. Keyset on the primary key, so a page costs the same however deep the reader is.
 */
export async function listEvents(
  sql: Sql,
  workspaceId: string,
  filters: EventFilters,
  page: { order: 'asc' | 'desc'; before?: string | null; after?: string | null; limit: number },
): Promise<EventRow[]> {
  // A resource's events are planned for the resource named, every call. The statement's generic
  // plan, which the plan cache settles on after five calls, walks the workspace's events by seq in
  // every month and filters them, expecting matches to be common: for a run with a few events in a
  // ledger of monthly partitions, that is every event of the workspace read (206 ms against 11 ms
  // planned for the run, a year's database at `--scale 0.01`). A resource with many events is
  // still planned as that walk.
  return filters.resourceId
    ? withPlanner(sql, 'plan_cache_mode = force_custom_plan', (tx) => eventPage(tx, workspaceId, filters, page))
    : eventPage(sql, workspaceId, filters, page);
}

function eventPage(
  db: Db,
  workspaceId: string,
  filters: EventFilters,
  page: { order: 'asc' | 'desc'; before?: string | null; after?: string | null; limit: number },
): Promise<EventRow[]> {
  const bound =
    page.order === 'desc'
      ? page.before
        ? db`AND e.seq < ${page.before}::int8`
        : db``
      : page.after
        ? db`AND e.seq > ${page.after}::int8`
        : db``;
  return db<EventRow[]>`
    SELECT e.* FROM events e
    WHERE ${where(db, workspaceId, filters)} ${bound}
    ORDER BY e.seq ${page.order === 'desc' ? db`DESC` : db`ASC`}
    LIMIT ${page.limit}`;
}

/** A run as an event's resource, with its flow and deployment as related resources; null when there is no such run. */
export async function runAsResource(
  db: Db,
  workspaceId: string,
  runId: string,
): Promise<{
  resource: { kind: string; id: string; name: string | null };
  related: { kind: string; id: string; name: string | null }[];
} | null> {
  const [row] = await db<
    { name: string; flow_id: string; flow_name: string; deployment_id: string | null; deployment_name: string | null }[]
  >`
    SELECT r.name, f.id::text AS flow_id, f.name AS flow_name, d.id::text AS deployment_id, d.name AS deployment_name
    FROM flow_runs r JOIN flows f ON f.id = r.flow_id LEFT JOIN deployments d ON d.id = r.deployment_id
    WHERE r.workspace_id = ${workspaceId} AND r.id = ${runId}`;
  if (!row) return null;
  const related = [{ kind: 'flow', id: row.flow_id, name: row.flow_name }];
  if (row.deployment_id)
    related.push({ kind: 'deployment', id: row.deployment_id, name: `${row.flow_name}/${row.deployment_name}` });
  return { resource: { kind: 'flow-run', id: runId, name: row.name }, related };
}
