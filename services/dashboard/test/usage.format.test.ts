import { describe, expect, it } from 'vitest';
import { addMonths, formatBytes, formatCompute, formatMeasure, monthRange } from '../src/lib/usage.js';

describe('usage figures as the organisation page writes them', () => {
  it('writes bytes in the largest decimal unit that keeps the figure at one or more', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(999)).toBe('999 B');
    expect(formatBytes(1_500)).toBe('1.5 kB');
    expect(formatBytes(12_345_678)).toBe('12.3 MB');
    expect(formatBytes(204_000_000_000)).toBe('204 GB');
    // Rounding never writes a thousand of one unit where one of the next is meant.
    expect(formatBytes(999_960)).toBe('1 MB');
  });

  it('writes compute in hours and minutes, and a sliver of it as less than a minute rather than nothing', () => {
    expect(formatCompute(0)).toBe('0m');
    expect(formatCompute(0.05)).toBe('< 1m');
    expect(formatCompute(45 * 60)).toBe('45m');
    expect(formatCompute(3 * 3600 + 5 * 60 + 10)).toBe('3h 05m');
    expect(formatCompute(1_204 * 3600)).toBe(`${(1_204).toLocaleString()}h 00m`);
  });

  it('writes counts with thousands separators', () => {
    expect(formatMeasure('runs', 1_234_567)).toBe((1_234_567).toLocaleString());
    expect(formatMeasure('logBytes', 2_000)).toBe('2 kB');
    expect(formatMeasure('computeSeconds', 7_200)).toBe('2h 00m');
  });

  it('counts months across year ends, both ends included', () => {
    expect(addMonths('2026-01', -1)).toBe('2025-12');
    expect(addMonths('2025-12', 1)).toBe('2026-01');
    expect(addMonths('2026-06', -23)).toBe('2024-07');
    expect(monthRange('2025-11', '2026-02')).toEqual(['2025-11', '2025-12', '2026-01', '2026-02']);
    expect(monthRange('2026-02', '2026-02')).toEqual(['2026-02']);
    expect(monthRange('2026-03', '2026-02')).toEqual([]);
  });
});
