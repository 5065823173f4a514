import { DateTime, IANAZone } from 'luxon';
import type {
  DynamicPartitions,
  MultiPartitions,
  PartitionsDefinition,
  SinglePartitions,
  StaticPartitions,
  TimeCadence,
  TimeWindowPartitions,
} from '../contracts/partitions.js';
import { partitionSchemas } from '../contracts/partitions-schemas.js';

/*
 * Partition keys from a definition, the same on the worker (`ctx.partition`) and in the control
 * plane (backfills, the partition grid). Time windows follow their zone's DST changes exactly: a
 * daily window in Europe/Berlin on the last Sunday of March is 23 hours long, and the repeated hour
 * of an October fall-back is two hourly partitions told apart by their offsets.
 *
 * Daily, weekly and monthly keys are local dates, so they are enumerated with plain day arithmetic;
 * only the bounds ("which windows have closed by now") need the zone. Hourly keys need the zone for
 * every key and walk absolute hours.
 */

export type {
  DynamicPartitions,
  MultiPartitions,
  PartitionsDefinition,
  SinglePartitions,
  StaticPartitions,
  TimeWindowPartitions,
} from '../contracts/partitions.js';

/** Separates the two dimensions of a multi-partition key: `2026-03-01|eu`. */
export const MULTI_KEY_SEPARATOR = '|';

export interface KeyOptions {
  /** Windows that have not closed by then (plus `endOffsetMinutes`) are not partitions yet. @default new Date() */
  now?: Date;
  /** The keys of a dynamic set, in the order they were added. @default () => [] */
  dynamicKeys?: (name: string) => readonly string[];
}

export interface TimeWindowOptions {
  /** `YYYY-MM-DD` (or `YYYY-MM-DDTHH:mm` for hourly), local to `timezone`. */
  start: string;
  /** Exclusive: no window starts at or after this. @default undefined (up to now) */
  end?: string;
  /** IANA zone. @default 'UTC' */
  timezone?: string;
  /** A window becomes a partition this many minutes after it closes. @default 0 */
  endOffsetMinutes?: number;
}

function timeWindows(cadence: TimeCadence, o: TimeWindowOptions & { weekStartsOn?: number }): TimeWindowPartitions {
  const def = partitionSchemas().PartitionsDefinition.parse({ kind: 'time', cadence, ...o }) as TimeWindowPartitions;
  validateTime(def);
  return def;
}

/** Builders for partitions definitions; each returns plain JSON the control plane stores as it is. */
export const partitions = {
  hourly: (o: TimeWindowOptions) => timeWindows('hourly', o),
  daily: (o: TimeWindowOptions) => timeWindows('daily', o),
  /** Windows start on `weekStartsOn` (ISO weekday, 1 = Monday); the first one on or after `start`. */
  weekly: (o: TimeWindowOptions & { weekStartsOn?: number }) => timeWindows('weekly', o),
  /** Windows start on the first of a month; the first one on or after `start`. */
  monthly: (o: TimeWindowOptions) => timeWindows('monthly', o),
  static: (keys: readonly string[]): StaticPartitions => {
    const def = partitionSchemas().PartitionsDefinition.parse({ kind: 'static', keys: [...keys] }) as StaticPartitions;
    const seen = new Set<string>();
    for (const k of def.keys) {
      if (seen.has(k)) throw new TypeError(`static partitions list "${k}" twice`);
      seen.add(k);
    }
    return def;
  },
  /** A named set whose keys are added through the API (`POST /dynamic-partitions/:name`) or from a flow. */
  dynamic: (name: string): DynamicPartitions =>
    partitionSchemas().PartitionsDefinition.parse({ kind: 'dynamic', name }) as DynamicPartitions,
  /** Two definitions crossed, e.g. `{ date: partitions.daily(…), region: partitions.static(['eu', 'us']) }`. */
  multi: (dimensions: Record<string, SinglePartitions>): MultiPartitions => {
    const entries = Object.entries(dimensions);
    if (entries.length !== 2) throw new TypeError(`multi partitions need exactly two dimensions, got ${entries.length}`);
    return partitionSchemas().PartitionsDefinition.parse({
      kind: 'multi',
      dimensions: entries.map(([name, partitions]) => ({ name, partitions })),
    }) as MultiPartitions;
  },
};

