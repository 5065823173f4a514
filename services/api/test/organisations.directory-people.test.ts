import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, test } from 'vitest';
import { useServer } from './helpers.js';
import { ORG, organisationOwner, organisationPeople, type Person, readPages } from './organisations.support.js';
import { minimalUser, type ScimClient } from './scim.support.js';
import { newEmail } from './users.support.js';

/*
 * The organisation's people and its directory's (docs/organisations.md): the people list comes a page
 * at a time; a directory that creates and deletes a person leaves no account behind when nobody used
 * it; and an owner can forget a person of the directory, taking what the directory gave them and
 * nothing given by hand, never leaving a workspace without an owner.
 */

let olive: Person;
let oliveScim: ScimClient;
let workspaces = 0;

async function newWorkspace(): Promise<string> {
  workspaces += 1;
  const slug = `people-w${workspaces}`;
  const created = await olive.in.mutate('POST', `${ORG}/workspaces`, { slug, name: slug });
  expect(created.status, created.text).toBe(201);
  return slug;
}

async function mappedGroup(memberIds: string[], slug: string, role: string): Promise<string> {
  const group = await oliveScim.post('/Groups', {
    displayName: `group ${randomUUID()}`,
    members: memberIds.map((value) => ({ value })),
  });
  expect(group.status, group.text).toBe(201);
  const id = (group.body as { id: string }).id;
  const mapped = await olive.in.mutate('PUT', `${ORG}/groups/${id}/roles`, { roles: [{ workspace: slug, role }] });
  expect(mapped.status, mapped.text).toBe(200);
  return id;
}

async function membershipIn(slug: string, userId: string): Promise<{ role: string; source: string } | null> {
  const [row] = await api.server.sql<{ role: string; source: string }[]>`
    SELECT m.role, m.source FROM memberships m JOIN workspaces w ON w.id = m.workspace_id
    WHERE w.slug = ${slug} AND m.user_id = ${userId}`;
  return row ?? null;
}

async function directoryRows(userId: string): Promise<{ users: number; groups: number }> {
  const [row] = await api.server.sql<{ users: number; groups: number }[]>`
    SELECT (SELECT count(*)::int FROM directory_users WHERE user_id = ${userId}) AS users,
           (SELECT count(*)::int FROM directory_group_members WHERE user_id = ${userId}) AS groups`;
  return row ?? { users: -1, groups: -1 };
}

