import {
  type FieldError,
  MAX_BACKFILL_PARTITIONS,
  type PartitionSelection,
  type PartitionsDefinition,
} from '@outpost/sdk/contracts';
import {
  dynamicPartitionNames,
  hasPartitionKey,
  type KeyOptions,
  partitionKeys,
  partitionKeysInRange,
} from '@outpost/sdk/partitions';
import type { StoredSelection } from '../db/backfills.js';
import { timesInRange } from '../scheduling/backfill-times.js';
import { latestPartitionAt } from '../scheduling/partition-windows.js';
import { type ScheduleDefinition, timelineOf } from '../scheduling/timeline.js';

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

function tooMany(path: string, n: number | string): SelectionError {
  return new SelectionError([
    { path, message: `covers ${n} partitions; a backfill covers at most ${MAX_BACKFILL_PARTITIONS.toLocaleString('en')}` },
  ]);
}

/**
 * Checks a partition selection against a definition and resolves it into what the backfill stores:
 * a range stays a range (its keys are stable once both ends exist), `all` becomes the range from the
 * first key to the last one now, and any selection over a dynamic set becomes its explicit keys (the
 * set may change later). Explicit keys are de-duplicated and put in definition order.
 */
export function resolvePartitionSelection(
  def: PartitionsDefinition,
  selection: PartitionSelection,
  path: string,
  o: KeyOptions,
): { stored: StoredSelection; keys: string[] } {
  const dynamic = dynamicPartitionNames(def).length > 0;
  if ('keys' in selection) {
    const errors: FieldError[] = [];
    for (const [i, key] of selection.keys.entries()) {
      if (!hasPartitionKey(def, key, o)) errors.push({ path: `${path}.keys.${i}`, message: `"${key}" is not a partition key` });
      if (errors.length >= 10) break;
    }
    if (errors.length > 0) throw new SelectionError(errors);
    const wanted = new Set(selection.keys);
    const keys = partitionKeys(def, o).filter((k) => wanted.has(k));
    return { stored: { keys }, keys };
  }
  const all = partitionKeys(def, o);
  if ('range' in selection) {
    let keys: string[];
    try {
      keys = partitionKeysInRange(def, selection.range.start, selection.range.end, o);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const which = message.includes(`"${selection.range.start}"`) && !message.includes('after its end') ? 'start' : 'end';
      throw new SelectionError([{ path: `${path}.range.${which}`, message }]);
    }
    if (keys.length > MAX_BACKFILL_PARTITIONS) throw tooMany(`${path}.range`, keys.length);
    return { stored: dynamic ? { keys } : { range: selection.range }, keys };
  }
  const first = all[0];
  const last = all.at(-1);
  if (first === undefined || last === undefined) {
    throw new SelectionError([{ path: `${path}.all`, message: 'the partitions definition has no partition yet' }]);
  }
  if (all.length > MAX_BACKFILL_PARTITIONS) throw tooMany(`${path}.all`, all.length);
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
export function timeKeys(def: ScheduleDefinition, start: Date, end: Date, path: string): string[] {
  const times = timesInRange(timelineOf(def), start, end, MAX_BACKFILL_PARTITIONS);
  if (times === null) throw tooMany(path, `more than ${MAX_BACKFILL_PARTITIONS}`);
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
