import { randomUUID } from 'node:crypto';
import { WORKSPACES_PER_ORGANISATION } from '@outpost/sdk/contracts';
import { beforeAll, describe, expect, test } from 'vitest';
import { type Call, client, organisationOf, type Reply, useServer } from './helpers.js';
import { readPages } from './organisations.support.js';
import { addPerson, confirmAddress, type PersonSession, signInPerson } from './users.support.js';

/*
 * The organisation's side of its directory groups: owners, admins and auditors read the groups the
 * directory made (inserted here as SCIM would make them) and their members; owners and admins map a
 * group to workspace roles, which its members get at once, never over a role given by hand.
 */

let organisationId: string;
let aliceId: string;
/** The organisation's owner, signed in to its default workspace. */
let aliceIn: PersonSession;
/** An admin of the organisation. */
let carolIn: PersonSession;
/** An auditor of the organisation. */
let bobIn: PersonSession;
/** A member of the organisation and nothing more. */
let daveIn: PersonSession;
/** A person of another organisation only. */
let outsiderIn: PersonSession;
/** Another organisation: its slug, a workspace of it, and its id. */
let other: { slug: string; workspaceId: string; organisationId: string };
const workspaceIds: Record<string, string> = {};

/** A person added to the default workspace with `role`, their address confirmed. */
async function verifiedPerson(role: 'owner' | 'admin' | 'developer' | 'runner' | 'viewer', as: Call = api.owner) {
  const person = await addPerson(api.server, as, role);
  await confirmAddress(api.server, person);
  return person;
}

async function organisationRole(userId: string, role: 'admin' | 'auditor'): Promise<void> {
  const made = await aliceIn.mutate('PATCH', `/organisations/default/members/${userId}`, { role });
  expect(made.status, made.text).toBe(200);
}

/** A group of `organisation`, as the directory makes it: the group, its members and their directory records. */
async function directoryGroup(
  displayName: string,
  members: readonly string[] = [],
  organisation = organisationId,
  active = true,
): Promise<string> {
  const [group] = await api.server.sql<{ id: string }[]>`
    INSERT INTO directory_groups (organisation_id, display_name) VALUES (${organisation}, ${displayName}) RETURNING id`;
  if (!group) throw new Error('no group made');
  for (const userId of members) {
    await api.server.sql`
      INSERT INTO directory_users (organisation_id, user_id, user_name, active)
      SELECT ${organisation}, id, email, ${active} FROM users WHERE id = ${userId}
      ON CONFLICT (organisation_id, user_id) DO NOTHING`;
    await api.server.sql`INSERT INTO directory_group_members (group_id, user_id) VALUES (${group.id}, ${userId})`;
  }
  return group.id;
}

async function membership(workspace: string, userId: string): Promise<{ role: string; source: string } | null> {
  const [row] = await api.server.sql<{ role: string; source: string }[]>`
    SELECT role, source FROM memberships WHERE workspace_id = ${workspaceIds[workspace] ?? ''} AND user_id = ${userId}`;
  return row ?? null;
}

const groupPath = (id: string, rest = '') => `/organisations/default/groups/${id}${rest}`;
const putRoles = (as: PersonSession, id: string, roles: { workspace: string; role: string }[]) =>
  as.mutate('PUT', groupPath(id, '/roles'), { roles });

/** A problem body without what differs per request. */
function comparable(res: Reply): unknown {
  const { requestId: _r, instance: _i, ...rest } = res.body as Record<string, unknown>;
  return rest;
}

const api = useServer();

beforeAll(async () => {
  const alice = await verifiedPerson('owner');
  aliceId = alice.userId;
  aliceIn = await signInPerson(api.server, alice.email);
  for (const slug of ['team-a', 'team-b', 'team-old']) {
    const made = await aliceIn.mutate('POST', '/organisations/default/workspaces', { slug });
    expect(made.status, made.text).toBe(201);
    workspaceIds[slug] = made.body.id;
  }
  expect((await aliceIn.mutate('POST', '/organisations/default/workspaces/team-old/archive')).status).toBe(200);
  const [row] = await api.server.sql<{ organisation_id: string; id: string }[]>`
    SELECT organisation_id, id FROM workspaces WHERE slug = 'default'`;
  organisationId = row?.organisation_id ?? '';
  workspaceIds.default = row?.id ?? '';

  const carol = await verifiedPerson('viewer');
  await organisationRole(carol.userId, 'admin');
  carolIn = await signInPerson(api.server, carol.email, undefined, 'default');
  const bob = await verifiedPerson('viewer');
  await organisationRole(bob.userId, 'auditor');
  bobIn = await signInPerson(api.server, bob.email, undefined, 'default');
  const dave = await verifiedPerson('viewer');
  daveIn = await signInPerson(api.server, dave.email);

  const elsewhere = await api.server.createWorkspace();
  const theirs = await organisationOf(api.server, elsewhere.workspaceId);
  other = { slug: theirs.slug, workspaceId: elsewhere.workspaceId, organisationId: theirs.id };
  const outsider = await verifiedPerson('owner', client(api.server, elsewhere.ownerKey));
  outsiderIn = await signInPerson(api.server, outsider.email);
});

