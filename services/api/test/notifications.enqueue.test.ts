import { describe, expect, test } from 'vitest';
import { isDomainError } from '../src/domain-error.js';
import { insertEvents, toEvent } from '../src/events/db/events.js';
import { enqueueNotification } from '../src/notifications/enqueue.js';
import { useServer } from './helpers.js';

const api = useServer();

async function anEvent(name: string) {
  const [id] = await insertEvents(api.server.sql, [
    {
      workspaceId: api.server.workspaceId,
      kind: 'order.shipped',
      resource: { kind: 'order', id: `o-${name}`, name },
      payload: { total: 42 },
      source: 'api',
    },
  ]);
  const [row] = await api.server.sql`SELECT * FROM events WHERE id = ${id ?? ''}`;
  return toEvent(row as never);
}

async function addChannel(name: string, templates: { subject?: string; body?: string; enabled?: boolean } = {}) {
  await api.server.sql`
    INSERT INTO notification_channels (workspace_id, name, kind, url, subject_template, body_template, enabled)
    VALUES (${api.server.workspaceId}, ${name}, 'webhook', 'http://127.0.0.1:9/hook', ${templates.subject ?? null},
            ${templates.body ?? null}, ${templates.enabled ?? true})`;
}

describe('enqueueNotification', () => {
  test('stores one pending delivery per idempotency key, with the given subject and body', async () => {
    await addChannel('ops');
    const event = await anEvent('first');
    const request = {
      workspaceId: api.server.workspaceId,
      channel: 'ops',
      automationId: null,
      firingId: null,
      idempotencyKey: `k-${event.id}`,
      subject: 'Order shipped',
      body: 'it went out',
      event,
    };
    const id = await api.server.sql.begin((tx) => enqueueNotification(tx, request));
    const again = await api.server.sql.begin((tx) => enqueueNotification(tx, request));
    expect(again).toBe(id);
    const rows = await api.server.sql`SELECT * FROM notification_deliveries WHERE idempotency_key = ${request.idempotencyKey}`;
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ id, status: 'PENDING', attempts: 0, subject: 'Order shipped', body: 'it went out' });
    expect(rows[0]?.payload).toMatchObject({ id, subject: 'Order shipped', event: { id: event.id, kind: 'order.shipped' } });
  });

  test('renders the channel’s templates over the event when the action gives no subject or body', async () => {
    await addChannel('templated', {
      subject: 'Shipped {{ event.resource.name }}',
      body: 'total {{ event.payload.total }} by {{ automation.name }}',
    });
    const event = await anEvent('second');
    const id = await enqueueNotification(api.server.sql, {
      workspaceId: api.server.workspaceId,
      channel: 'templated',
      automationId: null,
      automationName: 'ship-watch',
      firingId: null,
      idempotencyKey: `k-${event.id}`,
      subject: '',
      event,
    });
    const [row] = await api.server.sql`SELECT subject, body FROM notification_deliveries WHERE id = ${id}`;
    expect(row).toEqual({ subject: 'Shipped second', body: 'total 42 by ship-watch' });
  });

  test('refuses an unknown or disabled channel with a message naming it, storing nothing', async () => {
    await addChannel('muted', { enabled: false });
    const event = await anEvent('third');
    const base = { workspaceId: api.server.workspaceId, automationId: null, firingId: null, subject: 's', body: 'b', event };
    const missing = await enqueueNotification(api.server.sql, { ...base, channel: 'nope', idempotencyKey: 'x1' }).catch((e) => e);
    expect(isDomainError(missing, 'not_found')).toBe(true);
    expect(missing.message).toBe('notification channel "nope" does not exist');
    const muted = await enqueueNotification(api.server.sql, { ...base, channel: 'muted', idempotencyKey: 'x2' }).catch((e) => e);
    expect(muted.message).toBe('notification channel "muted" is disabled');
    const [{ count }] = (await api.server
      .sql`SELECT count(*)::int AS count FROM notification_deliveries WHERE idempotency_key IN ('x1', 'x2')`) as never as [
      { count: number },
    ];
    expect(count).toBe(0);
  });
});
