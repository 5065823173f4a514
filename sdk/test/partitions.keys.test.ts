import { describe, expect, it } from 'vitest';
import {
  dynamicPartitionNames,
  hasPartitionKey,
  partitionInfo,
  partitionKeys,
  partitionKeysInRange,
  partitions,
  samePartitioning,
  splitMultiKey,
  timeWindowOf,
} from '../src/partitions/index.js';

const at = (iso: string) => new Date(iso);
const hours = (w: { start: Date; end: Date }) => (w.end.getTime() - w.start.getTime()) / 3_600_000;

describe('time-window partitions', () => {
  it('daily keys run from the start to the last window closed by now, in local dates', () => {
    const def = partitions.daily({ start: '2026-01-01', timezone: 'Europe/Berlin' });
    // 2026-01-04 00:30 in Berlin is 2026-01-03T23:30Z: the 3rd has closed, the 4th has not.
    expect(partitionKeys(def, { now: at('2026-01-03T23:30:00Z') })).toEqual(['2026-01-01', '2026-01-02', '2026-01-03']);
    expect(partitionKeys(def, { now: at('2026-01-03T22:59:00Z') })).toEqual(['2026-01-01', '2026-01-02']);
  });

  it('a daily window on a DST change day is 23 or 25 hours long', () => {
    const def = partitions.daily({ start: '2026-03-01', timezone: 'Europe/Berlin' });
    expect(hours(timeWindowOf(def, '2026-03-29'))).toBe(23);
    expect(hours(timeWindowOf(def, '2026-10-25'))).toBe(25);
    expect(hours(timeWindowOf(def, '2026-03-30'))).toBe(24);
    expect(timeWindowOf(def, '2026-03-29').start.toISOString()).toBe('2026-03-28T23:00:00.000Z');
  });

  it('hourly keys skip the missing spring hour and keep both repeated autumn hours apart by offset', () => {
    const spring = partitions.hourly({ start: '2026-03-29T00:00', timezone: 'Europe/Berlin' });
    expect(partitionKeys(spring, { now: at('2026-03-29T02:00:00Z') })).toEqual([
      '2026-03-29T00:00+01:00',
      '2026-03-29T01:00+01:00',
      '2026-03-29T03:00+02:00',
    ]);
    const autumn = partitions.hourly({ start: '2026-10-25T01:00', timezone: 'Europe/Berlin' });
    const keys = partitionKeys(autumn, { now: at('2026-10-25T03:00:00Z') });
    expect(keys).toEqual([
      '2026-10-25T01:00+02:00',
      '2026-10-25T02:00+02:00',
      '2026-10-25T02:00+01:00',
      '2026-10-25T03:00+01:00',
    ]);
    expect(new Set(keys).size).toBe(4);
    for (const k of keys) expect(hours(timeWindowOf(autumn, k))).toBe(1);
  });

  it('weekly windows start on the chosen weekday on or after the start date', () => {
    // 2026-01-01 is a Thursday; the first Monday on or after it is 2026-01-05.
    const def = partitions.weekly({ start: '2026-01-01', end: '2026-02-01' });
    expect(partitionKeys(def, { now: at('2027-01-01T00:00:00Z') })).toEqual([
      '2026-01-05',
      '2026-01-12',
      '2026-01-19',
      '2026-01-26',
    ]);
    const sundays = partitions.weekly({ start: '2026-01-01', end: '2026-01-20', weekStartsOn: 7 });
    expect(partitionKeys(sundays, { now: at('2027-01-01T00:00:00Z') })).toEqual(['2026-01-04', '2026-01-11', '2026-01-18']);
  });

  it('monthly keys are first days of months, and end is exclusive', () => {
    const def = partitions.monthly({ start: '2025-11-15', end: '2026-03-01', timezone: 'America/New_York' });
    expect(partitionKeys(def, { now: at('2030-01-01T00:00:00Z') })).toEqual(['2025-12-01', '2026-01-01', '2026-02-01']);
    expect(hours(timeWindowOf(def, '2026-02-01'))).toBe(28 * 24);
  });

  it('an end offset delays a window until late data has arrived', () => {
    const def = partitions.daily({ start: '2026-01-01', endOffsetMinutes: 120 });
    expect(partitionKeys(def, { now: at('2026-01-02T01:59:00Z') })).toEqual([]);
    expect(partitionKeys(def, { now: at('2026-01-02T02:00:00Z') })).toEqual(['2026-01-01']);
  });

  it('a key must be aligned, in bounds and closed to belong to the definition', () => {
    const def = partitions.weekly({ start: '2026-01-01', end: '2026-03-01' });
    const now = at('2026-06-01T00:00:00Z');
    expect(hasPartitionKey(def, '2026-01-12', { now })).toBe(true);
    expect(hasPartitionKey(def, '2026-01-13', { now })).toBe(false);
    expect(hasPartitionKey(def, '2026-03-02', { now })).toBe(false);
    expect(hasPartitionKey(def, '2026-01-12', { now: at('2026-01-15T00:00:00Z') })).toBe(false);
    const hourly = partitions.hourly({ start: '2026-10-25T00:00', timezone: 'Europe/Berlin' });
    const later = at('2026-11-01T00:00:00Z');
    expect(hasPartitionKey(hourly, '2026-10-25T02:00+01:00', { now: later })).toBe(true);
    // A made-up offset is not a key even if it names a real instant.
    expect(hasPartitionKey(hourly, '2026-10-25T03:00+02:00', { now: later })).toBe(false);
  });

  it('365 daily keys enumerate without drifting across two DST changes', () => {
    const def = partitions.daily({ start: '2026-01-01', end: '2027-01-01', timezone: 'Europe/Berlin' });
    const keys = partitionKeys(def, { now: at('2027-06-01T00:00:00Z') });
    expect(keys).toHaveLength(365);
    expect(keys.at(-1)).toBe('2026-12-31');
    const windows = keys.map((k) => timeWindowOf(def, k));
    for (let i = 1; i < windows.length; i++) expect(windows[i]?.start.getTime()).toBe(windows[i - 1]?.end.getTime());
  });

  it('bad definitions are refused with what to fix', () => {
    expect(() => partitions.daily({ start: '2026-01-01', timezone: 'Mars/Olympus' })).toThrow(/unknown timezone "Mars\/Olympus"/);
    expect(() => partitions.daily({ start: '2026-01-01T10:00' })).toThrow(/dates \(YYYY-MM-DD\)/);
    expect(() => partitions.daily({ start: '2026-02-01', end: '2026-01-01' })).toThrow(/end must be after start/);
    expect(() => partitions.static(['a', 'a'])).toThrow(/"a" twice/);
    expect(() => partitions.static(['a|b'])).toThrow();
  });
});