describe('reading groups', () => {
  test("the groups list pages through the organisation's groups by name, regardless of case, with member counts and roles", async () => {
    const erin = await verifiedPerson('viewer');
    const names = ['Paging Charlie', 'paging alpha', 'Paging Bravo', 'paging delta', 'Paging Echo'];
    const ids: Record<string, string> = {};
    for (const name of names) ids[name] = await directoryGroup(name, name === 'Paging Bravo' ? [erin.userId, aliceId] : []);
    expect((await putRoles(aliceIn, ids['Paging Bravo'] ?? '', [{ workspace: 'team-b', role: 'runner' }])).status).toBe(200);

    const { items, cursor } = await readPages(bobIn.call, '/organisations/default/groups', 2, 50);
    const seen: string[] = items.map((g: { displayName: string }) => g.displayName);
    expect(cursor).toBeNull();
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual([...seen].sort((a, b) => (a.toLowerCase() < b.toLowerCase() ? -1 : 1)));
    expect(seen.filter((n) => n.toLowerCase().startsWith('paging'))).toEqual([
      'paging alpha',
      'Paging Bravo',
      'Paging Charlie',
      'paging delta',
      'Paging Echo',
    ]);

    const bravo = await bobIn.call('GET', groupPath(ids['Paging Bravo'] ?? ''));
    expect(bravo.status, bravo.text).toBe(200);
    expect(bravo.body).toEqual({
      id: ids['Paging Bravo'],
      displayName: 'Paging Bravo',
      externalId: null,
      members: 2,
      roles: [{ workspace: 'team-b', role: 'runner' }],
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
  });

  test("a group's members come by email, page by page, each with whether the directory keeps them active", async () => {
    const people = [await verifiedPerson('viewer'), await verifiedPerson('viewer'), await verifiedPerson('viewer')];
    const id = await directoryGroup(
      `Members ${randomUUID().slice(0, 8)}`,
      people.map((p) => p.userId),
    );
    await api.server
      .sql`UPDATE directory_users SET active = false WHERE organisation_id = ${organisationId} AND user_id = ${people[1]?.userId ?? ''}`;
    const first = await aliceIn.call('GET', groupPath(id, '/members?limit=2'));
    expect(first.status, first.text).toBe(200);
    expect(first.body.items).toHaveLength(2);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const second = await aliceIn.call('GET', groupPath(id, `/members?limit=2&cursor=${first.body.nextCursor}`));
    expect(second.status, second.text).toBe(200);
    expect(second.body.nextCursor).toBeNull();
    const sorted = [...people].sort((a, b) => (a.email < b.email ? -1 : 1));
    expect([...first.body.items, ...second.body.items]).toEqual(
      sorted.map((p) => ({ userId: p.userId, email: p.email, name: null, active: p !== people[1] })),
    );
  });

  test('a cursor the API did not issue is a 400 naming query.cursor', async () => {
    const forged = await aliceIn.call('GET', '/organisations/default/groups?cursor=bm90LWEtY3Vyc29y');
    expect(forged.status).toBe(400);
    expect(forged.body.errors).toEqual([{ path: 'query.cursor', message: 'invalid cursor' }]);
  });
});

describe('who may read and change groups', () => {
  test('owners and admins set roles; auditors read but may not; members neither; outsiders and keys are refused as elsewhere', async () => {
    const id = await directoryGroup(`Matrix ${randomUUID().slice(0, 8)}`);
    const roles = [{ workspace: 'team-a', role: 'viewer' }];
    expect((await putRoles(aliceIn, id, roles)).status).toBe(200);
    expect((await putRoles(carolIn, id, roles)).status).toBe(200);

    for (const path of ['/organisations/default/groups', groupPath(id), groupPath(id, '/members')]) {
      expect((await bobIn.call('GET', path)).status, path).toBe(200);
      const member = await daveIn.call('GET', path);
      expect(member.status, path).toBe(403);
      expect(member.body.detail).toContain('needs the organisation role "owner" or "admin" or "auditor"; yours is "member"');
    }
    const auditor = await putRoles(bobIn, id, roles);
    expect(auditor.status).toBe(403);
    expect(auditor.body.detail).toContain('needs the organisation role "owner" or "admin"; yours is "auditor"');
    expect((await putRoles(daveIn, id, roles)).status).toBe(403);

    // A person of another organisation learns nothing: the same 404 as an organisation that does not exist.
    const foreign = await outsiderIn.call('GET', '/organisations/default/groups');
    const missing = await outsiderIn.call('GET', '/organisations/no-such-org/groups');
    expect(foreign.status).toBe(404);
    expect(comparable(foreign)).toEqual(comparable(missing));
    expect((await outsiderIn.mutate('PUT', groupPath(id, '/roles'), { roles })).status).toBe(404);
    // An API key has no person: organisation routes refuse it.
    expect((await api.owner('GET', '/organisations/default/groups')).status).toBe(403);
    expect((await aliceIn.call('GET', groupPath(id))).body.roles).toEqual(roles);
  });

  test("another organisation's group is a 404 identical to a group that does not exist, and is left as it was", async () => {
    const theirs = await directoryGroup(`Theirs ${randomUUID().slice(0, 8)}`, [], other.organisationId);
    const missing = randomUUID();
    const calls: [string, (id: string) => Promise<Reply>][] = [
      ['get', (id) => aliceIn.call('GET', groupPath(id))],
      ['members', (id) => aliceIn.call('GET', groupPath(id, '/members'))],
      ['put', (id) => putRoles(aliceIn, id, [])],
    ];
    for (const [what, call] of calls) {
      const foreign = await call(theirs);
      const absent = await call(missing);
      expect(foreign.status, `${what}: ${foreign.text}`).toBe(404);
      expect(comparable(foreign), what).toEqual(comparable(absent));
    }
  });
});

describe('setting the roles a group grants', () => {
  test('its members get the roles at once, the highest of their groups, and never over a role given by hand', async () => {
    const erin = await verifiedPerson('viewer');
    const frank = await verifiedPerson('viewer');
    const given = await aliceIn.mutate('PUT', `/organisations/default/workspaces/team-a/members/${frank.userId}`, {
      role: 'developer',
    });
    expect(given.status, given.text).toBe(200);
    const platform = await directoryGroup(`Platform ${randomUUID().slice(0, 8)}`, [erin.userId, frank.userId]);
    const readers = await directoryGroup(`Readers ${randomUUID().slice(0, 8)}`, [erin.userId]);
    expect((await putRoles(aliceIn, readers, [{ workspace: 'team-a', role: 'runner' }])).status).toBe(200);

    const put = await putRoles(aliceIn, platform, [
      { workspace: 'team-a', role: 'admin' },
      { workspace: 'default', role: 'admin' },
      { workspace: 'team-old', role: 'viewer' },
    ]);
    expect(put.status, put.text).toBe(200);
    expect(put.body).toMatchObject({
      id: platform,
      members: 2,
      roles: [
        { workspace: 'default', role: 'admin' },
        { workspace: 'team-a', role: 'admin' },
        { workspace: 'team-old', role: 'viewer' },
      ],
    });
    expect(await membership('team-a', erin.userId)).toEqual({ role: 'admin', source: 'directory' });
    // Given by hand, so the group changes neither Frank's developer role nor the viewer role both had in default.
    expect(await membership('team-a', frank.userId)).toEqual({ role: 'developer', source: 'direct' });
    expect(await membership('default', erin.userId)).toEqual({ role: 'viewer', source: 'direct' });
    // An archived workspace takes the mapping too.
    expect(await membership('team-old', erin.userId)).toEqual({ role: 'viewer', source: 'directory' });
    // At once: Erin's next sign-in to team-a carries the group's role.
    const erinInTeam = await signInPerson(api.server, erin.email, undefined, 'team-a');
    expect(erinInTeam.reply.body.principal.role).toBe('admin');

    // Without Platform's grant, Readers' runner role is Erin's highest in team-a.
    const narrowed = await putRoles(aliceIn, platform, [{ workspace: 'default', role: 'admin' }]);
    expect(narrowed.status, narrowed.text).toBe(200);
    expect(await membership('team-a', erin.userId)).toEqual({ role: 'runner', source: 'directory' });
    expect(await membership('team-old', erin.userId)).toBeNull();

    const cleared = await putRoles(aliceIn, readers, []);
    expect(cleared.status, cleared.text).toBe(200);
    expect(cleared.body.roles).toEqual([]);
    expect(await membership('team-a', erin.userId)).toBeNull();
    expect(await membership('team-a', frank.userId)).toEqual({ role: 'developer', source: 'direct' });
    expect(await membership('default', erin.userId)).toEqual({ role: 'viewer', source: 'direct' });
  });

  test('a workspace slug of another organisation is a 400 at its field path, worded as for a slug nobody has, and nothing changes', async () => {
    const id = await directoryGroup(`Slugs ${randomUUID().slice(0, 8)}`);
    expect((await putRoles(aliceIn, id, [{ workspace: 'team-b', role: 'viewer' }])).status).toBe(200);
    const foreign = await putRoles(aliceIn, id, [
      { workspace: 'team-a', role: 'runner' },
      { workspace: other.slug, role: 'admin' },
    ]);
    const nobody = await putRoles(aliceIn, id, [
      { workspace: 'team-a', role: 'runner' },
      { workspace: 'nobody-has-this', role: 'admin' },
    ]);
    expect(foreign.status, foreign.text).toBe(400);
    expect(foreign.body.errors).toEqual([
      { path: 'body.roles.1.workspace', message: `no workspace of this organisation is named "${other.slug}"` },
    ]);
    expect(nobody.status).toBe(400);
    expect(foreign.body.detail).toBe(nobody.body.detail);
    expect(nobody.body.errors).toEqual([
      { path: 'body.roles.1.workspace', message: 'no workspace of this organisation is named "nobody-has-this"' },
    ]);
    expect((await aliceIn.call('GET', groupPath(id))).body.roles).toEqual([{ workspace: 'team-b', role: 'viewer' }]);
  });

  test('a workspace named twice, a role of owner, or more entries than an organisation has workspaces is a 400 with its field path', async () => {
    const id = await directoryGroup(`Bounds ${randomUUID().slice(0, 8)}`);
    const twice = await putRoles(aliceIn, id, [
      { workspace: 'team-a', role: 'viewer' },
      { workspace: 'team-b', role: 'viewer' },
      { workspace: 'team-a', role: 'admin' },
    ]);
    expect(twice.status).toBe(400);
    expect(twice.body.errors).toEqual([
      {
        path: 'body.roles.2.workspace',
        message: 'the workspace "team-a" is named more than once: a group grants one role per workspace',
      },
    ]);
    const ownerRole = await putRoles(aliceIn, id, [{ workspace: 'team-a', role: 'owner' }]);
    expect(ownerRole.status).toBe(400);
    expect(ownerRole.body.errors.map((e: { path: string }) => e.path)).toEqual(['body.roles.0.role']);
    const many = Array.from({ length: WORKSPACES_PER_ORGANISATION + 1 }, (_, i) => ({ workspace: `ws-${i}00`, role: 'viewer' }));
    const tooMany = await putRoles(aliceIn, id, many);
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.errors.map((e: { path: string }) => e.path)).toEqual(['body.roles']);
    expect((await aliceIn.call('GET', groupPath(id))).body.roles).toEqual([]);
  });

  test('a change is recorded in the audit log of each workspace whose grant it changed, naming who and what', async () => {
    const name = `Audited ${randomUUID().slice(0, 8)}`;
    const id = await directoryGroup(name);
    expect((await putRoles(aliceIn, id, [{ workspace: 'team-b', role: 'developer' }])).status).toBe(200);
    expect((await putRoles(aliceIn, id, [])).status).toBe(200);
    const entries = await api.server.sql<
      { action: string; actor_id: string; status: number; summary: unknown; target_ids: unknown }[]
    >`
      SELECT action, actor_id, status, summary, target_ids FROM audit_log
      WHERE workspace_id = ${workspaceIds['team-b'] ?? ''} AND action = 'organisationGroupRolesPut'
        AND target_ids->>'groupId' = ${id}
      ORDER BY id`;
    expect(entries).toEqual([
      {
        action: 'organisationGroupRolesPut',
        actor_id: aliceId,
        status: 200,
        summary: { group: name, role: 'developer' },
        target_ids: { groupId: id, workspaceId: workspaceIds['team-b'] },
      },
      {
        action: 'organisationGroupRolesPut',
        actor_id: aliceId,
        status: 200,
        summary: { group: name, role: null },
        target_ids: { groupId: id, workspaceId: workspaceIds['team-b'] },
      },
    ]);
    // The call itself is in the log of the workspace the session is in, as every call is.
    const [call] = await api.server.sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM audit_log
      WHERE workspace_id = ${workspaceIds.default ?? ''} AND action = 'organisationGroupRolesPut' AND target_ids->>'id' = ${id}`;
    expect(call?.n).toBe(2);
  });
});
