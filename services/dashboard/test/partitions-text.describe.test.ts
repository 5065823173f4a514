import { describe, expect, it } from 'vitest';
import { describePartitions } from '../src/lib/partitions-text.js';

describe('a partitions definition in words', () => {
  it('names the cadence, the window and the time zone of a time definition', () => {
    expect(describePartitions({ kind: 'time', cadence: 'daily', start: '2026-01-01', timezone: 'Europe/Berlin' })).toBe(
      'Daily from 2026-01-01 onwards (Europe/Berlin)',
    );
    expect(
      describePartitions({
        kind: 'time',
        cadence: 'hourly',
        start: '2026-03-01T00:00',
        end: '2026-04-01',
        timezone: 'UTC',
        endOffsetMinutes: 90,
      }),
    ).toBe('Hourly from 2026-03-01 00:00 to 2026-04-01 (UTC), each 90 minutes after its window closes');
    expect(
      describePartitions({
        kind: 'time',
        cadence: 'weekly',
        start: '2026-01-04',
        timezone: 'UTC',
        weekStartsOn: 7,
        endOffsetMinutes: 1440,
      }),
    ).toBe('Weekly from 2026-01-04 onwards (UTC), weeks start on Sunday, each 1 day after its window closes');
  });

  it('lists a few static keys and counts the rest', () => {
    expect(describePartitions({ kind: 'static', keys: ['eu', 'us'] })).toBe('2 fixed keys: eu, us');
    expect(describePartitions({ kind: 'static', keys: Array.from({ length: 1200 }, (_, i) => `k${i}`) })).toBe(
      '1,200 fixed keys: k0, k1, k2, k3, k4 and 1,195 more',
    );
  });

  it('describes dynamic sets, two dimensions and no partitions', () => {
    expect(describePartitions({ kind: 'dynamic', name: 'customers' })).toBe(
      'Dynamic set “customers” (keys added through the API or from a flow)',
    );
    expect(
      describePartitions({
        kind: 'multi',
        dimensions: [
          { name: 'date', partitions: { kind: 'time', cadence: 'monthly', start: '2025-01-01', timezone: 'UTC' } },
          { name: 'region', partitions: { kind: 'static', keys: ['eu'] } },
        ],
      }),
    ).toBe('Two dimensions: date — monthly from 2025-01-01 onwards (UTC); region — 1 fixed key: eu');
    expect(describePartitions(null)).toBe('Not partitioned');
  });
});
