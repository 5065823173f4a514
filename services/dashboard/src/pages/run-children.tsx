import type { FlowRun } from '@outpost/sdk/contracts';
import { StateBadge } from '../components/state-badge.js';
import { formatDateTime } from '../lib/format.js';
import { href } from '../router.js';

/** Subflow runs started by this run, oldest first. */
export function RunChildren({ runs }: { runs: readonly FlowRun[] }) {
  if (runs.length === 0) return null;
  return (
    <section className="panel" aria-label="Child runs">
      <div className="panel-header">
        <h2>Child runs</h2>
        <span className="muted small">{runs.length}</span>
      </div>
      <ul className="child-runs">
        {runs.map((child) => (
          <li key={child.id} className="child-run">
            <a href={href(`/runs/${child.id}`)} data-testid="run-child" data-run-id={child.id}>
              {child.name}
            </a>
            <span className="muted small">{child.flowName}</span>
            <StateBadge state={child.state} />
            <span className="muted small">{formatDateTime(child.startTime ?? child.expectedStartTime)}</span>
          </li>
        ))}
      </ul>
    </section>
  );
}
