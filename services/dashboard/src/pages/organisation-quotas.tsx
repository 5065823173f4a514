import type { OrganisationQuota } from '@outpost/sdk/contracts';
import { type FormEvent, useEffect, useRef, useState } from 'react';
import { describeFailure } from '../api/client.js';
import { api } from '../api/instance.js';
import { TextInput } from '../components/form-field.js';
import { Empty, Notice } from '../components/notice.js';
import { Options } from '../components/options.js';
import { TableHead } from '../components/table-head.js';
import { useResource } from '../hooks/use-resource.js';
import { fieldErrorsByField, parseLimit } from '../lib/field-errors.js';

/** The window a quota's count covers, after the count; counts of things the workspace has need none. */
const WINDOW: Record<NonNullable<OrganisationQuota['per']>, string> = {
  day: 'today (UTC)',
  hour: 'this hour (UTC)',
  minute: 'in the last minute',
};

/** Whose limit the workspace is held to: the organisation's where it set one at or below the operator's. */
export function heldBy(quota: OrganisationQuota): 'organisation' | 'operator' {
  return quota.organisationLimit !== null && quota.organisationLimit <= quota.operatorLimit ? 'organisation' : 'operator';
}

/** What a save did, in a sentence for the status line. */
function savedText(workspace: string, quota: OrganisationQuota): string {
  const held = `the workspace ${workspace} is held to ${quota.limit.toLocaleString()}`;
  return quota.organisationLimit === null
    ? `Removed the organisation's limit of ${quota.name}: ${held}, the operator's limit.`
    : `Set the organisation's limit of ${quota.name} to ${quota.organisationLimit.toLocaleString()}: ${held}.`;
}

/**
 * A workspace's quotas for the organisation's owners, admins and auditors: what counts against each
 * now, the operator's limit, the organisation's own and the lower one the workspace is held to.
 * Owners and admins set the organisation's limit, at most the operator's, or remove it; auditors read.
 */
export function OrganisationQuotasSection({
  organisation,
  workspaces,
  admin,
}: {
  organisation: string;
  workspaces: string[];
  admin: boolean;
}) {
  const [chosen, setChosen] = useState('');
  const [status, setStatus] = useState('');
  // The organisation's workspaces arrive with the page; until one is chosen the first is shown.
  const workspace = workspaces.includes(chosen) ? chosen : (workspaces[0] ?? '');

  return (
    <section className="panel" aria-label="Quotas" data-testid="organisation-quotas">
      <div className="panel-header">
        <h2>Quotas</h2>
        <span className="muted small">an organisation may lower a workspace's limits, never raise them</span>
      </div>
      {workspaces.length === 0 ? (
        <Empty>No workspaces.</Empty>
      ) : (
        <div className="inline-form">
          <label className="field-inline">
            <span className="field-label">workspace</span>
            <select
              value={workspace}
              onChange={(e) => {
                setChosen(e.target.value);
                setStatus('');
              }}
              data-testid="organisation-quotas-workspace"
            >
              <Options values={workspaces} />
            </select>
          </label>
        </div>
      )}
      <p className="muted small quota-status" role="status" aria-live="polite" data-testid="organisation-quotas-status">
        {status}
      </p>
      {workspace && (
        <WorkspaceQuotas
          key={workspace}
          organisation={organisation}
          workspace={workspace}
          admin={admin}
          onSaving={() => setStatus('')}
          onSaved={setStatus}
        />
      )}
    </section>
  );
}

/** One workspace's quotas, read when it is chosen and again after each save. */
function WorkspaceQuotas({
  organisation,
  workspace,
  admin,
  onSaving,
  onSaved,
}: {
  organisation: string;
  workspace: string;
  admin: boolean;
  onSaving: () => void;
  onSaved: (status: string) => void;
}) {
  // A save that ends after another workspace was chosen says nothing under that one's table.
  const shown = useRef(true);
  useEffect(
    () => () => {
      shown.current = false;
    },
    [],
  );
  const quotas = useResource(
    (signal) => api.call('organisationWorkspaceQuotasList', { params: { org: organisation, workspace }, signal }),
    [organisation, workspace],
  );
  const saved = async (quota: OrganisationQuota) => {
    await quotas.reload();
    if (shown.current) onSaved(savedText(workspace, quota));
  };

  if (quotas.error) return <Notice>{quotas.error}</Notice>;
  if (!quotas.data) return null;
  return (
    <QuotaTable
      organisation={organisation}
      workspace={workspace}
      items={quotas.data.items}
      admin={admin}
      onSaving={onSaving}
      onSaved={(quota) => void saved(quota)}
    />
  );
}

