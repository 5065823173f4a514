import { AssetRunParameters, type FieldError } from '@outpost/sdk/contracts';
import { dynamicPartitionNames } from '@outpost/sdk/partitions';
import type { Db } from '../db/client.js';
import { DomainError } from '../domain-error.js';
import { loadAssetNodes } from './db/asset-definitions.js';
import { loadDynamicKeys } from './db/dynamic-partitions.js';
import { isPartitionKey } from './partition-keys.js';

/**
 * A run of an asset deployment created with a partition key: every asset its parameters select
 * (none listed: every asset of the deployment) must have that partition. Parameters that are no
 * asset selection at all are the run's own business.
 */
export async function assertAssetRunPartition(
  db: Db,
  input: { workspaceId: string; deploymentId: string; parameters: Record<string, unknown>; partitionKey: string; path: string },
): Promise<void> {
  const selection = AssetRunParameters.safeParse(input.parameters);
  if (!selection.success) return;
  const selected = new Set(selection.data.assets);
  const nodes = (await loadAssetNodes(db, input.workspaceId)).filter((n) =>
    selected.size > 0 ? selected.has(n.key) : n.deploymentId === input.deploymentId,
  );
  const names = nodes.flatMap((n) => (n.partitions ? dynamicPartitionNames(n.partitions) : []));
  const dynamic = await loadDynamicKeys(db, input.workspaceId, names);
  const errors: FieldError[] = [];
  for (const node of nodes) {
    if (node.partitions === null) errors.push({ path: input.path, message: `"${node.key}" is not partitioned` });
    else if (!isPartitionKey(node.partitions, input.partitionKey, dynamic)) {
      errors.push({ path: input.path, message: `"${input.partitionKey}" is not a partition key of "${node.key}"` });
    }
  }
  if (errors.length > 0)
    throw new DomainError('validation_failed', 'the partition key does not fit the selected assets', { errors });
}
