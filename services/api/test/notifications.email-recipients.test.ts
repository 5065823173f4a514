import { randomUUID } from 'node:crypto';
import { MAX_EMAIL_RECIPIENTS } from '@outpost/sdk/contracts';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createLogger } from '../src/logger.js';
import { NotificationLoop } from '../src/loops/notifications.js';
import { Mailer } from '../src/mail/mailer.js';
import { enqueueNotification } from '../src/notifications/enqueue.js';
import { QUOTA_DEFAULTS } from '../src/quotas/quotas.js';
import { startTestServer, type TestServer } from '../src/testing/index.js';
import { linkIn, TestMailbox } from '../src/testing/mailbox.js';
import { type Call, client } from './helpers.js';
import { addPerson, confirmAddress, newEmail, post } from './users.support.js';

/*
 * An email channel is not a relay: it mails the verified addresses of the workspace's members and
 * external addresses that confirmed by the one link mailed to them, nothing else, and the mail the
 * workspace sends per hour is bounded by its `mailPerHour` quota, counted in the database.
 */

let server: TestServer;
let mailbox: TestMailbox;
let mailer: Mailer;
let loop: NotificationLoop;
let owner: Call;
let workspaceName: string;

beforeAll(async () => {
  mailbox = await TestMailbox.start();
  const mail = { smtpUrl: mailbox.url, from: 'Outpost <outpost@example.com>' };
  // No background loops: each test sends the outbox itself, so what is sent when is deterministic.
  server = await startTestServer({ loops: false, mail });
  owner = client(server, server.ownerKey);
  mailer = new Mailer(mail, createLogger('silent'));
  loop = new NotificationLoop(server.sql, server.databaseUrl, createLogger('silent'), null, null, mailer, { baseDelayMs: 10 });
  workspaceName = (await owner('GET', '/whoami')).body.workspace.name;
});
afterAll(async () => {
  await loop?.stop();
  mailer?.close();
  await server?.close();
  await mailbox?.close();
});

/** A member of the workspace whose address is verified. */
async function verifiedMember(): Promise<string> {
  const person = await addPerson(server, owner, 'viewer', newEmail('member'));
  await confirmAddress(server, person);
  return person.email;
}

/** Sends the outbox until the delivery is no longer pending; its final row. */
async function sendOut(deliveryId: string) {
  for (let i = 0; i < 20; i++) {
    await loop.tick();
    const delivery = (await owner('GET', `/notification-deliveries/${deliveryId}`)).body;
    if (delivery.status !== 'PENDING') return delivery;
  }
  throw new Error('the delivery stayed pending');
}

async function setMailSentThisHour(sent: number): Promise<void> {
  await server.sql`
    INSERT INTO mail_usage (workspace_id, hour, sent) VALUES (${server.workspaceId}, date_trunc('hour', now()), ${sent})
    ON CONFLICT (workspace_id, hour) DO UPDATE SET sent = EXCLUDED.sent`;
}

