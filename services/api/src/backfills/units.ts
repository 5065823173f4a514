import {
  type FieldError,
  MAX_BACKFILL_PARTITIONS,
  type PartitionSelection,
  type PartitionsDefinition,
} from '@outpost/sdk/contracts';
import {
  dynamicPartitionNames,
  type KeyOptions,
  partitionKeyCount,
  partitionKeyIndex,
  partitionKeysInRange,
  partitionKeysPage,
  partitionRangeBounds,
} from '@outpost/sdk/partitions';
import { timesInRange } from '../scheduling/backfill-times.js';
import { latestPartitionAt } from '../scheduling/partition-windows.js';
import { type ScheduleDefinition, timelineOf } from '../scheduling/timeline.js';
import type { StoredSelection } from './db/backfills.js';

/*
 * What a backfill's units are: the partition keys (or scheduled times) it covers, in its order.
 * A backfill stores its selection, never the list; the list is recomputed from the selection and
 * the partitions definition it stored at creation, so it is the same on every replica and after any
 * restart. Pure functions; the loop keeps the lists it computed in a small cache.
 */

/** One unit's run: the partition it carries and when it is due (null: now). */
export interface UnitRun {
  partitionKey: string | null;
  scheduledTime: Date | null;
}

export class SelectionError extends Error {
  constructor(readonly fieldErrors: FieldError[]) {
    super(fieldErrors.map((e) => `${e.path}: ${e.message}`).join('; '));
  }
}

function tooMany(path: string, n: number | string, limit: number): SelectionError {
  return new SelectionError([
    {
      path,
      message: `covers ${n} partitions; a backfill covers at most ${limit.toLocaleString('en')} (the quota "partitionsPerDefinition")`,
    },
  ]);
}

/**
 * Checks a partition selection against a definition and resolves it into what the backfill stores:
 * a range stays a range (its keys are stable once both ends exist), `all` becomes the range from the
 * first key to the last one now, and any selection over a dynamic set becomes its explicit keys (the
 * set may change later). Explicit keys are de-duplicated and put in definition order. Sizes are
 * counted before any key is listed, so a selection over `limit` is refused without listing it.
 */
export function resolvePartitionSelection(
  def: PartitionsDefinition,
  selection: PartitionSelection,
  path: string,
  o: KeyOptions,
  limit: number = MAX_BACKFILL_PARTITIONS,
): { stored: StoredSelection; keys: string[] } {
  const cap = Math.min(limit, MAX_BACKFILL_PARTITIONS);
  const dynamic = dynamicPartitionNames(def).length > 0;
  if ('keys' in selection) {
    const errors: FieldError[] = [];
    const positions = new Map<string, number>();
    for (const [i, key] of selection.keys.entries()) {
      const at = partitionKeyIndex(def, key, o);
      if (at < 0) errors.push({ path: `${path}.keys.${i}`, message: `"${key}" is not a partition key` });
      else positions.set(key, at);
      if (errors.length >= 10) break;
    }
    if (errors.length > 0) throw new SelectionError(errors);
    const keys = [...positions.entries()].sort((a, b) => a[1] - b[1]).map(([key]) => key);
    return { stored: { keys }, keys };
  }
  if ('range' in selection) {
    let bounds: { offset: number; count: number };
    try {
      bounds = partitionRangeBounds(def, selection.range.start, selection.range.end, o);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const which = message.includes(`"${selection.range.start}"`) && !message.includes('after its end') ? 'start' : 'end';
      throw new SelectionError([{ path: `${path}.range.${which}`, message }]);
    }
    if (bounds.count > cap) throw tooMany(`${path}.range`, bounds.count, cap);
    const keys = partitionKeysPage(def, bounds.offset, bounds.count, o);
    return { stored: dynamic ? { keys } : { range: selection.range }, keys };
  }
  const count = partitionKeyCount(def, o);
  if (count === 0) {
    throw new SelectionError([{ path: `${path}.all`, message: 'the partitions definition has no partition yet' }]);
  }
  if (count > cap) throw tooMany(`${path}.all`, count, cap);
  const all = partitionKeysPage(def, 0, count, o);
  const first = all[0] as string;
  const last = all.at(-1) as string;
  return { stored: dynamic ? { keys: all } : { range: { start: first, end: last } }, keys: all };
}

type StoredTimeline = NonNullable<StoredSelection['timeline']>;

/** A schedule's definition as a backfill over its times stores it (JSON). */
export function storedTimeline(def: ScheduleDefinition): StoredTimeline {
  return def.kind === 'interval' ? { ...def, anchorDate: def.anchorDate.toISOString() } : def;
}

/** The stored definition of a schedule, for the timeline of a backfill over its times. */
export function timelineDefinition(stored: StoredTimeline): ScheduleDefinition {
  return stored.kind === 'interval' ? { ...stored, anchorDate: new Date(stored.anchorDate) } : stored;
}

/** The scheduled times of a schedule in [start, end), as the ISO keys of a backfill over times. */
export function timeKeys(
  def: ScheduleDefinition,
  start: Date,
  end: Date,
  path: string,
  limit: number = MAX_BACKFILL_PARTITIONS,
): string[] {
  const cap = Math.min(limit, MAX_BACKFILL_PARTITIONS);
  const times = timesInRange(timelineOf(def), start, end, cap);
  if (times === null) throw tooMany(path, `more than ${cap.toLocaleString('en')}`, cap);
  return times.map((t) => t.toISOString());
}

/** Every unit key of a stored selection, in the backfill's order. */
export function selectionKeys(selection: StoredSelection, def: PartitionsDefinition | null): string[] {
  if ('times' in selection) {
    if (!selection.timeline) throw new Error('a backfill over times has no stored timeline');
    return timeKeys(
      timelineDefinition(selection.timeline),
      new Date(selection.times.start),
      new Date(selection.times.end),
      'selection',
    );
  }
  if ('keys' in selection) return selection.keys;
  if (!def) throw new Error('a backfill over a partition range has no partitions definition');
  return partitionKeysInRange(def, selection.range.start, selection.range.end);
}

/** The run a unit key stands for. */
export function unitRun(selection: StoredSelection, def: PartitionsDefinition | null, key: string): UnitRun {
  if ('times' in selection) {
    const at = new Date(key);
    return { partitionKey: latestPartitionAt(def, at), scheduledTime: at };
  }
  return { partitionKey: key, scheduledTime: null };
}
