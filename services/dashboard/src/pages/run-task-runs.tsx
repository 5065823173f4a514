import { DEFAULT_STATE_NAME, StateType, type TaskRunSummaryResponse } from '@outpost/sdk/contracts';
import { type ReactNode, useCallback } from 'react';
import { Empty, Notice } from '../components/notice.js';
import { Options } from '../components/options.js';
import { StateSwatch } from '../components/state-swatch.js';
import type { TaskRunsView } from '../hooks/use-task-runs.js';
import { matchingCount, NO_TASK_FILTER, TASK_PAGE_SIZE, type TaskRunFilter, taskFilterKey } from '../lib/task-run-pages.js';
import { RunGantt } from './run-gantt.js';
import { TaskActivityChart } from './task-activity-chart.js';
import { TaskNameRows } from './task-name-rows.js';
import { TaskRunList } from './task-run-list.js';

/** Runs with at most this many task runs get a Gantt bar each; larger ones are drawn from their summary. */
export const GANTT_MAX_TASK_RUNS = TASK_PAGE_SIZE;

/**
 * A run's task runs at any size: counts by state as filter chips, then either one Gantt bar per task
 * run (small runs) or one row per task name, the run's activity over time and a list paged on scroll.
 */
export function RunTaskRuns({ view, now, flowStart }: { view: TaskRunsView; now: number; flowStart: string | null }) {
  const { summary, pages, filter, setFilter } = view;
  const pickName = useCallback((name: string) => setFilter((f) => ({ ...f, name: f.name === name ? null : name })), [setFilter]);

  let body: ReactNode;
  if (!summary) body = view.error ? null : <p className="muted">Loading task runs…</p>;
  else if (summary.total === 0) body = <Empty>No task runs yet.</Empty>;
  else {
    const small = summary.total <= GANTT_MAX_TASK_RUNS;
    const matching = matchingCount(summary, filter);
    body = (
      <div className="task-runs" data-testid="task-summary" data-total={summary.total} data-mode={small ? 'gantt' : 'summary'}>
        <TaskFilters summary={summary} filter={filter} onChange={setFilter} />
        {small ? (
          pages.loaded && (pages.pages[0]?.items.length ?? 0) === 0 ? (
            <Empty>No task runs match this filter.</Empty>
          ) : pages.loaded ? (
            <RunGantt taskRuns={pages.pages[0]?.items ?? []} now={now} flowStart={flowStart} />
          ) : (
            <p className="muted">Loading task runs…</p>
          )
        ) : (
          <>
            <div className="task-overview">
              <TaskActivityChart timeline={summary.timeline} />
              <TaskNameRows summary={summary} selected={filter.name} onPick={pickName} />
            </div>
            <TaskRunList view={view} matching={matching} now={now} filterKey={taskFilterKey(filter)} />
          </>
        )}
      </div>
    );
  }

  return (
    <section className="panel" aria-label="Task runs" data-testid="task-runs-panel" id="run-task-runs" tabIndex={-1}>
      <div className="panel-header">
        <h2>Task runs</h2>
        <span className="muted small" data-testid="task-total">
          {summary ? summary.total.toLocaleString() : ''}
        </span>
      </div>
      {view.error && <Notice>{view.error}</Notice>}
      {body}
    </section>
  );
}

function TaskFilters({
  summary,
  filter,
  onChange,
}: {
  summary: TaskRunSummaryResponse;
  filter: TaskRunFilter;
  onChange: (next: TaskRunFilter) => void;
}) {
  const counts = filter.name === null ? summary.byState : (summary.byName.find((n) => n.name === filter.name)?.byState ?? {});
  const shown = StateType.options.filter((s) => (summary.byState[s] ?? 0) > 0 || filter.states.includes(s));
  const toggle = (s: StateType) =>
    onChange({ ...filter, states: filter.states.includes(s) ? filter.states.filter((x) => x !== s) : [...filter.states, s] });
  const names = summary.byName.map((n) => n.name);
  if (filter.name !== null && !names.includes(filter.name)) names.push(filter.name);
  return (
    <div className="task-filters">
      <fieldset className="task-chips" aria-label="Task runs by state">
        {shown.map((s) => {
          const on = filter.states.includes(s);
          const n = counts[s] ?? 0;
          return (
            <button
              type="button"
              key={s}
              className={`task-chip${on ? ' task-chip-on' : ''}`}
              aria-pressed={on}
              onClick={() => toggle(s)}
              data-testid="task-state-chip"
              data-state={s}
              data-count={n}
            >
              <StateSwatch state={s} />
              {DEFAULT_STATE_NAME[s]}
              <span className="task-chip-count">{n.toLocaleString()}</span>
            </button>
          );
        })}
      </fieldset>
      <select
        value={filter.name ?? ''}
        onChange={(e) => onChange({ ...filter, name: e.target.value || null })}
        aria-label="Task name"
        data-testid="task-filter-name"
      >
        <option value="">All tasks</option>
        <Options values={names} />
      </select>
      {(filter.states.length > 0 || filter.name !== null) && (
        <button
          type="button"
          className="button button-quiet"
          onClick={() => onChange(NO_TASK_FILTER)}
          data-testid="task-filter-clear"
        >
          Clear filters
        </button>
      )}
    </div>
  );
}
