import type { FieldError, PartitionSelection, PartitionsDefinition, SinglePartitions } from '@outpost/sdk/contracts';
import { hasPartitionKey, partitionKeys, partitionKeysInRange, partitions } from '@outpost/sdk/partitions';
import { DomainError } from '../domain-error.js';

/*
 * The control plane's side of partitions: it enumerates keys with the SDK's functions (so the
 * worker and the grid agree on every key), with the dynamic sets' keys from the database.
 */

/** Most keys a definition may have for the API to enumerate it (a grid, a selection, a count). */
export const MAX_PARTITION_KEYS = 1_000_000;

/** The keys of each dynamic set a definition reads, in the order they were added. */
export type DynamicKeys = ReadonlyMap<string, readonly string[]>;

function options(dynamic: DynamicKeys, now: Date) {
  return { now, dynamicKeys: (name: string) => dynamic.get(name) ?? [] };
}

function singleCount(def: SinglePartitions, dynamic: DynamicKeys, now: Date): number {
  return partitionKeys(def, options(dynamic, now)).length;
}

/** How many keys the definition has now, without listing a two-dimensional one. */
export function countPartitionKeys(def: PartitionsDefinition, dynamic: DynamicKeys, now = new Date()): number {
  if (def.kind !== 'multi') return singleCount(def, dynamic, now);
  return def.dimensions.reduce((n, d) => n * singleCount(d.partitions, dynamic, now), 1);
}

/** Every key of the definition now, in definition order; refused beyond MAX_PARTITION_KEYS. */
export function listPartitionKeys(def: PartitionsDefinition, dynamic: DynamicKeys, now = new Date()): string[] {
  const count = countPartitionKeys(def, dynamic, now);
  if (count > MAX_PARTITION_KEYS) {
    throw new DomainError(
      'validation_failed',
      `the partitions definition has ${count} partitions; at most ${MAX_PARTITION_KEYS} can be listed`,
    );
  }
  return partitionKeys(def, options(dynamic, now));
}

export function isPartitionKey(def: PartitionsDefinition, key: string, dynamic: DynamicKeys, now = new Date()): boolean {
  try {
    return hasPartitionKey(def, key, options(dynamic, now));
  } catch {
    return false;
  }
}

/**
 * The keys a selection names, in definition order for a range or `all`, as given for explicit keys
 * (each checked). Errors name the field under `path` (`body.partitions`).
 */
export function resolvePartitionSelection(
  def: PartitionsDefinition,
  selection: PartitionSelection,
  dynamic: DynamicKeys,
  path: string,
  now = new Date(),
): string[] {
  if ('all' in selection) return listPartitionKeys(def, dynamic, now);
  if ('range' in selection) {
    const { start, end } = selection.range;
    for (const [field, key] of [
      ['start', start],
      ['end', end],
    ] as const) {
      if (!isPartitionKey(def, key, dynamic, now)) {
        throw new DomainError('validation_failed', 'the partition range is invalid', {
          errors: [{ path: `${path}.range.${field}`, message: `"${key}" is not a partition key of the asset` }],
        });
      }
    }
    listPartitionKeys(def, dynamic, now);
    try {
      return partitionKeysInRange(def, start, end, options(dynamic, now));
    } catch (error) {
      throw new DomainError('validation_failed', 'the partition range is invalid', {
        errors: [{ path: `${path}.range`, message: (error as Error).message }],
      });
    }
  }
  const errors: FieldError[] = [];
  const seen = new Set<string>();
  selection.keys.forEach((key, i) => {
    if (seen.has(key)) errors.push({ path: `${path}.keys.${i}`, message: `"${key}" is listed twice` });
    else if (!isPartitionKey(def, key, dynamic, now)) {
      errors.push({ path: `${path}.keys.${i}`, message: `"${key}" is not a partition key of the asset` });
    }
    seen.add(key);
    if (errors.length > 20) throw new DomainError('validation_failed', 'the partition keys are invalid', { errors });
  });
  if (errors.length > 0) throw new DomainError('validation_failed', 'the partition keys are invalid', { errors });
  return selection.keys;
}

function singleErrors(def: SinglePartitions, path: string): FieldError[] {
  try {
    switch (def.kind) {
      case 'time': {
        const o = {
          start: def.start,
          timezone: def.timezone,
          ...(def.end !== undefined ? { end: def.end } : {}),
          ...(def.endOffsetMinutes !== undefined ? { endOffsetMinutes: def.endOffsetMinutes } : {}),
        };
        if (def.cadence === 'weekly')
          partitions.weekly({ ...o, ...(def.weekStartsOn ? { weekStartsOn: def.weekStartsOn } : {}) });
        else partitions[def.cadence](o);
        return [];
      }
      case 'static': {
        const seen = new Set<string>();
        for (const [i, key] of def.keys.entries()) {
          if (seen.has(key)) return [{ path: `${path}.keys.${i}`, message: `"${key}" is listed twice` }];
          seen.add(key);
        }
        return [];
      }
      case 'dynamic':
        return [];
    }
  } catch (error) {
    return [{ path, message: (error as Error).message }];
  }
}

/** What is wrong with a definition the contract's schema let through: zones, dates, repeated keys. */
export function partitionsDefinitionErrors(def: PartitionsDefinition, path: string): FieldError[] {
  if (def.kind !== 'multi') return singleErrors(def, path);
  return def.dimensions.flatMap((d, i) => singleErrors(d.partitions, `${path}.dimensions.${i}.partitions`));
}

function describeSingle(def: SinglePartitions): string {
  switch (def.kind) {
    case 'time':
      return `${def.cadence} from ${def.start}${def.end ? ` to ${def.end}` : ''} in ${def.timezone}`;
    case 'static':
      return `${def.keys.length} static keys`;
    case 'dynamic':
      return `dynamic set "${def.name}"`;
  }
}

/** `daily from 2026-01-01 in Europe/Berlin`, for messages. */
export function describePartitions(def: PartitionsDefinition): string {
  if (def.kind !== 'multi') return describeSingle(def);
  return def.dimensions.map((d) => `${d.name}: ${describeSingle(d.partitions)}`).join(' × ');
}
