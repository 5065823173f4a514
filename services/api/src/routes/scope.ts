import type { WorkPool } from '@outpost/sdk/contracts';
import type { Principal } from '../auth/principal.js';
import type { Db } from '../db/client.js';
import { getPoolByName } from '../db/pools.js';
import { ApiError, notFound } from '../errors.js';

/** The pool named in the path, in the caller's workspace; a pool of another workspace is simply not found. */
export async function poolOrNotFound(db: Db, workspaceId: string, name: string): Promise<WorkPool> {
  const pool = await getPoolByName(db, workspaceId, name);
  if (!pool) throw notFound(`work pool "${name}"`);
  return pool;
}

export function apiKeyId(principal: Principal): string | null {
  return principal.kind === 'api_key' ? principal.keyId : null;
}

const INT32_MAX = 2_147_483_647;

/** The contracts bound most integers, not attempts and sequence numbers; the database stores 32 bits. */
export function assertInt32(value: number | undefined, path: string): void {
  if (value !== undefined && value > INT32_MAX) {
    throw new ApiError('validation_failed', 'a number is too large', {
      errors: [{ path, message: `must be at most ${INT32_MAX}` }],
    });
  }
}