// ---- time windows ----

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

function validateTime(def: TimeWindowPartitions): void {
  if (!DateTime.local().setZone(def.timezone).isValid) throw new RangeError(`unknown timezone "${def.timezone}"`);
  const hasTime = (s: string) => s.includes('T');
  if (def.cadence !== 'hourly' && (hasTime(def.start) || (def.end !== undefined && hasTime(def.end)))) {
    throw new RangeError(`${def.cadence} partitions start and end on dates (YYYY-MM-DD), got a time`);
  }
  for (const s of [def.start, def.end]) {
    if (s !== undefined && !DateTime.fromISO(s, { zone: def.timezone }).isValid)
      throw new RangeError(`"${s}" is not a valid date`);
  }
  if (def.end !== undefined && def.end <= def.start) throw new RangeError('end must be after start');
}

function epochDay(date: string): number {
  // Date.UTC reads years 0-99 as 1900-1999; setting the year afterwards keeps year 1 year 1.
  const d = new Date(Date.UTC(2000, Number(date.slice(5, 7)) - 1, Number(date.slice(8, 10))));
  d.setUTCFullYear(Number(date.slice(0, 4)));
  return d.getTime() / DAY_MS;
}

function dateOfEpochDay(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

/** ISO weekday (1 = Monday) of an epoch day (1970-01-01 was a Thursday). */
function isoWeekday(day: number): number {
  return ((((day + 3) % 7) + 7) % 7) + 1;
}

function local(def: TimeWindowPartitions, s: string): DateTime {
  return DateTime.fromISO(s, { zone: def.timezone });
}

/** `2026-03-29T01:00+01:00` for an instant and its zone offset in minutes. */
function formatHourKey(ms: number, offsetMinutes: number): string {
  const wall = new Date(ms + offsetMinutes * 60_000).toISOString();
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  const hh = String(Math.floor(abs / 60)).padStart(2, '0');
  const mm = String(abs % 60).padStart(2, '0');
  return `${wall.slice(0, 16)}${sign}${hh}:${mm}`;
}

function hourlyKey(instant: DateTime): string {
  return instant.toFormat("yyyy-MM-dd'T'HH:mmZZ");
}

/** The first window's local start date (daily, weekly, monthly), aligned to the cadence. */
function firstDay(def: TimeWindowPartitions): number {
  const start = epochDay(def.start);
  if (def.cadence === 'weekly') return start + (((((def.weekStartsOn ?? 1) - isoWeekday(start)) % 7) + 7) % 7);
  if (def.cadence === 'monthly') return def.start.endsWith('-01') ? start : epochDay(`${nextMonth(def.start.slice(0, 7))}-01`);
  return start;
}

function nextMonth(ym: string): string {
  const y = Number(ym.slice(0, 4));
  const m = Number(ym.slice(5, 7));
  return m === 12 ? `${String(y + 1).padStart(4, '0')}-01` : `${ym.slice(0, 4)}-${String(m + 1).padStart(2, '0')}`;
}

function addCadence(dt: DateTime, cadence: TimeCadence, n = 1): DateTime {
  switch (cadence) {
    case 'hourly':
      return dt.plus({ milliseconds: n * HOUR_MS });
    case 'daily':
      return dt.plus({ days: n });
    case 'weekly':
      return dt.plus({ weeks: n });
    case 'monthly':
      return dt.plus({ months: n });
  }
}

/** Keys of a time-window definition whose window closed (plus the end offset) by `now`. */
function timeKeys(def: TimeWindowPartitions, now: Date): string[] {
  // A window [s, e) is a partition once e + offset <= now, i.e. e <= cutoff.
  const cutoff = DateTime.fromMillis(now.getTime() - (def.endOffsetMinutes ?? 0) * 60_000, { zone: def.timezone });
  const end = def.end !== undefined ? local(def, def.end) : null;
  const keys: string[] = [];
  if (def.cadence === 'hourly') {
    const zone = IANAZone.create(def.timezone);
    const stopMs = end ? end.toMillis() : Number.POSITIVE_INFINITY;
    const cutoffMs = cutoff.toMillis();
    // Absolute hours: a DST change adds or removes a local hour, never a window. Offsets change at
    // most once a day, so one lookup a day (and hourly ones only on a day that changes) suffices.
    let dayStart = Number.NaN;
    let dayOffset = 0;
    let dayUniform = true;
    for (let ms = local(def, def.start).toMillis(); ms < stopMs && ms + HOUR_MS <= cutoffMs; ms += HOUR_MS) {
      if (!(ms < dayStart + DAY_MS)) {
        dayStart = ms;
        dayOffset = zone.offset(ms);
        dayUniform = zone.offset(ms + DAY_MS) === dayOffset;
      }
      keys.push(formatHourKey(ms, dayUniform ? dayOffset : zone.offset(ms)));
    }
    return keys;
  }
  // Windows end at a local midnight; the latest midnight at or before the cutoff starts its local day.
  const lastEndDay = epochDay(cutoff.toISODate() ?? def.start);
  const stopDay = end ? epochDay(def.end as string) : Number.POSITIVE_INFINITY;
  let day = firstDay(def);
  if (def.cadence === 'daily') {
    for (; day < stopDay && day + 1 <= lastEndDay; day++) keys.push(dateOfEpochDay(day));
    return keys;
  }
  if (def.cadence === 'weekly') {
    for (; day < stopDay && day + 7 <= lastEndDay; day += 7) keys.push(dateOfEpochDay(day));
    return keys;
  }
  let month = dateOfEpochDay(day).slice(0, 7);
  for (;;) {
    const startDay = epochDay(`${month}-01`);
    const next = nextMonth(month);
    if (startDay >= stopDay || epochDay(`${next}-01`) > lastEndDay) return keys;
    keys.push(`${month}-01`);
    month = next;
  }
}

// ---- time windows by arithmetic ----
//
// A time-window definition's keys are an arithmetic sequence of window starts (absolute hours, local
// days, weeks, or months), so their number, the key at an index and the index of a key are computed
// without walking the windows: a definition from year 1 costs the same as one from yesterday. These
// agree with the enumeration above key for key (sdk/test/partitions.arithmetic.test.ts proves it
// across DST changes).

/** Months since year 0 of an epoch day's date: the monthly cadence's index space. */
function monthIndex(day: number): number {
  const date = dateOfEpochDay(day);
  return Number(date.slice(0, 4)) * 12 + Number(date.slice(5, 7)) - 1;
}

function monthKey(index: number): string {
  return `${String(Math.floor(index / 12)).padStart(4, '0')}-${String((index % 12) + 1).padStart(2, '0')}-01`;
}

/** How many windows start before the definition's end (Infinity without one). */
function windowsBeforeEnd(def: TimeWindowPartitions): number {
  if (def.end === undefined) return Number.POSITIVE_INFINITY;
  if (def.cadence === 'hourly') {
    // Window k starts at first + k h.
    return Math.max(0, Math.ceil((local(def, def.end).toMillis() - local(def, def.start).toMillis()) / HOUR_MS));
  }
  const stopDay = epochDay(def.end);
  const first = firstDay(def);
  if (def.cadence === 'daily') return Math.max(0, stopDay - first);
  if (def.cadence === 'weekly') return Math.max(0, Math.ceil((stopDay - first) / 7));
  return Math.max(0, monthIndex(stopDay - 1) - monthIndex(first) + 1);
}

/** How many windows (ignoring the end) have closed by `cutoffMs`. */
function windowsClosedBy(def: TimeWindowPartitions, cutoffMs: number): number {
  if (def.cadence === 'hourly') return Math.max(0, Math.floor((cutoffMs - local(def, def.start).toMillis()) / HOUR_MS));
  // Windows end at a local midnight; the latest midnight at or before the cutoff starts its local day.
  const lastEndDay = epochDay(DateTime.fromMillis(cutoffMs, { zone: def.timezone }).toISODate() ?? def.start);
  const first = firstDay(def);
  if (def.cadence === 'daily') return Math.max(0, lastEndDay - first);
  if (def.cadence === 'weekly') return Math.max(0, Math.floor((lastEndDay - first) / 7));
  return Math.max(0, monthIndex(lastEndDay) - monthIndex(first));
}

/** Windows that are partitions at `now`: started before the end, closed (plus the offset) by now. */
function timeCount(def: TimeWindowPartitions, now: Date): number {
  return Math.min(windowsBeforeEnd(def), windowsClosedBy(def, now.getTime() - (def.endOffsetMinutes ?? 0) * 60_000));
}

/**
 * Window `index` of a time-window definition (counted from its first window, whether or not it has
 * closed yet), or null when the definition ends before it: what a schedule over windows steps through.
 */
export function timeWindowAt(def: TimeWindowPartitions, index: number): { key: string; start: Date; end: Date } | null {
  if (!Number.isInteger(index) || index < 0 || index >= windowsBeforeEnd(def)) return null;
  const key = timeKeyAt(def, index);
  return { key, ...timeWindowOf(def, key) };
}

/** How many of a time-window definition's windows are partitions at `at` (closed, plus the end offset), by arithmetic. */
export function timeWindowsReadyBy(def: TimeWindowPartitions, at: Date): number {
  return timeCount(def, at);
}

/** The key of window `index` (counted from the first window); the caller keeps it below the count. */
function timeKeyAt(def: TimeWindowPartitions, index: number): string {
  if (def.cadence === 'hourly') {
    const ms = local(def, def.start).toMillis() + index * HOUR_MS;
    return formatHourKey(ms, IANAZone.create(def.timezone).offset(ms));
  }
  const first = firstDay(def);
  if (def.cadence === 'daily') return dateOfEpochDay(first + index);
  if (def.cadence === 'weekly') return dateOfEpochDay(first + 7 * index);
  return monthKey(monthIndex(first) + index);
}

/** The index of an aligned key (isAlignedTimeKey holds) among the definition's windows. */
function timeKeyIndex(def: TimeWindowPartitions, key: string): number {
  if (def.cadence === 'hourly') {
    return (DateTime.fromISO(key, { setZone: true }).toMillis() - local(def, def.start).toMillis()) / HOUR_MS;
  }
  const first = firstDay(def);
  if (def.cadence === 'daily') return epochDay(key) - first;
  if (def.cadence === 'weekly') return (epochDay(key) - first) / 7;
  return monthIndex(epochDay(key)) - monthIndex(first);
}

/** The window a key of a time-window definition covers: [start, end), exact across DST changes. */
export function timeWindowOf(def: TimeWindowPartitions, key: string): { start: Date; end: Date } {
  const start = def.cadence === 'hourly' ? DateTime.fromISO(key, { setZone: true }) : local(def, key);
  if (!start.isValid || !isAlignedTimeKey(def, key)) throw new RangeError(`"${key}" is not a ${def.cadence} partition key`);
  const zoned = start.setZone(def.timezone);
  return { start: zoned.toJSDate(), end: addCadence(zoned, def.cadence).toJSDate() };
}

function isAlignedTimeKey(def: TimeWindowPartitions, key: string): boolean {
  if (def.cadence === 'hourly') {
    if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}[+-]\d{2}:\d{2}$/.test(key)) return false;
    const at = DateTime.fromISO(key, { setZone: true });
    if (!at.isValid) return false;
    const first = local(def, def.start).toMillis();
    const ms = at.toMillis();
    // The key's offset must be the zone's offset at that instant (no made-up offsets).
    return ms >= first && (ms - first) % HOUR_MS === 0 && hourlyKey(at.setZone(def.timezone)) === key;
  }
  if (!/^\d{4}-\d{2}-\d{2}$/.test(key) || !local(def, key).isValid) return false;
  const day = epochDay(key);
  const first = firstDay(def);
  if (day < first) return false;
  if (def.cadence === 'weekly') return (day - first) % 7 === 0;
  if (def.cadence === 'monthly') return key.endsWith('-01');
  return true;
}

