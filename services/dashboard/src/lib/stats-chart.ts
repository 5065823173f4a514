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

function niceMax(n: number): number {
  if (n <= 5) return 5;
  const magnitude = 10 ** Math.floor(Math.log10(n));
  const steps = [1, 2, 2.5, 5, 10];
  for (const s of steps) if (s * magnitude >= n) return s * magnitude;
  return 10 * magnitude;
}

/** Stacked bars of run counts per bucket in a `width` × `height` drawing area. */
export function stackedBars(buckets: readonly { counts: StateCounts }[], width: number, height: number): StackedChart {
  const totals = buckets.map((b) => STACK_ORDER.reduce((sum, s) => sum + (b.counts[s] ?? 0), 0));
  const max = niceMax(Math.max(0, ...totals));
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
  const gridlines = [0, 0.25, 0.5, 0.75, 1].map((f) => ({ y: height - f * height, value: Math.round(f * max) }));
  return { rects, max, gridlines };
}
