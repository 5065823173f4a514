import type { EventWebhook, EventWebhookSecretResponse, Role } from '@outpost/sdk/contracts';
import { type FormEvent, useState } from 'react';
import { describeFailure } from '../api/client.js';
import { api } from '../api/instance.js';
import { ConfirmButton } from '../components/confirm-button.js';
import { TextInput } from '../components/form-field.js';
import { Empty, Notice } from '../components/notice.js';
import { TableHead } from '../components/table-head.js';
import { useNow } from '../hooks/use-now.js';
import { useResource } from '../hooks/use-resource.js';
import { useSubmit } from '../hooks/use-submit.js';
import { formatDateTime, formatRelative, pluralise } from '../lib/format.js';
import { href } from '../router.js';

/** Where every webhook's URL lives; the token after it is secret and never listed. */
const HOOK_PATH = '/api/v1/hooks/';

/** Inbound webhooks: other systems post signed JSON to a secret URL and each request becomes an event. */
export function WebhooksPage({ role }: { role: Role | null }) {
  const canManage = role === null || role === 'owner' || role === 'admin' || role === 'developer';
  const hooks = useResource((signal) => api.call('eventWebhooksList', { signal }), []);
  const [created, setCreated] = useState<EventWebhookSecretResponse | null>(null);
  const [confirming, setConfirming] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const now = useNow(30_000);

  const remove = async (hook: EventWebhook) => {
    const result = await api.call('eventWebhooksDelete', { params: { id: hook.id } });
    setConfirming(null);
    if (!result.ok) {
      setError(describeFailure(result));
      return;
    }
    setError(null);
    if (created?.webhook.id === hook.id) setCreated(null);
    await hooks.reload();
  };

  const items = hooks.data?.items ?? [];
  return (
    <div className="page" data-testid="webhooks-page">
      <div className="page-header">
        <h1>Webhooks</h1>
        <span className="muted" data-testid="webhooks-count">
          {hooks.data ? pluralise(items.length, 'webhook') : ''}
        </span>
      </div>
      <p className="muted">
        Each webhook is a secret URL; requests signed with its secret become events in the{' '}
        <a href={href('/events')}>event ledger</a>.
      </p>
      {hooks.error && <Notice>{hooks.error}</Notice>}
      {error && <Notice>{error}</Notice>}
      {canManage && (
        <section className="panel" aria-label="New webhook">
          <div className="panel-header">
            <h2>New webhook</h2>
          </div>
          {created ? (
            <CreatedWebhook created={created} onDone={() => setCreated(null)} />
          ) : (
            <CreateWebhookForm
              onCreated={(next) => {
                setCreated(next);
                void hooks.reload();
              }}
            />
          )}
        </section>
      )}
      <section className="panel" aria-label="Webhooks">
        {hooks.data && items.length === 0 ? (
          <Empty>No webhooks.</Empty>
        ) : (
          <table className="grid-table" data-testid="webhooks-table">
            <TableHead columns={['Name', 'URL', 'Event kind', 'Enabled', 'Last used', { hidden: 'Actions' }]} />
            <tbody>
              {items.map((hook) => (
                <tr key={hook.id} data-testid="webhook-row" data-webhook-name={hook.name}>
                  <td>
                    <div className="cell-main">
                      <span className="strong">{hook.name}</span>
                      {hook.description && <span className="muted small">{hook.description}</span>}
                      {hook.lastError && (
                        <span className="text-bad small" data-testid="webhook-last-error">
                          Last delivery refused: {hook.lastError}
                        </span>
                      )}
                    </div>
                  </td>
                  <td>
                    <code title="The token is shown only when the webhook is created">{HOOK_PATH}wh_…</code>
                  </td>
                  <td>
                    <code>{hook.template.kind}</code>
                  </td>
                  <td data-testid="webhook-enabled">
                    {hook.enabled ? <span className="pill">Enabled</span> : <span className="pill pill-offline">Disabled</span>}
                  </td>
                  <td title={hook.lastUsedAt ? formatDateTime(hook.lastUsedAt) : undefined} data-testid="webhook-last-used">
                    {hook.lastUsedAt ? formatRelative(hook.lastUsedAt, now) : <span className="muted">never</span>}
                  </td>
                  <td className="num">
                    {canManage && (
                      <ConfirmButton
                        label="Delete"
                        testId="webhook-delete"
                        confirming={confirming === hook.id}
                        onAsk={() => setConfirming(hook.id)}
                        onKeep={() => setConfirming(null)}
                        onConfirm={() => void remove(hook)}
                      />
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </div>
  );
}

function CreateWebhookForm({ onCreated }: { onCreated: (created: EventWebhookSecretResponse) => void }) {
  const [name, setName] = useState('');
  const [kind, setKind] = useState('');
  const { error, busy, submit } = useSubmit();

  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    await submit(
      // The whole body becomes the payload; a narrower template is an API or CLI matter.
      () =>
        api.call('eventWebhooksCreate', {
          body: { name: name.trim(), template: { kind: kind.trim(), payload: { body: '{{ body }}' } } },
        }),
      (created) => {
        setName('');
        setKind('');
        onCreated(created);
      },
    );
  };

  return (
    <form className="inline-form" onSubmit={(e) => void onSubmit(e)} data-testid="webhook-form">
      <TextInput
        placeholder="Name, e.g. github"
        value={name}
        maxLength={100}
        onChange={setName}
        aria-label="Name"
        testId="webhook-name"
      />
      <TextInput
        placeholder="Event kind, e.g. github.push"
        className="wide-input"
        value={kind}
        maxLength={2000}
        onChange={setKind}
        aria-label="Event kind"
        testId="webhook-kind"
      />
      <button type="submit" className="button button-primary" disabled={busy || !name || !kind} data-testid="webhook-create">
        Create webhook
      </button>
      {error && (
        <span className="field-error" data-testid="webhook-error">
          {error}
        </span>
      )}
    </form>
  );
}

/** The URL and signing secret, shown this once: the API keeps only a hash of the token. */
function CreatedWebhook({ created, onDone }: { created: EventWebhookSecretResponse; onDone: () => void }) {
  const url = `${window.location.origin}${created.path}`;
  return (
    <div className="created-key" role="status" data-testid="webhook-created">
      <p>
        <strong>{created.webhook.name}</strong> was created. Copy its URL and signing secret now: they will not be shown again.
        Sign each request body with HMAC-SHA256 and send <code>sha256=&lt;hex&gt;</code> in the{' '}
        <code>{created.webhook.signatureHeader}</code> header.
      </p>
      <div className="created-key-row">
        <input
          readOnly
          value={url}
          className="mono"
          aria-label="URL"
          onFocus={(e) => e.target.select()}
          data-testid="webhook-url"
        />
      </div>
      <div className="created-key-row">
        <input
          readOnly
          value={created.secret}
          className="mono"
          aria-label="Signing secret"
          onFocus={(e) => e.target.select()}
          data-testid="webhook-secret"
        />
        <button type="button" className="button button-quiet" onClick={onDone} data-testid="webhook-done">
          Done
        </button>
      </div>
    </div>
  );
}
