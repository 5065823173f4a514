import type { AssetPartition } from '@outpost/sdk/contracts';
import { describe, expect, it } from 'vitest';
import {
  cellAt,
  cellRect,
  columnLabelStep,
  gridLayout,
  isSelected,
  linearLayout,
  matrixLayout,
  partitionCells,
  STATUS_BY_CODE,
  selectedIndices,
  selectionToPartitions,
  visibleRange,
} from '../src/lib/partition-grid.js';

const days = (n: number) =>
  Array.from({ length: n }, (_, i) => new Date(Date.UTC(2026, 0, 1) + i * 86_400_000).toISOString().slice(0, 10));

describe('the partition grid of one dimension', () => {
  it('wraps 10,000 cells in definition order at the width it is given', () => {
    const layout = linearLayout(10_000, 1000, { cell: 12, gap: 2 });
    // (1000 + 2) / 14 → 71 cells per row
    expect(layout.columns).toBe(71);
    expect(layout.rows).toBe(Math.ceil(10_000 / 71));
    expect(layout.width).toBe(71 * 14 - 2);
    expect(layout.height).toBe(layout.rows * 14 - 2);
    expect(cellRect(layout, 0)).toEqual({ x: 0, y: 0, width: 12, height: 12 });
    expect(cellRect(layout, 71)).toEqual({ x: 0, y: 14, width: 12, height: 12 });
    expect(cellRect(layout, 9_999)).toEqual({ x: (9_999 % 71) * 14, y: Math.floor(9_999 / 71) * 14, width: 12, height: 12 });
  });

  it('draws a few partitions as large cells and many as small ones', () => {
    expect(gridLayout(days(59), null, 1000).cell).toBe(18);
    expect(gridLayout(days(1500), null, 1000).cell).toBe(14);
    expect(gridLayout(days(10_000), null, 1000).cell).toBe(12);
    const dims = [
      { name: 'date', keys: days(31) },
      { name: 'region', keys: ['eu', 'us'] },
    ];
    // 31 columns in ~1000 px fit at the largest size; 365 would not fit, so they get the smallest and scroll
    expect(gridLayout([], dims, 1000).cell).toBe(18);
    expect(gridLayout([], [{ name: 'date', keys: days(365) }, dims[1] as (typeof dims)[number]], 1000).cell).toBe(8);
  });

  it('keeps at least one cell per row however narrow it is', () => {
    const layout = linearLayout(3, 0);
    expect(layout.columns).toBe(1);
    expect(layout.rows).toBe(3);
  });

  it('finds the cell under a point, the gap after a cell included, and nothing past the last partition', () => {
    const layout = linearLayout(25, 140, { cell: 12, gap: 2 }); // 10 per row, 3 rows, last row of 5
    expect(cellAt(layout, 0, 0)).toEqual({ row: 0, column: 0, index: 0 });
    expect(cellAt(layout, 13.9, 0)).toEqual({ row: 0, column: 0, index: 0 });
    expect(cellAt(layout, 14, 0)).toEqual({ row: 0, column: 1, index: 1 });
    expect(cellAt(layout, 14 * 3 + 5, 14 * 2 + 5)).toEqual({ row: 2, column: 3, index: 23 });
    expect(cellAt(layout, 14 * 6, 14 * 2)).toBeNull(); // index 26 does not exist
    expect(cellAt(layout, -1, 5)).toBeNull();
    expect(cellAt(layout, 5, 14 * 3)).toBeNull();
    expect(cellAt(layout, 14 * 10, 0)).toBeNull();
    // every cell's own rectangle hits that cell
    for (let i = 0; i < 25; i++) {
      const r = cellRect(layout, i);
      expect(r && cellAt(layout, r.x + r.width / 2, r.y + r.height / 2)?.index).toBe(i);
    }
  });

  it('draws only the rows and columns a viewport shows', () => {
    const layout = linearLayout(10_000, 1400, { cell: 12, gap: 2 }); // 100 per row, 100 rows
    expect(visibleRange(layout, { x: 0, y: 0, width: 1400, height: 300 })).toEqual({
      firstRow: 0,
      lastRow: 21,
      firstColumn: 0,
      lastColumn: 99,
    });
    expect(visibleRange(layout, { x: 0, y: 1386, width: 1400, height: 300 })).toEqual({
      firstRow: 99,
      lastRow: 99,
      firstColumn: 0,
      lastColumn: 99,
    });
    expect(visibleRange(linearLayout(0, 100), { x: 0, y: 0, width: 100, height: 100 })).toBeNull();
  });

  it('selects a range of consecutive partitions across rows and sends it as a range', () => {
    const keys = days(30);
    const layout = linearLayout(keys.length, 140, { cell: 12, gap: 2 });
    const from = cellAt(layout, 14 * 8, 0); // index 8
    const to = cellAt(layout, 14 * 2, 14 * 1); // index 12
    expect(from?.index).toBe(8);
    expect(to?.index).toBe(12);
    if (!from || !to) throw new Error('no hit');
    // dragged backwards: the same range
    const selection = { anchor: to, focus: from };
    expect(selectedIndices(layout, selection)).toEqual([8, 9, 10, 11, 12]);
    expect(isSelected(layout, selection, 7)).toBe(false);
    expect(isSelected(layout, selection, 10)).toBe(true);
    expect(selectionToPartitions(layout, keys, selection)).toEqual({ range: { start: '2026-01-09', end: '2026-01-13' } });
    expect(selectionToPartitions(layout, keys, { anchor: from, focus: from })).toEqual({ keys: ['2026-01-09'] });
  });

  it('reads statuses and blocked marks into typed arrays in response order', () => {
    const partitions: AssetPartition[] = (['MATERIALIZED', 'FAILED', 'MISSING', 'STALE', 'MATERIALIZING'] as const).map(
      (status, i) => ({
        key: `k${i}`,
        status,
        materializedAt: null,
        flowRunId: null,
        dataVersion: null,
        staleReason: null,
        blocked: i === 2,
      }),
    );
    const cells = partitionCells(partitions);
    expect(cells.keys).toEqual(['k0', 'k1', 'k2', 'k3', 'k4']);
    expect([...cells.status].map((c) => STATUS_BY_CODE[c])).toEqual([
      'MATERIALIZED',
      'FAILED',
      'MISSING',
      'STALE',
      'MATERIALIZING',
    ]);
    expect([...cells.blocked]).toEqual([0, 0, 1, 0, 0]);
  });
});

