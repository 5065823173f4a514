import { monthsBetween, USAGE_MEASURES, type UsageMeasure, type WorkspaceMonthUsage } from '@outpost/sdk/contracts';
import { countAxis } from './stats-chart.js';

/** What a measure counts, which decides how its figures are written and its axis is stepped. */
export type UsageUnit = 'count' | 'bytes' | 'seconds';

/** Each measure's name on the page and its unit. */
export const MEASURE_TEXT: Record<UsageMeasure, { label: string; unit: UsageUnit; noun: string }> = {
  runs: { label: 'Runs', unit: 'count', noun: 'runs' },
  taskRuns: { label: 'Task runs', unit: 'count', noun: 'task runs' },
  computeSeconds: { label: 'Compute', unit: 'seconds', noun: 'of compute' },
  logLines: { label: 'Log lines', unit: 'count', noun: 'log lines' },
  logBytes: { label: 'Log bytes', unit: 'bytes', noun: 'of logs' },
  events: { label: 'Events', unit: 'count', noun: 'events' },
  metadataBytes: { label: 'Metadata', unit: 'bytes', noun: 'of metadata' },
};

// One formatter each, made once: `toLocaleString` with options builds a new one per call. At 100
// workspaces × 24 months (test/e2e/dashboard.organisation-usage.test.ts) the section took about
// 250 ms to draw after the answer arrived with those calls, and 80 to 190 ms with these.
const whole = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const oneDecimal = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });
const threeDecimals = new Intl.NumberFormat(undefined, { maximumFractionDigits: 3 });
const compact = new Intl.NumberFormat(undefined, { notation: 'compact' });

// Decimal units, as storage is billed: 1 kB is 1,000 bytes.
const BYTE_UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'] as const;

/** Bytes in the largest decimal unit that keeps the figure at 1 or more: 512 B, 1.5 kB, 12.3 MB, 204 GB. */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < BYTE_UNITS.length - 1) {
    value /= 1000;
    unit += 1;
  }
  // 999,960 bytes is 999.96 kB, which would print as "1,000 kB".
  if (unit > 0 && unit < BYTE_UNITS.length - 1 && Math.round(value) >= 1000) {
    value /= 1000;
    unit += 1;
  }
  const digits = unit === 0 || value >= 100 ? whole : oneDecimal;
  return `${digits.format(value)} ${BYTE_UNITS[unit]}`;
}

