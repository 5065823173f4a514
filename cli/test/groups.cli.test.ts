import { startTestServer, type TestServer } from '@outpost/api/testing';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { outpost } from './cli.support.js';

/*
 * `outpost groups …` as an organisation's owner runs it: signed in as a person (OUTPOST_EMAIL,
 * OUTPOST_PASSWORD), since organisation routes take no API key. The groups and their members are
 * inserted as the directory (SCIM) would make them.
 */

const PASSWORD = 'correct horse battery staple';

let server: TestServer;
let org: string;
let organisationId: string;
/** The organisation's owner, who signs in with the CLI. */
let owner: { userId: string; email: string };
/** A person the directory put in the group. */
let member: { userId: string; email: string };
let teamId: string;
let groupId: string;

/** A person of the default workspace with a password, through the API as an admin adds one. */
async function person(role: 'owner' | 'viewer'): Promise<{ userId: string; email: string }> {
  const email = `groups-${role}-${Date.now().toString(36)}@example.com`;
  const api = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${server.url}/api/v1${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
  const added = await api('/members', { email, role }, { authorization: `Bearer ${server.ownerKey}` });
  expect(added.status).toBe(201);
  const { member: made, setupToken } = (await added.json()) as { member: { userId: string }; setupToken: string };
  expect((await api('/auth/password/setup', { token: setupToken, password: PASSWORD })).status).toBe(204);
  // Organisation roles act only for a proven address: as if the person had followed an emailed link.
  await server.sql`UPDATE users SET email_verified_at = now(), managed_by = NULL WHERE id = ${made.userId}`;
  return { userId: made.userId, email };
}

/** `outpost <args>` against the test API, signed in as `as` (the owner unless named). */
const groupsCli = (args: string[], env: Record<string, string> = { OUTPOST_EMAIL: owner.email, OUTPOST_PASSWORD: PASSWORD }) =>
  outpost(args, { env: { OUTPOST_API_URL: server.url, ...env } });

async function membership(userId: string): Promise<{ role: string; source: string } | null> {
  const [row] = await server.sql<{ role: string; source: string }[]>`
    SELECT role, source FROM memberships WHERE workspace_id = ${teamId} AND user_id = ${userId}`;
  return row ?? null;
}

beforeAll(async () => {
  server = await startTestServer({ loops: false });
  const [row] = await server.sql<{ slug: string; id: string }[]>`
    SELECT o.slug, o.id FROM organisations o JOIN workspaces w ON w.organisation_id = o.id WHERE w.id = ${server.workspaceId}`;
  org = row?.slug ?? '';
  organisationId = row?.id ?? '';
  owner = await person('owner');
  await server.sql`
    INSERT INTO organisation_members (organisation_id, user_id, role) VALUES (${organisationId}, ${owner.userId}, 'owner')
    ON CONFLICT (organisation_id, user_id) DO UPDATE SET role = 'owner'`;
  member = await person('viewer');
  const [team] = await server.sql<{ id: string }[]>`
    INSERT INTO workspaces (organisation_id, slug, name) VALUES (${organisationId}, 'vision-team', 'Vision team') RETURNING id`;
  teamId = team?.id ?? '';
  const [group] = await server.sql<{ id: string }[]>`
    INSERT INTO directory_groups (organisation_id, display_name, external_id) VALUES (${organisationId}, 'ML Engineers', 'okta-123')
    RETURNING id`;
  groupId = group?.id ?? '';
  await server.sql`
    INSERT INTO directory_users (organisation_id, user_id, user_name) VALUES (${organisationId}, ${member.userId}, ${member.email})`;
  await server.sql`INSERT INTO directory_group_members (group_id, user_id) VALUES (${groupId}, ${member.userId})`;
});
afterAll(async () => {
  await server?.close();
});

describe('outpost groups', () => {
  test("lists the organisation's groups, grants a group a role its members get at once, shows and clears it", async () => {
    const listed = await groupsCli(['groups', 'list', '--org', org]);
    expect(listed.code, listed.stderr).toBe(0);
    const [header, row] = listed.stdout.trimEnd().split('\n');
    expect(header?.split(/\s{2,}/)).toEqual(['NAME', 'ID', 'MEMBERS', 'ROLES']);
    expect(row?.split(/\s{2,}/)).toEqual(['ML Engineers', groupId, '1', '-']);

    const members = await groupsCli(['groups', 'members', 'ml engineers', '--org', org]);
    expect(members.code, members.stderr).toBe(0);
    expect(
      members.stdout
        .trimEnd()
        .split('\n')
        .map((l) => l.split(/\s{2,}/)),
    ).toEqual([
      ['EMAIL', 'NAME', 'USER ID', 'ACTIVE'],
      [member.email, '-', member.userId, 'yes'],
    ]);

    const granted = await groupsCli(['groups', 'roles', 'ML Engineers', '--org', org, '--grant', 'vision-team=developer']);
    expect(granted.code, granted.stderr).toBe(0);
    expect(granted.stderr).toContain('the group "ML Engineers" grants vision-team developer to its member');
    expect(
      granted.stdout
        .trimEnd()
        .split('\n')
        .map((l) => l.split(/\s{2,}/)),
    ).toEqual([
      ['WORKSPACE', 'ROLE'],
      ['vision-team', 'developer'],
    ]);
    expect(await membership(member.userId)).toEqual({ role: 'developer', source: 'directory' });

    const shown = await groupsCli(['groups', 'roles', groupId, '--org', org, '--json']);
    expect(shown.code, shown.stderr).toBe(0);
    expect(JSON.parse(shown.stdout)).toMatchObject({ id: groupId, roles: [{ workspace: 'vision-team', role: 'developer' }] });

    const cleared = await groupsCli(['groups', 'roles', 'ML Engineers', '--org', org, '--clear']);
    expect(cleared.code, cleared.stderr).toBe(0);
    expect(cleared.stderr).toContain('the group "ML Engineers" grants no roles now');
    expect(await membership(member.userId)).toBeNull();

    // Each command signed out when it ended: no session of the owner's is left open.
    const [open] = await server.sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM sessions WHERE user_id = ${owner.userId} AND revoked_at IS NULL`;
    expect(open?.n).toBe(0);
  });

  test("a session that opens in another organisation's workspace moves into the organisation before it acts", async () => {
    const elsewhere = await server.createWorkspace();
    const [theirs] = await server.sql<{ slug: string; organisation_id: string }[]>`
      SELECT slug, organisation_id FROM workspaces WHERE id = ${elsewhere.workspaceId}`;
    await server.sql`
      INSERT INTO memberships (workspace_id, user_id, role, state) VALUES (${elsewhere.workspaceId}, ${owner.userId}, 'viewer', 'active')`;
    await server.sql`
      INSERT INTO organisation_members (organisation_id, user_id, role) VALUES (${theirs?.organisation_id ?? ''}, ${owner.userId}, 'member')
      ON CONFLICT (organisation_id, user_id) DO NOTHING`;
    const listed = await groupsCli(['groups', 'list', '--org', org, '--workspace', theirs?.slug ?? '', '--json']);
    expect(listed.code, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout).map((g: { id: string }) => g.id)).toEqual([groupId]);
    const [open] = await server.sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM sessions WHERE user_id = ${owner.userId} AND revoked_at IS NULL`;
    expect(open?.n).toBe(0);
  });

  test('says what to set without a person, and refuses a bad grant, an unknown group or workspace, and a member without the role, in one line each', async () => {
    const none = await groupsCli(['groups', 'list', '--org', org], {});
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('no person to sign in as: set OUTPOST_EMAIL and OUTPOST_PASSWORD');
    const wrong = await groupsCli(['groups', 'list', '--org', org], {
      OUTPOST_EMAIL: owner.email,
      OUTPOST_PASSWORD: 'not the password',
    });
    expect(wrong.code).toBe(3);
    expect(wrong.stderr).toMatch(/^error: cannot sign in as \S+: Unauthenticated\n/);
    expect(wrong.stderr).toContain('check OUTPOST_EMAIL and OUTPOST_PASSWORD');

    const ownerGrant = await groupsCli(['groups', 'roles', 'ML Engineers', '--org', org, '--grant', 'vision-team=owner']);
    expect(ownerGrant.code).toBe(2);
    expect(ownerGrant.stderr).toContain('a group never grants owner');
    const malformed = await groupsCli(['groups', 'roles', 'ML Engineers', '--org', org, '--grant', 'vision-team']);
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toContain('--grant takes <workspace>=<role>');
    const both = await groupsCli(['groups', 'roles', 'ML Engineers', '--org', org, '--grant', 'vision-team=viewer', '--clear']);
    expect(both.code).toBe(2);

    const unknown = await groupsCli(['groups', 'members', 'Nobody', '--org', org]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^error: cannot find the group "Nobody" in /);

    const elsewhere = await groupsCli(['groups', 'roles', 'ML Engineers', '--org', org, '--grant', 'no-such-team=viewer']);
    expect(elsewhere.code).toBe(1);
    expect(elsewhere.stderr).toContain('body.roles.0.workspace: no workspace of this organisation is named "no-such-team"');
    expect(elsewhere.stderr).not.toMatch(/\n\s+at /);

    // A person of the organisation without an organisation role reads no groups.
    const refused = await groupsCli(['groups', 'list', '--org', org], {
      OUTPOST_EMAIL: member.email,
      OUTPOST_PASSWORD: PASSWORD,
    });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('needs the organisation role "owner" or "admin" or "auditor"; yours is "member"');
  });
});
