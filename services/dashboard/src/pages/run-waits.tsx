import { type FlowRun, isTerminal, type Role, type Wait } from '@outpost/sdk/contracts';
import { useEffect } from 'react';
import { api } from '../api/instance.js';
import { Notice } from '../components/notice.js';
import { useResource } from '../hooks/use-resource.js';
import { mayDecide } from '../lib/approval-access.js';
import { formatDateTime } from '../lib/format.js';
import { ApprovalForm, DecisionSummary } from './approval-form.js';

const POLL_MS = 3000;

/** What a wait waits for, in words. */
export function waitLabel(wait: Wait): string {
  switch (wait.spec.kind) {
    case 'approval':
      return `approval “${wait.spec.title}”`;
    case 'event':
      return `event “${wait.spec.event}”`;
    case 'token':
      return `token “${wait.spec.token}”`;
    case 'until':
      return `until ${formatDateTime(wait.spec.until)}`;
    case 'run':
      return `flow run ${wait.spec.flowRunId.slice(0, 8)} to finish`;
    case 'external':
      return `${wait.spec.label} ${JSON.stringify(wait.spec.handle).slice(0, 120)} to end`;
  }
}

/** A deferred job's polling: how often it was polled, what the last poll said, when the next one is due. */
function ExternalPolling({ wait }: { wait: Wait }) {
  if (wait.spec.kind !== 'external' || !wait.poll) return null;
  const { poll, spec } = wait;
  return (
    <div className="muted" data-testid="run-external-poll">
      polled {poll.count} time{poll.count === 1 ? '' : 's'}
      {poll.message && <> · last: {poll.message}</>}
      {poll.failed > 0 && <> · {poll.failed} failed in a row</>}
      {poll.nextAt && <> · next poll {formatDateTime(poll.nextAt)}</>}
      {spec.link && (
        <>
          {' · '}
          <a href={spec.link} target="_blank" rel="noreferrer noopener">
            open in its system
          </a>
        </>
      )}
    </div>
  );
}

/**
 * The run's durable waits on its page: a banner for each one still WAITING (an approval with its
 * form, Approve and Reject, for a role that may decide it), and the decisions already taken on its approvals.
 */
export function RunWaits({ run, role, onCount }: { run: FlowRun; role: Role | null; onCount?: (count: number) => void }) {
  const live = !isTerminal(run.state.type);
  const waits = useResource(
    (signal) => api.call('waitsList', { query: { flowRunId: run.id, limit: 50 }, signal }),
    [run.id, run.updatedAt],
    {
      pollMs: live ? POLL_MS : null,
    },
  );
  const items = waits.data?.items ?? [];
  const waiting = items.filter((w) => w.status === 'WAITING');
  const decided = items.filter((w) => w.spec.kind === 'approval' && w.status !== 'WAITING');
  useEffect(() => onCount?.(items.length), [items.length, onCount]);
  if (items.length === 0) return waits.error ? <Notice>{waits.error}</Notice> : null;
  return (
    <section className="run-waits" aria-label="Waits" data-testid="run-waits" id="run-waits" tabIndex={-1}>
      {waiting.map((wait) => (
        <Notice key={wait.id} kind="warning" testId="run-waiting-banner">
          <div className="run-waiting-title">
            {run.state.type === 'PAUSED' ? 'Suspended, waiting for' : 'Waiting for'} <strong>{waitLabel(wait)}</strong>
            {wait.expiresAt && <span className="muted"> (times out {formatDateTime(wait.expiresAt)})</span>}
          </div>
          {wait.spec.kind === 'approval' &&
            (mayDecide(role, wait) ? (
              <ApprovalForm wait={wait} onDecided={() => void waits.reload()} />
            ) : (
              <p className="muted small" data-testid="run-approval-not-yours">
                {wait.spec.roles?.length
                  ? `Decided by ${wait.spec.roles.join(', ')}; your role (${role ?? 'none'}) cannot approve or reject it.`
                  : `Your role (${role ?? 'none'}) cannot approve or reject it.`}
              </p>
            ))}
          <ExternalPolling wait={wait} />
        </Notice>
      ))}
      {decided.map((wait) => (
        <Notice key={wait.id} kind="info" testId="run-approval-decided">
          {waitLabel(wait)}: <DecisionSummary wait={wait} />
        </Notice>
      ))}
    </section>
  );
}
