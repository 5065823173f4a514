import { type FlowRun, type FlowRunListQuery, StateType } from '@outpost/sdk/contracts';

export const TIME_WINDOWS = ['1h', '24h', '7d', '30d', 'all'] as const;
export type TimeWindow = (typeof TIME_WINDOWS)[number];

const WINDOW_MS: Record<TimeWindow, number | null> = {
  '1h': 3_600_000,
  '24h': 86_400_000,
  '7d': 7 * 86_400_000,
  '30d': 30 * 86_400_000,
  all: null,
};

/** What the runs page draws over its table: nothing, or the scatter of the listed runs' durations. */
export const RUNS_CHARTS = ['none', 'durations'] as const;
export type RunsChartChoice = (typeof RUNS_CHARTS)[number];

/**
 * The runs table's filters and chart; they live in the URL so a filtered view can be shared and
 * reloaded, and each change is a history entry, so Back returns to the view before it.
 */
export interface RunFilters {
  states: StateType[];
  deploymentId: string | null;
  flow: string | null;
  tag: string | null;
  window: TimeWindow;
  /** Not a filter: changing it keeps the loaded pages. */
  chart: RunsChartChoice;
}

export const NO_FILTERS: RunFilters = { states: [], deploymentId: null, flow: null, tag: null, window: 'all', chart: 'none' };

export function filtersFromSearch(search: URLSearchParams): RunFilters {
  const states = (search.get('state') ?? '')
    .split(',')
    .map((s) => StateType.safeParse(s.trim().toUpperCase()))
    .flatMap((r) => (r.success ? [r.data] : []));
  const window = search.get('window');
  const chart = search.get('chart');
  return {
    states: [...new Set(states)],
    deploymentId: search.get('deployment') || null,
    flow: search.get('flow') || null,
    tag: search.get('tag') || null,
    window: (TIME_WINDOWS as readonly string[]).includes(window ?? '') ? (window as TimeWindow) : 'all',
    chart: (RUNS_CHARTS as readonly string[]).includes(chart ?? '') ? (chart as RunsChartChoice) : 'none',
  };
}

export function filtersToSearch(filters: RunFilters): URLSearchParams {
  const search = new URLSearchParams();
  if (filters.states.length > 0) search.set('state', filters.states.join(','));
  if (filters.deploymentId) search.set('deployment', filters.deploymentId);
  if (filters.flow) search.set('flow', filters.flow);
  if (filters.tag) search.set('tag', filters.tag);
  if (filters.window !== 'all') search.set('window', filters.window);
  if (filters.chart !== 'none') search.set('chart', filters.chart);
  return search;
}

/** A stable identity for a set of filters: pages loaded under another key are stale. The chart is not part of it. */
export function filtersKey(filters: RunFilters): string {
  return filtersToSearch({ ...filters, chart: 'none' }).toString();
}

/** Whether any filter narrows the list (the chart choice does not). */
export function hasFilters(filters: RunFilters): boolean {
  return filtersKey(filters) !== '';
}

function windowStart(filters: RunFilters, now: number): number | null {
  const span = WINDOW_MS[filters.window];
  return span === null ? null : now - span;
}

/** The list query for one page. */
export function listQuery(filters: RunFilters, cursor: string | null, limit: number, now: number): FlowRunListQuery {
  const start = windowStart(filters, now);
  return {
    limit,
    cursor: cursor ?? undefined,
    state: filters.states.length > 0 ? filters.states.join(',') : undefined,
    deploymentId: filters.deploymentId ?? undefined,
    flow: filters.flow ?? undefined,
    tag: filters.tag ?? undefined,
    createdAfter: start === null ? undefined : new Date(start).toISOString(),
  };
}

/** Whether a run pushed by the event stream belongs in the filtered table. */
export function runMatches(run: FlowRun, filters: RunFilters, now: number): boolean {
  if (filters.states.length > 0 && !filters.states.includes(run.state.type)) return false;
  if (filters.deploymentId && run.deploymentId !== filters.deploymentId) return false;
  if (filters.flow && run.flowName !== filters.flow) return false;
  if (filters.tag && !run.tags.includes(filters.tag)) return false;
  const start = windowStart(filters, now);
  return start === null || Date.parse(run.createdAt) >= start;
}
