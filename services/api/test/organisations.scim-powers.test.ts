import { beforeAll, describe, expect, test } from 'vitest';
import { generateOrganisationToken } from '../src/auth/api-key-format.js';
import { client, useServer } from './helpers.js';
import { ORG, organisationOwner, organisationPeople, type Person } from './organisations.support.js';
import { minimalUser, type ScimClient, scimClient } from './scim.support.js';

/*
 * An organisation token can do nothing its maker may not do by hand (docs/organisations.md): only
 * owners make `scim` tokens, a token stops when its maker loses the role that allowed it, the
 * directory's changes are judged by the maker's powers, and no path — by hand, SCIM Users, SCIM
 * Groups, a group's roles — leaves a workspace or the organisation without an owner.
 */

let olive: Person;
let oliveScim: ScimClient;
let workspaces = 0;

/** Links the person's existing account in the directory (as Okta does on assignment). */
async function provision(who: Person): Promise<void> {
  const linked = await oliveScim.post('/Users', minimalUser(who.email));
  expect(linked.status, linked.text).toBe(201);
  expect((linked.body as { id: string }).id).toBe(who.userId);
}

/** A new workspace of the organisation whose only owner is `dave` (its creator, Olive, leaves it). */
async function workspaceOwnedOnlyBy(dave: Person): Promise<string> {
  workspaces += 1;
  const slug = `team-x${workspaces}`;
  const created = await olive.in.mutate('POST', `${ORG}/workspaces`, { slug, name: slug });
  expect(created.status, created.text).toBe(201);
  const put = await olive.in.mutate('PUT', `${ORG}/workspaces/${slug}/members/${dave.userId}`, { role: 'owner' });
  expect(put.status, put.text).toBe(200);
  const left = await olive.in.mutate('DELETE', `${ORG}/workspaces/${slug}/members/${olive.userId}`);
  expect(left.status, left.text).toBe(204);
  expect(await ownersOf(slug)).toEqual([dave.userId]);
  return slug;
}

async function ownersOf(slug: string): Promise<string[]> {
  const rows = await api.server.sql<{ user_id: string }[]>`
    SELECT m.user_id FROM memberships m JOIN workspaces w ON w.id = m.workspace_id
    WHERE w.slug = ${slug} AND m.role = 'owner' AND m.state = 'active' ORDER BY m.user_id`;
  return rows.map((r) => r.user_id);
}

async function roleIn(slug: string, userId: string): Promise<string | null> {
  const [row] = await api.server.sql<{ role: string }[]>`
    SELECT m.role FROM memberships m JOIN workspaces w ON w.id = m.workspace_id
    WHERE w.slug = ${slug} AND m.user_id = ${userId} AND m.state = 'active'`;
  return row?.role ?? null;
}

async function revoked(tokenId: string): Promise<boolean> {
  const [row] = await api.server.sql<{ revoked: boolean }[]>`
    SELECT revoked_at IS NOT NULL AS revoked FROM organisation_tokens WHERE id = ${tokenId}`;
  return row?.revoked ?? false;
}

const deactivate = (scim: ScimClient, userId: string) =>
  scim.patch(`/Users/${userId}`, [{ op: 'replace', value: { active: false } }]);
const reactivate = (scim: ScimClient, userId: string) =>
  scim.patch(`/Users/${userId}`, [{ op: 'replace', value: { active: true } }]);

const api = useServer();
const { person, setOrganisationRole, scimTokenOf, organisationRoleOf } = organisationPeople(api, () => olive);

beforeAll(async () => {
  ({ olive, oliveScim } = await organisationOwner(api.server, api.owner));
});

describe('the organisation keeps an owner', () => {
  test('neither a token nor the hand takes the organisation from its only owner', async () => {
    const owners = await api.server.sql<{ user_id: string }[]>`
      SELECT om.user_id FROM organisation_members om JOIN organisations o ON o.id = om.organisation_id
      WHERE o.slug = 'default' AND om.role = 'owner'`;
    expect(owners.map((o) => o.user_id)).toEqual([olive.userId]);

    const byToken = await deactivate(oliveScim, olive.userId);
    expect(byToken.status, byToken.text).toBe(400);
    expect(byToken.body).toMatchObject({ scimType: 'mutability' });
    const deleted = await oliveScim.delete(`/Users/${olive.userId}`);
    expect(deleted.status, deleted.text).toBe(400);

    const demoted = await olive.in.mutate('PATCH', `${ORG}/members/${olive.userId}`, { role: 'admin' });
    expect(demoted.status, demoted.text).toBe(409);
    expect(await organisationRoleOf(olive.userId)).toBe('owner');
  });
});

