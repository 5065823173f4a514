import { beforeAll, describe, expect, test } from 'vitest';
import { createApiKey } from '../src/auth/create-api-key.js';
import { quotaCommand } from '../src/quotas/operator-command.js';
import { QUOTA_DEFAULTS, type QuotaName, setQuotaOverride } from '../src/quotas/quotas.js';
import { type Call, client, type Reply, useServer } from './helpers.js';
import { uniqueName } from './security.fixtures.js';
import { addPerson, confirmAddress, type PersonSession, signInPerson } from './users.support.js';

/*
 * An organisation's owners and admins set limits on its workspaces' quotas, never above the
 * operator's; the workspace is held to the lower of the two everywhere a quota is checked, and
 * auditors read both. Nobody outside the organisation's owners and admins changes them.
 */

/** The owner of the default workspace's organisation (`default`), signed in there. */
let aliceIn: PersonSession;
let aliceId: string;
/** An admin of the organisation, signed in to its default workspace. */
let carolIn: PersonSession;

/** A person added to the default workspace with `role`, their address confirmed. */
async function verifiedPerson(role: 'owner' | 'admin' | 'developer' | 'runner' | 'viewer') {
  const person = await addPerson(api.server, api.owner, role);
  await confirmAddress(api.server, person);
  return person;
}

/** A new workspace of the organisation, made by its owner, with an owner key of its own. */
async function teamWorkspace(): Promise<{ slug: string; id: string; key: Call }> {
  const slug = uniqueName('team').toLowerCase();
  const made = await aliceIn.mutate('POST', '/organisations/default/workspaces', { slug });
  expect(made.status, made.text).toBe(201);
  const { key } = await createApiKey(api.server.sql, { workspaceId: made.body.id, name: 'owner', role: 'owner' });
  return { slug, id: made.body.id, key: client(api.server, key) };
}

const quotasPath = (workspace: string, name?: string) =>
  `/organisations/default/workspaces/${workspace}/quotas${name ? `/${name}` : ''}`;

function quotaIn(list: Reply, name: QuotaName) {
  expect(list.status, list.text).toBe(200);
  return list.body.items.find((q: { name: string }) => q.name === name);
}

function expectQuota(res: Reply, name: QuotaName, limit: number): void {
  expect(res.status, res.text).toBe(429);
  expect(res.body.code).toBe('quota_exceeded');
  expect(res.body.detail).toContain(`"${name}" (${limit})`);
}

const automation = () => ({
  name: uniqueName('auto'),
  trigger: { type: 'event', match: 'event.kind == "never.happens"' },
  actions: [{ type: 'pause-pool', pool: 'nowhere' }],
});

/** `outpost server quota <args…>` against the test database, with what it printed. */
async function operator(args: string[]): Promise<{ code: number; lines: string[] }> {
  const lines: string[] = [];
  const code = await quotaCommand(api.server.databaseUrl, args, {
    out: (line) => lines.push(line),
    fail: (message) => {
      lines.push(message);
      return 2;
    },
  });
  return { code, lines };
}

const api = useServer();

beforeAll(async () => {
  const alice = await verifiedPerson('owner');
  aliceId = alice.userId;
  aliceIn = await signInPerson(api.server, alice.email);
  const carol = await verifiedPerson('viewer');
  const made = await aliceIn.mutate('PATCH', `/organisations/default/members/${carol.userId}`, { role: 'admin' });
  expect(made.status, made.text).toBe(200);
  carolIn = await signInPerson(api.server, carol.email, undefined, 'default');
});