// ---- every kind ----

function singleKeys(def: SinglePartitions, o: KeyOptions): string[] {
  switch (def.kind) {
    case 'time':
      return timeKeys(def, o.now ?? new Date());
    case 'static':
      return [...def.keys];
    case 'dynamic':
      return [...(o.dynamicKeys?.(def.name) ?? [])];
  }
}

/** Every key of the definition, in definition order (time order for time windows; first dimension major for multi). */
export function partitionKeys(def: PartitionsDefinition, o: KeyOptions = {}): string[] {
  if (def.kind !== 'multi') return singleKeys(def, o);
  const [a, b] = def.dimensions as [MultiPartitions['dimensions'][0], MultiPartitions['dimensions'][0]];
  const outer = singleKeys(a.partitions, o);
  const inner = singleKeys(b.partitions, o);
  const keys: string[] = new Array(outer.length * inner.length);
  let i = 0;
  for (const x of outer) for (const y of inner) keys[i++] = `${x}${MULTI_KEY_SEPARATOR}${y}`;
  return keys;
}

function hasSingleKey(def: SinglePartitions, key: string, o: KeyOptions): boolean {
  switch (def.kind) {
    case 'time': {
      if (!isAlignedTimeKey(def, key)) return false;
      const { start, end } = timeWindowOf(def, key);
      if (def.end !== undefined && start.getTime() >= local(def, def.end).toMillis()) return false;
      return end.getTime() + (def.endOffsetMinutes ?? 0) * 60_000 <= (o.now ?? new Date()).getTime();
    }
    case 'static':
      return def.keys.includes(key);
    case 'dynamic':
      return o.dynamicKeys?.(def.name).includes(key) ?? false;
  }
}

