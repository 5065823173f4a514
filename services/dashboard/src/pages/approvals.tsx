import { api } from '../api/instance.js';
import { Empty, Notice } from '../components/notice.js';
import { useResource } from '../hooks/use-resource.js';
import { formatDateTime } from '../lib/format.js';
import { href } from '../router.js';
import { DecisionSummary } from './approval-form.js';

const POLL_MS = 5000;

/** The approvals inbox: every approval a run waits for, each linking to its run (where the form is), and the latest decisions. */
export function ApprovalsPage() {
  const pending = useResource(
    (signal) => api.call('waitsList', { query: { status: 'WAITING', kind: 'approval', limit: 100 }, signal }),
    [],
    {
      pollMs: POLL_MS,
    },
  );
  const recent = useResource(
    (signal) => api.call('waitsList', { query: { status: 'RESOLVED', kind: 'approval', limit: 20 }, signal }),
    [],
    {
      pollMs: POLL_MS,
    },
  );
  const items = pending.data?.items ?? [];
  return (
    <div className="page" data-testid="approvals-page">
      <div className="page-header">
        <h1>Approvals</h1>
        <span className="muted" data-testid="approvals-count">
          {pending.data ? `${items.length} waiting` : ''}
        </span>
      </div>
      {pending.error && <Notice>{pending.error}</Notice>}
      <section className="panel" aria-label="Waiting for a decision">
        <div className="panel-header">
          <h2>Waiting for a decision</h2>
        </div>
        {pending.data && items.length === 0 ? (
          <Empty>No run is waiting for an approval.</Empty>
        ) : (
          <table className="grid-table compact">
            <thead>
              <tr>
                <th>Approval</th>
                <th>Run</th>
                <th>Since</th>
                <th>Times out</th>
              </tr>
            </thead>
            <tbody>
              {items.map((wait) => (
                <tr key={wait.id} data-testid="approval-row">
                  <td>{wait.spec.kind === 'approval' ? wait.spec.title : wait.key}</td>
                  <td>
                    <a href={href(`/runs/${wait.flowRunId}`)} data-testid="approval-run-link">
                      {wait.flowRunName}
                    </a>
                  </td>
                  <td>{formatDateTime(wait.createdAt)}</td>
                  <td>{wait.expiresAt ? formatDateTime(wait.expiresAt) : '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      {(recent.data?.items.length ?? 0) > 0 && (
        <section className="panel" aria-label="Recent decisions">
          <div className="panel-header">
            <h2>Recent decisions</h2>
          </div>
          <ul className="approval-recent-list">
            {recent.data?.items.map((wait) => (
              <li key={wait.id} data-testid="approval-recent">
                <a href={href(`/runs/${wait.flowRunId}`)}>{wait.flowRunName}</a> ·{' '}
                {wait.spec.kind === 'approval' ? wait.spec.title : wait.key}: <DecisionSummary wait={wait} />
              </li>
            ))}
          </ul>
        </section>
      )}
    </div>
  );
}
