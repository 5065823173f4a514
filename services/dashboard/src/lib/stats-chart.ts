import type { StateCounts, StateType } from '@outpost/sdk/contracts';

/** Stack order, bottom to top: outcomes first, then what is still in flight. */
export const STACK_ORDER: readonly StateType[] = [
  'COMPLETED',
  'FAILED',
  'CRASHED',
  'CANCELLED',
  'CANCELLING',
  'RUNNING',
  'PENDING',
  'PAUSED',
  'SCHEDULED',
];

export interface ChartRect {
  x: number;
  y: number;
  width: number;
  height: number;
  state: StateType;
  count: number;
  bucket: number;
}

export interface StackedChart {
  rects: ChartRect[];
  /** The largest bucket total, rounded up to a readable axis maximum. */
  max: number;
  gridlines: { y: number; value: number }[];
}

/**
 * The axis for run counts up to `n`: a whole-number step of 1, 2 or 5 times a power of ten giving
 * at most four intervals, and the top as the first multiple of it that holds `n`. Every gridline
 * then sits at a whole count, so its label is exactly the count at that height.
 */
export function countAxis(n: number): { max: number; step: number } {
  const target = Math.max(1, n) / 4;
  const magnitude = 10 ** Math.floor(Math.log10(target));
  let step = [1, 2, 5, 10].map((s) => s * magnitude).find((s) => s >= target) as number;
  step = Math.max(1, Math.round(step));
  return { max: Math.max(step, Math.ceil(n / step) * step), step };
}

/** Stacked bars of run counts per bucket in a `width` × `height` drawing area. */
export function stackedBars(buckets: readonly { counts: StateCounts }[], width: number, height: number): StackedChart {
  const totals = buckets.map((b) => STACK_ORDER.reduce((sum, s) => sum + (b.counts[s] ?? 0), 0));
  const { max, step } = countAxis(Math.max(0, ...totals));
  const slot = buckets.length > 0 ? width / buckets.length : width;
  const gap = Math.min(4, slot * 0.2);
  const rects: ChartRect[] = [];
  buckets.forEach((bucket, i) => {
    let y = height;
    for (const state of STACK_ORDER) {
      const count = bucket.counts[state] ?? 0;
      if (count === 0) continue;
      const h = (count / max) * height;
      y -= h;
      rects.push({ x: i * slot + gap / 2, y, width: Math.max(1, slot - gap), height: h, state, count, bucket: i });
    }
  });
  const gridlines: StackedChart['gridlines'] = [];
  for (let value = 0; value <= max; value += step) gridlines.push({ y: height - (value / max) * height, value });
  return { rects, max, gridlines };
}