/** True when `key` is one of the definition's keys (now, for time windows; with the given dynamic keys). */
export function hasPartitionKey(def: PartitionsDefinition, key: string, o: KeyOptions = {}): boolean {
  if (def.kind !== 'multi') return hasSingleKey(def, key, o);
  const parts = key.split(MULTI_KEY_SEPARATOR);
  if (parts.length !== 2) return false;
  return def.dimensions.every((d, i) => hasSingleKey(d.partitions, parts[i] as string, o));
}

/** The keys from `start` to `end` inclusive, in definition order; a RangeError when either is not a key or they are reversed. */
export function partitionKeysInRange(def: PartitionsDefinition, start: string, end: string, o: KeyOptions = {}): string[] {
  const { offset, count } = partitionRangeBounds(def, start, end, o);
  return partitionKeysPage(def, offset, count, o);
}

/** Where the range from `start` to `end` (inclusive) sits in definition order, without listing it; RangeErrors as partitionKeysInRange. */
export function partitionRangeBounds(
  def: PartitionsDefinition,
  start: string,
  end: string,
  o: KeyOptions = {},
): { offset: number; count: number } {
  const i = partitionKeyIndex(def, start, o);
  const j = partitionKeyIndex(def, end, o);
  if (i < 0) throw new RangeError(`"${start}" is not a partition key of this definition`);
  if (j < 0) throw new RangeError(`"${end}" is not a partition key of this definition`);
  if (j < i) throw new RangeError(`the range starts at "${start}", after its end "${end}"`);
  return { offset: i, count: j - i + 1 };
}

