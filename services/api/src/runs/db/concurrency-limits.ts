import { type ConcurrencyLimit, HELD_STATES } from '@outpost/sdk/contracts';
import type postgres from 'postgres';
import { RUNS_CHANNEL } from '../../db/channels.js';
import type { Db } from '../../db/client.js';
import type { concurrencyLimits, Row } from '../../db/schema.js';
import { iso, stateList } from '../../db/values.js';

interface LimitRow extends Pick<Row<typeof concurrencyLimits>, 'id' | 'tag' | 'limit' | 'created_at' | 'updated_at'> {
  active: number;
}

function toLimit(row: LimitRow): ConcurrencyLimit {
  return {
    id: row.id,
    tag: row.tag,
    limit: row.limit,
    active: row.active,
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  };
}

/** The slots in use are counted from the runs each time, exactly as the claim counts them. */
function activeCount(db: Db): postgres.PendingQuery<postgres.Row[]> {
  return db`(
    SELECT count(*)::int FROM flow_runs r
    WHERE r.workspace_id = c.workspace_id AND c.tag = ANY(r.tags) AND r.state_type IN ${stateList(db, HELD_STATES)}
  )`;
}

export async function listConcurrencyLimits(db: Db, workspaceId: string): Promise<ConcurrencyLimit[]> {
  const rows = await db<LimitRow[]>`
    SELECT c.id, c.tag, c.limit, c.created_at, c.updated_at, ${activeCount(db)} AS active
    FROM concurrency_limits c WHERE c.workspace_id = ${workspaceId} ORDER BY c.tag`;
  return rows.map(toLimit);
}

export async function getConcurrencyLimit(db: Db, workspaceId: string, tag: string): Promise<ConcurrencyLimit | null> {
  const [row] = await db<LimitRow[]>`
    SELECT c.id, c.tag, c.limit, c.created_at, c.updated_at, ${activeCount(db)} AS active
    FROM concurrency_limits c WHERE c.workspace_id = ${workspaceId} AND c.tag = ${tag}`;
  return row ? toLimit(row) : null;
}

/** Null when the tag already has a limit. */
export async function insertConcurrencyLimit(
  db: Db,
  input: { workspaceId: string; tag: string; limit: number },
): Promise<ConcurrencyLimit | null> {
  const [row] = await db<{ id: string }[]>`
    INSERT INTO concurrency_limits (workspace_id, tag, "limit")
    VALUES (${input.workspaceId}, ${input.tag}, ${input.limit})
    ON CONFLICT (workspace_id, tag) DO NOTHING
    RETURNING id`;
  if (!row) return null;
  return getConcurrencyLimit(db, input.workspaceId, input.tag);
}

/**
 * A raised or removed limit may free runs that were waiting on it, so every pool of the workspace
 * is nudged: waiting claims look again at once instead of at their next poll.
 */
async function nudgePools(db: Db, workspaceId: string): Promise<void> {
  await db`SELECT pg_notify(${RUNS_CHANNEL}, id::text) FROM work_pools WHERE workspace_id = ${workspaceId}`;
}

export async function updateConcurrencyLimit(
  db: Db,
  input: { workspaceId: string; tag: string; limit: number },
): Promise<ConcurrencyLimit | null> {
  const [row] = await db<{ id: string }[]>`
    UPDATE concurrency_limits SET "limit" = ${input.limit}, updated_at = now()
    WHERE workspace_id = ${input.workspaceId} AND tag = ${input.tag}
    RETURNING id`;
  if (!row) return null;
  await nudgePools(db, input.workspaceId);
  return getConcurrencyLimit(db, input.workspaceId, input.tag);
}

/** Returns the limit as it was, or null when the tag had none. */
export async function deleteConcurrencyLimit(db: Db, workspaceId: string, tag: string): Promise<ConcurrencyLimit | null> {
  const existing = await getConcurrencyLimit(db, workspaceId, tag);
  if (!existing) return null;
  await db`DELETE FROM concurrency_limits WHERE workspace_id = ${workspaceId} AND tag = ${tag}`;
  await nudgePools(db, workspaceId);
  return existing;
}
