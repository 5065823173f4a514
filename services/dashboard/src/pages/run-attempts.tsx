import { type FlowRun, type FlowRunAttempt, shortCodeDigest } from '@outpost/sdk/contracts';
import { Notice } from '../components/notice.js';
import { StateBadge } from '../components/state-badge.js';
import { TableHead } from '../components/table-head.js';
import { ATTEMPT_CAUSE_TEXT, type AttemptCause } from '../lib/attempt-causes.js';
import { formatDateTime, formatDuration, spanMs } from '../lib/format.js';

/**
 * Every attempt a worker claimed: which worker ran it, when, how long, how it ended, the exit code
 * its worker saw and the code it was handed. Kept after the run ends (the run itself then names no
 * worker). The run page reads them (useRunAttempts) whenever the run changes. Each attempt says why
 * it began (`causes`, read from the run's state history): resumed after a wait, retried by the retry
 * policy, or retried by hand.
 */
export function RunAttempts({
  run,
  now,
  attempts,
  error,
  causes,
}: {
  run: FlowRun;
  now: number;
  causes: ReadonlyMap<number, AttemptCause>;
  attempts: readonly FlowRunAttempt[] | null;
  error: string | null;
}) {
  return (
    <section className="panel" aria-label="Attempts" data-testid="run-attempts">
      <div className="panel-header">
        <h2>Attempts</h2>
        <span className="muted small" data-testid="run-code-digest" title={run.sourceDigest ?? 'no digest: a directory source'}>
          code {run.sourceDigest ? shortCodeDigest(run.sourceDigest) : '—'}
        </span>
      </div>
      {error && <Notice>{error}</Notice>}
      {attempts && attempts.length === 0 && <p className="muted">No worker has claimed this run yet.</p>}
      {attempts && attempts.length > 0 && (
        <table className="grid-table compact">
          <TableHead
            columns={['Attempt', 'Cause', 'Worker', 'Claimed', 'Started', 'Duration', 'Ended as', 'Exit code', 'Code']}
          />
          <tbody>
            {attempts.map((a) => (
              <tr key={a.attempt} data-testid="run-attempt-row" data-attempt={a.attempt}>
                <td>{a.attempt}</td>
                <td data-testid="run-attempt-cause">{causeText(causes.get(a.attempt))}</td>
                <td className="mono small" title={a.workerId} data-testid="run-attempt-worker">
                  {a.workerName ?? a.workerId.slice(0, 8)}
                </td>
                <td>{formatDateTime(a.claimedAt)}</td>
                <td>{formatDateTime(a.startedAt)}</td>
                <td>{formatDuration(spanMs(a.startedAt, a.endedAt, now) ?? Number.NaN)}</td>
                <td data-testid="run-attempt-state">
                  {a.state ? <StateBadge state={a.state} testId="run-attempt-badge" /> : <span className="muted">running</span>}
                </td>
                <td className="mono small">{a.exitCode ?? '—'}</td>
                <td className="mono small" title={a.sourceDigest ?? undefined}>
                  {a.sourceDigest ? shortCodeDigest(a.sourceDigest) : '—'}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function causeText(cause: AttemptCause | undefined) {
  return cause ? ATTEMPT_CAUSE_TEXT[cause] : <span className="muted">—</span>;
}
