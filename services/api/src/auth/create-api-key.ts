import type { ApiKey, Role } from '@outpost/sdk/contracts';
import type { Db } from '../db/client.js';
import { generateApiKey } from './api-key-format.js';
import { insertApiKey } from './db/api-keys.js';

export interface NewApiKey {
  workspaceId: string;
  name: string;
  role: Role;
  /** For role `worker`: the pools it may poll; all when empty or absent. */
  pools?: string[];
  expiresAt?: Date | null;
  /**
   * Who is answerable for the key: the person whose session made it, or the key (or key-opened
   * session) that made it, whose own maker it inherits. Their deprovisioning revokes it.
   */
  madeBy?: { userId: string } | { apiKeyId: string } | null;
}

/** Creates a key and returns it in clear: the only time it exists outside the caller's hands is this return value. */
export async function createApiKey(sql: Db, input: NewApiKey): Promise<{ id: string; key: string; apiKey: ApiKey }> {
  const { key, hash, prefix } = generateApiKey();
  const apiKey = await insertApiKey(sql, {
    workspaceId: input.workspaceId,
    name: input.name,
    role: input.role,
    pools: input.pools ?? [],
    expiresAt: input.expiresAt ?? null,
    madeBy: input.madeBy ?? null,
    hash,
    prefix,
  });
  return { id: apiKey.id, key, apiKey };
}
