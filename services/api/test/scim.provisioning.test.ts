import {
  DIRECTORY_QUEUE_PER_ORGANISATION,
  SCIM_FILTER_MAX_CHARS,
  SCIM_FILTER_TERMS_MAX,
  SCIM_GROUP_MEMBERS_MAX,
  SCIM_GROUPS_PER_ORGANISATION,
  SCIM_PATCH_OPERATIONS_MAX,
  SCIM_PATCH_VALUE_KEYS_MAX,
  SCIM_PATH_MAX_CHARS,
  SCIM_SCHEMAS,
} from '@outpost/sdk/contracts';
import { beforeAll, describe, expect, test } from 'vitest';
import { createApiKey } from '../src/auth/create-api-key.js';
import { createOrganisationToken, type TestWorkspace } from '../src/testing/index.js';
import { client, eventually, organisationOf, type Reply, useServer } from './helpers.js';
import { fresh, minimalUser, proveDomain, type ScimClient, scimClient, tourGuides } from './scim.support.js';
import { addPerson, confirmAddress, type PersonSession, signInPerson } from './users.support.js';

/*
 * What provisioning does to people's access: the memberships groups grant, what deprovisioning ends,
 * who may call the service provider at all, and the bounds every input is held to. Real Postgres and
 * the real app throughout; a group's role mapping is written straight into directory_group_roles, as
 * the organisation's owners will map them through their own routes.
 */

/** The organisation the directory provisions: its first workspace and two more. */
let home: TestWorkspace;
let org: string;
let organisationId: string;
let vision: { id: string; slug: string };
let nlp: { id: string; slug: string };
let scim: ScimClient;
let tokenId: string;
/** A workspace of another organisation, where people's accounts are made and verified first. */
let elsewhere: TestWorkspace;

const api = useServer();

beforeAll(async () => {
  home = await api.server.createWorkspace();
  elsewhere = await api.server.createWorkspace();
  ({ slug: org, id: organisationId } = await organisationOf(api.server, home.workspaceId));
  // The people below are at the organisation's own domain, which it proved: its directory makes and
  // links their accounts (elsewhere it makes none: test/scim.domain-proof.test.ts).
  await proveDomain(api.server, organisationId, 'example.com');
  vision = await workspaceOfOrganisation('vision');
  nlp = await workspaceOfOrganisation('nlp');
  scim = scimClient(api.server, org, await createOrganisationToken(api.server.sql, home.workspaceId, 'directory', ['scim']));
  const [token] = await api.server.sql<{ id: string }[]>`
    SELECT id FROM organisation_tokens WHERE organisation_id = ${organisationId} AND name = 'directory'`;
  tokenId = token?.id ?? '';
});

async function workspaceOfOrganisation(tag: string): Promise<{ id: string; slug: string }> {
  const slug = fresh(tag);
  const [made] = await api.server.sql<{ id: string }[]>`
    INSERT INTO workspaces (organisation_id, slug, name) VALUES (${organisationId}, ${slug}, ${slug}) RETURNING id`;
  return { id: made?.id ?? '', slug };
}

/**
 * A verified account with a password, made in another organisation, that is already a person of
 * this one (as someone who accepted an invitation to one of its workspaces would be): the directory's
 * grants to it are active at once.
 */
async function existingPerson(tag: string): Promise<{ userId: string; email: string }> {
  const person = await addPerson(api.server, client(api.server, elsewhere.ownerKey), 'viewer', `${fresh(tag)}@example.com`);
  await confirmAddress(api.server, person);
  await api.server
    .sql`INSERT INTO organisation_members (organisation_id, user_id, role) VALUES (${organisationId}, ${person.userId}, 'member')`;
  return person;
}

/** Provisions the person's address through SCIM; the resource's id is their account's. */
async function provision(email: string): Promise<string> {
  const res = await scim.post('/Users', minimalUser(email));
  expect(res.status, res.text).toBe(201);
  return res.body.id;
}

async function group(name: string, roles: Record<string, string> = {}): Promise<string> {
  const res = await scim.post('/Groups', tourGuides(fresh(name), []));
  expect(res.status, res.text).toBe(201);
  for (const [workspaceId, role] of Object.entries(roles)) {
    await api.server
      .sql`INSERT INTO directory_group_roles (group_id, workspace_id, role) VALUES (${res.body.id}, ${workspaceId}, ${role})`;
  }
  return res.body.id;
}

