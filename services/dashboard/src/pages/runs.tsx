import type { FlowRun } from '@outpost/sdk/contracts';
import { type ReactNode, useCallback, useEffect, useMemo, useReducer, useRef, useState } from 'react';
import { describeFailure } from '../api/client.js';
import { RUNS_PAGE_SIZE } from '../api/first-reads.js';
import { api } from '../api/instance.js';
import { type LiveStatus, subscribeRunEvents } from '../api/run-events.js';
import { LiveIndicator } from '../components/live-indicator.js';
import { Empty, Notice } from '../components/notice.js';
import { StateBadge } from '../components/state-badge.js';
import { TagList } from '../components/tag-list.js';
import { VirtualList } from '../components/virtual-list.js';
import { useNow } from '../hooks/use-now.js';
import { deploymentLabel, formatDateTime, formatDuration, formatRelative, pluralise, spanMs } from '../lib/format.js';
import {
  filtersFromSearch,
  filtersKey,
  filtersToSearch,
  listQuery,
  type RunFilters,
  type RunsChartChoice,
  runMatches,
} from '../lib/run-filters.js';
import { upcomingFirst } from '../lib/run-order.js';
import { currentCursor, initialPages, runPagesReducer } from '../lib/run-pages.js';
import { href, navigate } from '../router.js';
import { DurationScatterChart } from './duration-scatter-chart.js';
import { RunFilterBar } from './run-filter-bar.js';

const ROW_HEIGHT = 40;

export function RunsPage({ search }: { search: URLSearchParams }) {
  const searchText = search.toString();
  // biome-ignore lint/correctness/useExhaustiveDependencies: the text is the identity of the search
  const filters = useMemo(() => filtersFromSearch(search), [searchText]);
  const key = filtersKey(filters);
  const [pages, dispatch] = useReducer(runPagesReducer, key, initialPages);
  const [live, setLive] = useState<LiveStatus>('connecting');
  const now = useNow(1000);

  const stateRef = useRef(pages);
  stateRef.current = pages;
  const filtersRef = useRef(filters);
  filtersRef.current = filters;

  if (pages.key !== key) dispatch({ type: 'reset', key });

  const cursor = currentCursor(pages);
  const loadPage = useCallback(async (pageKey: string, index: number, pageCursor: string | null, f: RunFilters) => {
    const result = await api.call('flowRunsList', { query: listQuery(f, pageCursor, RUNS_PAGE_SIZE, Date.now()) });
    if (result.ok) {
      dispatch({ type: 'loaded', key: pageKey, index, items: result.data.items, nextCursor: result.data.nextCursor });
    } else {
      dispatch({ type: 'failed', key: pageKey, index, error: describeFailure(result) });
    }
  }, []);

  useEffect(() => {
    if (pages.key !== key || !pages.loading) return;
    void loadPage(key, pages.index, cursor, filters);
  }, [key, pages.key, pages.index, pages.loading, cursor, filters, loadPage]);

  useEffect(
    () =>
      subscribeRunEvents({
        url: api.url('flowRunsEvents', {}),
        onStatus: setLive,
        onRun: (run: FlowRun) => {
          dispatch({ type: 'upsert', run, matches: runMatches(run, filtersRef.current, Date.now()) });
        },
        poll: async () => {
          const s = stateRef.current;
          if (s.loading) return;
          await loadPage(s.key, s.index, currentCursor(s), filtersRef.current);
        },
      }),
    [loadPage],
  );

  // A history entry per change: Back returns to the filters before it, and the address is the view to share.
  const setFilters = (next: RunFilters) => navigate('/runs', filtersToSearch(next));
  const setChart = (chart: RunsChartChoice) => setFilters({ ...filters, chart });
  // The scheduler creates a schedule's runs in batches, so creation order says nothing of when they run.
  const rows = useMemo(() => upcomingFirst(pages.items), [pages.items]);

  return (
    <div className="page page-fill">
      <div className="page-header">
        <h1>Runs</h1>
        <div className="runs-header-actions">
          <LiveIndicator status={live} />
          <fieldset className="segmented" aria-label="Chart">
            {(['none', 'durations'] as const).map((c) => (
              <button
                type="button"
                key={c}
                className={`segment${filters.chart === c ? ' segment-on' : ''}`}
                aria-pressed={filters.chart === c}
                onClick={() => setChart(c)}
                data-testid={`chart-${c}`}
              >
                {c === 'none' ? 'Table only' : 'Durations'}
              </button>
            ))}
          </fieldset>
        </div>
      </div>
      <RunFilterBar filters={filters} onChange={setFilters} />
      {filters.chart === 'durations' && (
        <DurationScatterChart
          runs={pages.items}
          now={now}
          className="runs-scatter"
          label="Durations of the runs on this page by start time and state"
        />
      )}
      {pages.unseen > 0 && (
        <button type="button" className="new-runs" onClick={() => dispatch({ type: 'first' })} data-testid="runs-new">
          {pluralise(pages.unseen, 'new run')} — show newest
        </button>
      )}
      {pages.error && <Notice>{pages.error}</Notice>}
      <RunsTable>
        {rows.length === 0 && !pages.loading ? (
          <Empty>No runs match these filters.</Empty>
        ) : (
          <VirtualList
            count={rows.length}
            rowHeight={ROW_HEIGHT}
            resetKey={`${key}/${pages.index}`}
            className="table-body"
            renderRow={(i) => {
              const run = rows[i];
              return run ? <RunRow key={run.id} run={run} now={now} onTag={(tag) => setFilters({ ...filters, tag })} /> : null;
            }}
          />
        )}
      </RunsTable>
      <div className="pager">
        <span className="muted" data-testid="runs-page">
          {pages.loading ? 'Loading…' : `Page ${pages.index + 1} · ${pluralise(pages.items.length, 'run')}`}
        </span>
        <button
          type="button"
          className="button"
          disabled={pages.index === 0 || pages.loading}
          onClick={() => dispatch({ type: 'prev' })}
          data-testid="runs-prev"
        >
          ← Newer
        </button>
        <button
          type="button"
          className="button"
          disabled={!pages.nextCursor || pages.loading}
          onClick={() => dispatch({ type: 'next' })}
          data-testid="runs-next"
        >
          Older →
        </button>
      </div>
    </div>
  );
}

