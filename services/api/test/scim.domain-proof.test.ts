import { describe, expect, test } from 'vitest';
import { createOrganisationToken, type TestWorkspace } from '../src/testing/index.js';
import { client, type Reply, useServer } from './helpers.js';
import { createRequest, fresh, proveDomain, type ScimClient, scimClient, tourGuides } from './scim.support.js';
import { addPerson, confirmAddress, PASSWORD, type PersonSession, post, signInPerson } from './users.support.js';

/*
 * A directory (SCIM) makes or claims accounts only at addresses of domains its organisation proved
 * (organisation_domains.verified_at, by DNS); anyone else it provisions is a pending record that is
 * granted nothing until the person, signed in with that address proven, accepts. Its answers are the
 * same whether an account exists at such an address or not. And a person's sign-in telemetry (failed
 * attempts, with the caller's address and user agent) is recorded only in the workspace the attempt
 * was aimed at, never in another organisation that provisioned them. Real Postgres, the real app.
 */

interface Organisation {
  id: string;
  slug: string;
  /** Its first workspace, made with the organisation. */
  home: TestWorkspace & { slug: string };
  scim: ScimClient;
}

async function organisation(): Promise<Organisation> {
  const home = await api.server.createWorkspace();
  const [row] = await api.server.sql<{ id: string; slug: string; ws: string }[]>`
    SELECT o.id, o.slug, w.slug AS ws FROM workspaces w JOIN organisations o ON o.id = w.organisation_id
    WHERE w.id = ${home.workspaceId}`;
  if (!row) throw new Error('the workspace has no organisation');
  const token = await createOrganisationToken(api.server.sql, home.workspaceId, 'directory', ['scim']);
  return { id: row.id, slug: row.slug, home: { ...home, slug: row.ws }, scim: scimClient(api.server, row.slug, token) };
}

/** A group of the organisation's directory granting `role` in `workspaceId` (as its owners map it), then given these people. */
async function mappedGroup(org: Organisation, members: string[], workspaceId: string, role: string): Promise<string> {
  const made = await org.scim.post('/Groups', tourGuides(fresh('Readers'), []));
  expect(made.status, made.text).toBe(201);
  await api.server
    .sql`INSERT INTO directory_group_roles (group_id, workspace_id, role) VALUES (${made.body.id}, ${workspaceId}, ${role})`;
  const added = await org.scim.patch(`/Groups/${made.body.id}`, [
    { op: 'add', path: 'members', value: members.map((value) => ({ value })) },
  ]);
  expect(added.status, added.text).toBe(200);
  return made.body.id;
}

async function accountAt(email: string): Promise<{ id: string } | undefined> {
  const [row] = await api.server.sql<{ id: string }[]>`SELECT id FROM users WHERE email = ${email}`;
  return row;
}

/** The account's memberships in the organisation's workspaces: `role state source` by workspace id. */
async function membershipsIn(org: Organisation, userId: string): Promise<Record<string, string>> {
  const rows = await api.server.sql<{ workspace_id: string; role: string; state: string; source: string }[]>`
    SELECT m.workspace_id, m.role, m.state, m.source FROM memberships m JOIN workspaces w ON w.id = m.workspace_id
    WHERE m.user_id = ${userId} AND w.organisation_id = ${org.id}`;
  return Object.fromEntries(rows.map((r) => [r.workspace_id, `${r.role} ${r.state} ${r.source}`]));
}

async function organisationRole(org: Organisation, userId: string): Promise<string | null> {
  const [row] = await api.server.sql<{ role: string }[]>`
    SELECT role FROM organisation_members WHERE organisation_id = ${org.id} AND user_id = ${userId}`;
  return row?.role ?? null;
}

/** Another workspace of the organisation, as its admins make one. */
async function workspaceOf(org: Organisation, tag: string): Promise<{ id: string; slug: string }> {
  const slug = fresh(tag);
  const [made] = await api.server.sql<{ id: string }[]>`
    INSERT INTO workspaces (organisation_id, slug, name) VALUES (${org.id}, ${slug}, ${slug}) RETURNING id`;
  return { id: made?.id ?? '', slug };
}

/**
 * An organisation that proved `domain`, with another workspace (tagged `workspaceTag`), whose
 * directory then made the account of a new address there (tagged `tag`).
 */
