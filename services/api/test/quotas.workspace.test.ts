import { createHmac } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { takeMail } from '../src/mail/mail-quota.js';
import { quotaCommand } from '../src/quotas/operator-command.js';
import { QUOTA_DEFAULTS, type QuotaName, setQuotaOverride } from '../src/quotas/quotas.js';
import type { TestWorkspace } from '../src/testing/index.js';
import { type Call, client, type Reply, SOURCE, useServer } from './helpers.js';
import { Scene, uniqueName } from './security.fixtures.js';

/*
 * Per-workspace quotas: an operator's override is what the workspace is held to, GET /quotas tells
 * every member each limit and what counts against it, and each counted quota answers 429
 * quota_exceeded naming itself and its limit (with Retry-After when time frees it).
 */

const api = useServer();

async function workspace(overrides: Partial<Record<QuotaName, number>> = {}): Promise<{ ws: TestWorkspace; owner: Call }> {
  const ws = await api.server.createWorkspace();
  for (const [name, limit] of Object.entries(overrides))
    await setQuotaOverride(api.server.sql, ws.workspaceId, name as QuotaName, limit);
  return { ws, owner: client(api.server, ws.ownerKey) };
}

function expectQuota(res: Reply, name: QuotaName, limit: number): void {
  expect(res.status, res.text).toBe(429);
  expect(res.body.code).toBe('quota_exceeded');
  expect(res.body.detail).toContain(`"${name}" (${limit})`);
}

async function quota(call: Call, name: QuotaName): Promise<{ limit: number; default: number; used: number | null }> {
  const res = await call('GET', '/quotas');
  expect(res.status, res.text).toBe(200);
  return res.body.items.find((q: { name: string }) => q.name === name);
}

const automation = (name = uniqueName('auto')) => ({
  name,
  trigger: { type: 'event', match: 'event.kind == "never.happens"' },
  actions: [{ type: 'pause-pool', pool: 'nowhere' }],
});

describe('overrides', () => {
  test("an operator's override set with `outpost server quota set` is read back by any member, beside the default", async () => {
    const { ws } = await workspace();
    const [slug] = (await api.server.sql<{ slug: string }[]>`SELECT slug FROM workspaces WHERE id = ${ws.workspaceId}`).map(
      (r) => r.slug,
    );
    const lines: string[] = [];
    const io = {
      out: (line: string) => lines.push(line),
      fail: (message: string) => {
        lines.push(message);
        return 2;
      },
    };
    expect(await quotaCommand(api.server.databaseUrl, ['set', slug as string, 'automations', '7'], io)).toBe(0);
    expect(lines).toContain(`automations: 7 (default ${QUOTA_DEFAULTS.automations}); used 0`);

    const viewer = client(api.server, await ws.createKey('viewer'));
    expect(await quota(viewer, 'automations')).toMatchObject({ limit: 7, default: QUOTA_DEFAULTS.automations, used: 0 });
    expect(await quota(viewer, 'webhooks')).toMatchObject({ limit: QUOTA_DEFAULTS.webhooks, default: QUOTA_DEFAULTS.webhooks });

    expect(await quotaCommand(api.server.databaseUrl, ['set', slug as string, 'automations', 'default'], io)).toBe(0);
    expect(await quota(viewer, 'automations')).toMatchObject({ limit: QUOTA_DEFAULTS.automations });
  });

  test('the operator command refuses a quota no one has heard of, and a limit that is not a whole number', async () => {
    const messages: string[] = [];
    const io = {
      out: () => {},
      fail: (message: string) => {
        messages.push(message);
        return 2;
      },
    };
    expect(await quotaCommand(api.server.databaseUrl, ['set', 'default', 'eventsPerWeek', '5'], io)).toBe(2);
    expect(await quotaCommand(api.server.databaseUrl, ['set', 'default', 'automations', '-1'], io)).toBe(2);
    expect(messages[0]).toContain('no quota is named "eventsPerWeek"');
    expect(messages[1]).toContain('whole number');
  });
});

describe('automations', () => {
  test('past an automations quota of 2 the third is refused with 429 naming it, and deleting one makes room', async () => {
    const { owner } = await workspace({ automations: 2 });
    const first = await owner('POST', '/automations', { body: automation() });
    expect((await owner('POST', '/automations', { body: automation() })).status).toBe(201);
    expectQuota(await owner('POST', '/automations', { body: automation() }), 'automations', 2);
    expect(await quota(owner, 'automations')).toMatchObject({ limit: 2, used: 2 });

    expect((await owner('DELETE', `/automations/${first.body.id}`)).status).toBe(200);
    expect((await owner('POST', '/automations', { body: automation() })).status).toBe(201);
  });

  test("a deployment's triggers count as automations: a deploy that would pass the quota is refused and changes nothing", async () => {
    const { owner } = await workspace({ automations: 2 });
    const triggers = ['a', 'b', 'c'].map((name) => ({ name, trigger: { type: 'event', match: 'event.kind == "x"' } }));
    const deploy = (t: unknown[]) =>
      owner('PUT', '/deployments', {
        body: { flowName: 'etl', name: 'nightly', source: SOURCE, entrypoint: 'flows/etl.js', workPool: 'default', triggers: t },
      });
    expectQuota(await deploy(triggers), 'automations', 2);
    expect(await quota(owner, 'automations')).toMatchObject({ used: 0 });
    expect((await deploy(triggers.slice(0, 2))).status).toBe(200);
    expect(await quota(owner, 'automations')).toMatchObject({ used: 2 });
  });
});

