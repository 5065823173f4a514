import type { FieldError, PartitionsDefinition, SinglePartitions } from '@outpost/sdk/contracts';
import { dynamicPartitionNames, partitionKeyCount } from '@outpost/sdk/partitions';
import type { Db } from '../db/client.js';
import { DomainError } from '../domain-error.js';
import { quotaExceeded, workspaceQuotas } from '../quotas/quotas.js';
import { loadAssetNodes } from './db/asset-definitions.js';
import { countDynamicKeys } from './db/dynamic-partitions.js';
import { describePartitions, PARTITION_LIMIT_HORIZON_DAYS } from './partition-keys.js';

/*
 * The partitions quota (`partitionsPerDefinition`): how many partitions one definition may have,
 * checked where a definition is saved (a deploy's assets and schedules) and where a dynamic set
 * grows. Counting is arithmetic, so a definition from year 1 is refused as fast as any other.
 *
 * An open-ended time window grows with time, so it is counted as it will be
 * PARTITION_LIMIT_HORIZON_DAYS after now: a deploy that passes is not over the limit for at least
 * that long. One that crosses it later keeps working (every count, grid page and automation pass is
 * bounded by its page or its per-pass cap, not by the definition's size); only selections that must
 * list every key (a backfill or materialisation of `all` or of a long range) are refused beyond the
 * quota, and a redeploy of it is refused until its start moves later or it gets an end.
 */

const DAY_MS = 86_400_000;

/** A definition to check and the field path of it in the request (`body.assets.0.partitions`). */
export interface DefinitionAt {
  def: PartitionsDefinition;
  path: string;
}

function countAt(def: PartitionsDefinition, at: Date): number {
  try {
    // A dynamic set counts as one key here: its size is checked when keys are added to it.
    return Math.max(1, partitionKeyCount(def, { now: at, dynamicKeys: () => [] }));
  } catch {
    // An invalid definition (zone, dates) is refused by its own validation, with its own message.
    return 0;
  }
}

function overMessage(def: PartitionsDefinition | SinglePartitions, count: number, limit: number, horizon: Date): string {
  const when = def.kind === 'time' && def.end === undefined ? ` by ${horizon.toISOString().slice(0, 10)}` : '';
  return (
    `${describePartitions(def)} has ${count.toLocaleString('en')} partitions${when}; ` +
    `the quota "partitionsPerDefinition" allows at most ${limit.toLocaleString('en')} per definition` +
    (def.kind === 'time' || def.kind === 'multi' ? ': start it later, give it an end or use a coarser cadence' : '')
  );
}

/** What is over the limit in a (valid) definition: the definition, or one of a multi's dimensions. */
export function partitionsLimitErrors(def: PartitionsDefinition, path: string, limit: number, now: Date): FieldError[] {
  const horizon = new Date(now.getTime() + PARTITION_LIMIT_HORIZON_DAYS * DAY_MS);
  if (def.kind === 'multi') {
    const errors = def.dimensions.flatMap((d, i) => {
      const n = countAt(d.partitions, horizon);
      return n > limit
        ? [{ path: `${path}.dimensions.${i}.partitions`, message: overMessage(d.partitions, n, limit, horizon) }]
        : [];
    });
    if (errors.length > 0) return errors;
  }
  const n = countAt(def, horizon);
  return n > limit ? [{ path, message: overMessage(def, n, limit, horizon) }] : [];
}

/** Refuses (4xx, field paths named) definitions over the workspace's partitions quota. */
export async function assertPartitionsWithinQuota(
  db: Db,
  workspaceId: string,
  defs: readonly DefinitionAt[],
  now = new Date(),
): Promise<void> {
  if (defs.length === 0) return;
  const limit = (await workspaceQuotas(db, workspaceId)).partitionsPerDefinition;
  const errors = defs.flatMap(({ def, path }) => partitionsLimitErrors(def, path, limit, now));
  if (errors.length === 0) return;
  throw new DomainError(
    'validation_failed',
    `a partitions definition is over the quota "partitionsPerDefinition" (${limit.toLocaleString('en')} partitions)`,
    { errors: errors.slice(0, 50) },
  );
}

/**
 * Refuses (429 quota_exceeded) a dynamic set holding `size` keys when that is over the quota, for
 * the set itself or for any asset whose definition crosses it with another dimension.
 */
export async function assertDynamicSetWithinQuota(db: Db, workspaceId: string, name: string, size: number): Promise<void> {
  const limit = (await workspaceQuotas(db, workspaceId)).partitionsPerDefinition;
  if (size > limit)
    throw quotaExceeded('partitionsPerDefinition', limit, `the dynamic partition set "${name}" would hold ${size} keys`);
  const now = new Date();
  for (const node of await loadAssetNodes(db, workspaceId)) {
    if (node.partitions?.kind !== 'multi' || !dynamicPartitionNames(node.partitions).includes(name)) continue;
    let count = 1;
    for (const d of node.partitions.dimensions) {
      const p = d.partitions;
      if (p.kind !== 'dynamic') count *= partitionKeyCount(p, { now });
      else count *= p.name === name ? size : await countDynamicKeys(db, workspaceId, p.name);
    }
    if (count > limit) {
      throw quotaExceeded(
        'partitionsPerDefinition',
        limit,
        `asset "${node.key}" (${describePartitions(node.partitions)}) would have ${count} partitions`,
      );
    }
  }
}