/** The quotas as a table; owners and admins edit the organisation's limit in its column. */
export function QuotaTable({
  organisation,
  workspace,
  items,
  admin,
  onSaving,
  onSaved,
}: {
  organisation: string;
  workspace: string;
  items: OrganisationQuota[];
  admin: boolean;
  /** A save began: what the last one said no longer holds. */
  onSaving?: () => void;
  onSaved: (quota: OrganisationQuota) => void;
}) {
  return (
    <table className="grid-table quota-table" data-testid="organisation-quotas-table" data-workspace={workspace}>
      <caption className="visually-hidden">Quotas of the workspace {workspace}</caption>
      <TableHead
        columns={[
          'Quota',
          'Used now',
          { label: 'Held to', className: 'num' },
          { label: "Operator's limit", className: 'num' },
          "Organisation's limit",
        ]}
      />
      <tbody>
        {items.map((quota) => (
          <tr key={quota.name} data-testid="organisation-quota-row" data-quota={quota.name} data-held-by={heldBy(quota)}>
            <th scope="row">
              <div className="cell-main">
                <code>{quota.name}</code>
                <span className="muted small">{quota.description}</span>
              </div>
            </th>
            <td data-testid="organisation-quota-used">
              {quota.used === null ? (
                <span className="muted">each on its own</span>
              ) : (
                <>
                  <span className={quota.used >= quota.limit ? 'pill pill-paused' : ''}>{quota.used.toLocaleString()}</span>
                  {quota.per && <span className="muted small"> {WINDOW[quota.per]}</span>}
                </>
              )}
            </td>
            <td className="num" data-testid="organisation-quota-limit" data-value={quota.limit}>
              <span className="strong">{quota.limit.toLocaleString()}</span>
              <span className="muted small"> {heldBy(quota) === 'organisation' ? "the organisation's" : "the operator's"}</span>
            </td>
            <td className="num" data-testid="organisation-quota-operator-limit" data-value={quota.operatorLimit}>
              {quota.operatorLimit.toLocaleString()}
              {quota.operatorLimit === quota.default && <span className="muted small"> default</span>}
            </td>
            <td data-testid="organisation-quota-organisation-limit" data-value={quota.organisationLimit ?? ''}>
              {admin ? (
                <LimitForm
                  organisation={organisation}
                  workspace={workspace}
                  quota={quota}
                  onSaving={onSaving}
                  onSaved={onSaved}
                />
              ) : (
                <OrganisationLimit quota={quota} />
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The organisation's limit as auditors read it. */
function OrganisationLimit({ quota }: { quota: OrganisationQuota }) {
  if (quota.organisationLimit === null) return <span className="muted">none</span>;
  return (
    <>
      {quota.organisationLimit.toLocaleString()}
      {quota.organisationLimit > quota.operatorLimit && (
        <span className="muted small"> above the operator's, so without effect</span>
      )}
    </>
  );
}

/**
 * The organisation's limit of one quota, edited in its row. The server checks the operator's limit
 * (which may have changed since the page read it), so the form does not stop a number above `max`
 * itself: the refusal's field error, naming the limit, is shown beside the input.
 */
function LimitForm({
  organisation,
  workspace,
  quota,
  onSaving,
  onSaved,
}: {
  organisation: string;
  workspace: string;
  quota: OrganisationQuota;
  onSaving?: (() => void) | undefined;
  onSaved: (quota: OrganisationQuota) => void;
}) {
  const [draft, setDraft] = useState(quota.organisationLimit === null ? '' : String(quota.organisationLimit));
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const inputId = `organisation-quota-${quota.name}`;
  const errorId = `${inputId}-error`;

  const send = async (limit: number | null) => {
    setBusy(true);
    onSaving?.();
    const result = await api.call('organisationWorkspaceQuotasPut', {
      params: { org: organisation, workspace, name: quota.name },
      body: { limit },
    });
    setBusy(false);
    if (!result.ok) {
      const fields = fieldErrorsByField(result).limit;
      setError(fields?.length ? fields.join('; ') : describeFailure(result));
      return;
    }
    setError(null);
    setDraft(result.data.organisationLimit === null ? '' : String(result.data.organisationLimit));
    onSaved(result.data);
  };
  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    const limit = parseLimit(draft);
    if (limit === undefined || limit === null) {
      setError('Enter a whole number, 0 or more.');
      return;
    }
    await send(limit);
  };

  return (
    <form className="quota-form" noValidate onSubmit={(e) => void onSubmit(e)} data-testid="organisation-quota-form">
      <label className="visually-hidden" htmlFor={inputId}>
        Organisation's limit of {quota.name}
      </label>
      <TextInput
        id={inputId}
        type="number"
        inputMode="numeric"
        min={0}
        max={quota.operatorLimit}
        step={1}
        placeholder="none"
        value={draft}
        onChange={setDraft}
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? errorId : undefined}
        testId="organisation-quota-input"
      />
      <button
        type="submit"
        className="button"
        disabled={busy || draft.trim() === ''}
        aria-label={`Save the organisation's limit of ${quota.name}`}
        data-testid="organisation-quota-save"
      >
        Save
      </button>
      {quota.organisationLimit !== null && (
        <button
          type="button"
          className="button button-quiet"
          disabled={busy}
          onClick={() => void send(null)}
          aria-label={`Remove the organisation's limit of ${quota.name}`}
          data-testid="organisation-quota-remove"
        >
          Remove
        </button>
      )}
      {error && (
        <span className="field-error" id={errorId} role="alert" data-testid="organisation-quota-error">
          {error}
        </span>
      )}
    </form>
  );
}
