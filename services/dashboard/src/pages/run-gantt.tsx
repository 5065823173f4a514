import type { TaskRun } from '@outpost/sdk/contracts';
import { cssVars } from '../components/css-vars.js';
import { Empty } from '../components/notice.js';
import { StateBadge } from '../components/state-badge.js';
import { formatDuration, pluralise } from '../lib/format.js';
import { buildGantt } from '../lib/gantt.js';

/** Rows drawn at most; a flow that maps a task over thousands of items shows the first ones and says so. */
const MAX_BARS = 500;

/** Task runs on one time axis; task-level retries show as a count, Retrying states as a striped bar. */
export function RunGantt({ taskRuns, now, flowStart }: { taskRuns: readonly TaskRun[]; now: number; flowStart: string | null }) {
  if (taskRuns.length === 0) return <Empty>No task runs yet.</Empty>;
  const model = buildGantt(taskRuns, now, flowStart);
  const attempts = new Set(taskRuns.map((r) => r.flowRunAttempt));
  return (
    // biome-ignore lint/a11y/noNoninteractiveTabindex: focusable, so a keyboard can scroll a chart taller or wider than its box
    <section className="gantt" data-testid="task-gantt" aria-label="Task runs over time" tabIndex={0}>
      <div className="gantt-row gantt-axis" aria-hidden="true">
        <span />
        <div className="gantt-track">
          {model.ticks.map((tick) => (
            <span key={tick.offsetMs} className="gantt-tick" ref={cssVars({ '--left': `${tick.left}%` })}>
              {tick.offsetMs === 0 ? '0' : `+${formatDuration(tick.offsetMs)}`}
            </span>
          ))}
        </div>
      </div>
      {model.bars.slice(0, MAX_BARS).map((bar) => (
        <div className="gantt-row" key={bar.id} data-testid="task-run" data-task-state={bar.state.type}>
          <div className="gantt-label">
            <span className="gantt-name" title={bar.name} data-testid="task-run-name">
              {bar.name}
            </span>
            {bar.runCount > 1 && (
              <span className="retry-count" title={pluralise(bar.runCount, 'try', 'tries')} data-testid="task-run-count">
                ×{bar.runCount}
              </span>
            )}
            {attempts.size > 1 && <span className="muted small">attempt {bar.attempt}</span>}
          </div>
          <div className="gantt-track">
            {model.ticks.map((tick) => (
              <span key={tick.offsetMs} className="gantt-grid" ref={cssVars({ '--left': `${tick.left}%` })} />
            ))}
            {bar.started ? (
              <span
                className={`gantt-bar state-bg-${bar.state.type.toLowerCase()}${bar.state.name === 'Retrying' ? ' gantt-retrying' : ''}${bar.open ? ' gantt-open' : ''}`}
                ref={cssVars({ '--left': `${bar.left}%`, '--width': `${bar.width}%` })}
                title={`${bar.name}: ${bar.state.name}${bar.durationMs === null ? '' : `, ${formatDuration(bar.durationMs)}`}`}
              />
            ) : (
              <span className="gantt-waiting muted small">not started</span>
            )}
          </div>
          <div className="gantt-meta">
            <StateBadge state={bar.state} testId="task-state-badge" />
            <span className="mono small">{bar.durationMs === null ? '' : formatDuration(bar.durationMs)}</span>
          </div>
        </div>
      ))}
      {model.bars.length > MAX_BARS && (
        <p className="muted small" data-testid="task-gantt-truncated">
          Showing the first {MAX_BARS} of {model.bars.length.toLocaleString()} task runs.
        </p>
      )}
    </section>
  );
}