async function patch(path: string, operations: unknown[]): Promise<Reply> {
  const res = await scim.patch(path, operations);
  expect(res.status, res.text).toBe(200);
  return res;
}

/** The person's memberships of the organisation's workspaces, by workspace id. */
async function membershipsOf(userId: string): Promise<Record<string, string>> {
  const rows = await api.server.sql<{ workspace_id: string; role: string; state: string; source: string }[]>`
    SELECT m.workspace_id, m.role, m.state, m.source FROM memberships m JOIN workspaces w ON w.id = m.workspace_id
    WHERE m.user_id = ${userId} AND w.organisation_id = ${organisationId}`;
  return Object.fromEntries(rows.map((r) => [r.workspace_id, `${r.role} ${r.state} ${r.source}`]));
}

async function organisationRole(userId: string): Promise<string | null> {
  const [row] = await api.server.sql<{ role: string }[]>`
    SELECT role FROM organisation_members WHERE organisation_id = ${organisationId} AND user_id = ${userId}`;
  return row?.role ?? null;
}

const whoami = async (session: PersonSession) => (await session.call('GET', '/whoami')).status;

describe('memberships from groups', () => {
  test("adding a person to a group grants the group's role in its workspace, and removing them takes it away, ends their session there and revokes the keys they made there", async () => {
    const alice = await existingPerson('alice');
    expect(await provision(alice.email)).toBe(alice.userId);
    expect(await organisationRole(alice.userId)).toBe('member');
    const admins = await group('Vision admins', { [vision.id]: 'admin' });

    await patch(`/Groups/${admins}`, [{ op: 'add', path: 'members', value: [{ value: alice.userId }] }]);
    expect(await membershipsOf(alice.userId)).toEqual({ [vision.id]: 'admin active directory' });
    const session = await signInPerson(api.server, alice.email, undefined, vision.slug);
    const me = await session.call('GET', '/whoami');
    expect(me.status, me.text).toBe(200);
    expect(me.body.principal.role).toBe('admin');
    const made = await session.mutate('POST', '/api-keys', { name: 'alice-ci', role: 'developer' });
    expect(made.status, made.text).toBe(201);
    const key = client(api.server, made.body.key);
    // Used once, so this app's cache of verified keys holds it when the group changes.
    expect((await key('GET', '/flow-runs')).status).toBe(200);

    await patch(`/Groups/${admins}`, [{ op: 'remove', path: `members[value eq "${alice.userId}"]` }]);
    expect(await membershipsOf(alice.userId)).toEqual({});
    expect(await whoami(session)).toBe(401);
    expect((await key('GET', '/flow-runs')).status).toBe(401);
    // They stay the organisation's person: the directory still provisions them.
    expect(await organisationRole(alice.userId)).toBe('member');
  });

  test("a person's role in a workspace is the highest their groups grant, and a membership given by hand is never changed or removed by a group", async () => {
    const bob = await existingPerson('bob');
    await provision(bob.email);
    await api.server
      .sql`INSERT INTO memberships (workspace_id, user_id, role, state) VALUES (${vision.id}, ${bob.userId}, 'viewer', 'active')`;
    const builders = await group('Builders', { [vision.id]: 'developer', [nlp.id]: 'runner' });
    const leads = await group('NLP leads', { [nlp.id]: 'admin' });

    await patch(`/Groups/${builders}`, [{ op: 'add', path: 'members', value: [{ value: bob.userId }] }]);
    await patch(`/Groups/${leads}`, [{ op: 'add', path: 'members', value: [{ value: bob.userId }] }]);
    expect(await membershipsOf(bob.userId)).toEqual({
      [vision.id]: 'viewer active direct',
      [nlp.id]: 'admin active directory',
    });

    await patch(`/Groups/${leads}`, [{ op: 'remove', path: 'members', value: [{ value: bob.userId }] }]);
    expect(await membershipsOf(bob.userId)).toEqual({ [vision.id]: 'viewer active direct', [nlp.id]: 'runner active directory' });

    const deleted = await scim.delete(`/Groups/${builders}`);
    expect(deleted.status, deleted.text).toBe(204);
    expect(await membershipsOf(bob.userId)).toEqual({ [vision.id]: 'viewer active direct' });
    expect((await api.server.sql`SELECT 1 FROM directory_group_roles WHERE group_id = ${builders}`).length).toBe(0);
  });

  test("what the directory gives is not taken away by hand (a 409 that says where to change it), and removing a role given by hand lets the person's groups decide", async () => {
    const carol = await existingPerson('carol');
    await provision(carol.email);
    await api.server
      .sql`INSERT INTO memberships (workspace_id, user_id, role, state) VALUES (${vision.id}, ${carol.userId}, 'admin', 'active')`;
    const readers = await group('Readers', { [vision.id]: 'viewer', [nlp.id]: 'viewer' });
    await patch(`/Groups/${readers}`, [{ op: 'add', path: 'members', value: [{ value: carol.userId }] }]);
    expect(await membershipsOf(carol.userId)).toEqual({
      [vision.id]: 'admin active direct',
      [nlp.id]: 'viewer active directory',
    });
    const nlpOwner = client(
      api.server,
      (await createApiKey(api.server.sql, { workspaceId: nlp.id, name: 'nlp-owner', role: 'owner' })).key,
    );
    const refused = await nlpOwner('DELETE', `/members/${carol.userId}`);
    expect(refused.status, refused.text).toBe(409);
    expect(refused.body.detail).toContain('take them out of the group, or change what the group grants');

    const visionOwner = client(
      api.server,
      (await createApiKey(api.server.sql, { workspaceId: vision.id, name: 'vision-owner', role: 'owner' })).key,
    );
    const removed = await visionOwner('DELETE', `/members/${carol.userId}`);
    expect(removed.status, removed.text).toBe(204);
    expect(await membershipsOf(carol.userId)).toEqual({
      [vision.id]: 'viewer active directory',
      [nlp.id]: 'viewer active directory',
    });
  });

  test('a group whose members are replaced by PUT grants the newcomers and takes from those who left, in one call', async () => {
    const [a, b] = [await existingPerson('put-a'), await existingPerson('put-b')];
    await provision(a.email);
    await provision(b.email);
    const runners = await group('Runners', { [nlp.id]: 'runner' });
    await patch(`/Groups/${runners}`, [{ op: 'add', path: 'members', value: [{ value: a.userId }] }]);
    const put = await scim.put(`/Groups/${runners}`, {
      schemas: [SCIM_SCHEMAS.group],
      displayName: fresh('Runners'),
      members: [{ value: b.userId }],
    });
    expect(put.status, put.text).toBe(200);
    expect(await membershipsOf(a.userId)).toEqual({});
    expect(await membershipsOf(b.userId)).toEqual({ [nlp.id]: 'runner active directory' });
  });
});

