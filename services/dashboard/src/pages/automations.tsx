import type { Automation, Deployment, Trigger } from '@outpost/sdk/contracts';
import { useState } from 'react';
import { describeFailure } from '../api/client.js';
import { AUTOMATION_DEPLOYMENTS_LISTED, AUTOMATIONS_LISTED } from '../api/first-reads.js';
import { api } from '../api/instance.js';
import { Empty, Notice } from '../components/notice.js';
import { TableHead } from '../components/table-head.js';
import { useNow } from '../hooks/use-now.js';
import { useResource } from '../hooks/use-resource.js';
import { formatDateTime, formatRelative, pluralise } from '../lib/format.js';
import { href, navigate } from '../router.js';
import { AutomationJsonForm } from './automation-json-form.js';

const POLL_MS = 5000;

const EXAMPLE = `{
  "name": "rerun-nightly-on-failure",
  "trigger": {
    "type": "event",
    "match": "event.kind == \\"flow-run.failed\\""
  },
  "actions": [{ "type": "notify", "channel": "ops" }]
}`;

/** One line saying what a trigger waits for: the match itself for a plain event trigger. */
export function triggerSummary(trigger: Trigger): string {
  switch (trigger.type) {
    case 'event': {
      const counted = trigger.threshold ? ` (${trigger.threshold.count}× within ${trigger.threshold.withinSeconds}s)` : '';
      return `${trigger.match}${counted}`;
    }
    case 'compound':
      return `${trigger.require} of ${trigger.triggers.length} within ${trigger.withinSeconds}s: ${trigger.triggers.map((t) => t.match).join(' · ')}`;
    case 'sequence':
      return `in order within ${trigger.withinSeconds}s: ${trigger.triggers.map((t) => t.match).join(' → ')}`;
    case 'proactive': {
      const opening = trigger.after ? `after ${trigger.after}` : `from ${trigger.cron?.cron ?? ''}`;
      return `expect ${trigger.expect} within ${trigger.withinSeconds}s ${opening}`;
    }
  }
}

export function deploymentLabel(deployments: Deployment[] | undefined, id: string | null): string {
  if (!id) return '—';
  const d = deployments?.find((x) => x.id === id);
  return d ? `${d.flowName}/${d.name}` : id;
}

/** The automations of the workspace: what each waits for, whether it is on, when it last fired and how. */
export function AutomationsPage() {
  const automations = useResource((signal) => api.call('automationsList', { query: { limit: AUTOMATIONS_LISTED }, signal }), [], {
    pollMs: POLL_MS,
  });
  const deployments = useResource(
    (signal) => api.call('deploymentsList', { query: { limit: AUTOMATION_DEPLOYMENTS_LISTED }, signal }),
    [],
  );
  const [creating, setCreating] = useState(false);
  const now = useNow(10_000);
  const items = automations.data?.items ?? [];
  return (
    <div className="page" data-testid="automations-page">
      <div className="page-header">
        <h1>Automations</h1>
        <span className="muted" data-testid="automations-count">
          {automations.data ? pluralise(items.length, 'automation') : ''}
        </span>
        <button
          type="button"
          className="button button-primary"
          onClick={() => setCreating((c) => !c)}
          data-testid="automation-new"
        >
          {creating ? 'Close' : 'New automation'}
        </button>
      </div>
      {automations.error && <Notice>{automations.error}</Notice>}
      {creating && (
        <CreateAutomation
          onCreated={async () => {
            setCreating(false);
            await automations.reload();
          }}
        />
      )}
      <section className="panel" aria-label="Automations">
        {automations.data && items.length === 0 ? (
          <Empty>No automations yet.</Empty>
        ) : (
          <table className="grid-table compact">
            <TableHead columns={['Name', 'Enabled', 'Trigger', 'Deployment', 'Last fired', 'Last error']} />
            <tbody>
              {items.map((a) => (
                <AutomationRow
                  key={a.id}
                  automation={a}
                  deployment={deploymentLabel(deployments.data?.items, a.deploymentId)}
                  now={now}
                  onChanged={automations.reload}
                />
              ))}
            </tbody>
          </table>
        )}
      </section>
    </div>
  );
}

function AutomationRow({
  automation: a,
  deployment,
  now,
  onChanged,
}: {
  automation: Automation;
  deployment: string;
  now: number;
  onChanged: () => Promise<void>;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const toggle = async () => {
    setBusy(true);
    const result = await api.call(a.enabled ? 'automationsDisable' : 'automationsEnable', { params: { id: a.id } });
    setBusy(false);
    setError(result.ok ? null : describeFailure(result));
    await onChanged();
  };
  return (
    <tr data-testid="automation-row" data-name={a.name} data-enabled={String(a.enabled)}>
      <td>
        <a href={href(`/automations/${a.id}`)} data-testid="automation-link">
          {a.name}
        </a>
      </td>
      <td>
        <label className="field-inline">
          <input
            type="checkbox"
            checked={a.enabled}
            disabled={busy}
            onChange={() => void toggle()}
            aria-label={`Enable ${a.name}`}
            data-testid="automation-toggle"
          />
        </label>
        {error && <span className="field-error">{error}</span>}
      </td>
      <td>
        <div className="cell-main">
          <span className="tag">{a.trigger.type}</span>
          <span className="mono small" data-testid="automation-summary">
            {triggerSummary(a.trigger)}
          </span>
        </div>
      </td>
      <td>{deployment}</td>
      <td title={formatDateTime(a.lastFiredAt)}>{a.lastFiredAt ? formatRelative(a.lastFiredAt, now) : 'never'}</td>
      <td className="text-bad" data-testid="automation-last-error">
        {a.lastError ?? ''}
      </td>
    </tr>
  );
}

/** The create form: the automation as JSON, exactly the body of `POST /automations`. */
function CreateAutomation({ onCreated }: { onCreated: () => Promise<void> }) {
  return (
    <section className="panel" aria-label="New automation">
      <AutomationJsonForm
        initial={EXAMPLE}
        help={
          <>
            A name, a trigger (event, compound, sequence or proactive, with CEL over <code>event</code>) and its actions.
          </>
        }
        submitLabel="Create"
        busyLabel="Creating…"
        testIdPrefix="automation"
        send={(body) => api.call('automationsCreate', { body })}
        onDone={async (data) => {
          await onCreated();
          navigate(`/automations/${(data as Automation).id}`);
        }}
      />
    </section>
  );
}
