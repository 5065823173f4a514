import { DEFAULT_STATE_NAME, type TaskRunSummaryResponse } from '@outpost/sdk/contracts';
import { memo } from 'react';
import { cssVars } from '../components/css-vars.js';
import { StateSwatch } from '../components/state-swatch.js';
import { TableHead } from '../components/table-head.js';
import { formatDateTime, formatDuration } from '../lib/format.js';
import { nameSpans } from '../lib/task-summary.js';

/** Names drawn at most; a flow with more distinct task names lists the earliest and says so. */
const MAX_NAMES = 100;

/**
 * One row per task name instead of a bar per task run: its span from first start to last end on
 * the run's time axis (split by the share of each state), its counts and its mean and longest duration.
 * A name is a button that filters the list below to it.
 */
export const TaskNameRows = memo(function TaskNameRows({
  summary,
  selected,
  onPick,
}: {
  summary: TaskRunSummaryResponse;
  selected: string | null;
  onPick: (name: string) => void;
}) {
  const spans = nameSpans(summary);
  return (
    <div className="task-names">
      <table className="grid-table" data-testid="task-names">
        <TableHead
          columns={[
            'Task',
            { label: 'Span', className: 'task-span-cell' },
            { label: 'Task runs', className: 'num' },
            'By state',
            { label: 'Mean', className: 'num' },
            { label: 'Max', className: 'num' },
          ]}
        />
        <tbody>
          {spans.slice(0, MAX_NAMES).map(({ row, left, width, open, segments }) => (
            <tr key={row.name} data-testid="task-name-row" data-task-name={row.name} data-total={row.total}>
              <td className="task-name-cell">
                <button
                  type="button"
                  className="task-name-button truncate"
                  aria-pressed={selected === row.name}
                  title={`Show only ${row.name}`}
                  onClick={() => onPick(row.name)}
                >
                  {row.name}
                </button>
              </td>
              <td className="task-span-cell">
                <div className="task-span-track">
                  {left === null ? (
                    <span className="small muted">not started</span>
                  ) : (
                    <span
                      className={`task-span${open ? ' task-span-open' : ''}`}
                      ref={cssVars({ '--left': `${left}%`, '--width': `${width}%` })}
                      role="img"
                      aria-label={`${formatDateTime(row.firstStart)} to ${open ? 'now' : formatDateTime(row.lastEnd)}`}
                      title={`${formatDateTime(row.firstStart)} to ${open ? 'now' : formatDateTime(row.lastEnd)}`}
                    >
                      {segments.map((s) => (
                        <span
                          key={s.state}
                          className={`task-span-part state-bg-${s.state.toLowerCase()}`}
                          ref={cssVars({ '--grow': s.count })}
                        />
                      ))}
                    </span>
                  )}
                </div>
              </td>
              <td className="num mono">{row.total.toLocaleString()}</td>
              <td>
                <span className="task-name-states small">
                  {segments.map((s) => (
                    <span key={s.state} className="legend-item" title={DEFAULT_STATE_NAME[s.state]}>
                      <StateSwatch state={s.state} />
                      <span className="visually-hidden">{DEFAULT_STATE_NAME[s.state]}</span>
                      {s.count.toLocaleString()}
                    </span>
                  ))}
                </span>
              </td>
              <td className="num mono">{row.meanMs === null ? '—' : formatDuration(row.meanMs)}</td>
              <td className="num mono">{row.maxMs === null ? '—' : formatDuration(row.maxMs)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {spans.length > MAX_NAMES && (
        <p className="muted small" data-testid="task-names-truncated">
          Showing the first {MAX_NAMES} of {spans.length.toLocaleString()} task names; pick one in the filter above.
        </p>
      )}
    </div>
  );
});