describe('a group as large as a group may be', () => {
  test(`a group of ${SCIM_GROUP_MEMBERS_MAX} people gets its role in a workspace in one call, set-based, and loses it when the group is deleted`, async () => {
    // People provisioned straight into the tables: what matters here is the one call that grants them all.
    const ids = (
      await api.server.sql<{ id: string }[]>`
        WITH made AS (
          INSERT INTO users (email) SELECT 'crowd-' || i || '-' || ${fresh('c')} || '@example.com'
          FROM generate_series(1, ${SCIM_GROUP_MEMBERS_MAX}) i RETURNING id, email)
        INSERT INTO directory_users (organisation_id, user_id, user_name) SELECT ${organisationId}, id, email FROM made
        RETURNING user_id AS id`
    ).map((r) => r.id);
    const crowd = await workspaceOfOrganisation('crowd');
    const everyone = await group('Everyone', { [crowd.id]: 'viewer' });
    const put = await scim.put(`/Groups/${everyone}`, {
      schemas: [SCIM_SCHEMAS.group],
      displayName: fresh('Everyone'),
      members: ids.map((value) => ({ value })),
    });
    expect(put.status, put.text.slice(0, 300)).toBe(200);
    expect(put.body.members).toHaveLength(SCIM_GROUP_MEMBERS_MAX);
    const count = async () =>
      (
        await api.server.sql<
          { n: number }[]
        >`SELECT count(*)::int AS n FROM memberships WHERE workspace_id = ${crowd.id} AND source = 'directory'`
      )[0]?.n;
    expect(await count()).toBe(SCIM_GROUP_MEMBERS_MAX);

    const one = await scim.patch(`/Groups/${everyone}`, [{ op: 'remove', path: `members[value eq "${ids[0]}"]` }]);
    expect(one.status, one.text.slice(0, 300)).toBe(200);
    expect(await count()).toBe(SCIM_GROUP_MEMBERS_MAX - 1);

    expect((await scim.delete(`/Groups/${everyone}`)).status).toBe(204);
    expect(await count()).toBe(0);
    await api.server.sql`DELETE FROM directory_users WHERE user_id = ANY(${ids}::uuid[])`;
  });
});