async function provisionedInProvenDomain(domain: string, workspaceTag: string, tag: string) {
  const org = await organisation();
  await proveDomain(api.server, org.id, domain);
  const workspace = await workspaceOf(org, workspaceTag);
  const address = `${fresh(tag)}@${domain}`;
  const made = await org.scim.post('/Users', createRequest(fresh(tag), address));
  expect(made.status, made.text).toBe(201);
  return { org, workspace, address, made };
}

/** A verified account with a password, the person's own (an active member of a workspace of another organisation). */
async function ownAccount(email: string): Promise<{ userId: string; email: string; home: TestWorkspace }> {
  const home = await api.server.createWorkspace();
  const person = await addPerson(api.server, client(api.server, home.ownerKey), 'viewer', email);
  await confirmAddress(api.server, person);
  return { ...person, home };
}

/** The organisation's owner, signed in: the first owner of its first workspace owns it. */
async function ownerOf(org: Organisation): Promise<PersonSession> {
  const owner = await addPerson(api.server, client(api.server, org.home.ownerKey), 'owner', `${fresh('owner')}@owners.example`);
  await confirmAddress(api.server, owner);
  return signInPerson(api.server, owner.email, undefined, org.home.slug);
}

const api = useServer();

describe('outside the proven domains', () => {
  test("the reproduction: a squatter's directory makes no account for another company's address, and its group gives the real person nothing they did not accept", async () => {
    const squatter = await organisation();
    const target = await workspaceOf(squatter, 'squat');
    const address = `${fresh('ghost')}@corp.example`;

    const made = await squatter.scim.post('/Users', createRequest(fresh('ghost'), address));
    expect(made.status, made.text).toBe(201);
    expect(made.body.emails).toEqual([{ value: address, type: 'work', primary: true }]);
    // No account is made: the record is the directory's alone, known by an id of its own.
    expect(await accountAt(address)).toBeUndefined();
    const readers = await mappedGroup(squatter, [made.body.id], target.id, 'viewer');
    expect((await squatter.scim.get(`/Groups/${readers}`)).body.members.map((m: { value: string }) => m.value)).toEqual([
      made.body.id,
    ]);
    expect(await accountAt(address)).toBeUndefined();

    // Corp proves its domain, and its own directory provisions the real person: their account is made there.
    const corp = await organisation();
    await proveDomain(api.server, corp.id, 'corp.example');
    const corpWork = await workspaceOf(corp, 'corp-work');
    const real = await corp.scim.post('/Users', createRequest(fresh('real'), address));
    expect(real.status, real.text).toBe(201);
    const account = await accountAt(address);
    expect(real.body.id).toBe(account?.id);
    expect(await organisationRole(corp, real.body.id)).toBe('member');
    await mappedGroup(corp, [real.body.id], corpWork.id, 'developer');
    expect(await membershipsIn(corp, real.body.id)).toEqual({ [corpWork.id]: 'developer active directory' });

    // The squatter's group gives the real person nothing: no membership, not even an invitation, and no organisation role.
    expect(await membershipsIn(squatter, real.body.id)).toEqual({});
    expect(await organisationRole(squatter, real.body.id)).toBeNull();
    const [record] = await api.server.sql<{ pending_email: string | null; account_made: boolean }[]>`
      SELECT pending_email, account_made FROM directory_users WHERE organisation_id = ${squatter.id} AND user_id = ${made.body.id}`;
    expect(record).toEqual({ pending_email: address, account_made: false });

    // The person, their address proven, sees the offer and may leave it; accepting is theirs to do.
    await confirmAddress(api.server, { userId: real.body.id, email: address });
    const session = await signInPerson(api.server, address, PASSWORD, corpWork.slug);
    const offered = await session.call('GET', '/account/invitations');
    expect(offered.status, offered.text).toBe(200);
    expect(offered.body.items.map((i: { workspace: { id: string }; role: string }) => [i.workspace.id, i.role])).toEqual([
      [target.id, 'viewer'],
    ]);
    expect(await membershipsIn(squatter, real.body.id)).toEqual({});

    const accepted = await session.mutate('POST', `/account/invitations/${target.id}/accept`);
    expect(accepted.status, accepted.text).toBe(200);
    expect(accepted.body).toMatchObject({ workspace: { id: target.id }, role: 'viewer' });
    expect(await membershipsIn(squatter, real.body.id)).toEqual({ [target.id]: 'viewer active directory' });
    expect(await organisationRole(squatter, real.body.id)).toBe('member');
    // The directory still knows the person by the id it was given, and its groups now reach the account.
    const read = await squatter.scim.get(`/Users/${made.body.id}`);
    expect(read.status, read.text).toBe(200);
    expect(read.body.id).toBe(made.body.id);
    expect((await squatter.scim.get(`/Users/${real.body.id}`)).status).toBe(404);
    const out = await squatter.scim.patch(`/Groups/${readers}`, [{ op: 'remove', path: `members[value eq "${made.body.id}"]` }]);
    expect(out.status, out.text).toBe(200);
    expect(await membershipsIn(squatter, real.body.id)).toEqual({});
  });

  test('an account at an address outside the proven domains is neither made, linked nor changed, and its groups grant nothing', async () => {
    const org = await organisation();
    const team = await workspaceOf(org, 'team');
    const person = await ownAccount(`${fresh('own')}@elsewhere.example`);
    const before = await api.server.sql`SELECT * FROM users WHERE id = ${person.userId}`;

    const made = await org.scim.post('/Users', createRequest(fresh('own'), person.email));
    expect(made.status, made.text).toBe(201);
    expect(made.body.id).not.toBe(person.userId);
    await mappedGroup(org, [made.body.id], team.id, 'admin');

    expect(await api.server.sql`SELECT * FROM users WHERE id = ${person.userId}`).toEqual(before);
    expect(await membershipsIn(org, person.userId)).toEqual({});
    expect(await organisationRole(org, person.userId)).toBeNull();
    const [linked] = await api.server.sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM directory_users WHERE user_id = ${person.userId}`;
    expect(linked?.n).toBe(0);
    // Deactivating and deleting a pending person takes nothing from anyone.
    const off = await org.scim.patch(`/Users/${made.body.id}`, [{ op: 'replace', path: 'active', value: false }]);
    expect(off.status, off.text).toBe(200);
    expect((await org.scim.delete(`/Users/${made.body.id}`)).status).toBe(204);
    expect(await api.server.sql`SELECT * FROM users WHERE id = ${person.userId}`).toEqual(before);
    expect((await signInPerson(api.server, person.email)).reply.status).toBe(200);
  });

  test('someone who is already a person of the organisation is linked at any address: the organisation lists them anyway', async () => {
    const org = await organisation();
    const team = await workspaceOf(org, 'team');
    const member = await addPerson(
      api.server,
      client(api.server, org.home.ownerKey),
      'viewer',
      `${fresh('member')}@gmail.example`,
    );
    await confirmAddress(api.server, member);
    expect(await organisationRole(org, member.userId)).toBe('member');

    const made = await org.scim.post('/Users', createRequest(fresh('member'), member.email));
    expect(made.status, made.text).toBe(201);
    expect(made.body.id).toBe(member.userId);
    await mappedGroup(org, [member.userId], team.id, 'developer');
    expect(await membershipsIn(org, member.userId)).toMatchObject({ [team.id]: 'developer active directory' });
  });
});

describe('inside a proven domain', () => {
  test('the directory makes the account of a new address, which its groups make active at once, and links an existing one with invitations, as before', async () => {
    const { org, workspace: team, address, made } = await provisionedInProvenDomain('acme.example', 'team', 'new');
    expect(made.body.id).toBe((await accountAt(address))?.id);
    expect(await organisationRole(org, made.body.id)).toBe('member');

    const existing = await ownAccount(`${fresh('existing')}@acme.example`);
    const linked = await org.scim.post('/Users', createRequest(fresh('existing'), existing.email));
    expect(linked.status, linked.text).toBe(201);
    expect(linked.body.id).toBe(existing.userId);
    expect(await organisationRole(org, existing.userId)).toBeNull();

    await mappedGroup(org, [made.body.id, existing.userId], team.id, 'viewer');
    expect(await membershipsIn(org, made.body.id)).toEqual({ [team.id]: 'viewer active directory' });
    expect(await membershipsIn(org, existing.userId)).toEqual({ [team.id]: 'viewer invited directory' });
  });
});

describe('the same answer for an address with an account and one without', () => {
  /** What of an answer may differ between two people: the id, the names sent, the times. */
  function shape(res: Reply, userName: string, address: string): unknown {
    const text = res.text
      .replaceAll(res.body.id, '<id>')
      .replaceAll(userName, '<userName>')
      .replaceAll(address, '<address>')
      .replaceAll(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/g, '<time>');
    return {
      status: res.status,
      location: res.headers.get('location')?.replace(res.body.id, '<id>'),
      type: res.headers.get('content-type'),
      body: JSON.parse(text),
    };
  }

  test('POST /Users, a second POST of the address, reads, filters, what groups grant, the audit log and the organisation members list say nothing of whether an account exists', async () => {
    const org = await organisation();
    const team = await workspaceOf(org, 'team');
    const existing = await ownAccount(`${fresh('has-account')}@elsewhere.example`);
    const people = [
      { userName: fresh('with'), address: existing.email },
      { userName: fresh('without'), address: `${fresh('no-account')}@elsewhere.example` },
    ];

    const created = [];
    for (const p of people) created.push(await org.scim.post('/Users', createRequest(p.userName, p.address)));
    const [withAccount, withoutAccount] = created as [Reply, Reply];
    expect(withAccount.status, withAccount.text).toBe(201);
    const [one, other] = people as [{ userName: string; address: string }, { userName: string; address: string }];
    expect(shape(withAccount, one.userName, one.address)).toEqual(shape(withoutAccount, other.userName, other.address));
    expect(withAccount.body.id).not.toBe(existing.userId);

    // A second record of either address is the same 409.
    const again = [];
    for (const p of people) again.push(await org.scim.post('/Users', createRequest(fresh('again'), p.address)));
    expect(again.map((r) => r.status)).toEqual([409, 409]);
    const [detailWith, detailWithout] = again.map((r, i) =>
      r.body.detail.replace(people[i]?.address, '<address>').replace(people[i]?.userName, '<userName>'),
    );
    expect(detailWith).toBe(detailWithout);

    // Read, listed and filtered alike.
    const reads = [];
    for (const [i, made] of created.entries()) {
      const p = people[i] as { userName: string; address: string };
      reads.push(shape(await org.scim.get(`/Users/${made.body.id}`), p.userName, p.address));
      const found = await org.scim.get(`/Users?filter=${encodeURIComponent(`emails.value eq "${p.address}"`)}`);
      expect(found.body.Resources.map((r: { id: string }) => r.id)).toEqual([made.body.id]);
    }
    expect(reads[0]).toEqual(reads[1]);
    const listed = await org.scim.get('/Users');
    expect(listed.body.Resources.map((r: { id: string }) => r.id).sort()).toEqual(created.map((r) => r.body.id).sort());

    // Their group grants neither anything, and the audit entries of both read the same.
    await mappedGroup(
      org,
      created.map((r) => r.body.id),
      team.id,
      'developer',
    );
    expect(await membershipsIn(org, existing.userId)).toEqual({});
    const entries = await api.server.sql<{ status: number; summary: Record<string, unknown> }[]>`
      SELECT status, summary FROM audit_log
      WHERE action = 'scimUsersCreate' AND workspace_id = ${org.home.workspaceId}
        AND result_ids->>'userId' IN ${api.server.sql(created.map((r) => r.body.id as string))}`;
    const [entryWith, entryWithout] = entries.map((e) => ({ ...e, summary: { ...e.summary, userName: '<userName>' } }));
    expect(entries).toHaveLength(2);
    expect(entryWith).toEqual(entryWithout);

    // The organisation's people: neither is one (nobody accepted anything).
    const owner = await ownerOf(org);
    const members = await owner.call('GET', `/organisations/${org.slug}/members`);
    expect(members.status, members.text).toBe(200);
    const emails = members.body.items.map((m: { email: string }) => m.email);
    for (const p of people) expect(emails).not.toContain(p.address);
  });
});

describe("a person's sign-in telemetry", () => {
  test('a failed sign-in is recorded, with its user agent, only in the workspace it was aimed at; one aimed at none of several, and a failed password change, nowhere', async () => {
    // The person's employer proved its domain; its directory made their account and its group gives them a workspace.
    const {
      org: employer,
      workspace: provisioned,
      address,
      made,
    } = await provisionedInProvenDomain('tele.example', 'provisioned', 'tele');
    const userId: string = made.body.id;
    await mappedGroup(employer, [userId], provisioned.id, 'viewer');
    await confirmAddress(api.server, { userId, email: address });
    // And they work in a workspace of their own organisation, which invited them.
    const own = await api.server.createWorkspace();
    const [ownSlug] = await api.server.sql<{ slug: string }[]>`SELECT slug FROM workspaces WHERE id = ${own.workspaceId}`;
    const invited = await client(api.server, own.ownerKey)('POST', '/members', { body: { email: address, role: 'developer' } });
    expect(invited.status, invited.text).toBe(201);
    const session = await signInPerson(api.server, address, PASSWORD, provisioned.slug);
    expect((await session.mutate('POST', `/account/invitations/${own.workspaceId}/accept`)).status).toBe(200);

    const recorded = async (userAgent: string) =>
      api.server.sql<{ workspace_id: string; action: string; status: number; actor_kind: string }[]>`
        SELECT workspace_id, action, status, actor_kind FROM audit_log
        WHERE user_agent = ${userAgent} AND target_ids->>'userId' = ${userId}`;

    const aimed = `aimed-${fresh('ua')}`;
    const wrong = await post(
      api.server,
      '/auth/password',
      { email: address, password: 'not the password at all', workspace: ownSlug?.slug },
      {
        'user-agent': aimed,
      },
    );
    expect(wrong.status).toBe(401);
    expect(await recorded(aimed)).toEqual([
      { workspace_id: own.workspaceId, action: 'authPasswordSignIn', status: 401, actor_kind: 'anonymous' },
    ]);

    const unaimed = `unaimed-${fresh('ua')}`;
    const guess = await post(
      api.server,
      '/auth/password',
      { email: address, password: 'not the password at all' },
      { 'user-agent': unaimed },
    );
    expect(guess.status).toBe(401);
    expect(await recorded(unaimed)).toEqual([]);

    const elsewhere = `elsewhere-${fresh('ua')}`;
    const notTheirs = await post(
      api.server,
      '/auth/password',
      { email: address, password: 'not the password at all', workspace: employer.home.slug },
      { 'user-agent': elsewhere },
    );
    expect(notTheirs.status).toBe(401);
    expect(await recorded(elsewhere)).toEqual([]);

    const changing = `change-${fresh('ua')}`;
    const change = await post(
      api.server,
      '/auth/password/change',
      { email: address, currentPassword: 'not the password at all', newPassword: 'a brand new passphrase here' },
      { 'user-agent': changing },
    );
    expect(change.status).toBe(401);
    expect(await recorded(changing)).toEqual([]);

    // A sign-in is recorded where it opened, and nowhere else.
    const opened = `opened-${fresh('ua')}`;
    const signedIn = await post(
      api.server,
      '/auth/password',
      { email: address, password: PASSWORD, workspace: ownSlug?.slug },
      {
        'user-agent': opened,
      },
    );
    expect(signedIn.status, signedIn.text).toBe(200);
    expect(await recorded(opened)).toEqual([
      { workspace_id: own.workspaceId, action: 'authPasswordSignIn', status: 200, actor_kind: 'user' },
    ]);
  });

  test('an account with a single workspace has a failed attempt that names none recorded there, where such a sign-in opens', async () => {
    const home = await api.server.createWorkspace();
    const person = await addPerson(api.server, client(api.server, home.ownerKey), 'viewer', `${fresh('single')}@single.example`);
    const ua = `single-${fresh('ua')}`;
    const res = await post(
      api.server,
      '/auth/password',
      { email: person.email, password: 'not the password at all' },
      { 'user-agent': ua },
    );
    expect(res.status).toBe(401);
    const rows = await api.server.sql<{ workspace_id: string }[]>`SELECT workspace_id FROM audit_log WHERE user_agent = ${ua}`;
    expect(rows).toEqual([{ workspace_id: home.workspaceId }]);
  });
});