async function accounts(): Promise<number> {
  const [row] = await api.server.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM users`;
  return row?.n ?? -1;
}

async function accountExists(userId: string): Promise<boolean> {
  const rows = await api.server.sql`SELECT 1 FROM users WHERE id = ${userId}`;
  return rows.length === 1;
}

const api = useServer();
const { person, organisationRoleOf } = organisationPeople(api, () => olive);

beforeAll(async () => {
  // The organisation proved it holds example.com, where every address of these tests is: its directory
  // makes the accounts of people who have none there.
  await api.server.sql`
    INSERT INTO organisation_domains (organisation_id, domain, token, verified_at)
    SELECT id, 'example.com', 'proven', now() FROM organisations WHERE slug = 'default'`;
  ({ olive, oliveScim } = await organisationOwner(api.server, api.owner));
});

describe("the organisation's people come a page at a time", () => {
  test('pages follow each other in the order people joined, each person once, until a page without a next cursor', async () => {
    // 130 more people than the organisation had, joining in one statement: the same moment, ordered by id.
    await api.server.sql`
      WITH made AS (
        INSERT INTO users (email, name)
        SELECT 'paged-' || lpad(i::text, 3, '0') || '@example.com', 'Paged ' || i FROM generate_series(1, 130) i
        RETURNING id
      )
      INSERT INTO organisation_members (organisation_id, user_id, role)
      SELECT (SELECT id FROM organisations WHERE slug = 'default'), id, 'member' FROM made`;
    const everyone = await api.server.sql<{ email: string }[]>`
      SELECT u.email FROM organisation_members om JOIN users u ON u.id = om.user_id
      JOIN organisations o ON o.id = om.organisation_id WHERE o.slug = 'default' ORDER BY om.created_at, om.user_id`;
    expect(everyone.length).toBeGreaterThan(130);

    const { items, pages, cursor } = await readPages(olive.in.call, `${ORG}/members`, 50, 20);
    const seen: string[] = items.map((p: { email: string }) => p.email);
    expect(cursor).toBeNull();
    expect(pages).toBe(Math.ceil(everyone.length / 50));
    expect(seen).toEqual(everyone.map((r) => r.email));
  });

  test('a page holds 50 people when no limit is named, and a limit over 200 or a cursor the API did not issue is a 400 naming the field', async () => {
    const first = await olive.in.call('GET', `${ORG}/members`);
    expect(first.status, first.text).toBe(200);
    expect(first.body.items).toHaveLength(50);
    expect(typeof first.body.nextCursor).toBe('string');

    const tooMany = await olive.in.call('GET', `${ORG}/members?limit=201`);
    expect(tooMany.status, tooMany.text).toBe(400);
    expect(tooMany.body.errors.map((e: { path: string }) => e.path)).toContain('query.limit');
    const forged = await olive.in.call('GET', `${ORG}/members?cursor=${Buffer.from('[1,2]').toString('base64url')}`);
    expect(forged.status, forged.text).toBe(400);
    expect(forged.body.errors.map((e: { path: string }) => e.path)).toContain('query.cursor');
  });
});

describe('a directory that creates and deletes people', () => {
  test('ten cycles of creating a person and deleting them leave no account, directory record, group place or membership behind', async () => {
    const slug = await newWorkspace();
    const group = await mappedGroup([], slug, 'viewer');
    const before = await accounts();
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) {
      const made = await oliveScim.post('/Users', minimalUser(newEmail('cycle')));
      expect(made.status, made.text).toBe(201);
      const id = (made.body as { id: string }).id;
      ids.push(id);
      const joined = await oliveScim.patch(`/Groups/${group}`, [{ op: 'add', path: 'members', value: [{ value: id }] }]);
      expect(joined.status, joined.text).toBe(200);
      expect(await membershipIn(slug, id)).toEqual({ role: 'viewer', source: 'directory' });
      expect(await accounts()).toBe(before + 1);
      const deleted = await oliveScim.delete(`/Users/${id}`);
      expect(deleted.status, deleted.text).toBe(204);
    }
    expect(await accounts()).toBe(before);
    const [left] = await api.server.sql<{ n: number }[]>`
      SELECT ((SELECT count(*) FROM users WHERE id = ANY(${ids}::uuid[]))
           + (SELECT count(*) FROM directory_users WHERE user_id = ANY(${ids}::uuid[]))
           + (SELECT count(*) FROM directory_group_members WHERE user_id = ANY(${ids}::uuid[]))
           + (SELECT count(*) FROM memberships WHERE user_id = ANY(${ids}::uuid[]))
           + (SELECT count(*) FROM organisation_members WHERE user_id = ANY(${ids}::uuid[])))::int AS n`;
    expect(left?.n).toBe(0);
  });

  test('an account its person made, or one the directory made that its person used, outlives the delete', async () => {
    const erin = await person('member');
    const linked = await oliveScim.post('/Users', minimalUser(erin.email));
    expect(linked.status, linked.text).toBe(201);
    expect((await oliveScim.delete(`/Users/${erin.userId}`)).status).toBe(204);
    expect(await accountExists(erin.userId)).toBe(true);

    const made = await oliveScim.post('/Users', minimalUser(newEmail('used')));
    expect(made.status, made.text).toBe(201);
    const id = (made.body as { id: string }).id;
    // As following an emailed link, or signing in with single sign-on, proves the address.
    await api.server.sql`UPDATE users SET email_verified_at = now() WHERE id = ${id}`;
    expect((await oliveScim.delete(`/Users/${id}`)).status).toBe(204);
    expect(await accountExists(id)).toBe(true);
    expect(await directoryRows(id)).toEqual({ users: 0, groups: 0 });
  });
});

describe('an owner forgets a person of the directory', () => {
  test("their directory record, groups and what the groups gave go, what was given by hand stays, their sessions end, and each workspace's log says so", async () => {
    const erin = await person('member');
    const linked = await oliveScim.post('/Users', minimalUser(erin.email));
    expect(linked.status, linked.text).toBe(201);
    const slug = await newWorkspace();
    await mappedGroup([erin.userId], slug, 'developer');
    expect(await membershipIn(slug, erin.userId)).toEqual({ role: 'developer', source: 'directory' });
    expect((await erin.in.call('GET', '/whoami')).status).toBe(200);

    const forgotten = await olive.in.mutate('DELETE', `${ORG}/directory/users/${erin.userId}`);
    expect(forgotten.status, forgotten.text).toBe(204);

    expect(await directoryRows(erin.userId)).toEqual({ users: 0, groups: 0 });
    expect(await membershipIn(slug, erin.userId)).toBeNull();
    expect(await membershipIn('default', erin.userId)).toEqual({ role: 'developer', source: 'direct' });
    expect(await organisationRoleOf(erin.userId)).toBe('member');
    expect(await accountExists(erin.userId)).toBe(true);
    expect((await erin.in.call('GET', '/whoami')).status).toBe(401);
    expect((await oliveScim.get(`/Users/${erin.userId}`)).status).toBe(404);

    const entries = await api.server.sql<{ action: string; actor_id: string }[]>`
      SELECT a.action, a.actor_id FROM audit_log a JOIN workspaces w ON w.id = a.workspace_id
      WHERE w.slug = ${slug} AND ${erin.userId} = ANY (a.object_ids)`;
    expect(entries.map((e) => [e.action, e.actor_id])).toContainEqual(['organisationDirectoryUserDelete', olive.userId]);
  });

  test('admins and auditors are refused and nothing changes; a person the directory does not hold is a 404', async () => {
    const bob = await person('admin');
    const ada = await person('auditor');
    const made = await oliveScim.post('/Users', minimalUser(newEmail('kept')));
    expect(made.status, made.text).toBe(201);
    const id = (made.body as { id: string }).id;
    for (const who of [bob, ada]) {
      const refused = await who.in.mutate('DELETE', `${ORG}/directory/users/${id}`);
      expect(refused.status, refused.text).toBe(403);
    }
    expect(await directoryRows(id)).toEqual({ users: 1, groups: 0 });
    expect(await organisationRoleOf(id)).toBe('member');

    const unknown = await olive.in.mutate('DELETE', `${ORG}/directory/users/${randomUUID()}`);
    expect(unknown.status, unknown.text).toBe(404);
    const notProvisioned = await olive.in.mutate('DELETE', `${ORG}/directory/users/${bob.userId}`);
    expect(notProvisioned.status, notProvisioned.text).toBe(404);
    expect(await organisationRoleOf(bob.userId)).toBe('admin');
  });

  test("a person whose account the directory made leaves the organisation, but not as a workspace's last owner: that is a 409 naming it, and nothing changes", async () => {
    const made = await oliveScim.post('/Users', minimalUser(newEmail('sole')));
    expect(made.status, made.text).toBe(201);
    const id = (made.body as { id: string }).id;
    const slug = await newWorkspace();
    expect((await olive.in.mutate('PUT', `${ORG}/workspaces/${slug}/members/${id}`, { role: 'owner' })).status).toBe(200);
    expect((await olive.in.mutate('DELETE', `${ORG}/workspaces/${slug}/members/${olive.userId}`)).status).toBe(204);

    const refused = await olive.in.mutate('DELETE', `${ORG}/directory/users/${id}`);
    expect(refused.status, refused.text).toBe(409);
    expect(refused.body.detail).toContain(`"${slug}"`);
    expect(await membershipIn(slug, id)).toEqual({ role: 'owner', source: 'direct' });
    expect(await directoryRows(id)).toEqual({ users: 1, groups: 0 });

    // Another owner first: then the person goes, and so does the account nobody ever used.
    expect((await olive.in.mutate('PUT', `${ORG}/workspaces/${slug}/members/${olive.userId}`, { role: 'owner' })).status).toBe(
      200,
    );
    const forgotten = await olive.in.mutate('DELETE', `${ORG}/directory/users/${id}`);
    expect(forgotten.status, forgotten.text).toBe(204);
    expect(await organisationRoleOf(id)).toBeNull();
    expect(await membershipIn(slug, id)).toBeNull();
    expect(await accountExists(id)).toBe(false);
  });
});
