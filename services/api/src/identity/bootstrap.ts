import { createApiKey } from '../auth/create-api-key.js';
import { hasActiveOwnerKey } from '../auth/db/api-keys.js';
import type { Sql } from '../db/client.js';
import { getPoolByName, insertPool } from '../pools/db/pools.js';
import { ensureWorkspace } from './db/workspaces.js';

/**
 * Ensures workspace `default` with work pool `default` (and its queue), and creates an owner key
 * only while the workspace has no usable one. Servers starting together serialise on an advisory
 * lock, so exactly one of them creates (and prints) the key.
 */
export async function bootstrapDefaults(sql: Sql): Promise<{ workspaceId: string; ownerKey: string | null }> {
  return sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(hashtext('outpost.bootstrap'))`;
    const workspace = await ensureWorkspace(tx, 'default', 'Default');
    if (!(await getPoolByName(tx, workspace.id, 'default'))) {
      await insertPool(tx, { workspaceId: workspace.id, name: 'default', description: null, concurrencyLimit: null });
    }
    if (await hasActiveOwnerKey(tx, workspace.id)) return { workspaceId: workspace.id, ownerKey: null };
    const { key } = await createApiKey(tx, { workspaceId: workspace.id, name: 'owner', role: 'owner' });
    return { workspaceId: workspace.id, ownerKey: key };
  });
}