function singleCount(def: SinglePartitions, o: KeyOptions): number {
  switch (def.kind) {
    case 'time':
      return timeCount(def, o.now ?? new Date());
    case 'static':
      return def.keys.length;
    case 'dynamic':
      return o.dynamicKeys?.(def.name).length ?? 0;
  }
}

function singleKeyAt(def: SinglePartitions, index: number, o: KeyOptions): string {
  switch (def.kind) {
    case 'time':
      return timeKeyAt(def, index);
    case 'static':
      return def.keys[index] as string;
    case 'dynamic':
      return o.dynamicKeys?.(def.name)[index] as string;
  }
}

function singleKeyIndex(def: SinglePartitions, key: string, o: KeyOptions): number {
  if (!hasSingleKey(def, key, o)) return -1;
  switch (def.kind) {
    case 'time':
      return timeKeyIndex(def, key);
    case 'static':
      return def.keys.indexOf(key);
    case 'dynamic':
      return o.dynamicKeys?.(def.name).indexOf(key) ?? -1;
  }
}

type Dimension = MultiPartitions['dimensions'][number];

function dimensionsOf(def: MultiPartitions): [Dimension, Dimension] {
  return def.dimensions as [Dimension, Dimension];
}

/** How many keys the definition has (now, for time windows), computed without listing them. */
export function partitionKeyCount(def: PartitionsDefinition, o: KeyOptions = {}): number {
  if (def.kind !== 'multi') return singleCount(def, o);
  const [a, b] = dimensionsOf(def);
  return singleCount(a.partitions, o) * singleCount(b.partitions, o);
}

