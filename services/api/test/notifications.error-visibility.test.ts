import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { leadOf } from '../src/notifications/delivery-errors.js';
import { startTestServer, type TestServer } from '../src/testing/index.js';
import { type Call, client, eventually } from './helpers.js';
import { Receiver } from './notifications.support.js';

let server: TestServer;
let owner: Call;
let callers: Record<'admin' | 'developer' | 'runner' | 'viewer', Call>;
let failing: Receiver;

beforeAll(async () => {
  failing = new Receiver();
  failing.status = 503;
  await failing.start();
  server = await startTestServer({
    secretKey: 's'.repeat(40),
    notifications: { allowPrivateNetworks: true, baseDelayMs: 50, maxDelayMs: 100, maxAttempts: 1, idleMs: 100 },
  });
  owner = client(server, server.ownerKey);
  callers = {
    admin: client(server, await server.createKey('admin')),
    developer: client(server, await server.createKey('developer')),
    runner: client(server, await server.createKey('runner')),
    viewer: client(server, await server.createKey('viewer')),
  };
});
afterAll(async () => {
  await server?.close();
  await failing?.close();
});

async function deadDelivery(channel: string, url: string): Promise<string> {
  expect((await owner('POST', '/notification-channels', { body: { name: channel, kind: 'webhook', url } })).status).toBe(201);
  const sent = await owner('POST', `/notification-channels/${channel}/test`);
  await eventually(
    async () => ((await owner('GET', `/notification-deliveries/${sent.body.id}`)).body.status === 'DEAD' ? true : undefined),
    15_000,
    `delivery through ${channel} dead`,
  );
  return sent.body.id;
}

/** A loopback port with nothing listening: bound, then let go. */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

describe("a delivery's last error", () => {
  test('owners and admins read what the receiver answered; developers, runners and viewers only the status class', async () => {
    const id = await deadDelivery('answers', failing.url('/internal'));
    const detail = 'the receiver answered HTTP 5xx — HTTP 503: receiver is down for maintenance';
    expect((await owner('GET', `/notification-deliveries/${id}`)).body.lastError).toBe(detail);
    expect((await callers.admin('GET', `/notification-deliveries/${id}`)).body.lastError).toBe(detail);
    for (const role of ['developer', 'runner', 'viewer'] as const) {
      const one = await callers[role]('GET', `/notification-deliveries/${id}`);
      expect(one.status, role).toBe(200);
      expect(one.body.lastError, role).toBe('the receiver answered HTTP 5xx');
      const listed = await callers[role]('GET', '/notification-deliveries?channel=answers');
      expect(
        listed.body.items.map((d: { lastError: string }) => d.lastError),
        role,
      ).toEqual(['the receiver answered HTTP 5xx']);
      expect(listed.text, role).not.toContain('maintenance');
    }
  });

  test('a network failure reads "could not be reached" for viewers, without the error, address or port', async () => {
    const port = await closedPort();
    const id = await deadDelivery('unreachable', `http://127.0.0.1:${port}/hook`);
    const full = (await owner('GET', `/notification-deliveries/${id}`)).body.lastError;
    expect(full).toMatch(/^the receiver could not be reached — .*ECONNREFUSED/);
    const shown = await callers.viewer('GET', `/notification-deliveries/${id}`);
    expect(shown.body.lastError).toBe('the receiver could not be reached');
    expect(shown.text).not.toContain(String(port));
    expect(shown.text).not.toContain('ECONNREFUSED');
  });

  test('a retry answered to a developer shows the lead only', async () => {
    const id = await deadDelivery('retried', failing.url('/again'));
    const retried = await callers.developer('POST', `/notification-deliveries/${id}/retry`);
    expect(retried.status).toBe(200);
    // The retry resets the attempts but keeps the last error until the next attempt.
    expect(retried.body.lastError).toBe('the receiver answered HTTP 5xx');
  });

  test('sentences about the channel itself stay whole; older rows keep only their status class, and unknown text is withheld', () => {
    expect(leadOf('the channel "ops" was deleted')).toBe('the channel "ops" was deleted');
    expect(leadOf('the channel "ops" is disabled')).toBe('the channel "ops" is disabled');
    expect(leadOf('the receiver answered HTTP 404: <html>admin console</html>')).toBe('the receiver answered HTTP 4xx');
    expect(leadOf('connect ECONNREFUSED 10.0.0.5:6379')).toBe('the delivery failed');
    expect(leadOf('hooks.example resolves to 10.0.0.5, a private or loopback address')).toBe('the delivery failed');
    expect(leadOf('the destination is not allowed — 10.0.0.5 is a private-use network (10.0.0.0/8)')).toBe(
      'the destination is not allowed',
    );
  });
});
