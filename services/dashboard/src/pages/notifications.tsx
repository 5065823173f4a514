import {
  ALERT_RULES,
  type AlertRuleKind,
  type NotificationChannel,
  type NotificationChannelKind,
  type NotificationDelivery,
} from '@outpost/sdk/contracts';
import { type FormEvent, useState } from 'react';
import { describeFailure } from '../api/client.js';
import { api } from '../api/instance.js';
import { TextInput } from '../components/form-field.js';
import { Empty, Notice } from '../components/notice.js';
import { Options } from '../components/options.js';
import { ENABLED, OnOffPill } from '../components/status-pill.js';
import { TableHead } from '../components/table-head.js';
import { useResource } from '../hooks/use-resource.js';
import { useSubmit } from '../hooks/use-submit.js';
import { formatDateTime } from '../lib/format.js';
import { href } from '../router.js';

const POLL_MS = 5000;

const TARGET_LABEL: Record<NotificationChannelKind, string> = {
  webhook: 'Webhook URL',
  slack: 'Slack incoming-webhook URL',
  email: 'Recipients, comma-separated',
};

/** Notification channels, the delivery outbox (with retry for dead letters) and the built-in alert rules. */
export function NotificationsPage() {
  const channels = useResource((signal) => api.call('notificationChannelsList', { signal }), [], { pollMs: POLL_MS });
  const deliveries = useResource((signal) => api.call('notificationDeliveriesList', { query: { limit: 50 }, signal }), [], {
    pollMs: POLL_MS,
  });
  const rules = useResource((signal) => api.call('alertRulesList', { signal }), [], { pollMs: POLL_MS });
  const channelNames = channels.data?.items.map((c) => c.name) ?? [];
  return (
    <div className="page" data-testid="notifications-page">
      <div className="page-header">
        <h1>Notifications</h1>
      </div>
      <section className="panel" aria-label="Channels">
        <div className="panel-header">
          <h2>Channels</h2>
        </div>
        {channels.error && <Notice>{channels.error}</Notice>}
        {channels.data && channels.data.items.length === 0 ? (
          <Empty>No channels yet.</Empty>
        ) : (
          <table className="grid-table compact">
            <TableHead columns={['Name', 'Kind', 'Target', 'Enabled', { hidden: 'Actions' }]} />
            <tbody>
              {channels.data?.items.map((c) => (
                <ChannelRow key={c.id} channel={c} onSent={deliveries.reload} />
              ))}
            </tbody>
          </table>
        )}
        <CreateChannel onCreated={channels.reload} />
      </section>
      <section className="panel" aria-label="Recent deliveries">
        <div className="panel-header">
          <h2>Recent deliveries</h2>
        </div>
        {deliveries.error && <Notice>{deliveries.error}</Notice>}
        {deliveries.data && deliveries.data.items.length === 0 ? (
          <Empty>Nothing has been sent yet.</Empty>
        ) : (
          <table className="grid-table compact">
            <TableHead
              columns={[
                'Created',
                'Channel',
                'Subject',
                'Status',
                { label: 'Attempts', className: 'num' },
                'Last error',
                { hidden: 'Actions' },
              ]}
            />
            <tbody>
              {deliveries.data?.items.map((d) => (
                <DeliveryRow key={d.id} delivery={d} onRetried={deliveries.reload} />
              ))}
            </tbody>
          </table>
        )}
      </section>
      <section className="panel" aria-label="Alert rules">
        <div className="panel-header">
          <h2>Alert rules</h2>
        </div>
        {rules.error && <Notice>{rules.error}</Notice>}
        {rules.data && rules.data.items.length === 0 ? (
          <Empty>No alert rules yet.</Empty>
        ) : (
          <table className="grid-table compact">
            <TableHead columns={['Automation', 'Enabled', 'Channel', 'Last fired']} />
            <tbody>
              {rules.data?.items.map((a) => (
                <tr key={a.id} data-testid="alert-rule-row">
                  <td>
                    <a href={href(`/automations/${a.id}`)}>{a.name}</a>
                  </td>
                  <td>{a.enabled ? 'yes' : 'no'}</td>
                  <td>
                    {a.actions
                      .map((x) => (x.type === 'notify' ? x.channel : ''))
                      .filter(Boolean)
                      .join(', ')}
                  </td>
                  <td>{formatDateTime(a.lastFiredAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <CreateAlertRule channels={channelNames} onCreated={rules.reload} />
      </section>
    </div>
  );
}

function ChannelRow({ channel: c, onSent }: { channel: NotificationChannel; onSent: () => Promise<void> }) {
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const sendTest = async () => {
    setBusy(true);
    const result = await api.call('notificationChannelsTest', { params: { name: c.name } });
    setBusy(false);
    setMessage(result.ok ? { ok: true, text: 'Test queued' } : { ok: false, text: describeFailure(result) });
    await onSent();
  };
  return (
    <tr data-testid="channel-row" data-name={c.name}>
      <td>{c.name}</td>
      <td>
        <span className="tag">{c.kind}</span>
      </td>
      <td className="mono small">
        {c.kind === 'email' ? (
          <>
            {c.recipients.join(', ')}
            {c.pendingRecipients.length > 0 && (
              <div className="muted" data-testid="channel-pending">
                awaiting confirmation (mailed a link, sent nothing until they confirm): {c.pendingRecipients.join(', ')}
              </div>
            )}
          </>
        ) : (
          (c.url ?? '(Slack webhook, sealed)')
        )}
      </td>
      <td>
        <OnOffPill on={c.enabled} labels={ENABLED} />
      </td>
      <td>
        <button type="button" className="button" disabled={busy} onClick={() => void sendTest()} data-testid="channel-test">
          Send test
        </button>
        {message && (
          <span className={message.ok ? 'field-help' : 'field-error'} data-testid="channel-test-result">
            {' '}
            {message.text}
          </span>
        )}
      </td>
    </tr>
  );
}

function DeliveryRow({ delivery: d, onRetried }: { delivery: NotificationDelivery; onRetried: () => Promise<void> }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const retry = async () => {
    setBusy(true);
    const result = await api.call('notificationDeliveriesRetry', { params: { id: d.id } });
    setBusy(false);
    setError(result.ok ? null : describeFailure(result));
    await onRetried();
  };
  const pill = d.status === 'SENT' ? 'pill-active' : d.status === 'DEAD' ? 'pill-offline' : 'pill-paused';
  return (
    <tr data-testid="delivery-row" data-status={d.status} data-channel={d.channel}>
      <td>{formatDateTime(d.createdAt)}</td>
      <td>{d.channel}</td>
      <td>{d.subject}</td>
      <td>
        <span className={`pill ${pill}`} data-testid="delivery-status">
          {d.status}
        </span>
      </td>
      <td className="num" data-testid="delivery-attempts">
        {d.attempts}
      </td>
      <td className="text-bad" data-testid="delivery-error">
        {d.lastError ?? ''}
        {error && <span className="field-error"> {error}</span>}
      </td>
      <td>
        {d.status === 'DEAD' && (
          <button type="button" className="button" disabled={busy} onClick={() => void retry()} data-testid="delivery-retry">
            Retry
          </button>
        )}
      </td>
    </tr>
  );
}

function CreateChannel({ onCreated }: { onCreated: () => Promise<void> }) {
  const [name, setName] = useState('');
  const [kind, setKind] = useState<NotificationChannelKind>('webhook');
  const [target, setTarget] = useState('');
  const { error, busy, submit } = useSubmit();
  const [secret, setSecret] = useState<string | null>(null);

  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    const body =
      kind === 'webhook'
        ? { kind, name, url: target }
        : kind === 'slack'
          ? { kind, name, secretUrl: target }
          : {
              kind,
              name,
              recipients: target
                .split(',')
                .map((s) => s.trim())
                .filter(Boolean),
            };
    await submit(
      () => api.call('notificationChannelsCreate', { body }),
      async (created) => {
        setName('');
        setTarget('');
        setSecret(created.signingSecret);
        await onCreated();
      },
    );
  };

  return (
    <form className="inline-form" onSubmit={(e) => void onSubmit(e)} noValidate data-testid="channel-form">
      <TextInput placeholder="Channel name" value={name} onChange={setName} aria-label="Channel name" testId="channel-name" />
      <select
        value={kind}
        onChange={(e) => setKind(e.target.value as NotificationChannelKind)}
        aria-label="Kind"
        data-testid="channel-kind"
      >
        <option value="webhook">webhook</option>
        <option value="slack">slack</option>
        <option value="email">email</option>
      </select>
      <TextInput
        spellCheck={false}
        className="wide-input"
        placeholder={TARGET_LABEL[kind]}
        value={target}
        onChange={setTarget}
        aria-label={TARGET_LABEL[kind]}
        testId="channel-target"
      />
      <button type="submit" className="button button-primary" disabled={busy || !name || !target} data-testid="channel-create">
        Add channel
      </button>
      {error && (
        <div className="notice notice-error" role="alert" data-testid="channel-error">
          {error}
        </div>
      )}
      {secret && (
        <div className="notice notice-success" role="status" data-testid="channel-secret">
          Signing secret (shown once): <code>{secret}</code>
        </div>
      )}
    </form>
  );
}

function CreateAlertRule({ channels, onCreated }: { channels: string[]; onCreated: () => Promise<void> }) {
  const [rule, setRule] = useState<AlertRuleKind>('run-failed');
  const [channel, setChannel] = useState('');
  const [deployment, setDeployment] = useState('');
  const [minutes, setMinutes] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    const result = await api.call('alertRulesCreate', {
      body: {
        rule,
        channel: channel || channels[0] || '',
        ...(deployment ? { deployment } : {}),
        ...(minutes ? { minutes: Number(minutes) } : {}),
      },
    });
    setBusy(false);
    if (!result.ok) {
      setError(describeFailure(result));
      return;
    }
    setError(null);
    setDeployment('');
    setMinutes('');
    await onCreated();
  };

  return (
    <form className="inline-form" onSubmit={(e) => void onSubmit(e)} noValidate data-testid="alert-rule-form">
      <select
        value={rule}
        onChange={(e) => setRule(e.target.value as AlertRuleKind)}
        aria-label="Rule"
        data-testid="alert-rule-kind"
      >
        <Options values={ALERT_RULES} />
      </select>
      <select value={channel} onChange={(e) => setChannel(e.target.value)} aria-label="Channel" data-testid="alert-rule-channel">
        <Options values={channels} />
      </select>
      <TextInput
        placeholder="Deployment (optional), flow/deployment"
        value={deployment}
        onChange={setDeployment}
        aria-label="Deployment"
        testId="alert-rule-deployment"
      />
      <TextInput
        type="number"
        min={1}
        placeholder="Minutes (optional)"
        value={minutes}
        onChange={setMinutes}
        aria-label="Minutes"
        testId="alert-rule-minutes"
      />
      <button
        type="submit"
        className="button button-primary"
        disabled={busy || channels.length === 0}
        data-testid="alert-rule-create"
      >
        Add alert rule
      </button>
      {error && (
        <div className="notice notice-error" role="alert" data-testid="alert-rule-error">
          {error}
        </div>
      )}
    </form>
  );
}