describe('only owners make scim tokens', () => {
  test('an admin asking for a scim token is refused and no token is made, while an audit token is theirs to make', async () => {
    const bob = await person('admin');
    const asked = await bob.in.mutate('POST', `${ORG}/tokens`, { name: 'bob directory', scopes: ['scim', 'audit:read'] });
    expect(asked.status, asked.text).toBe(403);
    expect(asked.body.detail).toContain('"owner"');
    const [made] = await api.server.sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM organisation_tokens WHERE created_by = ${bob.userId}`;
    expect(made?.n).toBe(0);

    const audit = await bob.in.mutate('POST', `${ORG}/tokens`, { name: 'bob siem', scopes: ['audit:read'] });
    expect(audit.status, audit.text).toBe(201);
  });

  test("an admin's scim token from before the rule can do nothing: it is refused at every call", async () => {
    const bob = await person('admin');
    const carol = await person('admin');
    await provision(carol);
    const { key, hash, prefix } = generateOrganisationToken();
    await api.server.sql`
      INSERT INTO organisation_tokens (organisation_id, name, scopes, prefix, token_hash, created_by)
      SELECT organisation_id, 'bob made it before', ARRAY['scim'], ${prefix}, ${hash}, ${bob.userId}
      FROM workspaces WHERE slug = 'default'`;
    const bobs = scimClient(api.server, 'default', key);
    expect((await bobs.get('/Users')).status).toBe(401);
    expect((await deactivate(bobs, carol.userId)).status).toBe(401);
    expect(await organisationRoleOf(carol.userId)).toBe('admin');
  });
});

describe('a token never outranks its maker', () => {
  test('a token whose maker is demoted is revoked in the same change, and promoting them again does not bring it back', async () => {
    const mia = await person('owner');
    const { id, scim } = await scimTokenOf(mia);
    expect((await scim.get('/Users')).status).toBe(200);

    await setOrganisationRole(mia.userId, 'admin');
    expect(await revoked(id)).toBe(true);
    const refused = await scim.get('/Users');
    expect(refused.status, refused.text).toBe(401);

    await setOrganisationRole(mia.userId, 'owner');
    expect((await scim.get('/Users')).status).toBe(401);
  });

  test('an audit token outlives a demotion from owner to admin, and not one to auditor', async () => {
    const mia = await person('owner');
    const made = await mia.in.mutate('POST', `${ORG}/tokens`, { name: 'mia siem', scopes: ['audit:read'] });
    expect(made.status, made.text).toBe(201);
    const audit = client(api.server, made.body.token);
    const heads = () => audit('GET', `${ORG}/audit-log/heads`);
    expect((await heads()).status).toBe(200);
    await setOrganisationRole(mia.userId, 'admin');
    expect((await heads()).status).toBe(200);
    const changed = await olive.in.mutate('PATCH', `${ORG}/members/${mia.userId}`, { role: 'auditor' });
    expect(changed.status, changed.text).toBe(200);
    expect(await revoked(made.body.organisationToken.id)).toBe(true);
    expect((await heads()).status).toBe(401);
  });

  test("a token whose maker is removed from the organisation is revoked with the maker's keys", async () => {
    const mia = await person('owner');
    const { id, scim } = await scimTokenOf(mia);
    const removed = await olive.in.mutate('DELETE', `${ORG}/members/${mia.userId}`);
    expect(removed.status, removed.text).toBe(204);
    expect(await revoked(id)).toBe(true);
    expect((await scim.get('/Users')).status).toBe(401);
  });

  test('a maker the directory deactivated cannot reactivate themselves with their old token, even one whose revocation was undone', async () => {
    const mia = await person('owner');
    await provision(mia);
    const { id, scim } = await scimTokenOf(mia);
    // Another owner takes Mia's ownership, then the directory deactivates her.
    await setOrganisationRole(mia.userId, 'member');
    expect(await revoked(id)).toBe(true);
    const off = await deactivate(oliveScim, mia.userId);
    expect(off.status, off.text).toBe(200);

    expect((await reactivate(scim, mia.userId)).status).toBe(401);
    // As if some path forgot to revoke it: the maker's role is read at every call too.
    await api.server.sql`UPDATE organisation_tokens SET revoked_at = NULL WHERE id = ${id}`;
    const again = await reactivate(scim, mia.userId);
    expect(again.status, again.text).toBe(401);
    const [row] = await api.server.sql<{ active: boolean }[]>`SELECT active FROM directory_users WHERE user_id = ${mia.userId}`;
    expect(row?.active).toBe(false);
    expect(await organisationRoleOf(mia.userId)).toBeNull();
  });

  test("deprovisioning a token's maker through the directory revokes the token in the same transaction", async () => {
    const mia = await person('admin');
    await provision(mia);
    const made = await mia.in.mutate('POST', `${ORG}/tokens`, { name: 'mia usage', scopes: ['usage:read'] });
    expect(made.status, made.text).toBe(201);
    const off = await oliveScim.delete(`/Users/${mia.userId}`);
    expect(off.status, off.text).toBe(204);
    expect(await revoked(made.body.organisationToken.id)).toBe(true);
  });
});

describe('a workspace keeps its last owner, by every path', () => {
  test("the reproduction: the directory deprovisions an admin, but not a workspace's only owner, by PATCH, PUT or DELETE", async () => {
    const carol = await person('admin');
    const dave = await person('member');
    await provision(carol);
    await provision(dave);
    const slug = await workspaceOwnedOnlyBy(dave);

    // Olive, an owner, may remove an admin by hand: her token may too.
    const carolOff = await deactivate(oliveScim, carol.userId);
    expect(carolOff.status, carolOff.text).toBe(200);
    expect(await organisationRoleOf(carol.userId)).toBeNull();

    const patched = await deactivate(oliveScim, dave.userId);
    expect(patched.status, patched.text).toBe(409);
    expect((patched.body as { detail: string }).detail).toContain(`"${slug}"`);
    const put = await oliveScim.put(`/Users/${dave.userId}`, { ...minimalUser(dave.email), active: false });
    expect(put.status, put.text).toBe(409);
    const deleted = await oliveScim.delete(`/Users/${dave.userId}`);
    expect(deleted.status, deleted.text).toBe(409);
    expect((deleted.body as { detail: string }).detail).toContain(`"${slug}"`);

    expect(await ownersOf(slug)).toEqual([dave.userId]);
    const [row] = await api.server.sql<{ active: boolean }[]>`SELECT active FROM directory_users WHERE user_id = ${dave.userId}`;
    expect(row?.active).toBe(true);
  });

  test('by hand, the same removal and a demotion are refused with a 409 naming the workspace', async () => {
    const dave = await person('member');
    const slug = await workspaceOwnedOnlyBy(dave);
    const removed = await olive.in.mutate('DELETE', `${ORG}/members/${dave.userId}`);
    expect(removed.status, removed.text).toBe(409);
    expect(removed.body.detail).toContain(`"${slug}"`);
    const lowered = await olive.in.mutate('PUT', `${ORG}/workspaces/${slug}/members/${dave.userId}`, { role: 'admin' });
    expect(lowered.status, lowered.text).toBe(409);
    expect(await ownersOf(slug)).toEqual([dave.userId]);
  });

  test("no change of a group's members, roles or existence takes an owner's membership, even one marked as the directory's", async () => {
    const dave = await person('member');
    await provision(dave);
    const slug = await workspaceOwnedOnlyBy(dave);
    const group = await oliveScim.post('/Groups', { displayName: `owners of ${slug}`, members: [{ value: dave.userId }] });
    expect(group.status, group.text).toBe(201);
    const groupId = (group.body as { id: string }).id;
    const mapped = await olive.in.mutate('PUT', `${ORG}/groups/${groupId}/roles`, {
      roles: [{ workspace: slug, role: 'viewer' }],
    });
    expect(mapped.status, mapped.text).toBe(200);
    expect(await roleIn(slug, dave.userId)).toBe('owner');

    // A state no route makes: were an owner's membership ever the directory's, groups still leave it.
    await api.server.sql`
      UPDATE memberships SET source = 'directory'
      WHERE user_id = ${dave.userId} AND workspace_id = (SELECT id FROM workspaces WHERE slug = ${slug})`;
    const out = await oliveScim.patch(`/Groups/${groupId}`, [{ op: 'remove', path: `members[value eq "${dave.userId}"]` }]);
    expect(out.status, out.text).toBe(200);
    expect(await ownersOf(slug)).toEqual([dave.userId]);
    const unmapped = await olive.in.mutate('PUT', `${ORG}/groups/${groupId}/roles`, { roles: [] });
    expect(unmapped.status, unmapped.text).toBe(200);
    expect((await oliveScim.delete(`/Groups/${groupId}`)).status).toBe(204);
    expect(await ownersOf(slug)).toEqual([dave.userId]);
  });
});

describe("groups are staffed by the hand's rules", () => {
  test('an admin gives themselves no role through a group they are in, by hand or by mapping, while an owner may', async () => {
    const bob = await person('admin');
    const dave = await person('member');
    await provision(bob);
    const slug = await workspaceOwnedOnlyBy(dave);

    const byHand = await bob.in.mutate('PUT', `${ORG}/workspaces/${slug}/members/${bob.userId}`, { role: 'admin' });
    expect(byHand.status, byHand.text).toBe(403);

    const group = await oliveScim.post('/Groups', { displayName: `bob's friends ${slug}`, members: [{ value: bob.userId }] });
    expect(group.status, group.text).toBe(201);
    const groupId = (group.body as { id: string }).id;
    const roles = { roles: [{ workspace: slug, role: 'admin' }] };
    const byGroup = await bob.in.mutate('PUT', `${ORG}/groups/${groupId}/roles`, roles);
    expect(byGroup.status, byGroup.text).toBe(403);
    expect(await roleIn(slug, bob.userId)).toBeNull();

    const byOwner = await olive.in.mutate('PUT', `${ORG}/groups/${groupId}/roles`, roles);
    expect(byOwner.status, byOwner.text).toBe(200);
    expect(await roleIn(slug, bob.userId)).toBe('admin');
  });

  test("an admin changes, removes or raises no organisation owner's group-given role through a mapping, and the owner's role stays", async () => {
    const mia = await person('owner');
    const bob = await person('admin');
    const dave = await person('member');
    await provision(mia);
    const slug = await workspaceOwnedOnlyBy(dave);
    const group = await oliveScim.post('/Groups', { displayName: `mia's team ${slug}`, members: [{ value: mia.userId }] });
    expect(group.status, group.text).toBe(201);
    const path = `${ORG}/groups/${(group.body as { id: string }).id}/roles`;
    const given = await olive.in.mutate('PUT', path, { roles: [{ workspace: slug, role: 'developer' }] });
    expect(given.status, given.text).toBe(200);
    expect(await roleIn(slug, mia.userId)).toBe('developer');

    for (const roles of [[{ workspace: slug, role: 'viewer' }], [{ workspace: slug, role: 'admin' }], []]) {
      const changed = await bob.in.mutate('PUT', path, { roles });
      expect(changed.status, changed.text).toBe(403);
      expect(changed.body.detail).toContain('only an organisation owner');
      expect(await roleIn(slug, mia.userId)).toBe('developer');
    }
    const [mapping] = await api.server.sql<{ roles: string[] }[]>`
      SELECT coalesce(array_agg(role), '{}') AS roles FROM directory_group_roles WHERE group_id = ${(group.body as { id: string }).id}`;
    expect(mapping?.roles).toEqual(['developer']);

    // The same change by hand is refused to an admin too.
    const byHand = await bob.in.mutate('PUT', `${ORG}/workspaces/${slug}/members/${mia.userId}`, { role: 'viewer' });
    expect(byHand.status, byHand.text).toBe(403);
    const removed = await olive.in.mutate('PUT', path, { roles: [] });
    expect(removed.status, removed.text).toBe(200);
    expect(await roleIn(slug, mia.userId)).toBeNull();
  });

  test('an admin still maps a group that holds no owner or admin', async () => {
    const bob = await person('admin');
    const erin = await person('member');
    const dave = await person('member');
    await provision(erin);
    const slug = await workspaceOwnedOnlyBy(dave);
    const group = await oliveScim.post('/Groups', { displayName: `erin's team ${slug}`, members: [{ value: erin.userId }] });
    expect(group.status, group.text).toBe(201);
    const mapped = await bob.in.mutate('PUT', `${ORG}/groups/${(group.body as { id: string }).id}/roles`, {
      roles: [{ workspace: slug, role: 'developer' }],
    });
    expect(mapped.status, mapped.text).toBe(200);
    expect(await roleIn(slug, erin.userId)).toBe('developer');
  });
});

describe('after every path above', () => {
  test('every workspace and the organisation still have an owner', async () => {
    const ownerless = await api.server.sql<{ slug: string }[]>`
      SELECT w.slug FROM workspaces w
      WHERE NOT EXISTS (SELECT 1 FROM memberships m WHERE m.workspace_id = w.id AND m.role = 'owner' AND m.state = 'active')
        AND NOT EXISTS (SELECT 1 FROM api_keys k WHERE k.workspace_id = w.id AND k.role = 'owner' AND k.revoked_at IS NULL)`;
    expect(ownerless).toEqual([]);
    expect(workspaces).toBeGreaterThan(0);
    const [org] = await api.server.sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM organisation_members om JOIN organisations o ON o.id = om.organisation_id
      WHERE o.slug = 'default' AND om.role = 'owner'`;
    expect(org?.n).toBeGreaterThan(0);
  });
});