/** Compute time in hours and minutes: 0m, < 1m, 45m, 3h 05m, 1,204h 00m. */
export function formatCompute(seconds: number): string {
  if (seconds <= 0) return '0m';
  if (seconds < 60) return '< 1m';
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes}m`;
  return `${whole.format(Math.floor(minutes / 60))}h ${String(minutes % 60).padStart(2, '0')}m`;
}

/** A figure of `measure` as the table shows it. */
export function formatMeasure(measure: UsageMeasure, value: number): string {
  switch (MEASURE_TEXT[measure].unit) {
    case 'count':
      return whole.format(value);
    case 'bytes':
      return formatBytes(value);
    case 'seconds':
      return formatCompute(value);
  }
}

/** The exact figure behind a rounded one, for a cell's tooltip; null where the cell is already exact. */
export function exactMeasure(measure: UsageMeasure, value: number): string | null {
  switch (MEASURE_TEXT[measure].unit) {
    case 'count':
      return null;
    case 'bytes':
      return `${whole.format(value)} bytes`;
    case 'seconds':
      return `${threeDecimals.format(value)} seconds`;
  }
}

/** The UTC month of `date`, `YYYY-MM`: usage is counted in UTC months. */
export function utcMonth(date = new Date()): string {
  return date.toISOString().slice(0, 7);
}

/** The month `n` months after `month` (before, for a negative `n`). */
export function addMonths(month: string, n: number): string {
  const index = Number(month.slice(0, 4)) * 12 + Number(month.slice(5, 7)) - 1 + n;
  return `${String(Math.floor(index / 12)).padStart(4, '0')}-${String((index % 12) + 1).padStart(2, '0')}`;
}

/** Each month from `from` to `to`, both included; none when `to` is before `from`. */
export function monthRange(from: string, to: string): string[] {
  const count = Math.max(0, monthsBetween(from, to));
  return Array.from({ length: count }, (_, i) => addMonths(from, i));
}

const monthYear = new Intl.DateTimeFormat(undefined, { month: 'short', year: 'numeric', timeZone: 'UTC' });
const monthOnly = new Intl.DateTimeFormat(undefined, { month: 'short', timeZone: 'UTC' });
const utcDate = (month: string) => Date.UTC(Number(month.slice(0, 4)), Number(month.slice(5, 7)) - 1, 1);

/** "Mar 2026". */
export function monthLabel(month: string): string {
  return monthYear.format(utcDate(month));
}

/** "Mar", for an axis that writes the year apart. */
export function monthShort(month: string): string {
  return monthOnly.format(utcDate(month));
}

/** The colours a chart tells workspaces apart with; past this many, the smaller ones share one. */
export const SERIES_COLOURS = 8;

/** One band of the stacked bars: a workspace, or the workspaces too small to get a colour of their own. */
export interface UsageSeries {
  label: string;
  workspaces: string[];
  /** Its colour, 0 to SERIES_COLOURS - 1, or null for the shared grey of the rest. */
  colour: number | null;
}

/**
 * The bands every chart stacks, the same in each so a workspace keeps its colour across them: each
 * workspace its own when there are at most SERIES_COLOURS, else the ones using the most (their
 * share of each measure's total over the range, summed across the measures) and one band for the
 * rest. Bottom to top, largest first.
 */
export function usageSeries(items: readonly WorkspaceMonthUsage[]): UsageSeries[] {
  const totals = new Map<string, Record<UsageMeasure, number>>();
  const overall = Object.fromEntries(USAGE_MEASURES.map((m) => [m, 0])) as Record<UsageMeasure, number>;
  for (const item of items) {
    let sums = totals.get(item.workspace);
    if (!sums) {
      sums = Object.fromEntries(USAGE_MEASURES.map((m) => [m, 0])) as Record<UsageMeasure, number>;
      totals.set(item.workspace, sums);
    }
    for (const m of USAGE_MEASURES) {
      sums[m] += item[m];
      overall[m] += item[m];
    }
  }
  const share = (sums: Record<UsageMeasure, number>) =>
    USAGE_MEASURES.reduce((sum, m) => sum + (overall[m] > 0 ? sums[m] / overall[m] : 0), 0);
  const ranked = [...totals.entries()]
    .map(([workspace, sums]) => ({ workspace, share: share(sums) }))
    .sort((a, b) => b.share - a.share || a.workspace.localeCompare(b.workspace))
    .map((r) => r.workspace);
  if (ranked.length <= SERIES_COLOURS) return ranked.map((w, i) => ({ label: w, workspaces: [w], colour: i }));
  const own = ranked.slice(0, SERIES_COLOURS - 1);
  const rest = ranked.slice(SERIES_COLOURS - 1);
  return [
    ...own.map((w, i) => ({ label: w, workspaces: [w], colour: i })),
    { label: `${whole.format(rest.length)} other workspaces`, workspaces: rest, colour: null },
  ];
}

/** One measure's stacked bars, laid out in a `width` × `height` drawing area. */
export interface MeasureChart {
  measure: UsageMeasure;
  /** Each band's figure in each month: `values[series][month]`. */
  values: number[][];
  /** Every workspace's figures summed, per month. */
  totals: number[];
  /** The top of the axis. */
  max: number;
  /** The unit the axis is labelled in, chosen from the largest total (not from the rounded-up top). */
  scale: number;
  gridlines: { y: number; value: number }[];
  /** One path per band (all its bars), so the drawing stays small however many months it spans. */
  paths: { series: number; d: string }[];
  /** The width of one month's column. */
  slot: number;
}

/**
 * An axis for figures up to `top` stepped in the measure's own units, so each gridline is a round
 * number of them: whole hours (or minutes) of compute, whole kB, MB or GB.
 */
export function measureAxis(unit: UsageUnit, top: number): { max: number; step: number; scale: number } {
  let scale = 1;
  if (unit === 'bytes' && top >= 1000) scale = 1000 ** Math.min(BYTE_UNITS.length - 1, Math.floor(Math.log10(top) / 3));
  if (unit === 'seconds') scale = top >= 3600 ? 3600 : top >= 60 ? 60 : 1;
  const { max, step } = countAxis(top / scale);
  return { max: max * scale, step: step * scale, scale };
}

/** An axis label: compact counts (1.2K, 3M), whole units of bytes and time. */
export function axisLabel(unit: UsageUnit, value: number, scale: number): string {
  if (unit === 'count') return compact.format(value);
  if (unit === 'bytes') return value === 0 ? '0' : formatBytes(value);
  const suffix = scale === 3600 ? 'h' : scale === 60 ? 'm' : 's';
  return value === 0 ? '0' : `${whole.format(value / scale)}${suffix}`;
}

const round = (n: number) => Math.round(n * 100) / 100;

/**
 * Stacks each month's figures of `measure` by band. Items are read once and each band is drawn as
 * one path, so 100 workspaces × 24 months is a few thousand additions and SERIES_COLOURS paths.
 */
export function measureChart(
  items: readonly WorkspaceMonthUsage[],
  months: readonly string[],
  series: readonly UsageSeries[],
  measure: UsageMeasure,
  width: number,
  height: number,
): MeasureChart {
  const monthIndex = new Map(months.map((m, i) => [m, i]));
  const seriesIndex = new Map<string, number>();
  series.forEach((s, i) => {
    for (const w of s.workspaces) seriesIndex.set(w, i);
  });
  const values = series.map(() => months.map(() => 0));
  const totals = months.map(() => 0);
  for (const item of items) {
    const m = monthIndex.get(item.month);
    const s = seriesIndex.get(item.workspace);
    if (m === undefined || s === undefined) continue;
    const row = values[s] as number[];
    row[m] = (row[m] ?? 0) + item[measure];
    totals[m] = (totals[m] ?? 0) + item[measure];
  }
  const unit = MEASURE_TEXT[measure].unit;
  const { max, step, scale } = measureAxis(unit, Math.max(0, ...totals));
  const slot = months.length > 0 ? width / months.length : width;
  const gap = Math.min(6, slot * 0.25);
  const barWidth = round(Math.max(1, slot - gap));
  const paths = series.map((_, s) => ({ series: s, d: '' }));
  for (let m = 0; m < months.length; m++) {
    let y = height;
    const x = round(m * slot + gap / 2);
    for (let s = 0; s < series.length; s++) {
      const value = values[s]?.[m] ?? 0;
      if (value <= 0) continue;
      const h = (value / max) * height;
      y -= h;
      const path = paths[s] as { d: string };
      path.d += `M${x} ${round(y)}h${barWidth}v${round(h)}h${-barWidth}Z`;
    }
  }
  const gridlines: MeasureChart['gridlines'] = [];
  for (let value = 0; value <= max + step / 1e6; value += step)
    gridlines.push({ y: round(height - (value / max) * height), value });
  return { measure, values, totals, max, scale, gridlines, paths: paths.filter((p) => p.d !== ''), slot };
}