describe('static, dynamic and two-dimensional partitions', () => {
  it('static and dynamic keys keep their order; dynamic keys come from the caller', () => {
    expect(partitionKeys(partitions.static(['eu', 'us', 'apac']))).toEqual(['eu', 'us', 'apac']);
    const customers = partitions.dynamic('customers');
    expect(partitionKeys(customers)).toEqual([]);
    const dynamicKeys = (name: string) => (name === 'customers' ? ['acme', 'globex'] : []);
    expect(partitionKeys(customers, { dynamicKeys })).toEqual(['acme', 'globex']);
    expect(hasPartitionKey(customers, 'globex', { dynamicKeys })).toBe(true);
    expect(hasPartitionKey(customers, 'initech', { dynamicKeys })).toBe(false);
    expect(dynamicPartitionNames(customers)).toEqual(['customers']);
  });

  it('a multi definition crosses its dimensions, first dimension major, and splits keys back', () => {
    const def = partitions.multi({
      date: partitions.daily({ start: '2026-01-01', end: '2026-01-03' }),
      region: partitions.static(['eu', 'us']),
    });
    const keys = partitionKeys(def, { now: at('2026-02-01T00:00:00Z') });
    expect(keys).toEqual(['2026-01-01|eu', '2026-01-01|us', '2026-01-02|eu', '2026-01-02|us']);
    expect(splitMultiKey(def, '2026-01-02|us')).toEqual({ date: '2026-01-02', region: 'us' });
    const info = partitionInfo(def, '2026-01-02|us');
    expect(info.dimensions).toEqual({ date: '2026-01-02', region: 'us' });
    expect(info.window?.start.toISOString()).toBe('2026-01-02T00:00:00.000Z');
    expect(hasPartitionKey(def, '2026-01-02|us', { now: at('2026-02-01T00:00:00Z') })).toBe(true);
    expect(hasPartitionKey(def, '2026-01-02|apac', { now: at('2026-02-01T00:00:00Z') })).toBe(false);
    expect(() => partitions.multi({ only: partitions.static(['a']) })).toThrow(/exactly two dimensions/);
  });

  it('a range is inclusive and in definition order, and a bad bound is a RangeError', () => {
    const def = partitions.daily({ start: '2026-01-01', end: '2026-02-01' });
    const now = at('2026-03-01T00:00:00Z');
    expect(partitionKeysInRange(def, '2026-01-30', '2026-01-31', { now })).toEqual(['2026-01-30', '2026-01-31']);
    expect(() => partitionKeysInRange(def, '2026-01-31', '2026-01-30', { now })).toThrow(RangeError);
    expect(() => partitionKeysInRange(def, '2025-12-31', '2026-01-02', { now })).toThrow(/"2025-12-31" is not a partition key/);
  });

  it('two definitions written differently but meaning the same partition alike', () => {
    const a = partitions.daily({ start: '2026-01-01' });
    const b = partitions.daily({ start: '2026-01-01', timezone: 'UTC' });
    expect(samePartitioning(a, b)).toBe(true);
    expect(samePartitioning(a, partitions.daily({ start: '2026-01-02' }))).toBe(false);
    expect(samePartitioning(a, null)).toBe(false);
    expect(samePartitioning(null, null)).toBe(true);
  });
});
