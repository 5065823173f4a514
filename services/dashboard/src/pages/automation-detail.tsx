import type { Automation, Firing, FiringAction } from '@outpost/sdk/contracts';
import { useEffect, useMemo, useRef, useState } from 'react';
import { describeFailure } from '../api/client.js';
import { api } from '../api/instance.js';
import { JsonView } from '../components/json-view.js';
import { Empty, Notice } from '../components/notice.js';
import { ENABLED, OnOffPill } from '../components/status-pill.js';
import { TableHead } from '../components/table-head.js';
import { useResource } from '../hooks/use-resource.js';
import { formatDateTime } from '../lib/format.js';
import { href, navigate } from '../router.js';
import { AutomationJsonForm } from './automation-json-form.js';
import { deploymentLabel, triggerSummary } from './automations.js';

const POLL_MS = 5000;

/** Actions whose results are runs: the run they started, cancelled, paused or resumed. */
const RUN_ACTIONS: ReadonlySet<FiringAction['type']> = new Set(['run-deployment', 'cancel-run', 'pause-run', 'resume-run']);

/**
 * The names of the runs the firings' actions touched, by id. Each run is asked for once (a run's
 * name does not change); one that cannot be read (deleted since) keeps no name.
 */
function useRunNames(firings: readonly Firing[] | undefined): ReadonlyMap<string, string> {
  const ids = useMemo(
    () => [
      ...new Set((firings ?? []).flatMap((f) => f.actions.filter((x) => RUN_ACTIONS.has(x.type)).flatMap((x) => x.resultIds))),
    ],
    [firings],
  );
  const asked = useRef(new Set<string>());
  const [names, setNames] = useState<ReadonlyMap<string, string>>(new Map());
  useEffect(() => {
    const unasked = ids.filter((id) => !asked.current.has(id));
    for (const id of unasked) asked.current.add(id);
    for (const id of unasked) {
      void api.call('flowRunsGet', { params: { id } }).then((r) => {
        if (r.ok) setNames((current) => new Map(current).set(id, r.data.name));
      });
    }
  }, [ids]);
  return names;
}

/** One automation: its trigger and actions as saved, and its recent firings with each action's outcome. */
export function AutomationDetailPage({ id }: { id: string }) {
  const automation = useResource((signal) => api.call('automationsGet', { params: { id }, signal }), [id], {
    pollMs: POLL_MS,
  });
  const firings = useResource(
    (signal) => api.call('automationsFirings', { params: { id }, query: { limit: 50 }, signal }),
    [id],
    { pollMs: POLL_MS },
  );
  const deployments = useResource((signal) => api.call('deploymentsList', { query: { limit: 200 }, signal }), []);
  const runNames = useRunNames(firings.data?.items);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [editing, setEditing] = useState(false);
  const [confirmingDelete, setConfirmingDelete] = useState(false);
  const a = automation.data;

  const remove = async () => {
    if (!a) return;
    setBusy(true);
    const result = await api.call('automationsDelete', { params: { id: a.id } });
    setBusy(false);
    if (!result.ok) {
      setError(describeFailure(result));
      return;
    }
    navigate('/automations');
  };

  const toggle = async () => {
    if (!a) return;
    setBusy(true);
    const result = await api.call(a.enabled ? 'automationsDisable' : 'automationsEnable', { params: { id: a.id } });
    setBusy(false);
    setError(result.ok ? null : describeFailure(result));
    await automation.reload();
  };

  return (
    <div className="page" data-testid="automation-detail">
      <div className="page-header">
        <div className="title-block">
          <a href={href('/automations')} className="muted small">
            Automations
          </a>
          <h1 data-testid="automation-name">{a?.name ?? '…'}</h1>
          {a && <OnOffPill on={a.enabled} testId="automation-status" labels={ENABLED} />}
        </div>
        {a && (
          <div className="actions">
            <button
              type="button"
              className="button"
              disabled={busy}
              onClick={() => void toggle()}
              data-testid="automation-detail-toggle"
            >
              {a.enabled ? 'Disable' : 'Enable'}
            </button>
            <button
              type="button"
              className="button"
              disabled={busy}
              aria-expanded={editing}
              onClick={() => setEditing((e) => !e)}
              data-testid="automation-edit"
            >
              {editing ? 'Close editor' : 'Edit'}
            </button>
            {confirmingDelete ? (
              <>
                <button
                  type="button"
                  className="button button-danger"
                  disabled={busy}
                  onClick={() => void remove()}
                  data-testid="automation-delete-confirm"
                >
                  Delete {a.name} and its firings
                </button>
                <button type="button" className="button" onClick={() => setConfirmingDelete(false)}>
                  Keep it
                </button>
              </>
            ) : (
              <button
                type="button"
                className="button"
                disabled={busy}
                onClick={() => setConfirmingDelete(true)}
                data-testid="automation-delete"
              >
                Delete
              </button>
            )}
          </div>
        )}
      </div>
      {automation.error && <Notice>{automation.error}</Notice>}
      {error && <Notice>{error}</Notice>}
      {a && (
        <>
          {a.description && <p className="muted">{a.description}</p>}
          <p className="muted small">
            {a.trigger.type} trigger: <span className="mono trigger-summary">{triggerSummary(a.trigger)}</span> · deployment{' '}
            {deploymentLabel(deployments.data?.items, a.deploymentId)} · last fired {formatDateTime(a.lastFiredAt)}
          </p>
          {!a.enabled && a.disabledReason && <Notice testId="automation-detail-disabled">Turned off: {a.disabledReason}</Notice>}
          {a.lastError && <Notice testId="automation-detail-error">Last error: {a.lastError}</Notice>}
          {a.deploymentId && (
            <p className="muted small" data-testid="automation-owned">
              Declared in the <code>triggers</code> of deployment {deploymentLabel(deployments.data?.items, a.deploymentId)}: its
              next deploy puts back what its configuration says.
            </p>
          )}
          {editing && (
            <EditAutomation
              automation={a}
              onSaved={async () => {
                setEditing(false);
                await automation.reload();
              }}
            />
          )}
          <div className="two-columns">
            <section className="panel" aria-label="Trigger">
              <div className="panel-header">
                <h2>Trigger</h2>
              </div>
              <JsonView value={a.trigger} testId="automation-trigger" wrap />
            </section>
            <section className="panel" aria-label="Actions">
              <div className="panel-header">
                <h2>Actions</h2>
              </div>
              <JsonView value={a.actions} testId="automation-actions" />
            </section>
          </div>
        </>
      )}
      <section className="panel" aria-label="Recent firings">
        <div className="panel-header">
          <h2>Recent firings</h2>
        </div>
        {firings.error && <Notice>{firings.error}</Notice>}
        {firings.data && firings.data.items.length === 0 ? (
          <Empty>It has not fired yet.</Empty>
        ) : (
          <table className="grid-table compact">
            <TableHead columns={['Fired', 'Key', 'Actions']} />
            <tbody>
              {firings.data?.items.map((f) => (
                <FiringRow key={f.id} firing={f} runNames={runNames} />
              ))}
            </tbody>
          </table>
        )}
      </section>
    </div>
  );
}

