import { describe, expect, it } from 'vitest';
import {
  metadataChart,
  metadataNumber,
  metadataSeries,
  numericMetadataKeys,
  tickLabel,
  valueAxis,
} from '../src/lib/metadata-chart.js';

let n = 0;
/** A materialisation written at `minute` past 10:00 with `metadata`, newest-first order being the caller's. */
function mat(minute: number, metadata: Record<string, unknown>, partitionKey: string | null = null) {
  n++;
  return {
    id: `m${String(n).padStart(3, '0')}`,
    flowRunId: `run-${n}`,
    partitionKey,
    createdAt: new Date(Date.UTC(2026, 0, 5, 10, minute)).toISOString(),
    metadata: metadata as never,
  };
}

describe('numeric metadata', () => {
  it('reads raw numbers and typed entries with a numeric value, and nothing else', () => {
    expect(metadataNumber(0.81)).toBe(0.81);
    expect(metadataNumber(0)).toBe(0);
    expect(metadataNumber({ type: 'float', value: 0.5 })).toBe(0.5);
    expect(metadataNumber({ type: 'int', value: 1200 })).toBe(1200);
    expect(metadataNumber('0.81')).toBeNull();
    expect(metadataNumber(true)).toBeNull();
    expect(metadataNumber(null)).toBeNull();
    expect(metadataNumber([1, 2])).toBeNull();
    expect(metadataNumber({ type: 'text', value: 'x' })).toBeNull();
    expect(metadataNumber({ value: 3 })).toBeNull();
    expect(metadataNumber(Number.NaN)).toBeNull();
  });

  it('offers the keys that are numeric in some materialisation, in the order the table shows them', () => {
    const items = [
      mat(2, { path: '/data/x.parquet', auc: 0.7, schema: { a: 'int' } }),
      mat(1, { rows: { type: 'int', value: 10 }, auc: 'n/a', ok: true }),
    ];
    expect(numericMetadataKeys(items)).toEqual(['auc', 'rows']);
    expect(numericMetadataKeys([mat(3, { path: 'p' })])).toEqual([]);
  });

  it('puts the values of a key oldest first and leaves out materialisations without a numeric one', () => {
    const newest = mat(30, { auc: 0.9 }, '2026-01-03');
    const middle = mat(20, { auc: 'failed' });
    const oldest = mat(10, { auc: { type: 'float', value: 0.8 } }, '2026-01-01');
    const series = metadataSeries([newest, middle, oldest], 'auc');
    expect(series.map((p) => [p.materializationId, p.runId, p.partitionKey, p.value])).toEqual([
      [oldest.id, oldest.flowRunId, '2026-01-01', 0.8],
      [newest.id, newest.flowRunId, '2026-01-03', 0.9],
    ]);
  });
});

describe('the value axis', () => {
  it('holds every value between its ends, steps by one, two or five times a power of ten, and has at most five ticks', () => {
    for (const [lo, hi] of [
      [0.71, 0.81],
      [0, 1234],
      [-3.5, 12],
      [1e6, 1.7e6],
      [0.0001, 0.00035],
      [42, 42],
      [0, 0],
    ] as const) {
      const axis = valueAxis(lo, hi);
      expect(axis.min, `${lo}..${hi}`).toBeLessThanOrEqual(lo);
      expect(axis.max, `${lo}..${hi}`).toBeGreaterThanOrEqual(hi);
      expect(axis.max).toBeGreaterThan(axis.min);
      expect(axis.ticks.length, `${lo}..${hi}`).toBeLessThanOrEqual(6);
      const mantissa = axis.step / 10 ** Math.floor(Math.log10(axis.step));
      expect(
        [1, 2, 5].some((m) => Math.abs(m - mantissa) < 1e-9),
        `step ${axis.step}`,
      ).toBe(true);
      for (let i = 1; i < axis.ticks.length; i++) {
        expect((axis.ticks[i] as number) - (axis.ticks[i - 1] as number)).toBeCloseTo(axis.step, 9);
      }
    }
  });

  it('writes ticks without floating-point noise, with the decimals the step needs', () => {
    const axis = valueAxis(0.71, 0.81);
    expect(axis.ticks).toEqual([0.7, 0.75, 0.8, 0.85]);
    expect(axis.ticks.map((t) => tickLabel('auc', t, axis.step))).toEqual(['0.70', '0.75', '0.80', '0.85']);
    expect(tickLabel('row_count', 2000, 500)).toBe((2000).toLocaleString());
    expect(tickLabel('bytes', 2048, 1024)).toBe('2.0 KiB');
  });
});

describe('the metadata chart', () => {
  it('spaces points evenly oldest to newest and draws a value at its height on the axis', () => {
    const series = metadataSeries([mat(50, { auc: 0.9 }), mat(11, { auc: 0.7 }), mat(10, { auc: 0.8 })], 'auc');
    const chart = metadataChart('auc', series, 400, 200);
    expect(chart.points.map((p) => p.x)).toEqual([0, 200, 400]);
    expect(chart.points.map((p) => p.value)).toEqual([0.8, 0.7, 0.9]);
    const top = chart.gridlines[0];
    const bottom = chart.gridlines.at(-1);
    expect(top?.y).toBeCloseTo(0);
    expect(bottom?.y).toBeCloseTo(200);
    for (const p of chart.points) {
      const expected = 200 - ((p.value - (bottom?.value ?? 0)) / ((top?.value ?? 1) - (bottom?.value ?? 0))) * 200;
      expect(p.y).toBeCloseTo(expected);
    }
    // The higher value is drawn higher.
    expect(chart.points[2]?.y).toBeLessThan(chart.points[0]?.y ?? 0);
    expect(chart.path).toBe(chart.points.map((p, i) => `${i === 0 ? 'M' : 'L'}${p.x},${Math.round(p.y * 100) / 100}`).join(' '));
  });

  it('draws a flat series across the middle of the area', () => {
    const series = metadataSeries([mat(2, { rows: 500 }), mat(1, { rows: 500 })], 'rows');
    const chart = metadataChart('rows', series, 300, 100);
    for (const p of chart.points) expect(p.y).toBeCloseTo(50);
  });

  it('writes the time under at most the asked number of points, the first and the last among them', () => {
    const items = Array.from({ length: 23 }, (_, i) => mat(i, { auc: i / 100 }));
    const chart = metadataChart('auc', metadataSeries(items, 'auc'), 660, 100, 5);
    expect(chart.timeLabels).toHaveLength(5);
    expect(chart.timeLabels[0]).toEqual({ x: 0, at: chart.points[0]?.createdAt });
    expect(chart.timeLabels.at(-1)).toEqual({ x: 660, at: chart.points.at(-1)?.createdAt });
    const xs = chart.timeLabels.map((t) => t.x);
    expect([...xs].sort((a, b) => a - b)).toEqual(xs);
    expect(new Set(xs).size).toBe(xs.length);
    expect(metadataChart('auc', metadataSeries(items.slice(0, 2), 'auc'), 660, 100, 5).timeLabels).toHaveLength(2);
  });
});
