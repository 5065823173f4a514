import type { State, TaskRun } from '@outpost/sdk/contracts';

export interface GanttBar {
  id: string;
  name: string;
  taskKey: string;
  state: State;
  attempt: number;
  runCount: number;
  /** Percent of the chart's width. */
  left: number;
  width: number;
  durationMs: number | null;
  started: boolean;
  /** Still running: the bar grows to now. */
  open: boolean;
}

export interface GanttModel {
  bars: GanttBar[];
  startMs: number;
  endMs: number;
  /** Grid lines with their labels, as offsets in ms from the start. */
  ticks: { left: number; offsetMs: number }[];
}

const MIN_WIDTH = 0.4;
const NICE_STEPS = [
  100, 250, 500, 1000, 2000, 5000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000, 1_800_000, 3_600_000,
  7_200_000, 21_600_000, 43_200_000, 86_400_000,
];

function t(iso: string | null): number | null {
  if (!iso) return null;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? null : ms;
}

/**
 * Lays task runs out on one time axis: from the earliest start (or the flow run's start) to the
 * latest end, where unfinished tasks end now. Tasks that have not started sit at the end with no width.
 */
export function buildGantt(taskRuns: readonly TaskRun[], now: number, flowStart: string | null): GanttModel {
  const starts = taskRuns.map((r) => t(r.startTime)).filter((v): v is number => v !== null);
  const first = t(flowStart);
  if (first !== null) starts.push(first);
  const startMs = starts.length > 0 ? Math.min(...starts) : now;
  let endMs = startMs;
  for (const r of taskRuns) {
    const s = t(r.startTime);
    if (s === null) continue;
    endMs = Math.max(endMs, t(r.endTime) ?? now);
  }
  if (endMs - startMs < 1000) endMs = startMs + 1000;
  const span = endMs - startMs;

  const sorted = [...taskRuns].sort((a, b) => {
    const sa = t(a.startTime) ?? Number.POSITIVE_INFINITY;
    const sb = t(b.startTime) ?? Number.POSITIVE_INFINITY;
    return sa - sb || a.createdAt.localeCompare(b.createdAt);
  });
  const bars = sorted.map((r): GanttBar => {
    const s = t(r.startTime);
    const e = t(r.endTime);
    const open = s !== null && e === null;
    const from = s ?? endMs;
    const to = s === null ? endMs : (e ?? now);
    const left = Math.min(100, Math.max(0, ((from - startMs) / span) * 100));
    const width = s === null ? 0 : Math.min(100 - left, Math.max(MIN_WIDTH, ((to - from) / span) * 100));
    return {
      id: r.id,
      name: r.name,
      taskKey: r.taskKey,
      state: r.state,
      attempt: r.flowRunAttempt,
      runCount: r.runCount,
      left,
      width,
      durationMs: s === null ? null : Math.max(0, to - from),
      started: s !== null,
      open,
    };
  });

  const step = NICE_STEPS.find((candidate) => span / candidate <= 8) ?? 86_400_000 * Math.ceil(span / 86_400_000 / 8);
  const ticks: GanttModel['ticks'] = [];
  for (let offset = 0; offset <= span; offset += step) ticks.push({ left: (offset / span) * 100, offsetMs: offset });
  return { bars, startMs, endMs, ticks };
}
