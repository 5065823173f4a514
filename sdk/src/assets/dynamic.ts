import type { DynamicPartitionKeysResponse } from '../contracts/assets.js';
import { partitionSchemas } from '../contracts/partitions-schemas.js';
import { currentScope } from '../runtime/context.js';

/**
 * Add keys to a dynamic partition set from inside a flow or an asset (a new customer, a new model
 * variant): under a worker they are recorded by the control plane with the run's token, so assets
 * partitioned by `partitions.dynamic(name)` gain those partitions; run locally, the set lives in this
 * process. Keys already in the set stay once. Answers the set's keys and how many were new (with no
 * keys, nothing is asked and the answer lists none).
 * @example
 * await addDynamicPartitions('customers', newCustomers.map((c) => c.id));
 */
export async function addDynamicPartitions(name: string, keys: readonly string[]): Promise<DynamicPartitionKeysResponse> {
  const run = currentScope().run;
  if (!run) throw new Error('addDynamicPartitions() is called inside a flow or an asset (a run adds the keys)');
  const { DynamicPartitions, PartitionKey } = partitionSchemas();
  const checkedName = DynamicPartitions.shape.name.safeParse(name);
  if (!checkedName.success)
    throw new TypeError(`invalid dynamic partition set name '${name}': ${checkedName.error.issues[0]?.message}`);
  if (keys.length === 0) return { name, keys: [], added: 0 };
  for (const [i, key] of keys.entries()) {
    const checked = PartitionKey.safeParse(key);
    if (!checked.success) throw new TypeError(`invalid partition key at ${i} ('${key}'): ${checked.error.issues[0]?.message}`);
  }
  const unique = [...new Set(keys)];
  let last: DynamicPartitionKeysResponse = { name, keys: [], added: 0 };
  let added = 0;
  // The API takes 10,000 keys a call.
  for (let i = 0; i < unique.length; i += 10_000) {
    last = await run.reporter.addDynamicPartitions(name, unique.slice(i, i + 10_000));
    added += last.added ?? 0;
  }
  return { ...last, added };
}