describe('deprovisioning', () => {
  test("active false (as Entra ID sends it) ends the person's sessions and API keys at once; reactivation offers again what their groups grant, not what was given by hand", async () => {
    const carol = await existingPerson('carol');
    await provision(carol.email);
    await api.server
      .sql`INSERT INTO memberships (workspace_id, user_id, role, state) VALUES (${nlp.id}, ${carol.userId}, 'viewer', 'active')`;
    const admins = await group('Vision admins', { [vision.id]: 'admin' });
    await patch(`/Groups/${admins}`, [{ op: 'add', path: 'members', value: [{ value: carol.userId }] }]);
    const session = await signInPerson(api.server, carol.email, undefined, vision.slug);
    const made = await session.mutate('POST', '/api-keys', { name: 'carol-ci', role: 'developer' });
    expect(made.status, made.text).toBe(201);
    const key = client(api.server, made.body.key);
    expect((await key('GET', '/whoami')).status).toBe(200);

    const off = await patch(`/Users/${carol.userId}`, [{ op: 'Replace', value: { active: 'False' } }]);
    expect(off.body.active).toBe(false);
    expect(await whoami(session)).toBe(401);
    expect((await key('GET', '/whoami')).status).toBe(401);
    expect(await membershipsOf(carol.userId)).toEqual({});
    expect(await organisationRole(carol.userId)).toBeNull();
    // Still in the group, which grants nothing while they are inactive.
    expect((await scim.get(`/Groups/${admins}`)).body.members.map((m: { value: string }) => m.value)).toEqual([carol.userId]);

    const on = await patch(`/Users/${carol.userId}`, [{ op: 'replace', path: 'active', value: true }]);
    expect(on.body.active).toBe(true);
    // Carol's account is her own (she made it elsewhere): her groups' roles come back as invitations,
    // and she is the organisation's again once she accepts one.
    expect(await membershipsOf(carol.userId)).toEqual({ [vision.id]: 'admin invited directory' });
    expect(await organisationRole(carol.userId)).toBeNull();
    // What was revoked stays revoked.
    expect((await key('GET', '/whoami')).status).toBe(401);
    expect(await whoami(session)).toBe(401);
  });

  test('deleting a person deprovisions them, takes them out of every group and forgets them; their account stays theirs', async () => {
    const dan = await existingPerson('dan');
    await provision(dan.email);
    const viewers = await group('Viewers', { [vision.id]: 'viewer' });
    await patch(`/Groups/${viewers}`, [{ op: 'add', path: 'members', value: [{ value: dan.userId }] }]);
    const session = await signInPerson(api.server, dan.email, undefined, vision.slug);

    const res = await scim.delete(`/Users/${dan.userId}`);
    expect(res.status, res.text).toBe(204);
    expect(await whoami(session)).toBe(401);
    expect(await membershipsOf(dan.userId)).toEqual({});
    expect(await organisationRole(dan.userId)).toBeNull();
    expect((await scim.get(`/Groups/${viewers}`)).body).not.toHaveProperty('members');
    expect((await api.server.sql`SELECT 1 FROM directory_users WHERE user_id = ${dan.userId}`).length).toBe(0);
    // The account and its membership elsewhere are untouched.
    expect((await signInPerson(api.server, dan.email)).reply.status).toBe(200);
  });

  test('the directory does not deprovision an organisation owner: a 400 mutability, and the owner keeps every access', async () => {
    const erin = await existingPerson('erin');
    await api.server
      .sql`UPDATE organisation_members SET role = 'owner' WHERE organisation_id = ${organisationId} AND user_id = ${erin.userId}`;
    await api.server
      .sql`INSERT INTO memberships (workspace_id, user_id, role, state) VALUES (${home.workspaceId}, ${erin.userId}, 'owner', 'active')`;
    await provision(erin.email);
    expect(await organisationRole(erin.userId)).toBe('owner');

    const refused = await scim.patch(`/Users/${erin.userId}`, [{ op: 'replace', path: 'active', value: false }]);
    expect(refused.status, refused.text).toBe(400);
    expect(refused.body).toMatchObject({ status: '400', scimType: 'mutability' });
    expect(refused.body.detail).toContain('does not deprovision an owner');
    const deleted = await scim.delete(`/Users/${erin.userId}`);
    expect(deleted.status, deleted.text).toBe(400);
    expect(await organisationRole(erin.userId)).toBe('owner');
    expect(await membershipsOf(erin.userId)).toEqual({ [home.workspaceId]: 'owner active direct' });
  });

  test("an account its person made elsewhere joins no organisation unasked: its groups' roles are invitations until the person accepts one", async () => {
    const stranger = await addPerson(
      api.server,
      client(api.server, elsewhere.ownerKey),
      'viewer',
      `${fresh('stranger')}@example.com`,
    );
    await confirmAddress(api.server, stranger);
    expect(await provision(stranger.email)).toBe(stranger.userId);
    expect(await organisationRole(stranger.userId)).toBeNull();
    const developers = await group('Stranger developers', { [vision.id]: 'developer', [nlp.id]: 'viewer' });
    await patch(`/Groups/${developers}`, [{ op: 'add', path: 'members', value: [{ value: stranger.userId }] }]);
    expect(await membershipsOf(stranger.userId)).toEqual({
      [vision.id]: 'developer invited directory',
      [nlp.id]: 'viewer invited directory',
    });
    // The organisation's people do not list them, and nothing they can open is theirs yet.
    expect(await organisationRole(stranger.userId)).toBeNull();

    const session = await signInPerson(api.server, stranger.email);
    const offered = await session.call('GET', '/account/invitations');
    expect(offered.status, offered.text).toBe(200);
    expect(offered.body.items.map((i: { workspace: { slug: string } }) => i.workspace.slug).sort()).toEqual(
      [vision.slug, nlp.slug].sort(),
    );
    const accepted = await session.mutate('POST', `/account/invitations/${vision.id}/accept`);
    expect(accepted.status, accepted.text).toBe(200);
    expect(await organisationRole(stranger.userId)).toBe('member');
    expect(await membershipsOf(stranger.userId)).toEqual({
      [vision.id]: 'developer active directory',
      [nlp.id]: 'viewer invited directory',
    });
  });
});