/** The key at `index` in definition order (as `partitionKeys(def)[index]`), without listing the others. */
export function partitionKeyAt(def: PartitionsDefinition, index: number, o: KeyOptions = {}): string {
  return partitionKeysPage(def, index, 1, o)[0] as string;
}

/** The position of `key` in definition order, or -1 when it is not a key (now, for time windows). */
export function partitionKeyIndex(def: PartitionsDefinition, key: string, o: KeyOptions = {}): number {
  if (def.kind !== 'multi') return singleKeyIndex(def, key, o);
  const parts = key.split(MULTI_KEY_SEPARATOR);
  if (parts.length !== 2) return -1;
  const [a, b] = dimensionsOf(def);
  const i = singleKeyIndex(a.partitions, parts[0] as string, o);
  const j = i < 0 ? -1 : singleKeyIndex(b.partitions, parts[1] as string, o);
  return j < 0 ? -1 : i * singleCount(b.partitions, o) + j;
}

/**
 * The keys at `[offset, offset + limit)` in definition order (fewer at the end): what
 * `partitionKeys(def).slice(offset, offset + limit)` holds, at a cost of `limit`, not of the total.
 */
export function partitionKeysPage(def: PartitionsDefinition, offset: number, limit: number, o: KeyOptions = {}): string[] {
  if (!Number.isInteger(offset) || offset < 0) throw new RangeError(`offset must be a whole number >= 0, got ${offset}`);
  if (!Number.isInteger(limit) || limit < 0) throw new RangeError(`limit must be a whole number >= 0, got ${limit}`);
  const stop = Math.min(partitionKeyCount(def, o), offset + limit);
  const keys: string[] = [];
  if (def.kind !== 'multi') {
    for (let i = offset; i < stop; i++) keys.push(singleKeyAt(def, i, o));
    return keys;
  }
  const [a, b] = dimensionsOf(def);
  const inner = singleCount(b.partitions, o);
  for (let i = offset; i < stop; i++) {
    const x = singleKeyAt(a.partitions, Math.floor(i / inner), o);
    keys.push(`${x}${MULTI_KEY_SEPARATOR}${singleKeyAt(b.partitions, i % inner, o)}`);
  }
  return keys;
}

/** A multi-partition key's parts by dimension name: `{ date: '2026-03-01', region: 'eu' }`. */
export function splitMultiKey(def: MultiPartitions, key: string): Record<string, string> {
  const parts = key.split(MULTI_KEY_SEPARATOR);
  if (parts.length !== 2)
    throw new RangeError(`"${key}" is not a two-dimensional partition key (want "a${MULTI_KEY_SEPARATOR}b")`);
  return Object.fromEntries(def.dimensions.map((d, i) => [d.name, parts[i] as string]));
}

/** What `ctx.partition` holds for a key. */
export interface PartitionInfo {
  key: string;
  /** The time window, for a time-window definition or a multi definition with a time dimension. */
  window: { start: Date; end: Date } | null;
  /** The key's parts by dimension, for a multi definition. */
  dimensions: Record<string, string> | null;
}

export function partitionInfo(def: PartitionsDefinition, key: string): PartitionInfo {
  if (def.kind === 'time') return { key, window: timeWindowOf(def, key), dimensions: null };
  if (def.kind !== 'multi') return { key, window: null, dimensions: null };
  const dimensions = splitMultiKey(def, key);
  const time = def.dimensions.find((d) => d.partitions.kind === 'time');
  const window = time ? timeWindowOf(time.partitions as TimeWindowPartitions, dimensions[time.name] as string) : null;
  return { key, window, dimensions };
}

/** The dynamic sets a definition reads keys from. */
export function dynamicPartitionNames(def: PartitionsDefinition): string[] {
  if (def.kind === 'dynamic') return [def.name];
  if (def.kind === 'multi') return def.dimensions.flatMap((d) => (d.partitions.kind === 'dynamic' ? [d.partitions.name] : []));
  return [];
}

/** Two definitions with the same keys for the same data (defaults applied), so partition keys line up. */
export function samePartitioning(a: PartitionsDefinition | null, b: PartitionsDefinition | null): boolean {
  if (a === null || b === null) return a === b;
  return (
    canonical(partitionSchemas().PartitionsDefinition.parse(a)) === canonical(partitionSchemas().PartitionsDefinition.parse(b))
  );
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
