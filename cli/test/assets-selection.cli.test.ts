import { describe, expect, it } from 'vitest';
import { describePartitions, partitionSelection } from '../src/commands/assets.js';
import { UsageError } from '../src/errors.js';

describe('partition selections on the command line', () => {
  it('reads one key, several keys, an inclusive range and every partition', () => {
    expect(partitionSelection([], false)).toBeUndefined();
    expect(partitionSelection(['2026-03-01'], false)).toEqual({ keys: ['2026-03-01'] });
    expect(partitionSelection(['eu', 'us'], false)).toEqual({ keys: ['eu', 'us'] });
    expect(partitionSelection(['2026-01-01..2026-12-31'], false)).toEqual({ range: { start: '2026-01-01', end: '2026-12-31' } });
    expect(partitionSelection([], true)).toEqual({ all: true });
  });

  it('refuses mixed or half-written selections with what to type instead', () => {
    expect(() => partitionSelection(['a'], true)).toThrow(UsageError);
    expect(() => partitionSelection(['a..b', 'c'], false)).toThrow(/cannot be combined/);
    expect(() => partitionSelection(['2026-01-01..'], false)).toThrow(/--partition <first>..<last>/);
    expect(() => partitionSelection(['a..b..c'], false)).toThrow(/--partition <first>..<last>/);
  });
});

describe('partitions definitions in words', () => {
  it('describes each kind the way the catalog shows it', () => {
    expect(describePartitions(null)).toBe('none');
    expect(describePartitions({ kind: 'time', cadence: 'daily', start: '2026-01-01', timezone: 'Europe/Berlin' })).toBe(
      'daily from 2026-01-01 (Europe/Berlin)',
    );
    const many = Array.from({ length: 10 }, (_, i) => `k${i}`);
    expect(describePartitions({ kind: 'static', keys: many })).toBe('static: k0, k1, k2, k3, k4, k5, k6, k7, … (10)');
    expect(
      describePartitions({
        kind: 'multi',
        dimensions: [
          {
            name: 'date',
            partitions: { kind: 'time', cadence: 'hourly', start: '2026-01-01T00:00', end: '2026-02-01T00:00', timezone: 'UTC' },
          },
          { name: 'customer', partitions: { kind: 'dynamic', name: 'customers' } },
        ],
      }),
    ).toBe('date: hourly from 2026-01-01T00:00 to 2026-02-01T00:00 (UTC) × customer: dynamic set "customers"');
  });
});
