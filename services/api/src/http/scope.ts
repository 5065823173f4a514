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

export function apiKeyId(principal: Principal): string | null {
  return principal.kind === 'api_key' ? principal.keyId : null;
}
