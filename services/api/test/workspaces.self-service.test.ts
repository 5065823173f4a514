import { WORKSPACES_PER_ACCOUNT } from '@outpost/sdk/contracts';
import { beforeAll, expect, test } from 'vitest';
import type { TestWorkspace } from '../src/testing/index.js';
import { type Call, client, useServer } from './helpers.js';
import { uniqueName } from './security.fixtures.js';
import { addPerson, confirmAddress, type PersonSession, post, signInPerson } from './users.support.js';

/*
 * Self-service workspaces: a person signed in with a verified address creates one, becomes its
 * owner, and finds it as separate from their first workspace as any other tenant's; each account
 * creates a bounded number.
 */

let home: TestWorkspace;
let homeOwner: Call;

const api = useServer();

beforeAll(async () => {
  home = await api.server.createWorkspace();
  homeOwner = client(api.server, home.ownerKey);
});

const slug = () => uniqueName('ws').toLowerCase();

/** A member of the home workspace whose address is verified, signed in there. */
async function verifiedPerson(): Promise<{ userId: string; email: string; session: PersonSession }> {
  const person = await addPerson(api.server, homeOwner, 'developer');
  await confirmAddress(api.server, person);
  return { ...person, session: await signInPerson(api.server, person.email) };
}

test('a verified person creates a workspace, is its owner there, and the creation is in its audit log', async () => {
  const person = await verifiedPerson();
  const wanted = slug();
  const made = await person.session.mutate('POST', '/workspaces', { slug: wanted, name: 'Side project' });
  expect(made.status, made.text).toBe(201);
  expect(made.body).toMatchObject({ workspace: { slug: wanted, name: 'Side project' }, role: 'owner' });

  // Signing in names the workspace now that the account has two.
  const there = await signInPerson(api.server, person.email, undefined, wanted);
  expect(there.reply.body.workspace.id).toBe(made.body.workspace.id);
  expect(there.reply.body.principal.role).toBe('owner');
  const members = await there.call('GET', '/members');
  expect(members.body.items).toEqual([expect.objectContaining({ userId: person.userId, role: 'owner', state: 'active' })]);
  const audit = await there.call('GET', '/audit-log?action=workspacesCreate');
  expect(audit.status, audit.text).toBe(200);
  expect(audit.body.items).toEqual([
    expect.objectContaining({ action: 'workspacesCreate', actor: expect.objectContaining({ kind: 'user', id: person.userId }) }),
  ]);
  // The session the person created it from stays in the home workspace.
  expect((await person.session.call('GET', '/whoami')).body.workspace.id).toBe(home.workspaceId);
});

test(`an account creates at most ${WORKSPACES_PER_ACCOUNT} workspaces; the next is refused naming the limit`, async () => {
  const person = await verifiedPerson();
  for (let i = 0; i < WORKSPACES_PER_ACCOUNT; i++) {
    const made = await person.session.mutate('POST', '/workspaces', { slug: slug() });
    expect(made.status, made.text).toBe(201);
  }
  const refused = await person.session.mutate('POST', '/workspaces', { slug: slug() });
  expect(refused.status, refused.text).toBe(429);
  expect(refused.body.code).toBe('quota_exceeded');
  expect(refused.body.detail).toContain(`at most ${WORKSPACES_PER_ACCOUNT} workspaces`);
  expect(refused.body.detail).toContain('"workspacesPerAccount"');
  // Another account is not held to this one's count.
  const other = await verifiedPerson();
  expect((await other.session.mutate('POST', '/workspaces', { slug: slug() })).status).toBe(201);
});

test('a slug or name that is not acceptable is a 400 naming the field, and a taken slug a 409', async () => {
  const person = await verifiedPerson();
  for (const [body, path] of [
    [{ slug: 'Has Spaces' }, 'body.slug'],
    [{ slug: 'ab' }, 'body.slug'],
    [{ slug: '-dash-first' }, 'body.slug'],
    [{ slug: 'x'.repeat(41) }, 'body.slug'],
    [{ slug: slug(), name: 'bell\u0007' }, 'body.name'],
    [{ slug: slug(), name: '   ' }, 'body.name'],
    [{ slug: slug(), role: 'owner' }, 'body.role'],
  ] as const) {
    const res = await person.session.mutate('POST', '/workspaces', body);
    expect(res.status, `${JSON.stringify(body)}: ${res.text}`).toBe(400);
    expect(
      res.body.errors.map((e: { path: string }) => e.path),
      JSON.stringify(body),
    ).toContain(path);
  }
  const taken = await person.session.mutate('POST', '/workspaces', { slug: 'default' });
  expect(taken.status, taken.text).toBe(409);
  expect(taken.body.errors).toEqual([{ path: 'body.slug', message: 'already taken' }]);
});

test('without a session it is a 401; API keys and unverified accounts are refused', async () => {
  const anonymous = await post(api.server, '/workspaces', { slug: slug() });
  expect(anonymous.status).toBe(401);
  const byKey = await homeOwner('POST', '/workspaces', { body: { slug: slug() } });
  expect(byKey.status, byKey.text).toBe(403);
  // An account the home workspace manages: its admins may know its password.
  const managed = await addPerson(api.server, homeOwner, 'viewer');
  const session = await signInPerson(api.server, managed.email);
  const refused = await session.mutate('POST', '/workspaces', { slug: slug() });
  expect(refused.status, refused.text).toBe(403);
  expect(refused.body.detail).toContain('confirm your email address');
  const [row] = await api.server.sql<
    { n: number }[]
  >`SELECT count(*)::int AS n FROM workspaces WHERE created_by = ${managed.userId}`;
  expect(row?.n).toBe(0);
});

test("the new workspace is a tenant of its own: it sees nothing of the home workspace's, and the home workspace nothing of its", async () => {
  const person = await verifiedPerson();
  const wanted = slug();
  const made = await person.session.mutate('POST', '/workspaces', { slug: wanted });
  expect(made.status, made.text).toBe(201);
  const homeAutomation = await homeOwner('POST', '/automations', {
    body: { name: uniqueName('home'), trigger: { type: 'event', match: 'true' }, actions: [{ type: 'pause-pool', pool: 'x' }] },
  });
  expect(homeAutomation.status).toBe(201);

  const there = await signInPerson(api.server, person.email, undefined, wanted);
  expect((await there.call('GET', '/automations')).body.items).toEqual([]);
  expect((await there.call('GET', `/automations/${homeAutomation.body.id}`)).status).toBe(404);
  const theirs = await there.mutate('POST', '/automations', {
    name: 'theirs',
    trigger: { type: 'event', match: 'true' },
    actions: [{ type: 'pause-pool', pool: 'x' }],
  });
  expect(theirs.status, theirs.text).toBe(201);
  expect((await homeOwner('GET', `/automations/${theirs.body.id}`)).status).toBe(404);
  const homeNames = (await homeOwner('GET', '/automations')).body.items.map((a: { name: string }) => a.name);
  expect(homeNames).not.toContain('theirs');
  // Its quotas are its own too, starting from nothing used.
  const quotas = await there.call('GET', '/quotas');
  expect(quotas.body.items.find((q: { name: string }) => q.name === 'automations')).toMatchObject({ used: 1 });
});