describe('who may call the directory', () => {
  test("another organisation's token is a 404 for this organisation, as for one that does not exist", async () => {
    const other = await api.server.createWorkspace();
    const theirs = await organisationOf(api.server, other.workspaceId);
    const theirToken = await createOrganisationToken(api.server.sql, other.workspaceId, 'their directory', ['scim']);
    const intruder = scimClient(api.server, org, theirToken);
    const person = await provision(`${fresh('target')}@example.com`);
    for (const path of ['/Users', `/Users/${person}`, '/Groups', '/ServiceProviderConfig']) {
      const res = await intruder.get(path);
      expect(res.status, `${path}: ${res.text}`).toBe(404);
      expect(res.body).toMatchObject({ schemas: [SCIM_SCHEMAS.error], status: '404' });
    }
    const deleted = await intruder.delete(`/Users/${person}`);
    expect(deleted.status).toBe(404);
    // Their own organisation does not have this organisation's people either.
    const own = scimClient(api.server, theirs.slug, theirToken);
    expect((await own.get(`/Users/${person}`)).status).toBe(404);
    expect((await scim.get(`/Users/${person}`)).status).toBe(200);
  });

  test('a token without the scim scope is a 403, a revoked one a 401', async () => {
    const auditor = scimClient(
      api.server,
      org,
      await createOrganisationToken(api.server.sql, home.workspaceId, 'siem', ['audit:read', 'usage:read']),
    );
    const res = await auditor.get('/Users');
    expect(res.status, res.text).toBe(403);
    expect(res.body).toMatchObject({ schemas: [SCIM_SCHEMAS.error], status: '403' });
    expect(res.body.detail).toContain('scim');

    const revokedToken = await createOrganisationToken(api.server.sql, home.workspaceId, 'gone', ['scim']);
    await api.server
      .sql`UPDATE organisation_tokens SET revoked_at = now() WHERE name = 'gone' AND organisation_id = ${organisationId}`;
    const revoked = await scimClient(api.server, org, revokedToken).get('/Users');
    expect(revoked.status).toBe(401);
    expect(revoked.body.status).toBe('401');
  });

  test("a person's session, an API key and a scim token on another route are all refused", async () => {
    const owner = await existingPerson('owner');
    await api.server
      .sql`INSERT INTO memberships (workspace_id, user_id, role, state) VALUES (${home.workspaceId}, ${owner.userId}, 'owner', 'active')`;
    await api.server
      .sql`INSERT INTO organisation_members (organisation_id, user_id, role) VALUES (${organisationId}, ${owner.userId}, 'owner')
                     ON CONFLICT (organisation_id, user_id) DO UPDATE SET role = 'owner'`;
    const session = await signInPerson(
      api.server,
      owner.email,
      undefined,
      (await api.server.sql<{ slug: string }[]>`SELECT slug FROM workspaces WHERE id = ${home.workspaceId}`)[0]?.slug,
    );
    const bySession = await session.mutate(
      'POST',
      `/organisations/${org}/scim/v2/Users`,
      minimalUser(`${fresh('s')}@example.com`),
    );
    expect(bySession.status, bySession.text).toBe(403);
    expect(bySession.body).toMatchObject({ schemas: [SCIM_SCHEMAS.error], status: '403' });
    expect((await session.call('GET', `/organisations/${org}/scim/v2/Users`)).status).toBe(403);

    const key = client(api.server, home.ownerKey);
    const byKey = await key('GET', `/organisations/${org}/scim/v2/Users`);
    expect(byKey.status, byKey.text).toBe(403);
    expect(byKey.body.detail).toContain('organisation token');

    const token = await createOrganisationToken(api.server.sql, home.workspaceId, 'scim only', ['scim']);
    expect((await client(api.server, token)('GET', `/organisations/${org}/audit-log/heads`)).status).toBe(403);
    expect((await client(api.server, token)('GET', '/whoami')).status).toBe(401);
  });
});