describe('organisation limits', () => {
  test("an admin lowers a workspace's automations quota and the workspace is refused at the lower limit, until the limit is taken away", async () => {
    const team = await teamWorkspace();
    const set = await carolIn.mutate('PUT', quotasPath(team.slug, 'automations'), { limit: 1 });
    expect(set.status, set.text).toBe(200);
    expect(set.body).toEqual({
      name: 'automations',
      limit: 1,
      operatorLimit: QUOTA_DEFAULTS.automations,
      organisationLimit: 1,
      default: QUOTA_DEFAULTS.automations,
      used: 0,
      per: null,
      description: expect.any(String),
    });

    expect((await team.key('POST', '/automations', { body: automation() })).status).toBe(201);
    expectQuota(await team.key('POST', '/automations', { body: automation() }), 'automations', 1);
    // The workspace's own members read the limit they are held to, in the shape GET /quotas always had.
    const own = quotaIn(await team.key('GET', '/quotas'), 'automations');
    expect(own).toEqual({
      name: 'automations',
      limit: 1,
      default: QUOTA_DEFAULTS.automations,
      used: 1,
      per: null,
      description: expect.any(String),
    });

    const removed = await carolIn.mutate('PUT', quotasPath(team.slug, 'automations'), { limit: null });
    expect(removed.status, removed.text).toBe(200);
    expect(removed.body).toMatchObject({ limit: QUOTA_DEFAULTS.automations, organisationLimit: null, used: 1 });
    expect((await team.key('POST', '/automations', { body: automation() })).status).toBe(201);
  });

  test("the events a workspace stores per day, checked inside the statement that stores them, are held to the organisation's lower limit", async () => {
    const team = await teamWorkspace();
    expect((await aliceIn.mutate('PUT', quotasPath(team.slug, 'eventsPerDay'), { limit: 2 })).status).toBe(200);
    const events = (n: number) => ({ events: Array.from({ length: n }, () => ({ kind: 'org.quota' })) });
    expect((await team.key('POST', '/events', { body: events(2) })).status).toBe(202);
    expectQuota(await team.key('POST', '/events', { body: events(1) }), 'eventsPerDay', 2);
    expect(quotaIn(await aliceIn.call('GET', quotasPath(team.slug)), 'eventsPerDay')).toMatchObject({
      limit: 2,
      operatorLimit: QUOTA_DEFAULTS.eventsPerDay,
      organisationLimit: 2,
      used: 2,
      per: 'day',
    });
  });

  test("raising a quota above the operator's limit is a 400 naming body.limit and the ceiling, and stores nothing", async () => {
    const team = await teamWorkspace();
    await setQuotaOverride(api.server.sql, team.id, 'webhooks', 5);
    const above = await carolIn.mutate('PUT', quotasPath(team.slug, 'webhooks'), { limit: 6 });
    expect(above.status, above.text).toBe(400);
    expect(above.body.code).toBe('validation_failed');
    expect(above.body.errors).toEqual([
      { path: 'body.limit', message: "must be at most 5, the operator's limit for this workspace" },
    ]);
    expect(above.body.detail).toContain(`the operator's limit of "webhooks" for "${team.slug}" is 5`);
    // Without an override the default is the ceiling.
    const aboveDefault = await carolIn.mutate('PUT', quotasPath(team.slug, 'automations'), {
      limit: QUOTA_DEFAULTS.automations + 1,
    });
    expect(aboveDefault.status, aboveDefault.text).toBe(400);
    expect(aboveDefault.body.errors).toEqual([
      { path: 'body.limit', message: `must be at most ${QUOTA_DEFAULTS.automations}, the operator's limit for this workspace` },
    ]);
    const stored = await api.server.sql`SELECT 1 FROM organisation_quota_limits WHERE workspace_id = ${team.id}`;
    expect(stored).toHaveLength(0);

    // The operator's limit itself may be set, and is then the organisation's too.
    const atCeiling = await carolIn.mutate('PUT', quotasPath(team.slug, 'webhooks'), { limit: 5 });
    expect(atCeiling.status, atCeiling.text).toBe(200);
    expect(atCeiling.body).toMatchObject({ limit: 5, operatorLimit: 5, organisationLimit: 5 });
  });

  test('an unknown quota and a workspace the organisation does not have are 404s, and a limit that is not a whole number is a 400', async () => {
    const team = await teamWorkspace();
    const unknown = await aliceIn.mutate('PUT', quotasPath(team.slug, 'eventsPerWeek'), { limit: 5 });
    expect(unknown.status, unknown.text).toBe(404);
    expect(unknown.body.detail).toBe(
      'no quota is named "eventsPerWeek"; the quotas are eventsPerDay, automations, webhooks, mailPerHour, partitionsPerDefinition, automationRunsPerMinute',
    );
    expect((await aliceIn.call('GET', quotasPath('no-such-team'))).status).toBe(404);
    for (const limit of [-1, 1.5, '3']) {
      const res = await aliceIn.mutate('PUT', quotasPath(team.slug, 'webhooks'), { limit });
      expect(res.status, String(limit)).toBe(400);
      expect(res.body.errors.map((e: { path: string }) => e.path)).toEqual(['body.limit']);
    }
  });

  test("an archived workspace's quotas are read and set, and the limit holds once it is restored", async () => {
    const team = await teamWorkspace();
    expect((await aliceIn.mutate('POST', `/organisations/default/workspaces/${team.slug}/archive`)).status).toBe(200);
    expect((await aliceIn.mutate('PUT', quotasPath(team.slug, 'webhooks'), { limit: 0 })).status).toBe(200);
    expect(quotaIn(await aliceIn.call('GET', quotasPath(team.slug)), 'webhooks')).toMatchObject({ limit: 0 });
    expect((await aliceIn.mutate('POST', `/organisations/default/workspaces/${team.slug}/restore`)).status).toBe(200);
    const hook = { name: 'in', template: { kind: 'org.hook', payload: {} } };
    expectQuota(await team.key('POST', '/event-webhooks', { body: hook }), 'webhooks', 0);
  });
});

