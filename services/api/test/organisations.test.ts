import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createApiKey } from '../src/auth/create-api-key.js';
import { openUserSession } from '../src/auth/sessions.js';
import { migrateDatabase } from '../src/db/migrate.js';
import { startTestServer, type TestServer } from '../src/testing/index.js';
import { type Call, client, startedRun, useScratchDatabases } from './helpers.js';
import { browser } from './sessions.support.js';
import { addPerson, confirmAddress, type PersonSession, signInPerson } from './users.support.js';

let server: TestServer;
let owner: Call;
/** The first person made owner of the default workspace: the owner of its organisation. */
let alice: { userId: string; email: string };
let aliceIn: PersonSession;
const scratch = useScratchDatabases();

/** A person added to the default workspace with `role`, their address confirmed. */
async function verifiedPerson(role: 'owner' | 'admin' | 'developer' | 'runner' | 'viewer', as: Call = owner) {
  const person = await addPerson(server, as, role);
  await confirmAddress(server, person);
  return person;
}

beforeAll(async () => {
  server = await startTestServer({ loops: false });
  owner = client(server, server.ownerKey);
  alice = await verifiedPerson('owner');
  aliceIn = await signInPerson(server, alice.email);
  const created = await aliceIn.mutate('POST', '/organisations/default/workspaces', { slug: 'team-a', name: 'Team A' });
  expect(created.status, created.text).toBe(201);
});
afterAll(async () => {
  await server?.close();
});

