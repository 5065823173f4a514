import type { StateHistoryResponse } from '@outpost/sdk/contracts';
import { cssVars } from '../components/css-vars.js';
import { Empty } from '../components/notice.js';
import { StateBadge } from '../components/state-badge.js';
import { formatDateTime, formatDuration } from '../lib/format.js';

type Entry = StateHistoryResponse['items'][number];

/** The run's states in order: a strip sized by time spent in each, and the list with messages. */
export function RunTimeline({ entries, now, live }: { entries: readonly Entry[]; now: number; live: boolean }) {
  if (entries.length === 0) return <Empty>No state history yet.</Empty>;
  const times = entries.map((e) => Date.parse(e.state.timestamp));
  const spans = entries.map((_, i) => {
    const end = times[i + 1] ?? (live ? now : (times[i] ?? now));
    return Math.max(0, end - (times[i] ?? end));
  });
  const total = spans.reduce((a, b) => a + b, 0);
  return (
    <div className="timeline" data-testid="state-timeline">
      {total > 0 && (
        <div className="timeline-strip" aria-hidden="true">
          {entries.map((e, i) =>
            (spans[i] ?? 0) > 0 ? (
              <span
                key={e.id}
                className={`timeline-segment state-bg-${e.state.type.toLowerCase()}`}
                ref={cssVars({ '--grow': Math.max(0.01, (spans[i] ?? 0) / total) })}
                title={`${e.state.name}: ${formatDuration(spans[i] ?? 0)}`}
              />
            ) : null,
          )}
        </div>
      )}
      <ol className="timeline-list">
        {entries.map((e, i) => (
          <li key={e.id} className="timeline-item" data-testid="state-timeline-item">
            <StateBadge state={e.state} testId="timeline-state-badge" />
            <span className="mono small">{formatDateTime(e.state.timestamp)}</span>
            <span className="muted small">attempt {e.attempt}</span>
            <span className="muted small">{i < entries.length - 1 || live ? formatDuration(spans[i] ?? 0) : ''}</span>
            {e.state.message && <span className="timeline-message">{e.state.message}</span>}
          </li>
        ))}
      </ol>
    </div>
  );
}