describe('email channel recipients', () => {
  test('an external address is pending and mailed one fixed confirmation; a verified member is not', async () => {
    const member = await verifiedMember();
    const outsider = newEmail('outsider');
    const seen = mailbox.messages.length;
    const created = await owner('POST', '/notification-channels', {
      body: { name: 'team', kind: 'email', recipients: [member, outsider.toUpperCase()], subjectTemplate: 'Buy now!' },
    });
    expect(created.status, created.text).toBe(201);
    expect(created.body.recipients).toEqual([member, outsider]);
    expect(created.body.pendingRecipients).toEqual([outsider]);

    const confirmation = await mailbox.next(outsider, { since: seen });
    expect(confirmation.subject).toBe('Confirm notifications from Outpost');
    expect(confirmation.text).toContain(`The Outpost workspace ${JSON.stringify(workspaceName)} wants to send notifications`);
    expect(confirmation.text).not.toContain('Buy now');
    expect(mailbox.messages.slice(seen).filter((m) => m.to.includes(member))).toEqual([]);

    // Saving the channel again mails no second link while the first one works.
    const resaved = await owner('PATCH', '/notification-channels/team', { body: { recipients: [outsider, member] } });
    expect(resaved.status, resaved.text).toBe(200);
    expect(resaved.body.pendingRecipients).toEqual([outsider]);
    expect(mailbox.to(outsider)).toHaveLength(1);

    // A test notification reaches the member only: the pending address is skipped.
    const sentBefore = mailbox.messages.length;
    const testSend = await owner('POST', '/notification-channels/team/test');
    expect(testSend.status, testSend.text).toBe(202);
    expect((await sendOut(testSend.body.id)).status).toBe('SENT');
    const delivered = mailbox.messages.slice(sentBefore);
    expect(delivered).toHaveLength(1);
    expect(delivered[0]?.to).toEqual([member]);

    // The link confirms the address once; the channel then mails it too.
    const { token } = linkIn(confirmation);
    const confirmed = await post(server, '/mail-recipients/confirm', { token });
    expect(confirmed.status, confirmed.text).toBe(200);
    expect(confirmed.body).toMatchObject({ address: outsider, workspace: { name: workspaceName } });
    expect((await post(server, '/mail-recipients/confirm', { token })).status).toBe(401);
    expect((await owner('GET', '/notification-channels/team')).body.pendingRecipients).toEqual([]);
    const again = await owner('POST', '/notification-channels/team/test');
    const afterConfirm = mailbox.messages.length;
    expect((await sendOut(again.body.id)).status).toBe('SENT');
    expect(
      mailbox.messages
        .slice(afterConfirm)
        .flatMap((m) => m.to)
        .sort(),
    ).toEqual([member, outsider].sort());
  });

  test('a made-up confirmation token is refused like a used one', async () => {
    const made = await post(server, '/mail-recipients/confirm', { token: 'not-a-token-anyone-was-sent' });
    expect(made.status).toBe(401);
    expect(made.body.detail).toContain('expired, was already used, or was replaced');
  });

  test('a channel with only pending recipients sends nothing and says why, without retrying', async () => {
    const stranger = newEmail('stranger');
    const created = await owner('POST', '/notification-channels', {
      body: { name: 'strangers', kind: 'email', recipients: [stranger] },
    });
    expect(created.body.pendingRecipients).toEqual([stranger]);
    const testSend = await owner('POST', '/notification-channels/strangers/test');
    const delivery = await sendOut(testSend.body.id);
    expect(delivery).toMatchObject({ status: 'DEAD', attempts: 1 });
    expect(delivery.lastError).toContain('none of the channel "strangers"\'s recipients can receive mail yet');
    // Only the confirmation reached the address.
    expect(mailbox.to(stranger).map((m) => m.subject)).toEqual(['Confirm notifications from Outpost']);
  });

  test(`more than ${MAX_EMAIL_RECIPIENTS} recipients are refused naming the field`, async () => {
    const many = Array.from({ length: MAX_EMAIL_RECIPIENTS + 1 }, (_, i) => `r${i}@example.com`);
    const refused = await owner('POST', '/notification-channels', { body: { name: 'many', kind: 'email', recipients: many } });
    expect(refused.status).toBe(400);
    expect(refused.body.errors.map((e: { path: string }) => e.path)).toContain('body.recipients');
    expect(mailbox.messages.filter((m) => m.to.some((t) => many.includes(t)))).toEqual([]);
  });

  test('an address gets at most three confirmation mails a day, from all workspaces together', async () => {
    const target = newEmail('target');
    for (let i = 0; i < 4; i++) {
      const other = await server.createWorkspace();
      const made = await client(server, other.ownerKey)('POST', '/notification-channels', {
        body: { name: 'flood', kind: 'email', recipients: [target] },
      });
      expect(made.status, made.text).toBe(201);
      expect(made.body.pendingRecipients).toEqual([target]);
    }
    expect(mailbox.to(target)).toHaveLength(3);
  });

  test("a subject cannot add headers: a template's line breaks stay inside the one Subject line", async () => {
    const member = await verifiedMember();
    const hidden = newEmail('hidden');
    const made = await owner('POST', '/notification-channels', {
      body: {
        name: 'inject',
        kind: 'email',
        recipients: [member],
        subjectTemplate: `Alert {{ event.kind }}\r\nBcc: ${hidden}\r\nX-Evil: 1`,
      },
    });
    expect(made.status, made.text).toBe(201);
    // A notification that gives no subject of its own: the channel's template is rendered.
    const now = new Date().toISOString();
    const id = await server.sql.begin((tx) =>
      enqueueNotification(tx, {
        workspaceId: server.workspaceId,
        channel: 'inject',
        automationId: null,
        firingId: null,
        idempotencyKey: `inject:${now}`,
        event: {
          id: randomUUID(),
          seq: '0',
          occurredAt: now,
          receivedAt: now,
          kind: 'model.trained',
          resource: { kind: 'model', id: 'm1', name: null },
          related: [],
          payload: {},
          source: 'api',
        },
      }),
    );
    const before = mailbox.messages.length;
    expect((await sendOut(id)).status).toBe('SENT');
    const [mail] = mailbox.messages.slice(before);
    expect(mail?.to).toEqual([member]);
    expect(mail?.subject).toBe(`Alert model.trained Bcc: ${hidden} X-Evil: 1`);
    expect(mailbox.to(hidden)).toEqual([]);
  });
});

describe('the mailPerHour quota', () => {
  test('at the quota a test send answers 429 and a queued notification is recorded as not sent, once', async () => {
    const member = await verifiedMember();
    await owner('POST', '/notification-channels', { body: { name: 'quota', kind: 'email', recipients: [member] } });
    const queued = await owner('POST', '/notification-channels/quota/test');
    expect(queued.status).toBe(202);

    await setMailSentThisHour(QUOTA_DEFAULTS.mailPerHour);
    const refused = await owner('POST', '/notification-channels/quota/test');
    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({ code: 'quota_exceeded' });
    expect(refused.body.detail).toContain(`"mailPerHour" (${QUOTA_DEFAULTS.mailPerHour})`);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);

    const before = mailbox.messages.length;
    const delivery = await sendOut(queued.body.id);
    expect(delivery).toMatchObject({ status: 'DEAD', attempts: 1 });
    expect(delivery.lastError).toContain('quota "mailPerHour"');
    expect(mailbox.messages.length).toBe(before);

    // Adding a member would mail them: refused too, and nobody was added.
    const email = newEmail('late');
    const added = await owner('POST', '/members', { body: { email, role: 'viewer' } });
    expect(added.status).toBe(429);
    expect((await owner('GET', '/members')).body.items.map((m: { email: string }) => m.email)).not.toContain(email);
    await setMailSentThisHour(0);
  });

  test('the count is shared: mail taken through one replica counts for another', async () => {
    const replica = await server.startReplica({ loops: false });
    try {
      await setMailSentThisHour(QUOTA_DEFAULTS.mailPerHour - 1);
      const member = await verifiedMember().catch(() => null);
      // Adding the member took the last message of the hour (through the first server).
      expect(member).not.toBeNull();
      await owner('POST', '/notification-channels', { body: { name: 'shared', kind: 'email', recipients: [member] } });
      const viaReplica = await client(replica, server.ownerKey)('POST', '/notification-channels/shared/test');
      expect(viaReplica.status).toBe(429);
    } finally {
      await replica.close();
      await setMailSentThisHour(0);
    }
  });
});
