import type { TaskRunSummaryResponse } from '@outpost/sdk/contracts';
import { memo } from 'react';
import { formatDateTime, formatDuration } from '../lib/format.js';
import { activityChart } from '../lib/task-summary.js';

const WIDTH = 600;
const HEIGHT = 60;

/** How many task runs were running in each slice of the run's time, as one row of bars. */
export const TaskActivityChart = memo(function TaskActivityChart({ timeline }: { timeline: TaskRunSummaryResponse['timeline'] }) {
  if (timeline.active.length === 0 || !timeline.start) {
    return (
      <figure className="task-activity" data-testid="task-activity" data-peak={0}>
        <figcaption className="small muted">No task run has started yet.</figcaption>
      </figure>
    );
  }
  const chart = activityChart(timeline, WIDTH, HEIGHT);
  return (
    <figure className="task-activity" data-testid="task-activity" data-peak={chart.peak}>
      <figcaption className="task-activity-head small">
        <span>Active task runs</span>
        <span className="muted">peak {chart.peak.toLocaleString()}</span>
      </figcaption>
      <svg
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        preserveAspectRatio="none"
        role="img"
        aria-label={`Task runs active over ${formatDuration(chart.spanMs)}, at most ${chart.peak.toLocaleString()} at once`}
      >
        <line className="task-activity-base" x1={0} x2={WIDTH} y1={HEIGHT} y2={HEIGHT} />
        {chart.bars.map((b) => (
          <rect
            key={b.fromMs}
            x={b.x}
            y={b.y}
            width={b.width}
            height={b.height}
            className="fill-running"
            data-testid="task-activity-bar"
          >
            <title>{`+${formatDuration(b.fromMs)} to +${formatDuration(b.toMs)}: ${b.active.toLocaleString()} active`}</title>
          </rect>
        ))}
      </svg>
      <div className="task-activity-axis small muted">
        <span>{formatDateTime(timeline.start)}</span>
        <span>+{formatDuration(chart.spanMs)}</span>
      </div>
    </figure>
  );
});
