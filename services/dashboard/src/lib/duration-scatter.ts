import type { FlowRun, StateType } from '@outpost/sdk/contracts';
import { durationAxis } from './duration-chart.js';
import { spanMs } from './format.js';

export type DurationScale = 'log' | 'linear';

export interface ScatterDot {
  runId: string;
  runName: string;
  state: StateType;
  /** How long it took, or has taken so far when `running`. */
  durationMs: number;
  /** When it started. */
  at: string;
  /** Not ended yet: its duration grows until it does. */
  running: boolean;
  x: number;
  y: number;
}

export interface DurationScatter {
  dots: ScatterDot[];
  scale: DurationScale;
  yTicks: { y: number; ms: number }[];
  xTicks: { x: number; t: number }[];
  /** The time axis, epoch milliseconds. */
  fromMs: number;
  toMs: number;
}

/** Log-scale ticks, each a duration people say: 100 ms, 1 s, 10 s, 1 min, 10 min, 1 h, 6 h, 1 d, 1 w. */
const LOG_TICKS_MS = [100, 1_000, 10_000, 60_000, 600_000, 3_600_000, 21_600_000, 86_400_000, 604_800_000];
/** Time-axis steps: 1 min … 1 week. */
const TIME_STEPS_MS = [1, 5, 15, 30, 60, 180, 360, 720, 1_440, 2_880, 10_080].map((m) => m * 60_000);
/** Below this spread of durations (longest over shortest) a linear axis reads better than a log one. */
const LOG_SPREAD = 20;

/**
 * The time axis's ticks: the smallest readable step giving at most `most` ticks between `from`
 * and `to`, on whole multiples of the step counted from `offsetMs` (the viewer's offset from UTC
 * in milliseconds, so days and hours fall on local midnights and hours).
 */
export function timeTicks(from: number, to: number, most = 6, offsetMs = 0): number[] {
  const span = Math.max(1, to - from);
  const step = TIME_STEPS_MS.find((s) => span / s <= most) ?? Math.ceil(span / most / 604_800_000) * 604_800_000;
  const ticks: number[] = [];
  for (let t = Math.ceil((from + offsetMs) / step) * step - offsetMs; t <= to; t += step) ticks.push(t);
  return ticks;
}

function logAxis(shortest: number, longest: number): { lo: number; hi: number } {
  const first = LOG_TICKS_MS[0] as number;
  const last = LOG_TICKS_MS.at(-1) as number;
  const lo = [...LOG_TICKS_MS].reverse().find((t) => t <= shortest) ?? first;
  const hi = LOG_TICKS_MS.find((t) => t >= longest && t > lo) ?? Math.max(last, longest);
  return { lo, hi };
}

/**
 * One dot per started run in a `width` × `height` drawing area: across by when it started, up by
 * how long it took (a run not yet ended counts until `now`). The duration axis is logarithmic when
 * the durations spread over more than a factor of 20, so a one-second run and a one-hour run are
 * both readable, and linear otherwise; `scale` forces one. Runs that never started get no dot.
 * The `maxDots` newest starts are kept.
 */
export function durationScatter(
  runs: readonly FlowRun[],
  now: number,
  width: number,
  height: number,
  options: { scale?: DurationScale; maxDots?: number; offsetMs?: number } = {},
): DurationScatter {
  const started = runs
    .filter((r) => r.startTime !== null && !Number.isNaN(Date.parse(r.startTime)))
    .sort((a, b) => Date.parse(a.startTime as string) - Date.parse(b.startTime as string) || a.id.localeCompare(b.id))
    .slice(-(options.maxDots ?? 500));
  const durations = started.map((r) => spanMs(r.startTime, r.endTime, now) ?? 0);
  const starts = started.map((r) => Date.parse(r.startTime as string));

  const earliest = Math.min(...starts);
  const latest = Math.max(...starts);
  // A lone run (or runs started together) sits in the middle of an hour; otherwise 3% margins keep dots off the edges.
  const pad = started.length === 0 ? 0 : latest - earliest < 60_000 ? 1_800_000 : (latest - earliest) * 0.03;
  const fromMs = started.length === 0 ? now - 3_600_000 : earliest - pad;
  const toMs = started.length === 0 ? now : latest + pad;
  const xOf = (t: number) => ((t - fromMs) / (toMs - fromMs)) * width;

  const longest = Math.max(0, ...durations);
  const shortest = Math.min(...durations.map((d) => Math.max(d, LOG_TICKS_MS[0] as number)));
  const scale = options.scale ?? (started.length > 0 && longest / shortest > LOG_SPREAD ? 'log' : 'linear');

  let yOf: (ms: number) => number;
  let tickMs: number[];
  if (scale === 'log') {
    const { lo, hi } = logAxis(Number.isFinite(shortest) ? shortest : 1_000, Math.max(longest, 1_000));
    const span = Math.log(hi) - Math.log(lo);
    yOf = (ms) => height - ((Math.log(Math.min(hi, Math.max(lo, ms))) - Math.log(lo)) / span) * height;
    tickMs = LOG_TICKS_MS.filter((t) => t >= lo && t <= hi);
    if (!tickMs.includes(hi)) tickMs.push(hi);
  } else {
    const { maxMs, stepMs } = durationAxis(longest);
    yOf = (ms) => height - (ms / maxMs) * height;
    tickMs = [];
    for (let ms = 0; ms <= maxMs; ms += stepMs) tickMs.push(ms);
  }

  const dots = started.map(
    (run, i): ScatterDot => ({
      runId: run.id,
      runName: run.name,
      state: run.state.type,
      durationMs: durations[i] ?? 0,
      at: run.startTime as string,
      running: run.endTime === null,
      x: xOf(starts[i] ?? fromMs),
      y: yOf(durations[i] ?? 0),
    }),
  );
  return {
    dots,
    scale,
    yTicks: tickMs.map((ms) => ({ ms, y: yOf(ms) })),
    xTicks: timeTicks(fromMs, toMs, 6, options.offsetMs ?? 0).map((t) => ({ t, x: xOf(t) })),
    fromMs,
    toMs,
  };
}