describe('organisations', () => {
  test('the first person made owner of a workspace owns its organisation, and owns the workspace they create in it', async () => {
    const listed = await aliceIn.call('GET', '/organisations');
    expect(listed.status, listed.text).toBe(200);
    expect(listed.body.items).toHaveLength(1);
    const [organisation] = listed.body.items;
    expect(organisation).toMatchObject({ slug: 'default', role: 'owner' });
    expect(organisation.workspaces.map((w: { slug: string; role: string }) => [w.slug, w.role])).toEqual([
      ['default', 'owner'],
      ['team-a', 'owner'],
    ]);
    const whoami = await aliceIn.call('GET', '/whoami');
    expect(whoami.body).toMatchObject({ organisation: { slug: 'default' }, archived: false, workspace: { slug: 'default' } });

    const taken = await aliceIn.mutate('POST', '/organisations/default/workspaces', { slug: 'team-a' });
    expect(taken.status).toBe(409);
    expect(taken.body.errors).toEqual([{ path: 'body.slug', message: 'already taken' }]);
    const renamed = await aliceIn.mutate('PATCH', '/organisations/default/workspaces/team-a', { name: 'Team A (vision)' });
    expect(renamed.status, renamed.text).toBe(200);
    expect(renamed.body).toMatchObject({ slug: 'team-a', name: 'Team A (vision)', archivedAt: null, role: 'owner' });
  });

  test('an auditor reads every workspace of the organisation as a viewer, keeps a stronger membership, and changes nothing', async () => {
    const bob = await verifiedPerson('runner');
    const made = await aliceIn.mutate('PATCH', `/organisations/default/members/${bob.userId}`, { role: 'auditor' });
    expect(made.status, made.text).toBe(200);
    expect(made.body).toMatchObject({ role: 'auditor', workspaces: [{ slug: 'default', role: 'runner' }] });

    // Two workspaces to open now: the sign-in names one.
    const unnamed = await signInPerson(server, bob.email).catch((error: Error) => error.message);
    expect(unnamed).toContain('name the workspace to sign in to');
    const bobInTeam = await signInPerson(server, bob.email, undefined, 'team-a');
    expect(bobInTeam.reply.body.principal.role).toBe('viewer');
    expect((await bobInTeam.call('GET', '/flow-runs')).status).toBe(200);
    const refused = await bobInTeam.mutate('POST', '/work-pools', { name: 'audit-pool' });
    expect(refused.status).toBe(403);
    const notAnAdmin = await bobInTeam.mutate('POST', '/organisations/default/workspaces', { slug: 'team-b' });
    expect(notAnAdmin.status).toBe(403);
    expect(notAnAdmin.body.detail).toContain('needs the organisation role "owner" or "admin"; yours is "auditor"');
    expect((await bobInTeam.call('GET', '/organisations/default/members')).status).toBe(200);

    // Where Bob is a member, his membership's role is his.
    const bobInDefault = await signInPerson(server, bob.email, undefined, 'default');
    expect(bobInDefault.reply.body.principal.role).toBe('runner');

    // Back to member: the view of team-a ends with the next request.
    expect((await aliceIn.mutate('PATCH', `/organisations/default/members/${bob.userId}`, { role: 'member' })).status).toBe(200);
    expect((await bobInTeam.call('GET', '/flow-runs')).status).toBe(401);
    expect((await bobInDefault.call('GET', '/flow-runs')).status).toBe(200);
  });

  test('an admin may not grant admin or owner, and the last owner may not step down', async () => {
    const carol = await verifiedPerson('viewer');
    const dave = await verifiedPerson('viewer');
    expect((await aliceIn.mutate('PATCH', `/organisations/default/members/${carol.userId}`, { role: 'admin' })).status).toBe(200);
    const carolIn = await signInPerson(server, carol.email, undefined, 'default');
    const grant = await carolIn.mutate('PATCH', `/organisations/default/members/${dave.userId}`, { role: 'admin' });
    expect(grant.status).toBe(403);
    expect(grant.body.detail).toBe('only an organisation owner can grant or take away owner or admin');
    const auditor = await carolIn.mutate('PATCH', `/organisations/default/members/${dave.userId}`, { role: 'auditor' });
    expect(auditor.status, auditor.text).toBe(200);
    const stepDown = await aliceIn.mutate('PATCH', `/organisations/default/members/${alice.userId}`, { role: 'admin' });
    expect(stepDown.status).toBe(409);
    expect(stepDown.body.detail).toContain('no owner left');
    // Nor does an admin rearrange the workspaces of the people above them.
    const demote = await carolIn.mutate('PUT', `/organisations/default/workspaces/default/members/${alice.userId}`, {
      role: 'viewer',
    });
    expect(demote.status).toBe(403);
    expect(demote.body.detail).toBe("only an organisation owner can change an owner's or admin's workspace roles");
  });

  test('a person whose last membership in the organisation ends, holding no role of their own in it, leaves it', async () => {
    const henry = await verifiedPerson('viewer');
    const listed = async () =>
      (await aliceIn.call('GET', '/organisations/default/members')).body.items.map((p: { userId: string }) => p.userId);
    expect(await listed()).toContain(henry.userId);
    expect((await owner('DELETE', `/members/${henry.userId}`)).status).toBe(204);
    expect(await listed()).not.toContain(henry.userId);
  });

  test('an admin gives a person of the organisation a role in another workspace, active at once', async () => {
    const erin = await verifiedPerson('viewer');
    const put = await aliceIn.mutate('PUT', `/organisations/default/workspaces/team-a/members/${erin.userId}`, {
      role: 'developer',
    });
    expect(put.status, put.text).toBe(200);
    expect(put.body).toEqual({ userId: erin.userId, workspace: 'team-a', role: 'developer' });
    const erinInTeam = await signInPerson(server, erin.email, undefined, 'team-a');
    expect(erinInTeam.reply.body.principal.role).toBe('developer');
    expect((await erinInTeam.mutate('POST', '/work-pools', { name: 'erin-pool' })).status).toBe(201);

    // Someone who is not a person of the organisation is not found, whoever they are elsewhere.
    const stranger = await server.createWorkspace();
    const outsider = await addPerson(server, client(server, stranger.ownerKey), 'viewer');
    const notHers = await aliceIn.mutate('PUT', `/organisations/default/workspaces/team-a/members/${outsider.userId}`, {
      role: 'viewer',
    });
    expect(notHers.status).toBe(404);
  });

  test('removing a person from the organisation ends their memberships and sessions in every one of its workspaces at once', async () => {
    const frank = await verifiedPerson('developer');
    expect(
      (await aliceIn.mutate('PUT', `/organisations/default/workspaces/team-a/members/${frank.userId}`, { role: 'runner' }))
        .status,
    ).toBe(200);
    const inDefault = await signInPerson(server, frank.email, undefined, 'default');
    const inTeam = await signInPerson(server, frank.email, undefined, 'team-a');
    expect((await inTeam.call('GET', '/whoami')).status).toBe(200);

    const removed = await aliceIn.mutate('DELETE', `/organisations/default/members/${frank.userId}`);
    expect(removed.status, removed.text).toBe(204);
    expect((await inDefault.call('GET', '/whoami')).status).toBe(401);
    expect((await inTeam.call('GET', '/whoami')).status).toBe(401);
    const people = await aliceIn.call('GET', '/organisations/default/members');
    expect(people.body.items.map((p: { userId: string }) => p.userId)).not.toContain(frank.userId);
    // Each workspace's own log says who took the person out.
    const [teamA] = await server.sql<{ id: string }[]>`SELECT id FROM workspaces WHERE slug = 'team-a'`;
    const entries = await server.sql<{ action: string; actor_id: string }[]>`
      SELECT action, actor_id FROM audit_log WHERE workspace_id = ${teamA?.id ?? ''} AND ${frank.userId} = ANY (object_ids)`;
    expect(entries.map((e) => [e.action, e.actor_id])).toContainEqual(['organisationMembersRemove', alice.userId]);
  });

  test('an archived workspace reads as before, refuses every change from keys and sessions, and takes them again once restored', async () => {
    const created = await aliceIn.mutate('POST', '/organisations/default/workspaces', { slug: 'team-old' });
    expect(created.status).toBe(201);
    const switched = await aliceIn.mutate('POST', '/auth/session/workspace', { workspace: 'team-old' });
    expect(switched.status, switched.text).toBe(200);
    expect(switched.body).toMatchObject({ workspace: { slug: 'team-old' }, principal: { role: 'owner' } });
    const cookies = switched.headers.getSetCookie();
    const session = cookies.find((c) => c.startsWith('outpost_session='))?.split(';')[0] ?? '';
    const csrfValue =
      cookies
        .find((c) => c.startsWith('outpost_csrf='))
        ?.split(';')[0]
        ?.split('=')[1] ?? '';
    // The old session ended with the switch.
    expect((await aliceIn.call('GET', '/whoami')).status).toBe(401);
    aliceIn = await signInPerson(server, alice.email, undefined, 'default');
    const inOld = (method: string, path: string, body?: unknown) =>
      server.app.request(`/api/v1${path}`, {
        method,
        headers: {
          cookie: `${session}; outpost_csrf=${csrfValue}`,
          'x-outpost-csrf': csrfValue,
          'content-type': 'application/json',
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    const keyMade = await inOld('POST', '/api-keys', { name: 'old-dev', role: 'developer' });
    expect(keyMade.status).toBe(201);
    const key = client(server, ((await keyMade.json()) as { key: string }).key);
    expect((await key('POST', '/work-pools', { body: { name: 'before' } })).status).toBe(201);

    const archived = await aliceIn.mutate('POST', '/organisations/default/workspaces/team-old/archive');
    expect(archived.status, archived.text).toBe(200);
    expect(archived.body.archivedAt).not.toBeNull();
    const byKey = await key('POST', '/work-pools', { body: { name: 'after' } });
    expect(byKey.status).toBe(409);
    expect(byKey.body.detail).toContain('this workspace is archived');
    expect((await key('GET', '/work-pools')).body.items.map((p: { name: string }) => p.name)).toContain('before');
    expect((await inOld('POST', '/work-pools', { name: 'after' })).status).toBe(409);
    expect((await inOld('GET', '/work-pools')).status).toBe(200);
    expect(((await (await inOld('GET', '/whoami')).json()) as { archived: boolean }).archived).toBe(true);
    const listed = await aliceIn.call('GET', '/organisations/default');
    expect(listed.body.workspaces.find((w: { slug: string }) => w.slug === 'team-old').archivedAt).not.toBeNull();
    expect((await aliceIn.mutate('POST', '/organisations/default/workspaces/team-old/archive')).status).toBe(409);

    const restored = await aliceIn.mutate('POST', '/organisations/default/workspaces/team-old/restore');
    expect(restored.status, restored.text).toBe(200);
    expect(restored.body.archivedAt).toBeNull();
    expect((await key('POST', '/work-pools', { body: { name: 'after' } })).status).toBe(201);

    // Archived, the workspace still revokes: a leaked key must not keep reading its history.
    const archivedAgain = await aliceIn.mutate('POST', '/organisations/default/workspaces/team-old/archive');
    expect(archivedAgain.status).toBe(200);
    const keyId = (await key('GET', '/whoami')).body.principal.id as string;
    expect((await inOld('DELETE', `/api-keys/${keyId}`)).status).toBe(200);
    expect((await key('GET', '/work-pools')).status).toBe(401);
  });

  test("the organisation's health lists each workspace the person can open, worst first, from its runs and assets", async () => {
    const made = await aliceIn.mutate('POST', '/organisations/default/workspaces', { slug: 'team-ill' });
    expect(made.status).toBe(201);
    const teamIll = made.body.id as string;
    const key = client(server, (await createApiKey(server.sql, { workspaceId: teamIll, name: 'o', role: 'owner' })).key);
    expect((await key('POST', '/work-pools', { body: { name: 'default' } })).status).toBe(201);
    for (let i = 0; i < 2; i++) {
      const run = await startedRun(server, key);
      const failed = await run.asRun('POST', `/flow-runs/${run.id}/set-state`, {
        body: { transitionId: randomUUID(), state: { type: 'FAILED', message: 'boom' } },
      });
      expect(failed.status, failed.text).toBe(200);
    }
    await startedRun(server, key);
    // The freshness loop's verdict, as it stores it.
    await server.sql`
      INSERT INTO asset_freshness (workspace_id, asset_key, violated, deadline) VALUES (${teamIll}, 'features', true, now())`;

    const health = await aliceIn.call('GET', '/organisations/default/health');
    expect(health.status, health.text).toBe(200);
    expect(health.body.windowHours).toBe(24);
    const [worst] = health.body.items;
    expect(worst).toMatchObject({
      workspace: { slug: 'team-ill', role: 'owner' },
      failedRuns: 2,
      runningRuns: 1,
      overdueAssets: 1,
      blockedAssets: 0,
    });
    const slugs = health.body.items.map((h: { workspace: { slug: string } }) => h.workspace.slug);
    expect(slugs).toEqual(expect.arrayContaining(['default', 'team-a', 'team-ill']));
    // A person of the organisation without a reader's role sees the workspaces they are in, only.
    const member = await verifiedPerson('viewer');
    const memberIn = await signInPerson(server, member.email);
    const theirs = await memberIn.call('GET', '/organisations/default/health');
    expect(theirs.body.items.map((h: { workspace: { slug: string } }) => h.workspace.slug)).toEqual(['default']);
  });

  test('moving a session keeps its end, refuses the workspace it is in, and acting on an organisation needs a session in one of its workspaces', async () => {
    const ivy = await verifiedPerson('developer');
    const other = await server.createWorkspace();
    const otherOwner = client(server, other.ownerKey);
    const invited = await otherOwner('POST', '/members', { body: { email: ivy.email, role: 'viewer' } });
    expect(invited.body.outcome).toBe('invited');
    const ivyIn = await signInPerson(server, ivy.email, undefined, 'default');
    const accepted = await ivyIn.mutate('POST', `/account/invitations/${other.workspaceId}/accept`);
    expect(accepted.status, accepted.text).toBe(200);

    const same = await ivyIn.mutate('POST', '/auth/session/workspace', { workspace: 'default' });
    expect(same.status).toBe(409);
    const [before] = await server.sql<{ expires_at: Date }[]>`
      SELECT expires_at FROM sessions WHERE user_id = ${ivy.userId} AND revoked_at IS NULL`;
    const otherSlug = (await otherOwner('GET', '/whoami')).body.workspace.slug as string;
    const moved = await ivyIn.mutate('POST', '/auth/session/workspace', { workspace: otherSlug });
    expect(moved.status, moved.text).toBe(200);
    const live = await server.sql<{ expires_at: Date; workspace_id: string }[]>`
      SELECT expires_at, workspace_id FROM sessions WHERE user_id = ${ivy.userId} AND revoked_at IS NULL`;
    expect(live).toEqual([{ expires_at: before?.expires_at, workspace_id: other.workspaceId }]);

    // From a session in the other organisation, this one is out of reach until she opens one of its workspaces.
    const cookies = moved.headers.getSetCookie();
    const value = (name: string) =>
      cookies
        .find((c) => c.startsWith(`${name}=`))
        ?.split(';')[0]
        ?.split('=')[1] ?? '';
    const there = browser(server, `outpost_session=${value('outpost_session')}; outpost_csrf=${value('outpost_csrf')}`);
    const refused = await there('GET', '/organisations/default');
    expect(refused.status).toBe(403);
    expect(refused.body.detail).toContain('open a workspace of "default" to act on it');
  });

  test("workspaces made in an organisation a person made for themselves count against that person's own limit", async () => {
    const jo = await verifiedPerson('viewer');
    let joIn = await signInPerson(server, jo.email);
    expect((await joIn.mutate('POST', '/workspaces', { slug: 'jo-lab' })).status).toBe(201);
    const moved = await joIn.mutate('POST', '/auth/session/workspace', { workspace: 'jo-lab' });
    expect(moved.status).toBe(200);
    joIn = await signInPerson(server, jo.email, undefined, 'jo-lab');
    for (let i = 2; i <= 5; i++) {
      const made = await joIn.mutate('POST', '/organisations/jo-lab/workspaces', { slug: `jo-lab-${i}` });
      expect(made.status, made.text).toBe(201);
    }
    const sixth = await joIn.mutate('POST', '/organisations/jo-lab/workspaces', { slug: 'jo-lab-6' });
    expect(sixth.status).toBe(429);
    expect(sixth.body.detail).toContain('"workspacesPerAccount"');
    // An admin of an organisation no person made (the default one here) is bounded by the organisation's limit instead.
    expect((await aliceIn.mutate('POST', '/organisations/default/workspaces', { slug: 'team-z' })).status).toBe(201);
  });

  test('a person of another organisation finds nothing of this one, and can open none of its workspaces', async () => {
    const other = await server.createWorkspace();
    const otherOwner = client(server, other.ownerKey);
    const grace = await addPerson(server, otherOwner, 'owner');
    await confirmAddress(server, grace);
    const graceIn = await signInPerson(server, grace.email);
    const organisations = await graceIn.call('GET', '/organisations');
    expect(organisations.body.items.map((o: { slug: string }) => o.slug)).not.toContain('default');
    for (const [method, path, body] of [
      ['GET', '/organisations/default', undefined],
      ['GET', '/organisations/default/members', undefined],
      ['GET', '/organisations/default/health', undefined],
      ['PATCH', '/organisations/default', { name: 'Mine now' }],
      ['POST', '/organisations/default/workspaces/team-a/archive', undefined],
      ['PUT', `/organisations/default/workspaces/team-a/members/${grace.userId}`, { role: 'owner' }],
      ['DELETE', `/organisations/default/members/${alice.userId}`, undefined],
    ] as const) {
      const res = await graceIn.mutate(method, path, body);
      expect(res.status, `${method} ${path}`).toBe(404);
    }
    const switched = await graceIn.mutate('POST', '/auth/session/workspace', { workspace: 'team-a' });
    expect(switched.status).toBe(404);
    // And the other way round.
    const theirs = organisations.body.items[0].slug as string;
    expect((await aliceIn.call('GET', `/organisations/${theirs}`)).status).toBe(404);
  });

  test("a session a workspace's single sign-on opened acts in that workspace only: it neither acts on the organisation nor moves to another workspace", async () => {
    // What a workspace's identity provider vouches for, it vouches for there: its owner chose it.
    const [place] = await server.sql<{ id: string }[]>`SELECT id FROM workspaces WHERE slug = 'default'`;
    const opened = await openUserSession(server.sql, {
      workspaceId: place?.id ?? '',
      userId: alice.userId,
      role: 'owner',
      label: `single sign-on (${alice.email})`,
      openedBy: 'single-sign-on',
    });
    const call = browser(server, `outpost_session=${opened.token}; outpost_csrf=${opened.csrf}`);
    const headers = { 'x-outpost-csrf': opened.csrf };
    expect((await call('GET', '/flow-runs')).status).toBe(200);
    for (const [method, path, body] of [
      ['GET', '/organisations', undefined],
      ['GET', '/organisations/default/health', undefined],
      ['POST', '/organisations/default/workspaces', { slug: 'via-sso' }],
      ['POST', '/auth/session/workspace', { workspace: 'team-a' }],
    ] as const) {
      const res = await call(method, path, { body, headers });
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(res.body.detail).toContain('sign in with your password');
    }
  });

  test('an installation from before organisations gets one per workspace, its active owners as owners and its other people as members', async () => {
    const db = await scratch.make('0046_organisations');
    const { sql } = db;
    const workspaces = await sql<{ id: string; slug: string }[]>`
      INSERT INTO workspaces (slug, name) VALUES ('ml', 'ML team'), ('data', 'Data team') RETURNING id, slug`;
    const [ml, data] = [workspaces.find((w) => w.slug === 'ml')?.id, workspaces.find((w) => w.slug === 'data')?.id];
    const users = await sql<{ id: string; email: string }[]>`
      INSERT INTO users (email) VALUES ('o@example.com'), ('d@example.com'), ('i@example.com') RETURNING id, email`;
    const id = (email: string) => users.find((u) => u.email === email)?.id ?? '';
    await sql`
      INSERT INTO memberships (workspace_id, user_id, role, state) VALUES
        (${ml ?? ''}, ${id('o@example.com')}, 'owner', 'active'),
        (${ml ?? ''}, ${id('d@example.com')}, 'developer', 'active'),
        (${data ?? ''}, ${id('d@example.com')}, 'owner', 'active'),
        (${data ?? ''}, ${id('i@example.com')}, 'admin', 'invited')`;
    await migrateDatabase(db.url);
    const organisations = await sql<{ slug: string; name: string; workspaces: string[] }[]>`
      SELECT o.slug, o.name, array_agg(w.slug ORDER BY w.slug) AS workspaces
      FROM organisations o JOIN workspaces w ON w.organisation_id = o.id GROUP BY o.slug, o.name ORDER BY o.slug`;
    expect(organisations).toEqual([
      { slug: 'data', name: 'Data team', workspaces: ['data'] },
      { slug: 'ml', name: 'ML team', workspaces: ['ml'] },
    ]);
    const members = await sql<{ slug: string; email: string; role: string }[]>`
      SELECT o.slug, u.email, om.role FROM organisation_members om
      JOIN organisations o ON o.id = om.organisation_id JOIN users u ON u.id = om.user_id ORDER BY o.slug, u.email`;
    expect(members).toEqual([
      { slug: 'data', email: 'd@example.com', role: 'owner' },
      { slug: 'ml', email: 'd@example.com', role: 'member' },
      { slug: 'ml', email: 'o@example.com', role: 'owner' },
    ]);
    // An invitation accepted afterwards makes its person a member of the organisation.
    await sql`UPDATE memberships SET state = 'active' WHERE user_id = ${id('i@example.com')}`;
    const [joined] = await sql<{ role: string }[]>`
      SELECT role FROM organisation_members WHERE user_id = ${id('i@example.com')}`;
    expect(joined?.role).toBe('member');
  });
});