describe('bounds', () => {
  test(`a PATCH of more than ${SCIM_PATCH_OPERATIONS_MAX} operations, a filter longer than ${SCIM_FILTER_MAX_CHARS} characters and a group of more than ${SCIM_GROUP_MEMBERS_MAX} members are SCIM 400s naming the limit, and change nothing`, async () => {
    const person = await provision(`${fresh('bounded')}@example.com`);
    const target = await group('Bounded');
    const before = await api.server.sql`SELECT * FROM directory_group_members WHERE group_id = ${target}`;

    const ops = Array.from({ length: SCIM_PATCH_OPERATIONS_MAX + 1 }, () => ({
      op: 'add',
      path: 'members',
      value: [{ value: person }],
    }));
    const tooMany = await scim.patch(`/Groups/${target}`, ops);
    expect(tooMany.status, tooMany.text).toBe(400);
    expect(tooMany.body).toMatchObject({ schemas: [SCIM_SCHEMAS.error], status: '400', scimType: 'invalidValue' });
    expect(tooMany.body.detail).toContain('1,000 operations');

    const filter = `userName eq "${'x'.repeat(SCIM_FILTER_MAX_CHARS)}"`;
    const tooLong = await scim.get(`/Users?filter=${encodeURIComponent(filter)}`);
    expect(tooLong.status, tooLong.text).toBe(400);
    expect(tooLong.body).toMatchObject({ status: '400', scimType: 'invalidFilter' });
    expect(tooLong.body.detail).toContain('1,000 characters');

    const crowd = Array.from({ length: SCIM_GROUP_MEMBERS_MAX + 1 }, (_, i) => ({
      value: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    }));
    const tooBig = await scim.put(`/Groups/${target}`, { schemas: [SCIM_SCHEMAS.group], displayName: 'Crowd', members: crowd });
    expect(tooBig.status, tooBig.text).toBe(400);
    expect(tooBig.body.detail).toContain('10,000 members');

    const huge = await scim.send('POST', '/Users', { raw: JSON.stringify({ userName: 'x'.repeat(3 * 1024 * 1024) }) });
    expect(huge.status).toBe(413);
    expect(huge.body).toMatchObject({ schemas: [SCIM_SCHEMAS.error], status: '413' });

    expect(await api.server.sql`SELECT * FROM directory_group_members WHERE group_id = ${target}`).toEqual(before);
  });

  test(`a filter of more than ${SCIM_FILTER_TERMS_MAX} comparisons, and an operation without a path naming more than ${SCIM_PATCH_VALUE_KEYS_MAX} attributes or one longer than ${SCIM_PATH_MAX_CHARS} characters, are SCIM 400s naming the limit that change nothing; at the limits they apply`, async () => {
    const person = await provision(`${fresh('terms')}@example.com`);
    const target = await group('Bounded terms');
    await patch(`/Groups/${target}`, [{ op: 'add', path: 'members', value: [{ value: person }] }]);
    const stored = async () => ({
      group: await api.server.sql`SELECT * FROM directory_groups WHERE id = ${target}`,
      members: await api.server.sql`SELECT * FROM directory_group_members WHERE group_id = ${target}`,
    });
    const before = await stored();
    /** `members[value eq "<person>" or value eq "1" or …]`: `terms` comparisons, within the longest path. */
    const membersPath = (terms: number) => {
      const compared = Array.from({ length: terms }, (_, i) => `value eq "${i === 0 ? person : i}"`);
      const path = `members[${compared.join(' or ')}]`;
      expect(path.length).toBeLessThanOrEqual(SCIM_PATH_MAX_CHARS);
      return path;
    };

    const chained = await scim.patch(`/Groups/${target}`, [{ op: 'remove', path: membersPath(SCIM_FILTER_TERMS_MAX + 1) }]);
    expect(chained.status, chained.text).toBe(400);
    expect(chained.body).toMatchObject({ schemas: [SCIM_SCHEMAS.error], status: '400', scimType: 'invalidPath' });
    expect(chained.body.detail).toContain(`more than ${SCIM_FILTER_TERMS_MAX} comparisons`);

    const listed = Array.from({ length: SCIM_FILTER_TERMS_MAX + 1 }, () => 'id pr').join(' and ');
    const list = await scim.get(`/Users?filter=${encodeURIComponent(listed)}`);
    expect(list.status, list.text).toBe(400);
    expect(list.body).toMatchObject({ status: '400', scimType: 'invalidFilter' });
    expect(list.body.detail).toContain(`more than ${SCIM_FILTER_TERMS_MAX} comparisons`);

    const longKey = await scim.patch(`/Groups/${target}`, [
      { op: 'replace', value: { displayName: fresh('Renamed'), ['x'.repeat(SCIM_PATH_MAX_CHARS + 1)]: 'y' } },
    ]);
    expect(longKey.status, longKey.text).toBe(400);
    expect(longKey.body).toMatchObject({ schemas: [SCIM_SCHEMAS.error], status: '400', scimType: 'invalidPath' });
    expect(longKey.body.detail).toContain('1,000 characters');

    /** A new displayName and `count - 1` attributes a group does not have (ignored, as in a POST). */
    const renaming = (count: number) => ({
      displayName: fresh('Renamed'),
      ...Object.fromEntries(Array.from({ length: count - 1 }, (_, i) => [`unkept${i}`, 'x'])),
    });
    const manyKeys = await scim.patch(`/Groups/${target}`, [{ op: 'replace', value: renaming(SCIM_PATCH_VALUE_KEYS_MAX + 1) }]);
    expect(manyKeys.status, manyKeys.text).toBe(400);
    expect(manyKeys.body).toMatchObject({ schemas: [SCIM_SCHEMAS.error], status: '400', scimType: 'invalidValue' });
    expect(manyKeys.body.detail).toContain(`at most ${SCIM_PATCH_VALUE_KEYS_MAX} attributes`);

    expect(await stored()).toEqual(before);

    const renamed = renaming(SCIM_PATCH_VALUE_KEYS_MAX);
    expect((await patch(`/Groups/${target}`, [{ op: 'replace', value: renamed }])).body.displayName).toBe(renamed.displayName);
    await patch(`/Groups/${target}`, [{ op: 'remove', path: membersPath(SCIM_FILTER_TERMS_MAX) }]);
    expect(await api.server.sql`SELECT * FROM directory_group_members WHERE group_id = ${target}`).toEqual([]);
  });

  test(`an organisation's directory holds at most ${SCIM_GROUPS_PER_ORGANISATION} groups; the next is a 400 that says so`, async () => {
    const [row] = await api.server.sql<
      { n: number }[]
    >`SELECT count(*)::int AS n FROM directory_groups WHERE organisation_id = ${organisationId}`;
    await api.server.sql`
      INSERT INTO directory_groups (organisation_id, display_name)
      SELECT ${organisationId}, 'filler ' || i FROM generate_series(1, ${SCIM_GROUPS_PER_ORGANISATION - (row?.n ?? 0)}) i`;
    const res = await scim.post('/Groups', tourGuides(fresh('One too many'), []));
    expect(res.status, res.text).toBe(400);
    expect(res.body.detail).toContain('1,000 groups');
    await api.server.sql`DELETE FROM directory_groups WHERE organisation_id = ${organisationId} AND display_name LIKE 'filler %'`;
  });
});

