import type { AssetMaterialization } from '@outpost/sdk/contracts';
import { formatBytes, metadataColumns } from './asset-metadata.js';

/*
 * The geometry of the asset page's "Metadata over time" chart: the numeric value of one metadata
 * key across an asset's materialisations, oldest on the left. Pure, so it is tested without a page.
 */

/**
 * A metadata entry as a number: a finite number as written, or a typed entry whose `value` is one
 * (`{ type: 'float', value: 0.81 }`, as Dagster-style emitters write them). Anything else is not
 * charted: text, booleans, structures, NaN written as a string.
 */
export function metadataNumber(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return null;
  const typed = value as { type?: unknown; value?: unknown };
  if (typeof typed.type !== 'string' || typeof typed.value !== 'number') return null;
  return Number.isFinite(typed.value) ? typed.value : null;
}

type Materialization = Pick<AssetMaterialization, 'id' | 'flowRunId' | 'partitionKey' | 'createdAt' | 'metadata'>;

/** The keys with a numeric value in at least one materialisation, in the order the metadata table shows its columns. */
export function numericMetadataKeys(items: readonly Materialization[]): string[] {
  return metadataColumns(items, Number.POSITIVE_INFINITY).filter((key) =>
    items.some((m) => metadataNumber(m.metadata[key]) !== null),
  );
}

export interface SeriesPoint {
  materializationId: string;
  runId: string;
  partitionKey: string | null;
  createdAt: string;
  value: number;
}

/** The numeric values of `key`, oldest first; a materialisation without one is left out. */
export function metadataSeries(items: readonly Materialization[], key: string): SeriesPoint[] {
  const points: SeriesPoint[] = [];
  for (const m of items) {
    const value = metadataNumber(m.metadata[key]);
    if (value === null) continue;
    points.push({ materializationId: m.id, runId: m.flowRunId, partitionKey: m.partitionKey, createdAt: m.createdAt, value });
  }
  return points.sort(
    (a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt) || a.materializationId.localeCompare(b.materializationId),
  );
}

/**
 * The value axis for values from `min` to `max`: a step of 1, 2 or 5 times a power of ten giving
 * at most four intervals, and ends on multiples of it that hold both. A flat series gets a band
 * around its value, so its line sits in the middle instead of on an edge.
 */
export function valueAxis(min: number, max: number): { min: number; max: number; step: number; ticks: number[] } {
  let lo = min;
  let hi = max;
  if (hi === lo) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  const target = (hi - lo) / 4;
  const magnitude = 10 ** Math.floor(Math.log10(target));
  const step = [1, 2, 5, 10].map((s) => s * magnitude).find((s) => s >= target * (1 - 1e-9)) ?? 10 * magnitude;
  const first = Math.floor(lo / step + 1e-9);
  const last = Math.ceil(hi / step - 1e-9);
  const ticks: number[] = [];
  // Multiples of the step, rounded to its precision so 0.7000000000000001 reads as 0.7.
  const digits = decimalsOf(step);
  for (let i = first; i <= last; i++) ticks.push(Number((i * step).toFixed(digits)));
  return { min: ticks[0] ?? lo, max: ticks[ticks.length - 1] ?? hi, step, ticks };
}

/** How many decimals a step of the axis needs: 0.05 needs two, 20 none. */
function decimalsOf(step: number): number {
  return Math.max(0, Math.min(12, -Math.floor(Math.log10(step) + 1e-9)));
}

/** A tick's label: with as many decimals as the step needs, and a size for a key ending in `bytes`. */
export function tickLabel(key: string, value: number, step: number): string {
  if (/bytes$/i.test(key)) return formatBytes(value);
  const digits = decimalsOf(step);
  return value.toLocaleString(undefined, { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export interface ChartPoint extends SeriesPoint {
  x: number;
  y: number;
}

export interface MetadataChart {
  points: ChartPoint[];
  /** The line through the points, as an SVG path. */
  path: string;
  /** Gridlines of the value axis, top to bottom. */
  gridlines: { y: number; value: number; label: string }[];
  /** The points whose time is written under the axis: at most `maxTimeLabels`, spread evenly, first and last included. */
  timeLabels: { x: number; at: string }[];
}

/**
 * The series in a `width` × `height` drawing area. Points are evenly spaced in time order rather
 * than by their timestamps: materialisations come in bursts (a backfill writes dozens in a minute),
 * and by time those would be drawn on top of each other.
 */
export function metadataChart(
  key: string,
  series: readonly SeriesPoint[],
  width: number,
  height: number,
  maxTimeLabels = 5,
): MetadataChart {
  const values = series.map((p) => p.value);
  const axis = valueAxis(Math.min(...values, Number.POSITIVE_INFINITY), Math.max(...values, Number.NEGATIVE_INFINITY));
  const yOf = (v: number) => height - ((v - axis.min) / (axis.max - axis.min)) * height;
  const slot = series.length > 1 ? width / (series.length - 1) : 0;
  const points = series.map((p, i): ChartPoint => ({ ...p, x: series.length > 1 ? i * slot : width / 2, y: yOf(p.value) }));
  const path = points.map((p, i) => `${i === 0 ? 'M' : 'L'}${round(p.x)},${round(p.y)}`).join(' ');
  const gridlines = [...axis.ticks].reverse().map((value) => ({ y: yOf(value), value, label: tickLabel(key, value, axis.step) }));
  const timeLabels: MetadataChart['timeLabels'] = [];
  if (points.length > 0) {
    const labels = Math.min(points.length, Math.max(1, maxTimeLabels));
    const chosen = new Set<number>();
    for (let i = 0; i < labels; i++) chosen.add(labels === 1 ? 0 : Math.round((i * (points.length - 1)) / (labels - 1)));
    for (const i of [...chosen].sort((a, b) => a - b)) {
      const p = points[i] as ChartPoint;
      timeLabels.push({ x: p.x, at: p.createdAt });
    }
  }
  return { points, path, gridlines, timeLabels };
}

const round = (n: number) => Math.round(n * 100) / 100;
