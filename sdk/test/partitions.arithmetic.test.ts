import { describe, expect, it } from 'vitest';
import type { PartitionsDefinition, TimeWindowPartitions } from '../src/partitions/index.js';
import {
  hasPartitionKey,
  partitionKeyAt,
  partitionKeyCount,
  partitionKeyIndex,
  partitionKeys,
  partitionKeysInRange,
  partitionKeysPage,
  partitionRangeBounds,
  partitions,
} from '../src/partitions/index.js';

/*
 * The arithmetic (count, key at an index, index of a key, a page) against the enumeration, which is
 * the definition of the keys: over many random definitions whose ranges cross DST changes in zones
 * with whole-hour, half-hour and southern-hemisphere changes.
 */

/** A small deterministic generator (mulberry32), so a failure names a seed that reproduces it. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const ZONES = [
  'UTC',
  'Europe/Berlin',
  'America/New_York',
  'America/Santiago',
  'Australia/Lord_Howe',
  'Asia/Kolkata',
  'Pacific/Chatham',
  'America/St_Johns',
];
const DAY_MS = 86_400_000;

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

function localDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** A random time-window definition and a `now`, spanning at most a few thousand windows. */
function randomTime(next: () => number): { def: TimeWindowPartitions; now: Date } {
  const cadence = (['hourly', 'daily', 'weekly', 'monthly'] as const)[Math.floor(next() * 4)] ?? 'daily';
  const timezone = ZONES[Math.floor(next() * ZONES.length)] ?? 'UTC';
  const span = { hourly: 40, daily: 400, weekly: 1500, monthly: 3000 }[cadence] * DAY_MS;
  const startMs = Date.UTC(2018, 0, 1) + Math.floor(next() * 8 * 365) * DAY_MS;
  const start =
    cadence === 'hourly'
      ? `${localDate(startMs)}T${pad(Math.floor(next() * 24))}:${next() < 0.8 ? '00' : pad(Math.floor(next() * 60))}`
      : localDate(startMs);
  const hasEnd = next() < 0.4;
  const endMs = startMs + Math.ceil(next() * span) + DAY_MS;
  const end = cadence === 'hourly' ? `${localDate(endMs)}T${pad(Math.floor(next() * 24))}:00` : localDate(endMs);
  const offset = next() < 0.3 ? Math.floor(next() * 3 * 24 * 60) : undefined;
  const o = { start, timezone, ...(hasEnd ? { end } : {}), ...(offset !== undefined ? { endOffsetMinutes: offset } : {}) };
  const def =
    cadence === 'weekly'
      ? partitions.weekly({ ...o, weekStartsOn: 1 + Math.floor(next() * 7) })
      : cadence === 'hourly'
        ? partitions.hourly(o)
        : partitions[cadence](o);
  // From before the start (no keys) to after the end.
  const now = new Date(startMs - 2 * DAY_MS + Math.floor(next() * (span + 4 * DAY_MS)));
  return { def, now };
}

function expectArithmeticMatches(def: PartitionsDefinition, o: { now: Date; dynamicKeys?: (n: string) => readonly string[] }) {
  const keys = partitionKeys(def, o);
  expect(partitionKeyCount(def, o)).toBe(keys.length);
  // Every index of a short list; of a long one the ends and every 97th (a stride prime to days and weeks).
  for (let i = 0; i < keys.length; i += keys.length <= 300 || i === 0 || i >= keys.length - 2 ? 1 : 97) {
    expect(partitionKeyAt(def, i, o)).toBe(keys[i]);
    expect(partitionKeyIndex(def, keys[i] as string, o)).toBe(i);
  }
  if (keys.length > 0) expect(partitionKeyAt(def, keys.length - 1, o)).toBe(keys.at(-1));
  expect(partitionKeysPage(def, 0, keys.length + 5, o)).toEqual(keys);
  const offset = Math.floor(keys.length / 3);
  expect(partitionKeysPage(def, offset, 7, o)).toEqual(keys.slice(offset, offset + 7));
  expect(partitionKeysPage(def, keys.length, 3, o)).toEqual([]);
}