describe('a directory sending in parallel', () => {
  test('holds one database connection: the rest wait in memory, those past the queue are a 503 at once, and another organisation is served meanwhile', async () => {
    // The organisation's lock, held as another replica's long change would hold it.
    const replica = await api.server.sql.reserve();
    await replica`SELECT pg_advisory_lock(hashtext('outpost.organisation'), hashtext(${organisationId}))`;
    const sent = DIRECTORY_QUEUE_PER_ORGANISATION + 4;
    const answers: Reply[] = [];
    const calls = Array.from({ length: sent }, (_, i) =>
      scim.post('/Users', minimalUser(`${fresh(`burst-${i}`)}@example.com`)).then((reply) => {
        answers.push(reply);
        return reply;
      }),
    );
    try {
      // One runs (waiting on the lock), DIRECTORY_QUEUE_PER_ORGANISATION wait in memory, the rest are turned away.
      const turnedAway = await eventually(async () =>
        answers.length >= sent - 1 - DIRECTORY_QUEUE_PER_ORGANISATION ? answers : undefined,
      );
      expect(turnedAway.map((r) => r.status)).toEqual(Array(sent - 1 - DIRECTORY_QUEUE_PER_ORGANISATION).fill(503));
      expect(turnedAway[0]?.headers.get('retry-after')).toBe('5');
      expect(turnedAway[0]?.body).toMatchObject({ schemas: [SCIM_SCHEMAS.error], status: '503' });
      const [waiting] = await api.server.sql<{ n: number }[]>`
        SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND wait_event_type = 'Lock' AND wait_event = 'advisory'`;
      expect(waiting?.n).toBe(1);
      // Another organisation's directory does not wait behind this one.
      const [other] = await api.server.sql<{ id: string }[]>`SELECT id FROM workspaces WHERE id = ${elsewhere.workspaceId}`;
      const [otherOrg] = await api.server.sql<{ slug: string }[]>`
        SELECT o.slug FROM organisations o JOIN workspaces w ON w.organisation_id = o.id WHERE w.id = ${other?.id ?? ''}`;
      const theirs = scimClient(
        api.server,
        otherOrg?.slug ?? '',
        await createOrganisationToken(api.server.sql, elsewhere.workspaceId, 'theirs', ['scim']),
      );
      expect((await theirs.post('/Users', minimalUser(`${fresh('other-org')}@example.com`))).status).toBe(201);
      expect(answers).toHaveLength(sent - 1 - DIRECTORY_QUEUE_PER_ORGANISATION);
    } finally {
      await replica`SELECT pg_advisory_unlock(hashtext('outpost.organisation'), hashtext(${organisationId}))`;
      replica.release();
    }
    // Once the lock is free, every change that waited is made.
    const all = await Promise.all(calls);
    expect(all.filter((r) => r.status === 201)).toHaveLength(1 + DIRECTORY_QUEUE_PER_ORGANISATION);
  });
});

