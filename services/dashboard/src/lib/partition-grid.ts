import type { AssetPartition, PartitionSelection, PartitionStatus } from '@outpost/sdk/contracts';

/*
 * The partition grid's geometry, apart from any drawing: where each partition's cell is, which
 * cell a point falls in, which cells a viewport shows and which partitions a dragged selection
 * covers. One canvas draws it (10,000 partitions are 10,000 rectangles, not 10,000 elements).
 *
 * - linear: one definition (time, static, dynamic); cells in definition order, row by row, as many
 *   per row as the width holds.
 * - matrix: a two-dimensional definition; one dimension's keys are the rows, the other's the
 *   columns (the dimension with fewer keys goes on the rows, so a long time axis runs across).
 */

export const STATUS_ORDER: readonly PartitionStatus[] = ['MATERIALIZED', 'STALE', 'FAILED', 'MATERIALIZING', 'MISSING'];
/** Status as a small number, for typed arrays. */
export const STATUS_CODE: Record<PartitionStatus, number> = {
  MISSING: 0,
  MATERIALIZED: 1,
  STALE: 2,
  FAILED: 3,
  MATERIALIZING: 4,
};
export const STATUS_BY_CODE: readonly PartitionStatus[] = ['MISSING', 'MATERIALIZED', 'STALE', 'FAILED', 'MATERIALIZING'];

export interface GridMetrics {
  /** Cell side in CSS pixels. */
  cell: number;
  /** Space between cells. */
  gap: number;
  /** Width of the row labels (matrix only). */
  rowLabelWidth: number;
  /** Height of the column labels (matrix only). */
  columnLabelHeight: number;
}

export const DEFAULT_METRICS: GridMetrics = { cell: 12, gap: 2, rowLabelWidth: 0, columnLabelHeight: 0 };
const MATRIX_LABEL_HEIGHT = 18;
const LABEL_CHAR_WIDTH = 7;
const LABEL_PADDING = 10;
const MAX_ROW_LABEL_WIDTH = 180;

export interface GridLayout {
  kind: 'linear' | 'matrix';
  /** How many partitions the grid was made for. */
  count: number;
  cell: number;
  gap: number;
  /** cell + gap: the distance from one cell's start to the next one's. */
  pitch: number;
  columns: number;
  rows: number;
  /** Where the first cell starts (after the row and column labels). */
  originX: number;
  originY: number;
  /** The whole grid, labels included. */
  width: number;
  height: number;
  /** Partition index at `row * columns + column`, -1 where no partition is (matrix only). */
  cellIndex: Int32Array | null;
  /** Row and column of each partition; -1 when a matrix key is not in the dimensions. */
  rowOf: Int32Array;
  columnOf: Int32Array;
  /** Matrix: the keys along each axis and the dimension names. */
  rowLabels: readonly string[];
  columnLabels: readonly string[];
  rowDimension: string | null;
  columnDimension: string | null;
  /** Partitions a matrix could not place (a key outside the listed dimension keys). */
  unplaced: number;
}

/** Cells in definition order, wrapped at `width` CSS pixels. */
export function linearLayout(count: number, width: number, metrics: Partial<GridMetrics> = {}): GridLayout {
  const { cell, gap } = { ...DEFAULT_METRICS, ...metrics };
  const pitch = cell + gap;
  const columns = Math.max(1, Math.floor((Math.max(0, width) + gap) / pitch));
  const rows = Math.ceil(count / columns);
  const rowOf = new Int32Array(count);
  const columnOf = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    rowOf[i] = Math.floor(i / columns);
    columnOf[i] = i % columns;
  }
  return {
    kind: 'linear',
    count,
    cell,
    gap,
    pitch,
    columns,
    rows,
    originX: 0,
    originY: 0,
    width: count === 0 ? 0 : Math.min(count, columns) * pitch - gap,
    height: rows === 0 ? 0 : rows * pitch - gap,
    cellIndex: null,
    rowOf,
    columnOf,
    rowLabels: [],
    columnLabels: [],
    rowDimension: null,
    columnDimension: null,
    unplaced: 0,
  };
}

export interface Dimension {
  name: string;
  keys: readonly string[];
}

/**
 * A two-dimensional definition's partitions as rows × columns. Keys are `first|second` in the
 * definition's dimension order; the dimension with fewer keys becomes the rows.
 */
