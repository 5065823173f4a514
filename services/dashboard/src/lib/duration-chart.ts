import type { FlowRun, StateType } from '@outpost/sdk/contracts';
import { spanMs } from './format.js';

export interface DurationBar {
  runId: string;
  runName: string;
  state: StateType;
  durationMs: number;
  /** When it started (or was due, for a run that has not started). */
  at: string;
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface DurationChart {
  bars: DurationBar[];
  /** The axis top, a whole number of steps. */
  maxMs: number;
  gridlines: { y: number; ms: number }[];
}

/** Readable axis steps: 1s, 2s, 5s, 10s, 15s, 30s, 1m … 1d. */
const STEPS_MS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1_800, 3_600, 7_200, 10_800, 21_600, 43_200, 86_400].map(
  (s) => s * 1000,
);

/** The axis for durations up to `ms`: the smallest readable step giving at most four intervals. */
export function durationAxis(ms: number): { maxMs: number; stepMs: number } {
  const longest = Math.max(1000, ms);
  const stepMs = STEPS_MS.find((s) => longest / s <= 4) ?? Math.ceil(longest / 4 / 86_400_000) * 86_400_000;
  return { maxMs: Math.ceil(longest / stepMs) * stepMs, stepMs };
}

/** The smallest bar drawn, so a run that took no time is still there to point at. */
const MIN_BAR_PX = 2;

/**
 * One bar per run, oldest on the left, as tall as the run took (a run still going counts until
 * `now`) and coloured by its state, in a `width` × `height` drawing area. Runs that never started
 * get no bar: they have no duration yet.
 */
export function durationBars(runs: readonly FlowRun[], now: number, width: number, height: number, maxBars = 60): DurationChart {
  const started = runs
    .filter((r) => r.startTime !== null)
    .sort((a, b) => Date.parse(a.startTime as string) - Date.parse(b.startTime as string))
    .slice(-maxBars);
  const durations = started.map((r) => spanMs(r.startTime, r.endTime, now) ?? 0);
  const { maxMs, stepMs } = durationAxis(Math.max(0, ...durations));
  const slot = width / Math.max(started.length, 12);
  const gap = Math.min(4, slot * 0.25);
  const bars = started.map((run, i): DurationBar => {
    const durationMs = durations[i] ?? 0;
    const h = Math.max(MIN_BAR_PX, (durationMs / maxMs) * height);
    return {
      runId: run.id,
      runName: run.name,
      state: run.state.type,
      durationMs,
      at: run.startTime as string,
      x: i * slot + gap / 2,
      y: height - h,
      width: Math.max(1, slot - gap),
      height: h,
    };
  });
  const gridlines: DurationChart['gridlines'] = [];
  for (let ms = 0; ms <= maxMs; ms += stepMs) gridlines.push({ y: height - (ms / maxMs) * height, ms });
  return { bars, maxMs, gridlines };
}
