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

/** The runs table's filters; they live in the URL so a filtered view can be shared and reloaded. */
export interface RunFilters {
  states: StateType[];
  deploymentId: string | null;
  tag: string | null;
  window: TimeWindow;
}

export const NO_FILTERS: RunFilters = { states: [], deploymentId: null, tag: null, window: 'all' };

export function filtersFromSearch(search: URLSearchParams): RunFilters {
  const states = (search.get('state') ?? '')
    .split(',')
    .map((s) => StateType.safeParse(s.trim().toUpperCase()))
    .flatMap((r) => (r.success ? [r.data] : []));
  const window = search.get('window');
  return {
    states: [...new Set(states)],
    deploymentId: search.get('deployment') || null,
    tag: search.get('tag') || null,
    window: (TIME_WINDOWS as readonly string[]).includes(window ?? '') ? (window as TimeWindow) : 'all',
  };
}

export function filtersToSearch(filters: RunFilters): URLSearchParams {
  const search = new URLSearchParams();
  if (filters.states.length > 0) search.set('state', filters.states.join(','));
  if (filters.deploymentId) search.set('deployment', filters.deploymentId);
  if (filters.tag) search.set('tag', filters.tag);
  if (filters.window !== 'all') search.set('window', filters.window);
  return search;
}

/** A stable identity for a set of filters: pages loaded under another key are stale. */
export function filtersKey(filters: RunFilters): string {
  return filtersToSearch(filters).toString();
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
    tag: filters.tag ?? undefined,
    createdAfter: start === null ? undefined : new Date(start).toISOString(),
  };
}

/** Whether a run pushed by the event stream belongs in the filtered table. */
export function runMatches(run: FlowRun, filters: RunFilters, now: number): boolean {
  if (filters.states.length > 0 && !filters.states.includes(run.state.type)) return false;
  if (filters.deploymentId && run.deploymentId !== filters.deploymentId) return false;
  if (filters.tag && !run.tags.includes(filters.tag)) return false;
  const start = windowStart(filters, now);
  return start === null || Date.parse(run.createdAt) >= start;
}
