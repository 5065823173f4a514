import type { TaskRun } from '@outpost/sdk/contracts';
import { StateSwatch } from '../components/state-swatch.js';
import { VirtualList } from '../components/virtual-list.js';
import type { TaskRunsView } from '../hooks/use-task-runs.js';
import { formatDuration, spanMs } from '../lib/format.js';
import { loadedCount, taskRunAt } from '../lib/task-run-pages.js';

/** Pixels per row; `.task-list-body .table-row` in the stylesheet agrees. */
const ROW_HEIGHT = 32;

/**
 * The run's task runs that pass the filter, oldest first, read a page at a time as the list is
 * scrolled near its end. Only the rows in view are in the document, however many were read.
 */
export function TaskRunList({
  view,
  matching,
  now,
  filterKey,
}: {
  view: TaskRunsView;
  /** How many pass the filter, from the summary. */
  matching: number;
  now: number;
  filterKey: string;
}) {
  const { pages } = view;
  const loaded = loadedCount(pages);
  const more = pages.nextCursor !== null || !pages.loaded;
  return (
    <div className="task-list">
      <div className="task-list-head">
        <h3>Task runs, oldest first</h3>
        <span className="muted small" data-testid="task-list-count" data-loaded={loaded} data-matching={matching}>
          {loaded.toLocaleString()} of {matching.toLocaleString()} loaded
        </span>
      </div>
      <div className="table task-list-table">
        <div className="table-head" aria-hidden="true">
          <span>Task</span>
          <span>Key</span>
          <span>State</span>
          <span className="num">Duration</span>
          <span className="num">Runs</span>
        </div>
        {pages.loaded && loaded === 0 && !more ? (
          <div className="task-list-empty muted">No task runs match this filter.</div>
        ) : (
          <VirtualList
            count={loaded + (more ? 1 : 0)}
            rowHeight={ROW_HEIGHT}
            resetKey={filterKey}
            className="task-list-body"
            testId="task-list"
            onRangeChange={view.onRange}
            renderRow={(i) => {
              const run = i < loaded ? taskRunAt(pages, i) : undefined;
              if (run) return <TaskRunRow key={run.id} run={run} now={now} />;
              return (
                <div key="more" className="table-row task-list-more" data-testid="task-list-more">
                  {pages.error ? (
                    <>
                      <span className="text-bad small">{pages.error}</span>
                      <button type="button" className="button" onClick={view.retry} data-testid="task-list-retry">
                        Try again
                      </button>
                    </>
                  ) : (
                    <span className="muted small">Loading more task runs…</span>
                  )}
                </div>
              );
            }}
          />
        )}
      </div>
    </div>
  );
}

function TaskRunRow({ run, now }: { run: TaskRun; now: number }) {
  const duration = spanMs(run.startTime, run.endTime, now);
  return (
    <div className="table-row" data-testid="task-list-row" data-task-id={run.id} data-task-state={run.state.type}>
      <span className="truncate strong" title={run.name}>
        {run.name}
      </span>
      <span className="truncate mono small" title={run.taskKey}>
        {run.taskKey}
      </span>
      <span className="task-state truncate" data-testid="task-list-state" data-state={run.state.type} title={run.state.type}>
        <StateSwatch state={run.state.type} />
        {run.state.name}
      </span>
      <span className="num mono">{duration === null ? '—' : formatDuration(duration)}</span>
      <span className="num mono" title={`${run.runCount} ${run.runCount === 1 ? 'try' : 'tries'}`}>
        {run.runCount}
      </span>
    </div>
  );
}
