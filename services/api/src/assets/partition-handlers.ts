import type { Db } from '../db/client.js';
import { notFound } from '../errors.js';
import type { Handlers } from '../http/route-types.js';
import { dynamicSetDeclared } from './db/asset-definitions.js';
import { addDynamicKeys, countDynamicKeys, deleteDynamicKey, listDynamicKeys } from './db/dynamic-partitions.js';
import { assertDynamicSetWithinQuota } from './partition-limits.js';

/**
 * A set exists for a workspace when one of its assets reads keys from it, or it has keys (added
 * while an asset did). Any other name, another workspace's included, is a 404.
 */
async function setExists(db: Db, workspaceId: string, name: string): Promise<boolean> {
  return (await countDynamicKeys(db, workspaceId, name)) > 0 || (await dynamicSetDeclared(db, workspaceId, name));
}

export const dynamicPartitionHandlers = {
  dynamicPartitionsList: async ({ params, principal, deps }) => {
    const keys = await listDynamicKeys(deps.sql, principal.workspaceId, params.name);
    if (keys.length === 0 && !(await dynamicSetDeclared(deps.sql, principal.workspaceId, params.name))) {
      throw notFound(`dynamic partition set "${params.name}"`);
    }
    return { name: params.name, keys };
  },

  dynamicPartitionsAdd: async ({ params, body, principal, deps }) => {
    const workspaceId = principal.workspaceId;
    if (!(await setExists(deps.sql, workspaceId, params.name))) throw notFound(`dynamic partition set "${params.name}"`);
    const added = await deps.sql.begin(async (tx) => {
      const count = await addDynamicKeys(tx, workspaceId, params.name, body.keys);
      // Checked after the insert, in its transaction: a refusal rolls the keys back, and two concurrent adds see each other.
      await assertDynamicSetWithinQuota(tx, workspaceId, params.name, await countDynamicKeys(tx, workspaceId, params.name));
      return count;
    });
    return { name: params.name, keys: await listDynamicKeys(deps.sql, workspaceId, params.name), added };
  },

  dynamicPartitionsDelete: async ({ params, principal, deps }) => {
    if (!(await deleteDynamicKey(deps.sql, principal.workspaceId, params.name, params.key))) {
      throw notFound(`partition key "${params.key}" of dynamic partition set "${params.name}"`);
    }
    return null;
  },
} satisfies Pick<Handlers, 'dynamicPartitionsList' | 'dynamicPartitionsAdd' | 'dynamicPartitionsDelete'>;
