import { hostname } from 'node:os';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { verifySignature } from '../src/notifications/signature.js';
import { startTestServer, type TestServer } from '../src/testing/index.js';
import { type Call, client, eventually } from './helpers.js';
import { Receiver } from './notifications.support.js';

let server: TestServer;
let guarded: TestServer;
let owner: Call;
let receiver: Receiver;

beforeAll(async () => {
  receiver = await new Receiver().start();
  server = await startTestServer({
    secretKey: 's'.repeat(40),
    notifications: { allowPrivateNetworks: true, baseDelayMs: 50, maxDelayMs: 200, maxAttempts: 3, idleMs: 100 },
  });
  owner = client(server, server.ownerKey);
  // A server as a hosted control plane runs: notification URLs may not reach private addresses.
  guarded = await startTestServer({ notifications: { idleMs: 100 } });
});
afterAll(async () => {
  await server?.close();
  await guarded?.close();
  await receiver?.close();
});

async function delivery(call: Call, id: string, status: string) {
  return eventually(
    async () => {
      const res = await call('GET', `/notification-deliveries/${id}`);
      return res.body.status === status ? res.body : undefined;
    },
    15_000,
    `delivery ${id} ${status}`,
  );
}

describe('notification channels', () => {
  test('a webhook channel shows its signing secret once, and never again', async () => {
    const created = await owner('POST', '/notification-channels', {
      body: { name: 'once', kind: 'webhook', url: receiver.url('/once') },
    });
    expect(created.status).toBe(201);
    expect(created.body.signingSecret).toMatch(/^whsec_/);
    const read = await owner('GET', '/notification-channels/once');
    expect(read.body).not.toHaveProperty('signingSecret');
    expect(JSON.stringify((await owner('GET', '/notification-channels')).body)).not.toContain(created.body.signingSecret);
    const [stored] = await server.sql`SELECT secret_encrypted FROM notification_channels WHERE name = 'once'`;
    expect(stored?.secret_encrypted).toMatch(/^v1\./);
    expect(stored?.secret_encrypted).not.toContain(created.body.signingSecret);
  });

  test('a template that does not compile is refused with its field and position', async () => {
    const res = await owner('POST', '/notification-channels', {
      body: { name: 'bad', kind: 'webhook', url: receiver.url('/x'), bodyTemplate: 'run {{ event.kind + }} failed' },
    });
    expect(res.status).toBe(422);
    expect(res.body.errors).toHaveLength(1);
    expect(res.body.errors[0].path).toBe('body.bodyTemplate');
    expect(res.body.errors[0].message).toMatch(/\(line 1, column \d+\)$/);
  });

  test('a second channel of the same name is a conflict', async () => {
    const body = { name: 'twice', kind: 'slack', secretUrl: receiver.url('/slack') };
    expect((await owner('POST', '/notification-channels', { body })).status).toBe(201);
    const again = await owner('POST', '/notification-channels', { body });
    expect(again.status).toBe(409);
    expect(again.body.detail).toBe('a notification channel named "twice" already exists');
  });

  test('a hosted server refuses a private address when the channel is saved and again when it sends', async () => {
    const guardedOwner = client(guarded, guarded.ownerKey);
    const saved = await guardedOwner('POST', '/notification-channels', {
      body: { name: 'inside', kind: 'webhook', url: 'http://127.0.0.1:9/hook' },
    });
    expect(saved.status).toBe(400);
    expect(saved.body.errors[0]).toEqual({
      path: 'body.url',
      message: '127.0.0.1 is loopback (127.0.0.0/8); notifications may not be sent there',
    });
    // A name is resolved when the channel is saved: this machine's own name resolves to one of its
    // own (loopback or private) addresses.
    const port = new URL(receiver.url('/')).port;
    const named = await guardedOwner('POST', '/notification-channels', {
      body: { name: 'named', kind: 'webhook', url: `http://${hostname()}:${port}/sneaky` },
    });
    expect(named.status).toBe(400);
    expect(named.body.errors[0].message).toMatch(/^\S+ resolves to \S+, which .+; notifications may not be sent there$/);
    // A name that resolved somewhere public when it was saved and resolves here now (DNS rebinding)
    // is judged again when the notification is sent: the channel is written as the save would have.
    await guarded.sql`
      INSERT INTO notification_channels (workspace_id, name, kind, url, secret_encrypted)
      VALUES (${guarded.workspaceId}, 'rebound', 'webhook', ${`http://${hostname()}:${port}/sneaky`}, 'plain:whsec_rebound-secret')`;
    const sent = await guardedOwner('POST', '/notification-channels/rebound/test');
    const dead = await delivery(guardedOwner, sent.body.id, 'DEAD');
    expect(dead.lastError).toMatch(/^the destination is not allowed — \S+ resolves to \S+, which /);
    expect(dead.attempts).toBe(1);
    expect(receiver.requests.some((r) => r.path === '/sneaky')).toBe(false);
  });
});

