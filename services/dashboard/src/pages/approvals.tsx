import type { ApprovalDecision, Role, Wait } from '@outpost/sdk/contracts';
import { useEffect, useRef, useState } from 'react';
import { api } from '../api/instance.js';
import { Dialog } from '../components/dialog.js';
import { Empty, Notice } from '../components/notice.js';
import { TableHead } from '../components/table-head.js';
import { useResource } from '../hooks/use-resource.js';
import { mayDecide, stillWaiting } from '../lib/approval-access.js';
import { formatDateTime } from '../lib/format.js';
import { href } from '../router.js';
import { ApprovalForm, DecisionSummary } from './approval-form.js';

const POLL_MS = 5000;

function titleOf(wait: Wait): string {
  return wait.spec.kind === 'approval' ? wait.spec.title : wait.key;
}

/**
 * The approvals inbox: every approval a run waits for, each linking to its run and, for a role that
 * may decide it, opening its form in a dialog; and the latest decisions.
 */
export function ApprovalsPage({ role }: { role: Role | null }) {
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
  const [deciding, setDeciding] = useState<Wait | null>(null);
  const [decided, setDecided] = useState<Wait | null>(null);
  const decidedRef = useRef<HTMLParagraphElement>(null);
  const items = stillWaiting(pending.data?.items ?? [], [...(recent.data?.items ?? []), ...(decided ? [decided] : [])]);

  const reloadBoth = () => void Promise.all([pending.reload(), recent.reload()]);
  const close = () => {
    setDeciding(null);
    // Someone else may have decided it meanwhile (the form then said so): show the lists as they are now.
    reloadBoth();
  };
  // The row that opened the form leaves the list, so focus goes to the sentence saying what happened.
  useEffect(() => {
    if (decided) decidedRef.current?.focus();
  }, [decided]);

  return (
    <div className="page" data-testid="approvals-page">
      <div className="page-header">
        <h1>Approvals</h1>
        <span className="muted" data-testid="approvals-count">
          {pending.data ? `${items.length} waiting` : ''}
        </span>
      </div>
      {pending.error && <Notice>{pending.error}</Notice>}
      <p className="approval-decided" role="status" tabIndex={-1} ref={decidedRef} data-testid="approval-decided-status">
        {decided && (
          <>
            {(decided.value as ApprovalDecision | null)?.approved ? 'Approved' : 'Rejected'} “{titleOf(decided)}” for{' '}
            {decided.flowRunName}; it is listed under Recent decisions.
          </>
        )}
      </p>
      <section className="panel" aria-label="Waiting for a decision">
        <div className="panel-header">
          <h2>Waiting for a decision</h2>
        </div>
        {pending.data && items.length === 0 ? (
          <Empty>No run is waiting for an approval.</Empty>
        ) : (
          <table className="grid-table compact">
            <TableHead columns={['Approval', 'Run', 'Since', 'Times out', { hidden: 'Decision' }]} />
            <tbody>
              {items.map((wait) => (
                <tr key={wait.id} data-testid="approval-row">
                  <td>{titleOf(wait)}</td>
                  <td>
                    <a href={href(`/runs/${wait.flowRunId}`)} data-testid="approval-run-link">
                      {wait.flowRunName}
                    </a>
                  </td>
                  <td>{formatDateTime(wait.createdAt)}</td>
                  <td>{wait.expiresAt ? formatDateTime(wait.expiresAt) : '—'}</td>
                  <td className="approval-actions">
                    {mayDecide(role, wait) && (
                      <button
                        type="button"
                        className="button button-small"
                        onClick={() => setDeciding(wait)}
                        data-testid="approval-decide"
                      >
                        Approve / Reject…
                        <span className="visually-hidden">
                          {' '}
                          “{titleOf(wait)}” for {wait.flowRunName}
                        </span>
                      </button>
                    )}
                  </td>
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
                <a href={href(`/runs/${wait.flowRunId}`)}>{wait.flowRunName}</a> · {titleOf(wait)}:{' '}
                <DecisionSummary wait={wait} />
              </li>
            ))}
          </ul>
        </section>
      )}
      {deciding && (
        <Dialog
          title={titleOf(deciding)}
          onClose={close}
          testId="approval-dialog"
          initialFocus=".approval-form :is(input, select, textarea)"
        >
          <p className="approval-run">
            Run{' '}
            <a href={href(`/runs/${deciding.flowRunId}`)} data-testid="approval-dialog-run">
              {deciding.flowRunName}
            </a>
            , waiting since {formatDateTime(deciding.createdAt)}
            {deciding.expiresAt && <>, times out {formatDateTime(deciding.expiresAt)}</>}
          </p>
          <ApprovalForm
            wait={deciding}
            onCancel={close}
            onDecided={(wait) => {
              setDeciding(null);
              setDecided(wait);
              reloadBoth();
            }}
          />
        </Dialog>
      )}
    </div>
  );
}