describe('who may', () => {
  test("a workspace's own owner who is no owner or admin of the organisation is refused with 403, and so is a member of the organisation", async () => {
    const team = await teamWorkspace();
    const erin = await verifiedPerson('viewer');
    const staffed = await aliceIn.mutate('PUT', `/organisations/default/workspaces/${team.slug}/members/${erin.userId}`, {
      role: 'owner',
    });
    expect(staffed.status, staffed.text).toBe(200);
    const erinInTeam = await signInPerson(api.server, erin.email, undefined, team.slug);
    expect(erinInTeam.reply.body.principal.role).toBe('owner');
    for (const [method, path, body] of [
      ['GET', quotasPath(team.slug), undefined],
      ['PUT', quotasPath(team.slug, 'automations'), { limit: 10 }],
    ] as const) {
      const res = await erinInTeam.mutate(method, path, body);
      expect(res.status, `${method} ${path}: ${res.text}`).toBe(403);
      expect(res.body.detail).toContain('yours is "member"');
    }
    // Nor does the workspace's own API key reach the organisation's routes: they are a person's.
    expect((await team.key('PUT', quotasPath(team.slug, 'automations'), { body: { limit: 10 } })).status).toBe(403);
    expect(await api.server.sql`SELECT 1 FROM organisation_quota_limits WHERE workspace_id = ${team.id}`).toHaveLength(0);
  });

  test('an auditor reads every limit of a workspace but cannot set one', async () => {
    const team = await teamWorkspace();
    expect((await aliceIn.mutate('PUT', quotasPath(team.slug, 'mailPerHour'), { limit: 20 })).status).toBe(200);
    const bob = await verifiedPerson('runner');
    expect((await aliceIn.mutate('PATCH', `/organisations/default/members/${bob.userId}`, { role: 'auditor' })).status).toBe(200);
    const bobIn = await signInPerson(api.server, bob.email, undefined, 'default');
    const read = await bobIn.call('GET', quotasPath(team.slug));
    expect(read.status, read.text).toBe(200);
    expect(read.body.items.map((q: { name: string }) => q.name)).toEqual(Object.keys(QUOTA_DEFAULTS));
    expect(quotaIn(read, 'mailPerHour')).toMatchObject({
      limit: 20,
      operatorLimit: QUOTA_DEFAULTS.mailPerHour,
      organisationLimit: 20,
      per: 'hour',
    });
    const refused = await bobIn.mutate('PUT', quotasPath(team.slug, 'mailPerHour'), { limit: 200 });
    expect(refused.status, refused.text).toBe(403);
    expect(refused.body.detail).toBe(
      'setting a workspace\'s quotas needs the organisation role "owner" or "admin"; yours is "auditor"',
    );
    expect(quotaIn(await bobIn.call('GET', quotasPath(team.slug)), 'mailPerHour')).toMatchObject({ limit: 20 });
  });

  test("another organisation's admin neither sees nor changes this organisation's workspaces' quotas", async () => {
    const team = await teamWorkspace();
    expect((await aliceIn.mutate('PUT', quotasPath(team.slug, 'automations'), { limit: 4 })).status).toBe(200);
    const other = await api.server.createWorkspace();
    const grace = await addPerson(api.server, client(api.server, other.ownerKey), 'owner');
    await confirmAddress(api.server, grace);
    const graceIn = await signInPerson(api.server, grace.email);
    const [theirs] = (await graceIn.call('GET', '/organisations')).body.items;
    expect(theirs.role).toBe('owner');

    for (const [method, path, body] of [
      ['GET', quotasPath(team.slug), undefined],
      ['PUT', quotasPath(team.slug, 'automations'), { limit: 400 }],
      ['PUT', quotasPath(team.slug, 'automations'), { limit: null }],
      // Naming this organisation's workspace under their own organisation finds nothing either.
      ['GET', `/organisations/${theirs.slug}/workspaces/${team.slug}/quotas`, undefined],
      ['PUT', `/organisations/${theirs.slug}/workspaces/${team.slug}/quotas/automations`, { limit: 400 }],
    ] as const) {
      const res = await graceIn.mutate(method, path, body);
      expect(res.status, `${method} ${path}: ${res.text}`).toBe(404);
    }
    expect(quotaIn(await team.key('GET', '/quotas'), 'automations')).toMatchObject({ limit: 4 });
  });
});

