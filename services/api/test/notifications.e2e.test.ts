import { randomUUID } from 'node:crypto';
import type { OutpostEvent } from '@outpost/sdk/contracts';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { toEvent } from '../src/events/db/events.js';
import { verifySignature } from '../src/notifications/signature.js';
import { startTestServer, type TestServer } from '../src/testing/index.js';
import { linkIn, TestMailbox } from '../src/testing/mailbox.js';
import { type Call, claim, client, createRun, deploy, eventually } from './helpers.js';
import { Receiver } from './notifications.support.js';
import { post } from './users.support.js';

let server: TestServer;
let owner: Call;
let receiver: Receiver;
let mailbox: TestMailbox;

beforeAll(async () => {
  receiver = await new Receiver().start();
  mailbox = await TestMailbox.start();
  server = await startTestServer({
    secretKey: 'e'.repeat(40),
    mail: { smtpUrl: mailbox.url, from: 'Outpost <outpost@example.com>' },
    notifications: { allowPrivateNetworks: true, idleMs: 100 },
  });
  owner = client(server, server.ownerKey);
});
afterAll(async () => {
  await server?.close();
  await mailbox?.close();
  await receiver?.close();
});

/** Runs a deployment's run to FAILED through the API, as a worker would, and returns the ledger's event of it. */
async function failedRunEvent(): Promise<OutpostEvent> {
  const deployment = await deploy(owner, { flowName: 'etl', name: 'nightly' });
  const run = await createRun(owner, deployment.id);
  const [claimed] = await claim(owner, 'default', 1);
  const asRun = client(server, claimed.token);
  await asRun('POST', `/flow-runs/${run.id}/set-state`, { body: { transitionId: randomUUID(), state: { type: 'RUNNING' } } });
  const failed = await asRun('POST', `/flow-runs/${run.id}/set-state`, {
    body: { transitionId: randomUUID(), state: { type: 'FAILED', message: 'disk full on /data' } },
  });
  expect(failed.status).toBe(200);
  const [row] = await server.sql`SELECT * FROM events WHERE kind = 'flow-run.failed' AND resource_id = ${run.id}`;
  if (!row) throw new Error('the failed run has no event');
  return toEvent(row as never);
}

test('a failed run fires the run-failed alert rules: a signed webhook, a Slack message and an email, each rendered from the event', async () => {
  const templates = {
    subjectTemplate: 'Run {{ event.resource.name }} of {{ event.payload.deployment }} failed',
    bodyTemplate: 'State: {{ event.payload.state.type }}. Message: {{ event.payload.state.message }}',
  };
  const webhook = await owner('POST', '/notification-channels', {
    body: { name: 'hook', kind: 'webhook', url: receiver.url('/outpost'), ...templates },
  });
  await owner('POST', '/notification-channels', {
    body: { name: 'chat', kind: 'slack', secretUrl: receiver.url('/slack'), ...templates },
  });
  const oncall = await owner('POST', '/notification-channels', {
    body: { name: 'oncall', kind: 'email', recipients: ['oncall@example.com'], ...templates },
  });
  // An external address receives nothing until it confirms by the one link mailed to it.
  expect(oncall.body.pendingRecipients).toEqual(['oncall@example.com']);
  const confirmation = await mailbox.next('oncall@example.com');
  expect(confirmation.subject).toBe('Confirm notifications from Outpost');
  expect((await post(server, '/mail-recipients/confirm', { token: linkIn(confirmation).token })).status).toBe(200);
  expect((await owner('GET', '/notification-channels/oncall')).body.pendingRecipients).toEqual([]);
  const seen = mailbox.messages.length;

  // Built-in alert rules: one automation per channel, each with a notify action, fired by the
  // engine when the run's FAILED state lands in the ledger.
  for (const channel of ['hook', 'chat', 'oncall']) {
    const rule = await owner('POST', '/alert-rules', { body: { rule: 'run-failed', channel, deployment: 'etl/nightly' } });
    expect(rule.status).toBe(201);
  }
  const event = await failedRunEvent();
  const subject = `Run ${event.resource.name} of etl/nightly failed`;
  const text = 'State: FAILED. Message: disk full on /data';

  const mail = await mailbox.next('oncall@example.com', { since: seen });
  expect(mail.subject).toBe(subject);
  expect(mail.text.trim()).toBe(text);

  const hook = await eventually(async () => receiver.requests.find((r) => r.path === '/outpost'));
  expect(verifySignature(webhook.body.signingSecret, hook.body, String(hook.headers['x-outpost-signature']))).toBe(true);
  const payload = JSON.parse(hook.body);
  expect(payload).toMatchObject({ subject, body: text, channel: 'hook', event: { id: event.id, kind: 'flow-run.failed' } });
  expect(payload.event.payload.state.message).toBe('disk full on /data');

  const slack = await eventually(async () => receiver.requests.find((r) => r.path === '/slack'));
  const message = JSON.parse(slack.body);
  expect(message.text).toBe(`${subject}\n${text}`);
  expect(message.blocks[0].text.text).toBe(subject);

  // Each delivery is marked SENT once its receiver accepted it.
  const channels = await eventually(async () => {
    const sent = await owner('GET', '/notification-deliveries?status=SENT');
    const names = sent.body.items.map((d: { channel: string }) => d.channel).sort();
    return names.length === 3 ? names : undefined;
  });
  expect(channels).toEqual(['chat', 'hook', 'oncall']);
});