export function matrixLayout(
  keys: readonly string[],
  dimensions: readonly [Dimension, Dimension],
  metrics: Partial<GridMetrics> = {},
): GridLayout {
  const { cell, gap } = { ...DEFAULT_METRICS, ...metrics };
  const pitch = cell + gap;
  const [first, second] = dimensions;
  // Which part of a key (0 = first dimension) gives the row.
  const rowPart = second.keys.length < first.keys.length ? 1 : 0;
  const rowDim = rowPart === 0 ? first : second;
  const columnDim = rowPart === 0 ? second : first;
  const rowIndex = new Map(rowDim.keys.map((k, i) => [k, i]));
  const columnIndex = new Map(columnDim.keys.map((k, i) => [k, i]));
  const rows = rowDim.keys.length;
  const columns = Math.max(1, columnDim.keys.length);
  const cellIndex = new Int32Array(rows * columns).fill(-1);
  const rowOf = new Int32Array(keys.length).fill(-1);
  const columnOf = new Int32Array(keys.length).fill(-1);
  let unplaced = 0;
  keys.forEach((key, i) => {
    const bar = key.indexOf('|');
    const parts = bar < 0 ? [key, ''] : [key.slice(0, bar), key.slice(bar + 1)];
    const r = rowIndex.get(parts[rowPart] ?? '');
    const c = columnIndex.get(parts[1 - rowPart] ?? '');
    if (r === undefined || c === undefined) {
      unplaced++;
      return;
    }
    rowOf[i] = r;
    columnOf[i] = c;
    cellIndex[r * columns + c] = i;
  });
  const longest = rowDim.keys.reduce((n, k) => Math.max(n, k.length), rowDim.name.length);
  const rowLabelWidth = metrics.rowLabelWidth ?? Math.min(MAX_ROW_LABEL_WIDTH, longest * LABEL_CHAR_WIDTH + LABEL_PADDING);
  const columnLabelHeight = metrics.columnLabelHeight ?? MATRIX_LABEL_HEIGHT;
  return {
    kind: 'matrix',
    count: keys.length,
    cell,
    gap,
    pitch,
    columns,
    rows,
    originX: rowLabelWidth,
    originY: columnLabelHeight,
    // room after the last column for a column label that starts there
    width: rowLabelWidth + columns * pitch - gap + Math.max(0, columnLabelChars(columnDim.keys) * LABEL_CHAR_WIDTH - pitch),
    height: columnLabelHeight + (rows === 0 ? 0 : rows * pitch - gap),
    cellIndex,
    rowOf,
    columnOf,
    rowLabels: rowDim.keys,
    columnLabels: columnDim.keys,
    rowDimension: rowDim.name,
    columnDimension: columnDim.name,
    unplaced,
  };
}

const MIN_CELL = 8;
const MAX_CELL = 18;

/**
 * A cell size for the grid when none is given: large cells for a few dozen partitions, smaller
 * ones as they grow (10,000 daily partitions stay a few screens of scrolling); a matrix takes the
 * size at which its columns fit the width, within bounds.
 */
export function cellSizeFor(
  keys: number,
  dimensions: readonly Dimension[] | null,
  width: number,
  gap = DEFAULT_METRICS.gap,
): number {
  if (dimensions && dimensions.length === 2) {
    const [a, b] = dimensions;
    const columns = Math.max(a?.keys.length ?? 1, b?.keys.length ?? 1, 1);
    const labels = Math.min(MAX_ROW_LABEL_WIDTH, 8 * LABEL_CHAR_WIDTH + LABEL_PADDING);
    return Math.max(MIN_CELL, Math.min(MAX_CELL, Math.floor((width - labels + gap) / columns) - gap));
  }
  if (keys <= 400) return MAX_CELL;
  if (keys <= 2_000) return 14;
  return DEFAULT_METRICS.cell;
}

/** The layout for a partitions response: a matrix when it lists two dimensions, else linear. */
export function gridLayout(
  keys: readonly string[],
  dimensions: readonly Dimension[] | null,
  width: number,
  metrics: Partial<GridMetrics> = {},
): GridLayout {
  const sized = { ...metrics, cell: metrics.cell ?? cellSizeFor(keys.length, dimensions, width, metrics.gap) };
  if (dimensions && dimensions.length === 2) {
    return matrixLayout(keys, dimensions as readonly [Dimension, Dimension], sized);
  }
  return linearLayout(keys.length, width, sized);
}

/** The partition index at row/column, or -1. */
export function indexAt(layout: GridLayout, row: number, column: number): number {
  if (row < 0 || column < 0 || row >= layout.rows || column >= layout.columns) return -1;
  if (layout.cellIndex) return layout.cellIndex[row * layout.columns + column] ?? -1;
  const i = row * layout.columns + column;
  return i < layout.count ? i : -1;
}

export interface Hit {
  row: number;
  column: number;
  /** -1 on an empty matrix cell. */
  index: number;
}

/**
 * The cell under a point in grid coordinates (CSS pixels from the grid's top-left, scrolling
 * included). The gap after a cell belongs to it, so a pointer never falls between cells.
 */
export function cellAt(layout: GridLayout, x: number, y: number): Hit | null {
  const gx = x - layout.originX;
  const gy = y - layout.originY;
  if (gx < 0 || gy < 0) return null;
  const column = Math.floor(gx / layout.pitch);
  const row = Math.floor(gy / layout.pitch);
  if (column >= layout.columns || row >= layout.rows) return null;
  const index = indexAt(layout, row, column);
  if (layout.kind === 'linear' && index < 0) return null;
  return { row, column, index };
}

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** A partition's cell, in grid coordinates; null when the partition has no place. */
export function cellRect(layout: GridLayout, index: number): Rect | null {
  const row = layout.rowOf[index];
  const column = layout.columnOf[index];
  if (row === undefined || column === undefined || row < 0 || column < 0) return null;
  return {
    x: layout.originX + column * layout.pitch,
    y: layout.originY + row * layout.pitch,
    width: layout.cell,
    height: layout.cell,
  };
}