/** The table of flow runs, its head and then `children`: the runs page's and a deployment's alike, a `RunRow` each. */
export function RunsTable({ children }: { children: ReactNode }) {
  return (
    <div className="table runs-table" data-testid="runs-table">
      <div className="table-head">
        <span>State</span>
        <span>Run</span>
        <span>Deployment</span>
        <span>Tags</span>
        <span>Start</span>
        <span className="num">Duration</span>
      </div>
      {children}
    </div>
  );
}

export function RunRow({ run, now, onTag }: { run: FlowRun; now: number; onTag: (tag: string) => void }) {
  const duration = spanMs(run.startTime, run.endTime, now);
  const started = run.startTime ?? run.expectedStartTime;
  return (
    <div className="table-row" data-testid="run-row" data-run-id={run.id}>
      <span>
        <StateBadge state={run.state} />
      </span>
      <span className="cell-main">
        <a href={href(`/runs/${run.id}`)} className="run-name" data-testid="run-link">
          {run.name}
        </a>
        <span className="muted small">{run.flowName}</span>
      </span>
      <span className="truncate" title={run.deploymentName ? deploymentLabel(run.flowName, run.deploymentName) : undefined}>
        {run.deploymentName ? deploymentLabel(run.flowName, run.deploymentName) : <span className="muted">ad hoc</span>}
      </span>
      <span className="truncate">
        <TagList tags={run.tags} onPick={onTag} />
      </span>
      <span title={formatDateTime(started)}>
        {run.startTime ? formatDateTime(run.startTime) : <span className="muted">{formatRelative(started, now)}</span>}
      </span>
      <span className="num mono">{duration === null ? '—' : formatDuration(duration)}</span>
    </div>
  );
}
