import type { FlowRun, FlowRunAttempt } from '@outpost/sdk/contracts';
import { useEffect, useState } from 'react';
import { describeFailure } from '../api/client.js';
import { api } from '../api/instance.js';
import { Notice } from '../components/notice.js';
import { StateBadge } from '../components/state-badge.js';
import { formatDateTime, formatDuration, spanMs } from '../lib/format.js';

/** `sha256:` and 12 hex digits, as registries show digests (a git commit: its first 12). */
function shortDigest(digest: string | null | undefined): string {
  if (!digest) return '—';
  return digest.startsWith('sha256:') ? digest.slice(0, 19) : digest.slice(0, 12);
}

/**
 * "2 of 3" within the run's retries; an attempt a user started by hand past them reads
 * "3 (retried by hand after 2)" rather than an impossible "3 of 2".
 */
export function attemptLabel(run: Pick<FlowRun, 'attempt' | 'maxRetries'>): string {
  const allowed = run.maxRetries + 1;
  return run.attempt <= allowed ? `${run.attempt} of ${allowed}` : `${run.attempt} (retried by hand after ${allowed})`;
}

/**
 * Every attempt a worker claimed: which worker ran it, when, how long, how it ended, the exit code
 * its worker saw and the code it was handed. Kept after the run ends (the run itself then names no
 * worker). Re-read whenever the run changes.
 */
export function RunAttempts({ run, now }: { run: FlowRun; now: number }) {
  const [attempts, setAttempts] = useState<FlowRunAttempt[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  // biome-ignore lint/correctness/useExhaustiveDependencies: every change of the run (its updatedAt) re-reads its attempts
  useEffect(() => {
    let current = true;
    void api.call('flowRunsAttempts', { params: { id: run.id } }).then((result) => {
      if (!current) return;
      if (result.ok) {
        setAttempts(result.data.items);
        setError(null);
      } else setError(describeFailure(result));
    });
    return () => {
      current = false;
    };
  }, [run.id, run.updatedAt]);

  return (
    <section className="panel" aria-label="Attempts" data-testid="run-attempts">
      <div className="panel-header">
        <h2>Attempts</h2>
        <span className="muted small" data-testid="run-code-digest" title={run.sourceDigest ?? 'no digest: a directory source'}>
          code {shortDigest(run.sourceDigest)}
        </span>
      </div>
      {error && <Notice>{error}</Notice>}
      {attempts && attempts.length === 0 && <p className="muted">No worker has claimed this run yet.</p>}
      {attempts && attempts.length > 0 && (
        <table className="grid-table compact">
          <thead>
            <tr>
              <th>Attempt</th>
              <th>Worker</th>
              <th>Claimed</th>
              <th>Started</th>
              <th>Duration</th>
              <th>Ended as</th>
              <th>Exit code</th>
              <th>Code</th>
            </tr>
          </thead>
          <tbody>
            {attempts.map((a) => (
              <tr key={a.attempt} data-testid="run-attempt-row" data-attempt={a.attempt}>
                <td>{a.attempt}</td>
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
                  {shortDigest(a.sourceDigest)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