describe('the delivery loop', () => {
  test('a webhook delivery is signed so the receiver can verify it, and carries its id', async () => {
    const created = await owner('POST', '/notification-channels', {
      body: { name: 'signed', kind: 'webhook', url: receiver.url('/signed') },
    });
    const sent = await owner('POST', '/notification-channels/signed/test');
    expect(sent.status).toBe(202);
    const done = await delivery(owner, sent.body.id, 'SENT');
    expect(done.attempts).toBe(1);
    const request = receiver.requests.find((r) => r.path === '/signed');
    if (!request) throw new Error('the receiver got nothing');
    expect(request.headers['x-outpost-delivery']).toBe(sent.body.id);
    const signature = String(request.headers['x-outpost-signature']);
    expect(verifySignature(created.body.signingSecret, request.body, signature)).toBe(true);
    expect(verifySignature('whsec_another-secret-entirely', request.body, signature)).toBe(false);
    expect(verifySignature(created.body.signingSecret, `${request.body} `, signature)).toBe(false);
    expect(JSON.parse(request.body)).toMatchObject({ id: sent.body.id, channel: 'signed', event: { kind: 'notification.test' } });
  });

  test('a Slack channel posts text and blocks to its incoming-webhook URL', async () => {
    await owner('POST', '/notification-channels', {
      body: { name: 'slack', kind: 'slack', secretUrl: receiver.url('/slack-hook') },
    });
    const sent = await owner('POST', '/notification-channels/slack/test');
    await delivery(owner, sent.body.id, 'SENT');
    const request = receiver.requests.find((r) => r.path === '/slack-hook');
    const message = JSON.parse(request?.body ?? '{}');
    expect(message.text).toContain('test notification');
    expect(message.blocks[0]).toMatchObject({ type: 'header', text: { type: 'plain_text' } });
    expect(message.blocks[1]).toMatchObject({ type: 'section', text: { type: 'mrkdwn' } });
  });

  test('a failing receiver is retried with backoff, then the delivery is a dead letter with the error; a retry sends it', async () => {
    const failing = new Receiver();
    failing.status = 503;
    await failing.start();
    try {
      await owner('POST', '/notification-channels', { body: { name: 'flaky', kind: 'webhook', url: failing.url('/flaky') } });
      const sent = await owner('POST', '/notification-channels/flaky/test');
      const dead = await delivery(owner, sent.body.id, 'DEAD');
      expect(dead.attempts).toBe(3);
      expect(dead.lastError).toBe('the receiver answered HTTP 5xx — HTTP 503: receiver is down for maintenance');
      expect(failing.requests).toHaveLength(3);
      // Every attempt is the same delivery: the receiver can dedupe by its id.
      expect(new Set(failing.requests.map((r) => r.headers['x-outpost-delivery']))).toEqual(new Set([sent.body.id]));

      const listed = await owner('GET', '/notification-deliveries?status=DEAD&channel=flaky');
      expect(listed.body.items.map((d: { id: string }) => d.id)).toEqual([sent.body.id]);

      failing.status = 200;
      const retried = await owner('POST', `/notification-deliveries/${sent.body.id}/retry`);
      expect(retried.status).toBe(200);
      expect(retried.body).toMatchObject({ status: 'PENDING', attempts: 0 });
      const done = await delivery(owner, sent.body.id, 'SENT');
      expect(done.lastError).toBeNull();
      expect(failing.requests).toHaveLength(4);

      const again = await owner('POST', `/notification-deliveries/${sent.body.id}/retry`);
      expect(again.status).toBe(409);
    } finally {
      await failing.close();
    }
  });

  test('deleting a channel turns its pending deliveries into dead letters that say why', async () => {
    await owner('POST', '/notification-channels', {
      body: { name: 'doomed', kind: 'webhook', url: receiver.url('/doomed'), enabled: true },
    });
    // Held back: the delivery stays pending until the channel is gone.
    await owner('PATCH', '/notification-channels/doomed', { body: { enabled: false } });
    const [channel] = await server.sql`SELECT id FROM notification_channels WHERE name = 'doomed'`;
    await server.sql`
      INSERT INTO notification_deliveries (workspace_id, channel_id, channel_name, idempotency_key, subject, body, next_attempt_at)
      VALUES (${server.workspaceId}, ${channel?.id}, 'doomed', 'doomed-1', 's', 'b', now() + interval '1 hour')`;
    expect((await owner('DELETE', '/notification-channels/doomed')).status).toBe(204);
    const [row] =
      await server.sql`SELECT status, last_error, channel_id FROM notification_deliveries WHERE idempotency_key = 'doomed-1'`;
    expect(row).toEqual({ status: 'DEAD', last_error: 'the channel "doomed" was deleted', channel_id: null });
  });
});