describe('webhooks', () => {
  test('past a webhooks quota of 1 the second is refused with 429 naming it', async () => {
    const { owner } = await workspace({ webhooks: 1 });
    const hook = (name: string) => ({ name, template: { kind: 'quota.hook', payload: {} } });
    expect((await owner('POST', '/event-webhooks', { body: hook('one') })).status).toBe(201);
    expectQuota(await owner('POST', '/event-webhooks', { body: hook('two') }), 'webhooks', 1);
    expect(await quota(owner, 'webhooks')).toMatchObject({ limit: 1, used: 1 });
  });
});

describe('eventsPerDay', () => {
  const events = (n: number, kind = 'quota.counted') => ({ events: Array.from({ length: n }, () => ({ kind })) });

  /** Seconds to the next UTC midnight, as the test's clock sees it. */
  const toMidnight = () => {
    const now = new Date();
    return (Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1) - now.getTime()) / 1000;
  };

  test('a batch that would pass the day is refused whole, with Retry-After at the next UTC midnight', async () => {
    const { owner } = await workspace({ eventsPerDay: 5 });
    expect((await owner('POST', '/events', { body: events(3) })).status).toBe(202);
    const refused = await owner('POST', '/events', { body: events(3) });
    expectQuota(refused, 'eventsPerDay', 5);
    expect(refused.body.detail).toContain('midnight UTC');
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(Math.abs(retryAfter - toMidnight())).toBeLessThan(10);
    // Nothing of the refused batch was stored; what fits still does.
    expect(await quota(owner, 'eventsPerDay')).toMatchObject({ limit: 5, used: 3 });
    expect((await owner('POST', '/events', { body: events(2) })).status).toBe(202);
    expectQuota(await owner('POST', '/events', { body: events(1) }), 'eventsPerDay', 5);
    const stored = await owner('GET', '/events?kind=quota.counted&limit=50');
    expect(stored.body.items).toHaveLength(5);
  });

  test('a repeat of an event already stored counts nothing', async () => {
    const { owner } = await workspace({ eventsPerDay: 2 });
    const once = { events: [{ id: crypto.randomUUID(), kind: 'quota.repeat' }] };
    for (let i = 0; i < 4; i++) expect((await owner('POST', '/events', { body: once })).status).toBe(202);
    expect(await quota(owner, 'eventsPerDay')).toMatchObject({ used: 1 });
  });

  test("run tokens' events and webhook deliveries count, and are refused at the quota", async () => {
    const { ws, owner } = await workspace({ eventsPerDay: 2 });
    const scene = await new Scene(api.server, ws, uniqueName('quota')).setUp();
    const run = await scene.held(undefined, { running: true });
    expect((await client(api.server, run.token)('POST', '/events', { body: events(1) })).status).toBe(202);

    const made = await owner('POST', '/event-webhooks', { body: { name: 'in', template: { kind: 'quota.hook', payload: {} } } });
    const deliver = () => {
      const raw = JSON.stringify({ ref: 'main' });
      const signature = `sha256=${createHmac('sha256', made.body.secret).update(raw).digest('hex')}`;
      return client(api.server, 'unused')('POST', `/hooks/${made.body.token}`, {
        raw,
        headers: { 'x-outpost-signature': signature, 'content-type': 'application/json', authorization: '' },
      });
    };
    expect((await deliver()).status).toBe(202);
    expectQuota(await deliver(), 'eventsPerDay', 2);
    expectQuota(await client(api.server, run.token)('POST', '/events', { body: events(1) }), 'eventsPerDay', 2);
    expect(await quota(owner, 'eventsPerDay')).toMatchObject({ used: 2 });
  });

  test("one workspace at its quota leaves another's events alone", async () => {
    const full = await workspace({ eventsPerDay: 1 });
    const other = await workspace();
    expect((await full.owner('POST', '/events', { body: events(1) })).status).toBe(202);
    expectQuota(await full.owner('POST', '/events', { body: events(1) }), 'eventsPerDay', 1);
    expect((await other.owner('POST', '/events', { body: events(10) })).status).toBe(202);
    expect(await quota(other.owner, 'eventsPerDay')).toMatchObject({ limit: QUOTA_DEFAULTS.eventsPerDay, used: 10 });
  });
});

test('GET /quotas lists every quota, with what counts now', async () => {
  const { owner } = await workspace();
  await owner('POST', '/automations', { body: automation() });
  const res = await owner('GET', '/quotas');
  expect(res.status).toBe(200);
  expect(res.body.items.map((q: { name: string }) => q.name)).toEqual(Object.keys(QUOTA_DEFAULTS));
  const byName = Object.fromEntries(res.body.items.map((q: { name: string }) => [q.name, q]));
  expect(byName.automations).toMatchObject({ used: 1, per: null });
  expect(byName.webhooks).toMatchObject({ used: 0, per: null });
  expect(byName.eventsPerDay).toMatchObject({ used: 0, per: 'day' });
  expect(byName.mailPerHour).toMatchObject({ used: 0, per: 'hour' });
  expect(byName.automationRunsPerMinute).toMatchObject({ used: 0, per: 'minute' });
  expect(byName.partitionsPerDefinition).toMatchObject({ used: null, limit: QUOTA_DEFAULTS.partitionsPerDefinition });
});

test("mail taken for a message to several recipients counts each, and GET /quotas reads the hour's count", async () => {
  const { ws, owner } = await workspace();
  // The quota is compared as a number: 3 of 200 fits (compared as text, "3" > "200" did not).
  expect(await takeMail(api.server.sql, ws.workspaceId, 3)).toMatchObject({ ok: true, limit: QUOTA_DEFAULTS.mailPerHour });
  expect(await quota(owner, 'mailPerHour')).toMatchObject({ used: 3 });
});