export interface CellRange {
  firstRow: number;
  lastRow: number;
  firstColumn: number;
  lastColumn: number;
}

/** Rows and columns (inclusive) a viewport of the grid shows, at least partly; null when none. */
export function visibleRange(layout: GridLayout, view: Rect): CellRange | null {
  if (layout.rows === 0 || layout.columns === 0) return null;
  const firstColumn = Math.max(0, Math.floor((view.x - layout.originX) / layout.pitch));
  const firstRow = Math.max(0, Math.floor((view.y - layout.originY) / layout.pitch));
  const lastColumn = Math.min(layout.columns - 1, Math.floor((view.x + view.width - layout.originX) / layout.pitch));
  const lastRow = Math.min(layout.rows - 1, Math.floor((view.y + view.height - layout.originY) / layout.pitch));
  if (lastColumn < firstColumn || lastRow < firstRow) return null;
  return { firstRow, lastRow, firstColumn, lastColumn };
}

/** A selection dragged from one cell to another (or one cell twice). */
export interface GridSelection {
  anchor: Hit;
  focus: Hit;
}

function selectedMatrix(layout: GridLayout, s: GridSelection, row: number, column: number): boolean {
  return (
    row >= Math.min(s.anchor.row, s.focus.row) &&
    row <= Math.max(s.anchor.row, s.focus.row) &&
    column >= Math.min(s.anchor.column, s.focus.column) &&
    column <= Math.max(s.anchor.column, s.focus.column) &&
    indexAt(layout, row, column) >= 0
  );
}

/**
 * Whether a partition is in the selection: linear grids select a run of consecutive partitions in
 * definition order (a range), matrices the rectangle between the two corners.
 */
export function isSelected(layout: GridLayout, s: GridSelection | null, index: number): boolean {
  if (!s) return false;
  if (layout.kind === 'linear') {
    return index >= Math.min(s.anchor.index, s.focus.index) && index <= Math.max(s.anchor.index, s.focus.index);
  }
  const row = layout.rowOf[index] ?? -1;
  const column = layout.columnOf[index] ?? -1;
  return row >= 0 && selectedMatrix(layout, s, row, column);
}

/** Partition indices of a selection, in definition order. */
export function selectedIndices(layout: GridLayout, s: GridSelection): number[] {
  if (layout.kind === 'linear') {
    const lo = Math.min(s.anchor.index, s.focus.index);
    const hi = Math.max(s.anchor.index, s.focus.index);
    return Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
  }
  const out: number[] = [];
  for (let r = Math.min(s.anchor.row, s.focus.row); r <= Math.max(s.anchor.row, s.focus.row); r++) {
    for (let c = Math.min(s.anchor.column, s.focus.column); c <= Math.max(s.anchor.column, s.focus.column); c++) {
      const i = indexAt(layout, r, c);
      if (i >= 0) out.push(i);
    }
  }
  return out.sort((a, b) => a - b);
}

/**
 * What to send as `partitions` to materialise a selection: one key, an inclusive range of a
 * linear grid, or a matrix rectangle's keys.
 */
export function selectionToPartitions(layout: GridLayout, keys: readonly string[], s: GridSelection): PartitionSelection | null {
  const indices = selectedIndices(layout, s);
  const first = indices[0];
  const last = indices.at(-1);
  if (first === undefined || last === undefined) return null;
  const firstKey = keys[first];
  const lastKey = keys[last];
  if (firstKey === undefined || lastKey === undefined) return null;
  if (indices.length === 1) return { keys: [firstKey] };
  if (layout.kind === 'linear') return { range: { start: firstKey, end: lastKey } };
  return { keys: indices.map((i) => keys[i] as string) };
}

/** Statuses and blocked marks as typed arrays, the form the canvas draws from. */
export interface PartitionCells {
  keys: string[];
  status: Uint8Array;
  blocked: Uint8Array;
}

export function partitionCells(partitions: readonly AssetPartition[]): PartitionCells {
  const keys = new Array<string>(partitions.length);
  const status = new Uint8Array(partitions.length);
  const blocked = new Uint8Array(partitions.length);
  partitions.forEach((p, i) => {
    keys[i] = p.key;
    status[i] = STATUS_CODE[p.status];
    blocked[i] = p.blocked ? 1 : 0;
  });
  return { keys, status, blocked };
}

function columnLabelChars(keys: readonly string[]): number {
  return keys.reduce((n, k) => Math.max(n, k.length), 0);
}

/**
 * Column labels of a matrix that fit without overlapping: every `step`-th column, where one label
 * of `longest` characters fits in `step` columns.
 */
export function columnLabelStep(layout: GridLayout): number {
  const needed = columnLabelChars(layout.columnLabels) * LABEL_CHAR_WIDTH + LABEL_PADDING;
  return Math.max(1, Math.ceil(needed / layout.pitch));
}