test('setting a limit is recorded in the audit log of the workspace it lands in, naming who set what', async () => {
  const team = await teamWorkspace();
  expect((await aliceIn.mutate('PUT', quotasPath(team.slug, 'webhooks'), { limit: 3 })).status).toBe(200);
  expect((await aliceIn.mutate('PUT', quotasPath(team.slug, 'webhooks'), { limit: null })).status).toBe(200);
  const entries = await api.server.sql<{ action: string; actor_id: string; status: number; summary: unknown }[]>`
    SELECT action, actor_id, status, summary FROM audit_log
    WHERE workspace_id = ${team.id} AND action = 'organisationWorkspaceQuotasPut' ORDER BY id`;
  expect(entries).toEqual([
    { action: 'organisationWorkspaceQuotasPut', actor_id: aliceId, status: 200, summary: { quota: 'webhooks', limit: 3 } },
    { action: 'organisationWorkspaceQuotasPut', actor_id: aliceId, status: 200, summary: { quota: 'webhooks', limit: null } },
  ]);
  // The team's own owner key reads them in its audit log.
  const log = await team.key('GET', '/audit-log?action=organisationWorkspaceQuotasPut');
  expect(log.status, log.text).toBe(200);
  expect(log.body.items).toHaveLength(2);
});

test("the operator's command still sets and lists limits, shows the organisation's beside its own, and an operator limit below the organisation's wins", async () => {
  const team = await teamWorkspace();
  expect((await aliceIn.mutate('PUT', quotasPath(team.slug, 'automations'), { limit: 3 })).status).toBe(200);
  const listed = await operator(['ls', team.slug]);
  expect(listed.code).toBe(0);
  expect(listed.lines).toContain(
    `automations: 3 (operator ${QUOTA_DEFAULTS.automations}, organisation 3, default ${QUOTA_DEFAULTS.automations}); used 0`,
  );
  expect(listed.lines).toContain(`webhooks: ${QUOTA_DEFAULTS.webhooks}; used 0`);

  const lowered = await operator(['set', team.slug, 'automations', '2']);
  expect(lowered.code).toBe(0);
  expect(lowered.lines).toContain(`automations: 2 (operator 2, organisation 3, default ${QUOTA_DEFAULTS.automations}); used 0`);
  expect(quotaIn(await aliceIn.call('GET', quotasPath(team.slug)), 'automations')).toMatchObject({
    limit: 2,
    operatorLimit: 2,
    organisationLimit: 3,
  });
  for (let i = 0; i < 2; i++) expect((await team.key('POST', '/automations', { body: automation() })).status).toBe(201);
  expectQuota(await team.key('POST', '/automations', { body: automation() }), 'automations', 2);
  // The organisation's limit now passes the operator's: setting it again is refused, lowering it is not.
  expect((await aliceIn.mutate('PUT', quotasPath(team.slug, 'automations'), { limit: 3 })).status).toBe(400);
  expect((await aliceIn.mutate('PUT', quotasPath(team.slug, 'automations'), { limit: 2 })).status).toBe(200);

  // Back to the default, the organisation's limit is what holds; the operator's command never touched it.
  expect((await operator(['set', team.slug, 'automations', 'default'])).lines).toContain(
    `automations: 2 (operator ${QUOTA_DEFAULTS.automations}, organisation 2, default ${QUOTA_DEFAULTS.automations}); used 2`,
  );
  expect(quotaIn(await team.key('GET', '/quotas'), 'automations')).toMatchObject({ limit: 2, used: 2 });
});
