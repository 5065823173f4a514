import type { FieldError, PartitionSelection, PartitionsDefinition, SinglePartitions } from '@outpost/sdk/contracts';
import {
  hasPartitionKey,
  partitionKeyCount,
  partitionKeyIndex,
  partitionKeysPage,
  partitionRangeBounds,
  partitions,
} from '@outpost/sdk/partitions';
import { DomainError } from '../domain-error.js';
import { QUOTA_DEFAULTS } from '../quotas/quotas.js';

/*
 * The control plane's side of partitions: the SDK's functions (so the worker and the grid agree on
 * every key), with the dynamic sets' keys from the database. Nothing here lists a definition to
 * count it or to find a key: counts, the key at an index and the index of a key are arithmetic, so a
 * page of a grid costs its size, however many partitions the definition has. Only a selection that
 * must name every key (a materialisation of `all` or of a range) lists them, and never more than the
 * workspace's `partitionsPerDefinition` quota.
 */

/** Most keys a selection may list when the caller names no quota (the quota's default). */
export const MAX_PARTITION_KEYS = QUOTA_DEFAULTS.partitionsPerDefinition;

/**
 * How far ahead of now an open-ended time window is counted at deploy: one that would pass the
 * limit within this horizon is refused, so a definition saved today does not cross it next week.
 */
export const PARTITION_LIMIT_HORIZON_DAYS = 90;

/** The keys of each dynamic set a definition reads, in the order they were added. */
export type DynamicKeys = ReadonlyMap<string, readonly string[]>;

function options(dynamic: DynamicKeys, now: Date) {
  return { now, dynamicKeys: (name: string) => dynamic.get(name) ?? [] };
}

/** How many keys the definition has now, by arithmetic (never by listing them). */
export function countPartitionKeys(def: PartitionsDefinition, dynamic: DynamicKeys, now = new Date()): number {
  return partitionKeyCount(def, options(dynamic, now));
}

/** The position of `key` among the definition's keys now, or -1 when it is not one. */
export function partitionKeyPosition(def: PartitionsDefinition, key: string, dynamic: DynamicKeys, now = new Date()): number {
  try {
    return partitionKeyIndex(def, key, options(dynamic, now));
  } catch {
    return -1;
  }
}

/** The keys at `[offset, offset + limit)` in definition order: a page costs its size. */
export function pagePartitionKeys(
  def: PartitionsDefinition,
  dynamic: DynamicKeys,
  now: Date,
  offset: number,
  limit: number,
): string[] {
  return partitionKeysPage(def, offset, limit, options(dynamic, now));
}

function tooManyToList(count: number, limit: number, path: string | null): DomainError {
  const message = `the partitions definition has ${count} partitions; at most ${limit} (the quota "partitionsPerDefinition") can be selected at once`;
  return new DomainError('validation_failed', message, path === null ? {} : { errors: [{ path, message }] });
}

/** Every key of the definition now, in definition order; refused (4xx) beyond `limit` without listing any. */
export function listPartitionKeys(
  def: PartitionsDefinition,
  dynamic: DynamicKeys,
  now = new Date(),
  limit = MAX_PARTITION_KEYS,
  path: string | null = null,
): string[] {
  const count = countPartitionKeys(def, dynamic, now);
  if (count > limit) throw tooManyToList(count, limit, path);
  return pagePartitionKeys(def, dynamic, now, 0, count);
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
  limit = MAX_PARTITION_KEYS,
): string[] {
  if ('all' in selection) return listPartitionKeys(def, dynamic, now, limit, `${path}.all`);
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
    let bounds: { offset: number; count: number };
    try {
      bounds = partitionRangeBounds(def, start, end, options(dynamic, now));
    } catch (error) {
      throw new DomainError('validation_failed', 'the partition range is invalid', {
        errors: [{ path: `${path}.range`, message: (error as Error).message }],
      });
    }
    if (bounds.count > limit) throw tooManyToList(bounds.count, limit, `${path}.range`);
    return pagePartitionKeys(def, dynamic, now, bounds.offset, bounds.count);
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