function FiringRow({ firing, runNames }: { firing: Firing; runNames: ReadonlyMap<string, string> }) {
  return (
    <tr data-testid="firing-row">
      <td>{formatDateTime(firing.firedAt)}</td>
      <td className="mono small">{firing.key}</td>
      <td>
        <ul>
          {firing.actions.map((action) => (
            <li key={action.index} data-testid="firing-action" data-status={action.status}>
              <span
                className={`outcome ${action.status === 'SUCCEEDED' ? 'outcome-success' : action.status === 'SKIPPED' ? 'outcome-skipped' : 'outcome-error'}`}
              >
                {action.status}
              </span>{' '}
              {action.type}
              {action.resultIds.length > 0 &&
                (RUN_ACTIONS.has(action.type) ? (
                  <span className="small">
                    {action.resultIds.map((id, i) => (
                      <span key={id}>
                        {i === 0 ? ' ' : ', '}
                        <a href={href(`/runs/${id}`)} title={id} data-testid="firing-run" data-run-id={id}>
                          {runNames.get(id) ?? 'run'}
                        </a>
                      </span>
                    ))}
                  </span>
                ) : (
                  <span className="muted small mono"> {action.resultIds.join(', ')}</span>
                ))}
              {action.error && <span className="text-bad"> — {action.error}</span>}
            </li>
          ))}
        </ul>
      </td>
    </tr>
  );
}

/** The fields a person may change, as the JSON body of `PATCH /automations/:id`. */
function editableBody(a: Automation): string {
  return JSON.stringify(
    { name: a.name, description: a.description ?? null, enabled: a.enabled, trigger: a.trigger, actions: a.actions },
    null,
    2,
  );
}

/** Edits the automation as JSON, the body of `PATCH /automations/:id`. */
function EditAutomation({ automation, onSaved }: { automation: Automation; onSaved: () => Promise<void> }) {
  return (
    <section className="panel" aria-label="Edit automation">
      <AutomationJsonForm
        initial={editableBody(automation)}
        help="A changed trigger starts afresh: counts and open windows of the old one are dropped."
        submitLabel="Save"
        busyLabel="Saving…"
        testIdPrefix="automation-edit"
        send={(body) => api.call('automationsUpdate', { params: { id: automation.id }, body })}
        onDone={onSaved}
      />
    </section>
  );
}
