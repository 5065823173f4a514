import type { PartitionsDefinition, TimeWindowPartitions } from '@outpost/sdk/contracts';
import { describe, expect, test } from 'vitest';
import { resolvePartitionSelection, SelectionError, selectionKeys, timeKeys, unitRun } from '../src/backfills/units.js';
import { latestPartitionAt, WindowTimeline } from '../src/scheduling/partition-windows.js';

const NOW = { now: new Date('2026-01-10T12:00:00Z') };
const daily: TimeWindowPartitions = { kind: 'time', cadence: 'daily', start: '2025-12-30', timezone: 'UTC' };

describe('a backfill selection', () => {
  test('a range is stored as a range and all becomes the range of the keys there are now; dynamic sets are stored as their keys', () => {
    expect(resolvePartitionSelection(daily, { range: { start: '2026-01-02', end: '2026-01-04' } }, 'p', NOW)).toEqual({
      stored: { range: { start: '2026-01-02', end: '2026-01-04' } },
      keys: ['2026-01-02', '2026-01-03', '2026-01-04'],
    });
    const all = resolvePartitionSelection(daily, { all: true }, 'p', NOW);
    expect(all.stored).toEqual({ range: { start: '2025-12-30', end: '2026-01-09' } });
    expect(all.keys).toHaveLength(11);
    // Stored ranges give the same keys later: windows that closed since are not added.
    expect(selectionKeys(all.stored, daily)).toEqual(all.keys);
    const dynamic: PartitionsDefinition = { kind: 'dynamic', name: 'customers' };
    const o = { ...NOW, dynamicKeys: () => ['acme', 'globex', 'initech'] };
    expect(resolvePartitionSelection(dynamic, { range: { start: 'globex', end: 'initech' } }, 'p', o).stored).toEqual({
      keys: ['globex', 'initech'],
    });
  });

  test('explicit keys are checked one by one, de-duplicated and put in definition order', () => {
    expect(resolvePartitionSelection(daily, { keys: ['2026-01-05', '2025-12-31', '2026-01-05'] }, 'p', NOW).keys).toEqual([
      '2025-12-31',
      '2026-01-05',
    ]);
    const refused = (() => {
      try {
        resolvePartitionSelection(daily, { keys: ['2026-01-05', '2026-02-30', '2027-01-01'] }, 'body.partitions', NOW);
      } catch (error) {
        return error;
      }
    })();
    expect(refused).toBeInstanceOf(SelectionError);
    expect((refused as SelectionError).fieldErrors.map((e) => e.path)).toEqual([
      'body.partitions.keys.1',
      'body.partitions.keys.2',
    ]);
  });

  test('ranges name the end that is wrong: a key that is not one, or an end before the start', () => {
    const fieldOf = (range: { start: string; end: string }) => {
      try {
        resolvePartitionSelection(daily, { range }, 'r', NOW);
        return null;
      } catch (error) {
        return (error as SelectionError).fieldErrors[0]?.path;
      }
    };
    expect(fieldOf({ start: '2025-01-01', end: '2026-01-02' })).toBe('r.range.start');
    expect(fieldOf({ start: '2026-01-02', end: '2027-01-01' })).toBe('r.range.end');
    expect(fieldOf({ start: '2026-01-05', end: '2026-01-02' })).toBe('r.range.end');
  });

  test('scheduled times in [start, end) are the keys of a backfill over times, refused beyond the cap', () => {
    const hourly = { kind: 'interval', intervalSeconds: 3600, anchorDate: new Date('2020-01-01T00:00:00Z') } as const;
    expect(timeKeys(hourly, new Date('2026-01-01T00:30:00Z'), new Date('2026-01-01T03:00:00Z'), 'p')).toEqual([
      '2026-01-01T01:00:00.000Z',
      '2026-01-01T02:00:00.000Z',
    ]);
    const secondly = { kind: 'interval', intervalSeconds: 1, anchorDate: new Date('2020-01-01T00:00:00Z') } as const;
    expect(() => timeKeys(secondly, new Date('2026-01-01T00:00:00Z'), new Date('2026-02-01T00:00:00Z'), 'body.end')).toThrow(
      SelectionError,
    );
  });
});

describe('time windows on a schedule', () => {
  const berlin: TimeWindowPartitions = { kind: 'time', cadence: 'daily', start: '2025-01-01', timezone: 'Europe/Berlin' };

  test('a run scheduled at t works on the latest window closed (plus the end offset) by t', () => {
    expect(latestPartitionAt(berlin, new Date('2025-03-30T21:59:59Z'))).toBe('2025-03-29');
    expect(latestPartitionAt(berlin, new Date('2025-03-30T22:00:00Z'))).toBe('2025-03-30');
    expect(latestPartitionAt({ ...berlin, endOffsetMinutes: 60 }, new Date('2025-03-30T22:30:00Z'))).toBe('2025-03-29');
    expect(latestPartitionAt(berlin, new Date('2024-12-31T00:00:00Z'))).toBeNull();
    expect(latestPartitionAt({ kind: 'static', keys: ['a'] }, new Date())).toBeNull();
  });

  test('fires at each window end across a DST change, from before a future start, and never after the definition ends', () => {
    const timeline = new WindowTimeline({ ...berlin, start: '2025-03-29', end: '2025-04-01' });
    const times: string[] = [];
    for (let t = timeline.next(new Date('2020-01-01T00:00:00Z')); t; t = timeline.next(t)) times.push(t.toISOString());
    // 23-hour day on 30 March: midnights at 23:00Z, then 22:00Z.
    expect(times).toEqual(['2025-03-29T23:00:00.000Z', '2025-03-30T22:00:00.000Z', '2025-03-31T22:00:00.000Z']);
    expect(timeline.latestAtOrBefore(new Date('2025-03-31T12:00:00Z'))?.toISOString()).toBe('2025-03-30T22:00:00.000Z');
    const hourly = new WindowTimeline({ kind: 'time', cadence: 'hourly', start: '2025-10-26T01:00', timezone: 'Europe/Berlin' });
    // The repeated hour of the fall-back is two windows, two firings an hour apart.
    let t = hourly.next(new Date('2025-10-25T23:00:00Z'));
    const fall: string[] = [];
    for (let i = 0; i < 4 && t; i++, t = hourly.next(t)) fall.push(t.toISOString());
    expect(fall).toEqual([
      '2025-10-26T00:00:00.000Z',
      '2025-10-26T01:00:00.000Z',
      '2025-10-26T02:00:00.000Z',
      '2025-10-26T03:00:00.000Z',
    ]);
  });
});

describe('unit runs', () => {
  test('a scheduled time carries the window it closes; a partition key is its own and due now', () => {
    const times = { times: { start: '2026-01-01T00:00:00.000Z', end: '2026-01-03T00:00:00.000Z' } };
    expect(unitRun(times, daily, '2026-01-02T00:00:00.000Z')).toEqual({
      partitionKey: '2026-01-01',
      scheduledTime: new Date('2026-01-02T00:00:00.000Z'),
    });
    expect(unitRun(times, null, '2026-01-02T00:00:00.000Z').partitionKey).toBeNull();
    expect(unitRun({ keys: ['eu'] }, null, 'eu')).toEqual({ partitionKey: 'eu', scheduledTime: null });
  });
});