describe('the partition grid of two dimensions', () => {
  const dates = days(365);
  const regions = ['eu', 'us', 'apac'];
  const keys = dates.flatMap((d) => regions.map((r) => `${d}|${r}`));
  const dimensions = [
    { name: 'date', keys: dates },
    { name: 'region', keys: regions },
  ] as const;

  it('puts the dimension with fewer keys on the rows and places every key by its parts', () => {
    const layout = matrixLayout(keys, dimensions, { cell: 10, gap: 2 });
    expect(layout.kind).toBe('matrix');
    expect(layout.rowDimension).toBe('region');
    expect(layout.columnDimension).toBe('date');
    expect(layout.rows).toBe(3);
    expect(layout.columns).toBe(365);
    expect(layout.unplaced).toBe(0);
    const i = keys.indexOf('2026-02-01|us');
    expect(layout.rowOf[i]).toBe(1);
    expect(layout.columnOf[i]).toBe(31);
    const r = cellRect(layout, i);
    expect(r).toEqual({ x: layout.originX + 31 * 12, y: layout.originY + 12, width: 10, height: 10 });
    // the last column's date label (10 characters) fits after it
    expect(layout.width).toBe(layout.originX + 365 * 12 - 2 + (10 * 7 - 12));
    expect(layout.height).toBe(layout.originY + 3 * 12 - 2);
    expect(layout.originX).toBeGreaterThan(0);
    expect(layout.originY).toBeGreaterThan(0);
  });

  it('lays out the same definition the same way whichever dimension comes first', () => {
    const swapped = matrixLayout(
      regions.flatMap((r) => dates.map((d) => `${r}|${d}`)),
      [dimensions[1], dimensions[0]],
    );
    expect(swapped.rowDimension).toBe('region');
    expect(swapped.rows).toBe(3);
    expect(swapped.columns).toBe(365);
  });

  it('hits cells by point, nothing in the labels, and counts keys outside the dimensions as unplaced', () => {
    const layout = gridLayout([...keys, '2027-01-01|eu'], dimensions, 800, { cell: 10, gap: 2 });
    expect(layout.unplaced).toBe(1);
    expect(cellAt(layout, layout.originX - 1, layout.originY + 1)).toBeNull();
    expect(cellAt(layout, layout.originX + 1, layout.originY - 1)).toBeNull();
    const hit = cellAt(layout, layout.originX + 12 * 40 + 3, layout.originY + 12 * 2 + 3);
    expect(hit).toEqual({ row: 2, column: 40, index: keys.indexOf(`${dates[40]}|apac`) });
  });

  it('leaves a missing combination an empty cell that is never selected', () => {
    const partial = keys.filter((k) => k !== `${dates[1]}|us`);
    const layout = matrixLayout(partial, dimensions);
    const hole = cellAt(layout, layout.originX + layout.pitch * 1 + 1, layout.originY + layout.pitch * 1 + 1);
    expect(hole).toEqual({ row: 1, column: 1, index: -1 });
    const a = cellAt(layout, layout.originX + 1, layout.originY + 1);
    const b = cellAt(layout, layout.originX + layout.pitch * 2 + 1, layout.originY + layout.pitch * 1 + 1);
    if (!a || !b) throw new Error('no hit');
    // the rectangle of 2 rows × 3 columns without the hole: 5 partitions
    const selection = { anchor: b, focus: a };
    const picked = selectedIndices(layout, selection);
    expect(picked.map((i) => partial[i])).toEqual([
      `${dates[0]}|eu`,
      `${dates[0]}|us`,
      `${dates[1]}|eu`,
      `${dates[2]}|eu`,
      `${dates[2]}|us`,
    ]);
    expect(selectionToPartitions(layout, partial, selection)).toEqual({ keys: picked.map((i) => partial[i]) });
    expect(isSelected(layout, selection, partial.indexOf(`${dates[0]}|apac`))).toBe(false);
  });

  it('labels every few columns so that date labels never overlap', () => {
    const layout = matrixLayout(keys, dimensions, { cell: 10, gap: 2 });
    const step = columnLabelStep(layout);
    // a ten-character date needs ~80 px; columns are 12 px apart
    expect(step * layout.pitch).toBeGreaterThanOrEqual(10 * 7);
    expect(step).toBeLessThan(12);
  });
});