describe('partition keys by arithmetic', () => {
  it('the count, the key at each index and the index of each key equal the enumeration for 400 random time-window definitions', () => {
    for (let seed = 1; seed <= 400; seed++) {
      const next = rng(seed);
      const { def, now } = randomTime(next);
      try {
        expectArithmeticMatches(def, { now });
      } catch (error) {
        throw new Error(`seed ${seed}: ${JSON.stringify(def)} at ${now.toISOString()}: ${(error as Error).message}`);
      }
    }
  });

  it('hourly keys across a spring-forward and a fall-back in Berlin keep every real hour, indexed in order', () => {
    const def = partitions.hourly({ start: '2026-03-28T22:00', timezone: 'Europe/Berlin' });
    const now = new Date('2026-10-26T03:00:00Z');
    expectArithmeticMatches(def, { now });
    const spring = partitionKeyIndex(def, '2026-03-29T03:00+02:00', { now });
    expect(partitionKeyAt(def, spring - 1, { now })).toBe('2026-03-29T01:00+01:00');
    const first = partitionKeyIndex(def, '2026-10-25T02:00+02:00', { now });
    expect(partitionKeyAt(def, first + 1, { now })).toBe('2026-10-25T02:00+01:00');
  });

  it('a key that is not one (unaligned, made-up offset, not yet closed, after the end) has index -1', () => {
    const now = new Date('2026-04-01T00:00:00Z');
    const hourly = partitions.hourly({ start: '2026-03-01T00:00', timezone: 'Europe/Berlin' });
    expect(partitionKeyIndex(hourly, '2026-03-29T02:00+01:00', { now })).toBe(-1);
    expect(partitionKeyIndex(hourly, '2026-03-10T05:00+02:00', { now })).toBe(-1);
    expect(partitionKeyIndex(hourly, '2026-03-10T05:30+01:00', { now })).toBe(-1);
    expect(partitionKeyIndex(hourly, '2026-04-02T05:00+02:00', { now })).toBe(-1);
    const weekly = partitions.weekly({ start: '2026-01-01', end: '2026-03-01', weekStartsOn: 1 });
    expect(partitionKeyIndex(weekly, '2026-01-06', { now })).toBe(-1);
    expect(partitionKeyIndex(weekly, '2026-03-02', { now })).toBe(-1);
    expect(partitionKeyIndex(weekly, '2026-01-05', { now })).toBe(0);
  });

  it('multi, static and dynamic definitions count, page and index like their enumeration', () => {
    const now = new Date('2026-02-10T00:00:00Z');
    const dynamicKeys = (name: string) => (name === 'customers' ? ['acme', 'globex', 'initech'] : []);
    const defs: PartitionsDefinition[] = [
      partitions.static(['b', 'a', 'c']),
      partitions.dynamic('customers'),
      partitions.dynamic('nobody'),
      partitions.multi({
        date: partitions.daily({ start: '2026-01-25', timezone: 'America/New_York' }),
        region: partitions.static(['eu', 'us']),
      }),
      partitions.multi({ customer: partitions.dynamic('customers'), month: partitions.monthly({ start: '2025-06-15' }) }),
      partitions.multi({ customer: partitions.dynamic('nobody'), hour: partitions.hourly({ start: '2026-01-01T00:00' }) }),
    ];
    for (const def of defs) expectArithmeticMatches(def, { now, dynamicKeys });
    const multi = defs[3] as PartitionsDefinition;
    expect(partitionKeyIndex(multi, '2026-01-26|us', { now })).toBe(3);
    expect(partitionKeyIndex(multi, '2026-01-26|ap', { now })).toBe(-1);
    expect(partitionKeyIndex(multi, '2026-01-26', { now })).toBe(-1);
  });

  it('a range is located and listed without listing the definition', () => {
    const def = partitions.hourly({ start: '1900-01-01T00:00', timezone: 'Europe/Berlin' });
    const now = new Date('2026-06-01T00:00:00Z');
    expect(partitionRangeBounds(def, '2026-03-29T01:00+01:00', '2026-03-29T04:00+02:00', { now }).count).toBe(3);
    expect(partitionKeysInRange(def, '2026-03-29T01:00+01:00', '2026-03-29T04:00+02:00', { now })).toEqual([
      '2026-03-29T01:00+01:00',
      '2026-03-29T03:00+02:00',
      '2026-03-29T04:00+02:00',
    ]);
    expect(() => partitionKeysInRange(def, '2026-03-29T04:00+02:00', '2026-03-29T01:00+01:00', { now })).toThrow(/after its end/);
  });

  it('a definition from year 1 counts its windows (17.7 million hours) and pages its first and last keys', () => {
    const def = partitions.hourly({ start: '0001-01-01T00:00' });
    const now = new Date('2026-01-01T00:00:00Z');
    const count = partitionKeyCount(def, { now });
    expect(count).toBe((now.getTime() - Date.parse('0001-01-01T00:00:00Z')) / 3_600_000);
    expect(count).toBeGreaterThan(17_700_000);
    expect(partitionKeysPage(def, 0, 2, { now })).toEqual(['0001-01-01T00:00+00:00', '0001-01-01T01:00+00:00']);
    expect(partitionKeyAt(def, count - 1, { now })).toBe('2025-12-31T23:00+00:00');
    expect(hasPartitionKey(def, '0001-01-01T05:00+00:00', { now })).toBe(true);
    const daily = partitions.daily({ start: '0001-01-01', end: '0001-03-01' });
    expect(partitionKeys(daily, { now })).toHaveLength(59);
    expect(partitionKeyAt(daily, 58, { now })).toBe('0001-02-28');
    const monthly = partitions.monthly({ start: '0099-11-15', end: '0100-03-01' });
    expect(partitionKeys(monthly, { now })).toEqual(['0099-12-01', '0100-01-01', '0100-02-01']);
    expect(partitionKeyCount(monthly, { now })).toBe(3);
  });
});