describe('the audit log', () => {
  test('each provisioning call is in the audit log of every workspace of the organisation, with the token as its actor, refusals included', async () => {
    const userName = `${fresh('audited')}@example.com`;
    const made = await scim.post('/Users', minimalUser(userName));
    expect(made.status).toBe(201);
    const refused = await scim.post('/Users', minimalUser(userName));
    expect(refused.status).toBe(409);
    const rows = await api.server.sql<
      { workspace_id: string; status: number; result_ids: Record<string, string>; summary: Record<string, unknown> }[]
    >`
      SELECT workspace_id, status, result_ids, summary FROM audit_log
      WHERE action = 'scimUsersCreate' AND actor_kind = 'organisation_token' AND actor_id = ${tokenId}
        AND summary->>'userName' = ${userName}`;
    const workspaces = [home.workspaceId, vision.id, nlp.id];
    for (const workspaceId of workspaces) {
      const here = rows.filter((r) => r.workspace_id === workspaceId);
      expect(here.map((r) => r.status).sort(), workspaceId).toEqual([201, 409]);
      expect(here.find((r) => r.status === 201)?.result_ids).toEqual({ userId: made.body.id });
    }
    // The workspace's admins read who it was: the token, by name.
    const log = await client(api.server, home.ownerKey)('GET', '/audit-log?action=scimUsersCreate');
    expect(log.status, log.text).toBe(200);
    expect(log.body.items[0].actor).toMatchObject({ kind: 'organisation_token', id: tokenId, label: 'directory' });
  });
});
