import type { Db, Sql } from '../db/client.js';
import { eventRows, type NewEvent, storeEventRows } from '../events/db/events.js';
import { effectiveLimitSql, QUOTA_DEFAULTS, quotaExceeded } from './quotas.js';

/*
 * The workspace's `eventsPerDay` quota: events its calls (`POST /events`, by keys, people and run
 * tokens) and its inbound webhooks store per UTC day. They are counted as they are written, in one
 * row per workspace and day (`workspace_event_counts`), so checking costs one upsert whatever the
 * ledger holds, and every replica counts against the same number.
 *
 * The events the database's triggers write when runs, deployments and the like change state (and
 * the worker-status and asset-automation events the loops write) are neither counted nor refused:
 * they follow from actions that have bounds of their own (rate limits, automationRunsPerMinute), and
 * a run's state change must never fail because its workspace emitted too much.
 *
 * The counter row is the one thing a workspace's concurrent emitters share: each holds it from its
 * upsert to its commit, which follows at once. Workspaces never wait on each other's.
 */

/**
 * Stores a tenant's events and counts those stored (a repeat of a stored id is neither), all or
 * nothing: when the day has no room for them, nothing is stored and the 429 names the quota, with
 * Retry-After at the next UTC midnight.
 *
 * One statement, so one round trip and no transaction of its own: the events go in, the count of
 * those stored is added to today's row only if it fits the quota, and otherwise the statement
 * raises (migration 0040), which undoes the events and ids it inserted. Measured against the
 * BEGIN / insert / count / COMMIT it replaces in test/bench/event-ingest.ts.
 */
export async function storeTenantEvents(sql: Sql, workspaceId: string, batch: readonly NewEvent[]): Promise<string[]> {
  if (batch.length === 0) return [];
  const rows = eventRows(batch);
  try {
    await sql`
      WITH quota AS (
        SELECT ${effectiveLimitSql(sql, workspaceId, 'eventsPerDay')} AS "limit"
      ), ${storeEventRows(sql, rows)}, counted AS (
        SELECT count(*)::int AS n FROM stored
      ), taken AS (
        INSERT INTO workspace_event_counts AS c (workspace_id, day, count)
        SELECT ${workspaceId}, date_trunc('day', now(), 'UTC'), counted.n
        FROM quota, counted WHERE counted.n > 0 AND counted.n <= quota."limit"
        ON CONFLICT (workspace_id, day) DO UPDATE SET count = c.count + EXCLUDED.count
          WHERE c.count + EXCLUDED.count <= (SELECT "limit" FROM quota)
        RETURNING 1
      )
      SELECT CASE WHEN counted.n = 0 OR EXISTS (SELECT 1 FROM taken) THEN 0 ELSE outpost_events_quota_refused() END AS refused
      FROM counted`;
  } catch (error) {
    if ((error as { message?: string }).message === 'outpost_events_quota_refused')
      throw await refusal(sql, workspaceId, batch.length);
    throw error;
  }
  return rows.map((r) => r.id);
}

/** The 429 for a batch of `count` events the day has no room for, with today's figures. */
async function refusal(sql: Sql, workspaceId: string, count: number): Promise<Error> {
  const [row] = await sql<{ used: number; limit: number; retry_after: number }[]>`
    SELECT ${effectiveLimitSql(sql, workspaceId, 'eventsPerDay')} AS "limit",
           coalesce((SELECT count FROM workspace_event_counts
                     WHERE workspace_id = ${workspaceId} AND day = date_trunc('day', now(), 'UTC')), 0) AS used,
           -- Seconds until the next UTC midnight, when the day's count starts over.
           extract(epoch FROM date_trunc('day', now(), 'UTC') + interval '24 hours' - now())::float8 AS retry_after`;
  return quotaExceeded(
    'eventsPerDay',
    row?.limit ?? QUOTA_DEFAULTS.eventsPerDay,
    `${row?.used ?? 0} events were stored today (UTC) and these ${count} would pass it; the count starts over at midnight UTC`,
    row?.retry_after ?? 86_400,
  );
}

/** Events the workspace's calls and webhooks stored today (UTC). */
export async function eventsStoredToday(db: Db, workspaceId: string): Promise<number> {
  const [row] = await db<{ count: number }[]>`
    SELECT count FROM workspace_event_counts WHERE workspace_id = ${workspaceId} AND day = date_trunc('day', now(), 'UTC')`;
  return row?.count ?? 0;
}

/** Deletes daily counts older than two days: they say nothing about any quota any more. */
export async function pruneEventCounts(db: Db): Promise<void> {
  await db`DELETE FROM workspace_event_counts WHERE day < now() - interval '2 days'`;
}
