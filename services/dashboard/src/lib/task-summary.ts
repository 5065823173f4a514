import type { StateType, TaskRunSummaryResponse } from '@outpost/sdk/contracts';
import { STACK_ORDER } from './stats-chart.js';

type NameRow = TaskRunSummaryResponse['byName'][number];
type StateCounts = Partial<Record<StateType, number>>;

export interface NameSpan {
  row: NameRow;
  /** Percent of the track: first start to last end (now while one still runs); null when none started. */
  left: number | null;
  width: number;
  /** Still running: the span grows to now. */
  open: boolean;
  segments: { state: StateType; count: number }[];
}

const MIN_WIDTH = 0.6;

function ms(iso: string | null): number | null {
  if (!iso) return null;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? null : t;
}

/** A name's counts in stack order, outcomes first: the proportions its span bar is split into. */
export function stateSegments(counts: StateCounts): { state: StateType; count: number }[] {
  return STACK_ORDER.filter((s) => (counts[s] ?? 0) > 0).map((state) => ({ state, count: counts[state] ?? 0 }));
}

/** Each task name's span on the summary's time axis (its timeline's start to end). */
export function nameSpans(summary: TaskRunSummaryResponse): NameSpan[] {
  const start = ms(summary.timeline.start);
  const end = ms(summary.timeline.end);
  const span = start !== null && end !== null ? Math.max(1, end - start) : null;
  return summary.byName.map((row) => {
    const segments = stateSegments(row.byState);
    const first = ms(row.firstStart);
    if (first === null || start === null || span === null) return { row, left: null, width: 0, open: false, segments };
    const running = (row.byState.RUNNING ?? 0) > 0;
    const to = running ? (end ?? first) : (ms(row.lastEnd) ?? end ?? first);
    const left = Math.min(100, Math.max(0, ((first - start) / span) * 100));
    const width = Math.min(100 - left, Math.max(MIN_WIDTH, ((to - first) / span) * 100));
    return { row, left, width, open: running, segments };
  });
}

export interface ActivityChart {
  /** Bars in a `width` × `height` box, one per slice. */
  bars: { x: number; y: number; width: number; height: number; active: number; fromMs: number; toMs: number }[];
  peak: number;
  /** The axis maximum: the peak rounded up to a readable number. */
  max: number;
  /** Whole time covered, in ms. */
  spanMs: number;
}

function niceMax(n: number): number {
  if (n <= 5) return 5;
  const magnitude = 10 ** Math.floor(Math.log10(n));
  for (const s of [1, 2, 2.5, 5, 10]) if (s * magnitude >= n) return s * magnitude;
  return 10 * magnitude;
}

/** Task runs active per slice as bars; slice offsets are from the timeline's start. */
export function activityChart(timeline: TaskRunSummaryResponse['timeline'], width: number, height: number): ActivityChart {
  const { active, sliceMs } = timeline;
  const peak = Math.max(0, ...active);
  const max = niceMax(peak);
  const slot = active.length > 0 ? width / active.length : width;
  const bars = active.map((n, i) => {
    const h = (n / max) * height;
    return {
      x: i * slot,
      y: height - h,
      width: Math.max(0.5, slot - Math.min(1, slot * 0.15)),
      height: h,
      active: n,
      fromMs: i * sliceMs,
      toMs: (i + 1) * sliceMs,
    };
  });
  return { bars, peak, max, spanMs: sliceMs * active.length };
}
