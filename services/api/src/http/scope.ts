import type { WorkPool } from '@outpost/sdk/contracts';
import type { Principal } from '../auth/principal.js';
import type { Db } from '../db/client.js';
import { notFound } from '../errors.js';
import { getPoolByName } from '../pools/db/pools.js';

/** The pool named in the path, in the caller's workspace; a pool of another workspace is simply not found. */
export async function poolOrNotFound(db: Db, workspaceId: string, name: string): Promise<WorkPool> {
  const pool = await getPoolByName(db, workspaceId, name);
  if (!pool) throw notFound(`work pool "${name}"`);
  return pool;
}

/**
 * What a request about one pool's work is scoped to: the caller's workspace and the pool named in the
 * path (not found, as `poolOrNotFound`, when it is not the workspace's).
 */
export async function poolScope(db: Db, principal: Principal, name: string): Promise<{ workspaceId: string; poolId: string }> {
  const pool = await poolOrNotFound(db, principal.workspaceId, name);
  return { workspaceId: principal.workspaceId, poolId: pool.id };
}

export function apiKeyId(principal: Principal): string | null {
  return principal.kind === 'api_key' ? principal.keyId : null;
}
