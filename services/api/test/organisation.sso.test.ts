import { SSO_CLAIM_GROUPS_MAX } from '@outpost/sdk/contracts';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { startTestServer, TestDnsServer, TestOidcProvider, type TestServer } from '../src/testing/index.js';
import { type Call, client, organisationOf, type Reply } from './helpers.js';
import { browser, cookieValue } from './sessions.support.js';
import { addPerson, confirmAddress, newEmail, type PersonSession, signInPerson } from './users.support.js';

/*
 * The organisation's own single sign-on: one provider, set by its owners and admins, through which
 * its people sign in to any of its workspaces, its groups claim granting workspace roles beside the
 * directory's groups. It is trusted for the organisation's domains, for the organisation's people and
 * for the organisation's workspaces, and for nothing else.
 */

let server: TestServer;
let owner: Call;
let idp: TestOidcProvider;
/** The name server the API asks for the TXT records that prove domains. */
let dns: TestDnsServer;
let organisationId: string;
/** The organisation's owner, signed in with a password. */
let aliceIn: PersonSession;
let aliceEmail: string;
/** An auditor of the organisation. */
let bobIn: PersonSession;
/** An admin of the organisation. */
let carolIn: PersonSession;
/** A member of the organisation and nothing more. */
let daveIn: PersonSession;
/** Another organisation: its slug and the API key of its workspace's owner. */
let other: { slug: string; workspaceId: string; ownerKey: string };
const workspaceIds: Record<string, string> = {};
const SECRET_KEY = 'a server key of at least thirty-two characters';
const SSO = '/organisations/default/sso';

async function verifiedPerson(role: 'owner' | 'admin' | 'developer' | 'runner' | 'viewer', as: Call = owner) {
  const person = await addPerson(server, as, role);
  await confirmAddress(server, person);
  return person;
}

/**
 * A new owner of the other organisation, signed in, who sets that organisation's provider to the
 * test provider with `domains` allowed: their session and the domains as the reply lists them.
 */
async function otherOwnerListing(
  domains: string[],
): Promise<{ session: PersonSession; domains: { domain: string; recordName: string; recordValue: string }[] }> {
  const [row] = await server.sql<
    { organisation_id: string }[]
  >`SELECT organisation_id FROM workspaces WHERE id = ${other.workspaceId}`;
  const person = await verifiedPerson('owner', client(server, other.ownerKey));
  await server.sql`UPDATE organisation_members SET role = 'owner' WHERE organisation_id = ${row?.organisation_id ?? ''} AND user_id = ${person.userId}`;
  const session = await signInPerson(server, person.email);
  const theirs = await session.mutate('PUT', `/organisations/${other.slug}/sso`, {
    issuer: idp.issuer,
    clientId: idp.clientId,
    allowedDomains: domains,
  });
  expect(theirs.status, theirs.text).toBe(200);
  return { session, domains: theirs.body.domains };
}

/** Sets the organisation's provider (the test provider, a confidential client, addresses at example.com). */
async function configure(overrides: Record<string, unknown> = {}): Promise<Reply> {
  const res = await aliceIn.mutate('PUT', SSO, {
    issuer: idp.issuer,
    clientId: idp.clientId,
    clientSecret: idp.clientSecret,
    allowedDomains: ['example.com'],
    ...overrides,
  });
  expect(res.status, res.text).toBe(200);
  return res;
}

interface Outcome {
  location: string;
  session: PersonSession | null;
}

/** A browser's round trip through the organisation's provider: start, provider, callback. */
async function signInThroughOrganisation(query = '', org = 'default'): Promise<Outcome> {
  const start = await server.app.request(`/api/v1/auth/oidc/organisations/${org}/start${query}`);
  expect(start.status, await start.clone().text()).toBe(302);
  const state = cookieValue(start.headers.getSetCookie(), 'outpost_oidc') ?? '';
  const atProvider = await fetch(start.headers.get('location') ?? '', { redirect: 'manual' });
  const callback = new URL(atProvider.headers.get('location') ?? '');
  const back = await server.app.request(`${callback.pathname}${callback.search}`, {
    headers: { cookie: `outpost_oidc=${state}` },
  });
  expect(back.status).toBe(302);
  const cookies = back.headers.getSetCookie();
  const session = cookieValue(cookies, 'outpost_session');
  const csrf = cookieValue(cookies, 'outpost_csrf');
  const location = back.headers.get('location') ?? '';
  if (!session || !csrf) return { location, session: null };
  const cookie = `outpost_session=${session}; outpost_csrf=${csrf}`;
  const call = browser(server, cookie);
  return {
    location,
    session: {
      call,
      cookie,
      reply: { status: back.status, body: null, text: '', headers: back.headers } as Reply,
      mutate: (method, path, body) => call(method, path, { body, headers: { 'x-outpost-csrf': csrf } }),
    },
  };
}

async function membership(workspace: string, email: string): Promise<{ role: string; source: string; state: string } | null> {
  const [row] = await server.sql<{ role: string; source: string; state: string }[]>`
    SELECT m.role, m.source, m.state FROM memberships m JOIN users u ON u.id = m.user_id
    WHERE m.workspace_id = ${workspaceIds[workspace] ?? ''} AND u.email = ${email}`;
  return row ?? null;
}

async function organisationRoleOf(email: string): Promise<string | null> {
  const [row] = await server.sql<{ role: string }[]>`
    SELECT om.role FROM organisation_members om JOIN users u ON u.id = om.user_id
    WHERE om.organisation_id = ${organisationId} AND u.email = ${email}`;
  return row?.role ?? null;
}

beforeAll(async () => {
  idp = await new TestOidcProvider().start();
  dns = await new TestDnsServer().start();
  server = await startTestServer({ loops: false, secretKey: SECRET_KEY, dnsServers: [dns.address] });
  owner = client(server, server.ownerKey);
  const alice = await verifiedPerson('owner');
  aliceEmail = alice.email;
  aliceIn = await signInPerson(server, alice.email);
  for (const slug of ['team-a', 'team-b']) {
    const made = await aliceIn.mutate('POST', '/organisations/default/workspaces', { slug });
    expect(made.status, made.text).toBe(201);
    workspaceIds[slug] = made.body.id;
  }
  const [row] = await server.sql<{ organisation_id: string; id: string }[]>`
    SELECT organisation_id, id FROM workspaces WHERE slug = 'default'`;
  organisationId = row?.organisation_id ?? '';
  workspaceIds.default = row?.id ?? '';
  const bob = await verifiedPerson('viewer');
  expect((await aliceIn.mutate('PATCH', `/organisations/default/members/${bob.userId}`, { role: 'auditor' })).status).toBe(200);
  bobIn = await signInPerson(server, bob.email, undefined, 'default');
  const carol = await verifiedPerson('viewer');
  expect((await aliceIn.mutate('PATCH', `/organisations/default/members/${carol.userId}`, { role: 'admin' })).status).toBe(200);
  carolIn = await signInPerson(server, carol.email, undefined, 'default');
  const dave = await verifiedPerson('viewer');
  daveIn = await signInPerson(server, dave.email);
  // The organisation's provider is set, and example.com proven, before each test (beforeEach).

  const elsewhere = await server.createWorkspace();
  const { slug } = await organisationOf(server, elsewhere.workspaceId);
  other = { slug, workspaceId: elsewhere.workspaceId, ownerKey: elsewhere.ownerKey };
});
afterAll(async () => {
  await server?.close();
  await idp?.close();
  await dns?.close();
});

/** Serves a domain's TXT record, as its owner would add it at their DNS provider. */
async function publish(domain: { recordName: string; recordValue: string }): Promise<void> {
  dns.records.set(domain.recordName, [...(dns.records.get(domain.recordName) ?? []), domain.recordValue]);
}
/** Proves a domain the organisation lists: serves only its record and verifies it as the owner; the domain as listed. */
async function proveListed(name: string): Promise<{ recordName: string; recordValue: string }> {
  const domain = (await aliceIn.call('GET', SSO)).body.domains.find((d: { domain: string }) => d.domain === name);
  dns.records.set(domain.recordName, [domain.recordValue]);
  expect((await aliceIn.mutate('POST', `${SSO}/domains/${name}/verify`)).status).toBe(200);
  return domain;
}

beforeEach(async () => {
  idp.twist = {};
  idp.confidential = true;
  const set = await configure({ groupRoles: [], groupsClaim: 'groups' });
  // Turning single sign-on off forgets its domains' proofs: prove example.com again when it was.
  const domain = set.body.domains[0];
  if (!domain.verified) {
    await publish(domain);
    expect((await aliceIn.mutate('POST', `${SSO}/domains/example.com/verify`)).status).toBe(200);
  }
});

describe('settings', () => {
  test('owners set the provider and its mapping; admins and auditors read it without the secret; members are refused', async () => {
    const set = await configure({
      groupsClaim: 'roles',
      groupRoles: [
        { group: 'ml-platform', workspace: 'team-a', role: 'developer' },
        { group: 'ml-platform', workspace: 'team-b', role: 'viewer' },
      ],
    });
    expect(set.body).toMatchObject({
      issuer: idp.issuer,
      clientId: idp.clientId,
      hasClientSecret: true,
      allowedDomains: ['example.com'],
      groupsClaim: 'roles',
      redirectUri: `${server.url}/api/v1/auth/oidc/callback`,
      signInPath: '/api/v1/auth/oidc/organisations/default/start',
      groupRoles: [
        { group: 'ml-platform', workspace: 'team-a', role: 'developer' },
        { group: 'ml-platform', workspace: 'team-b', role: 'viewer' },
      ],
    });
    expect(JSON.stringify(set.body)).not.toContain(idp.clientSecret);
    const read = await bobIn.call('GET', SSO);
    expect(read.status).toBe(200);
    expect(read.body).toEqual(set.body);
    // Admins and auditors read; only owners change it (whoever runs the provider signs in as anyone,
    // owners included). A member of the organisation reads nothing.
    expect((await carolIn.call('GET', SSO)).body).toEqual(set.body);
    const byAdmin = await carolIn.mutate('PUT', SSO, { issuer: idp.issuer, clientId: 'x', allowedDomains: ['example.com'] });
    expect(byAdmin.status).toBe(403);
    expect((await carolIn.mutate('DELETE', SSO)).status).toBe(403);
    expect((await bobIn.mutate('PUT', SSO, { issuer: idp.issuer, clientId: 'x', allowedDomains: ['example.com'] })).status).toBe(
      403,
    );
    expect((await bobIn.mutate('DELETE', SSO)).status).toBe(403);
    expect((await daveIn.call('GET', SSO)).status).toBe(403);
    // Leaving out the mapping and the secret keeps them; the claim name stays what it was set to.
    const kept = await configure({ clientSecret: undefined });
    expect(kept.body).toMatchObject({ hasClientSecret: true, groupsClaim: 'roles' });
    expect(kept.body.groupRoles).toHaveLength(2);
  });

  test('settings are checked field by field, and a workspace of another organisation is as unknown as one of nobody', async () => {
    const bad = await aliceIn.mutate('PUT', SSO, {
      issuer: 'http://idp.example.com',
      clientId: '',
      allowedDomains: [],
      groupsClaim: 'with space',
      groupRoles: [{ group: 'a', workspace: 'team-a', role: 'owner' }],
    });
    expect(bad.status).toBe(400);
    const paths = bad.body.errors.map((e: { path: string }) => e.path).sort();
    expect(paths).toEqual(['body.allowedDomains', 'body.clientId', 'body.groupRoles.0.role', 'body.groupsClaim'].sort());
    // A group grants one role per workspace: a second grant for the same pair names the repeat.
    const twice = await aliceIn.mutate('PUT', SSO, {
      issuer: idp.issuer,
      clientId: idp.clientId,
      allowedDomains: ['example.com'],
      groupRoles: [
        { group: 'b', workspace: 'team-a', role: 'viewer' },
        { group: 'b', workspace: 'team-b', role: 'viewer' },
        { group: 'b', workspace: 'team-a', role: 'runner' },
      ],
    });
    expect(twice.status).toBe(400);
    expect(twice.body.errors.map((e: { path: string }) => e.path)).toEqual(['body.groupRoles.2.workspace']);
    const answers = [];
    for (const workspace of [other.slug, 'nobody-has-this-one']) {
      const res = await aliceIn.mutate('PUT', SSO, {
        issuer: idp.issuer,
        clientId: idp.clientId,
        allowedDomains: ['example.com'],
        groupRoles: [{ group: 'g', workspace, role: 'viewer' }],
      });
      expect(res.status).toBe(400);
      expect(res.body.errors.map((e: { path: string }) => e.path)).toEqual(['body.groupRoles.0.workspace']);
      answers.push(res.body.errors[0].message.replace(workspace, 'X'));
    }
    expect(answers[0]).toBe(answers[1]);
    const plain = await aliceIn.mutate('PUT', SSO, {
      issuer: 'http://idp.example.com',
      clientId: 'c',
      allowedDomains: ['example.com'],
    });
    expect(plain.status).toBe(400);
    expect(plain.body.errors.map((e: { path: string }) => e.path)).toEqual(['body.issuer']);
  });

  test('another organisation reads and changes nothing of it: its people get the 404 of an unknown organisation', async () => {
    const outsider = await verifiedPerson('owner', client(server, other.ownerKey));
    const outsiderIn = await signInPerson(server, outsider.email);
    expect((await outsiderIn.call('GET', SSO)).status).toBe(404);
    expect((await outsiderIn.mutate('DELETE', SSO)).status).toBe(404);
    // Their own organisation, which has no single sign-on, reads as off.
    const own = await outsiderIn.call('GET', `/organisations/${other.slug}/sso`);
    expect(own.status).toBe(200);
    expect(own.body).toBeNull();
  });
});

describe('signing in', () => {
  test('a first sign-in makes the account, one of the organisation, with what its groups grant, in the workspace asked for', async () => {
    await configure({
      groupRoles: [
        { group: 'ml-platform', workspace: 'team-a', role: 'developer' },
        { group: 'readers', workspace: 'team-a', role: 'viewer' },
        { group: 'readers', workspace: 'team-b', role: 'viewer' },
      ],
    });
    const email = newEmail('newcomer');
    idp.person = {
      sub: `sub-${email}`,
      email,
      emailVerified: true,
      name: 'New Comer',
      groups: ['ml-platform', 'readers', 'unmapped'],
    };
    const outcome = await signInThroughOrganisation('?workspace=team-b&returnTo=%2Fruns');
    expect(outcome.location).toBe('/#/runs');
    const who = await outcome.session?.call('GET', '/whoami');
    expect(who?.body).toMatchObject({ workspace: { slug: 'team-b' }, principal: { kind: 'session', role: 'viewer' } });
    // The highest role of the person's groups, made by the groups (never by hand), and the organisation's member.
    expect(await membership('team-a', email)).toEqual({ role: 'developer', source: 'directory', state: 'active' });
    expect(await membership('team-b', email)).toEqual({ role: 'viewer', source: 'directory', state: 'active' });
    expect(await membership('default', email)).toBeNull();
    expect(await organisationRoleOf(email)).toBe('member');
    const [account] = await server.sql<{ verified: boolean; password: boolean }[]>`
      SELECT email_verified_at IS NOT NULL AS verified, password_hash IS NOT NULL AS password FROM users WHERE email = ${email}`;
    expect(account).toEqual({ verified: true, password: false });
    // The code was exchanged with the secret the organisation stored.
    expect(idp.tokenRequests.at(-1)?.authorization).toMatch(/^Basic /);
  });

  test('without a workspace asked for, the session opens the first workspace open to the person; a workspace elsewhere is ignored', async () => {
    await configure({ groupRoles: [{ group: 'b-team', workspace: 'team-b', role: 'runner' }] });
    const email = newEmail('first');
    idp.person = { sub: `sub-${email}`, email, emailVerified: true, groups: 'b-team' };
    const outcome = await signInThroughOrganisation(`?workspace=${other.slug}`);
    const who = await outcome.session?.call('GET', '/whoami');
    expect(who?.body).toMatchObject({ workspace: { slug: 'team-b' }, principal: { role: 'runner' } });
  });

  test.each([
    ['an unverified address', { emailVerified: false }],
    ['an address outside the allowed domains', { email: 'someone@elsewhere.org' }],
    ['groups that grant nothing', { groups: ['unmapped'] }],
    ['no groups claim at all', { groups: undefined }],
  ])('%s opens no session and makes no account', async (_what, change) => {
    await configure({ groupRoles: [{ group: 'ml-platform', workspace: 'team-a', role: 'viewer' }] });
    const email = newEmail('refused');
    idp.person = { sub: `sub-${email}`, email, emailVerified: true, groups: ['ml-platform'], ...change };
    const outcome = await signInThroughOrganisation();
    expect(outcome.location).toBe('/#/sign-in?error=sso_not_member');
    expect(outcome.session).toBeNull();
    const address = (idp.person.email ?? email).toLowerCase();
    expect(await server.sql`SELECT 1 FROM users WHERE email = ${address}`).toHaveLength(0);
  });

  test('a groups claim longer than the bound is refused whole, and values too long to map are left out', async () => {
    await configure({ groupRoles: [{ group: 'ml-platform', workspace: 'team-a', role: 'viewer' }] });
    const email = newEmail('many');
    const many = Array.from({ length: SSO_CLAIM_GROUPS_MAX + 1 }, (_, i) => `g${i}`);
    idp.person = { sub: `sub-${email}`, email, emailVerified: true, groups: ['ml-platform', ...many] };
    expect((await signInThroughOrganisation()).location).toBe('/#/sign-in?error=sso_rejected');
    idp.person = { sub: `sub-${email}`, email, emailVerified: true, groups: ['ml-platform', 'x'.repeat(300), 7, null] };
    expect((await signInThroughOrganisation()).session).not.toBeNull();
    const stored = await server.sql<{ group_value: string }[]>`
      SELECT g.group_value FROM organisation_sso_groups g JOIN users u ON u.id = g.user_id WHERE u.email = ${email}`;
    expect(stored.map((r) => r.group_value)).toEqual(['ml-platform']);
  });

  test('an account made elsewhere is not taken over by the address the provider asserts; once its person joins, the provider opens it', async () => {
    await configure({ groupRoles: [{ group: 'ml-platform', workspace: 'team-a', role: 'developer' }] });
    // Someone with an account of their own, in another organisation, at an address of the allowed domain.
    const outsider = await verifiedPerson('owner', client(server, other.ownerKey));
    idp.person = { sub: `sub-${outsider.email}`, email: outsider.email, emailVerified: true, groups: ['ml-platform'] };
    const refused = await signInThroughOrganisation();
    expect(refused.location).toBe('/#/sign-in?error=sso_not_member');
    expect(await membership('team-a', outsider.email)).toBeNull();
    expect(await server.sql`SELECT 1 FROM user_identities WHERE user_id = ${outsider.userId}`).toHaveLength(0);

    // Invited to the organisation and accepting with their own password makes them one of its people.
    const invited = await owner('POST', '/members', { body: { email: outsider.email, role: 'viewer' } });
    expect(invited.body.outcome).toBe('invited');
    const own = await signInPerson(server, outsider.email);
    expect((await own.mutate('POST', `/account/invitations/${workspaceIds.default}/accept`)).status).toBe(200);
    const opened = await signInThroughOrganisation('?workspace=team-a');
    const who = await opened.session?.call('GET', '/whoami');
    expect(who?.body).toMatchObject({ workspace: { slug: 'team-a' }, principal: { role: 'developer' } });
  });
});

describe('domains', () => {
  test('a domain signs nobody in until its TXT record proves it, and then one organisation alone holds it', async () => {
    await configure({
      allowedDomains: ['example.com', 'acme.example'],
      groupRoles: [{ group: 'ml-platform', workspace: 'team-a', role: 'viewer' }],
    });
    const before = await aliceIn.call('GET', SSO);
    const acme = before.body.domains.find((d: { domain: string }) => d.domain === 'acme.example');
    expect(acme).toMatchObject({ verified: false, verifiedAt: null, recordName: '_outpost-challenge.acme.example' });
    expect(acme.recordValue).toMatch(/^outpost-domain-verification=[A-Za-z0-9_-]{20,}$/);
    // The domain that was proven stays proven with its token when the list is set again.
    expect(before.body.domains.find((d: { domain: string }) => d.domain === 'example.com')).toMatchObject({ verified: true });

    const email = newEmail('acme').replace('@example.com', '@acme.example');
    idp.person = { sub: `sub-${email}`, email, emailVerified: true, groups: ['ml-platform'] };
    expect((await signInThroughOrganisation()).location).toBe('/#/sign-in?error=sso_not_member');
    expect(await server.sql`SELECT 1 FROM users WHERE email = ${email}`).toHaveLength(0);

    // Without the record, or with another value, proving fails and says what to publish where.
    dns.records.set('_outpost-challenge.acme.example', ['outpost-domain-verification=someone-elses']);
    const early = await aliceIn.mutate('POST', `${SSO}/domains/acme.example/verify`);
    expect(early.status).toBe(409);
    expect(early.body.detail).toContain('_outpost-challenge.acme.example');
    expect(early.body.detail).toContain(acme.recordValue);
    expect((await daveIn.mutate('POST', `${SSO}/domains/acme.example/verify`)).status).toBe(403);
    expect((await aliceIn.mutate('POST', `${SSO}/domains/unlisted.example/verify`)).status).toBe(404);

    await publish(acme);
    const proven = await aliceIn.mutate('POST', `${SSO}/domains/acme.example/verify`);
    expect(proven.status, proven.text).toBe(200);
    expect(proven.body.domains.find((d: { domain: string }) => d.domain === 'acme.example')).toMatchObject({ verified: true });
    expect((await signInThroughOrganisation()).session).not.toBeNull();

    // Another organisation lists the same domain: it proves nothing while this one holds it.
    const { session: rivalIn, domains: theirs } = await otherOwnerListing(['acme.example']);
    await publish(theirs[0]!);
    const taken = await rivalIn.mutate('POST', `/organisations/${other.slug}/sso/domains/acme.example/verify`);
    expect(taken.status).toBe(409);
    expect(taken.body.detail).toMatch(/another organisation holds acme.example/);
  });
});

describe('domains changing hands', () => {
  test('a domain whose holder no longer serves its record passes to the organisation that proves it; one taken out of the list takes its people’s groups with it', async () => {
    await configure({
      allowedDomains: ['example.com', 'beta.example'],
      groupRoles: [{ group: 'beta-team', workspace: 'team-a', role: 'runner' }],
    });
    const beta = await proveListed('beta.example');
    const email = newEmail('beta').replace('@example.com', '@beta.example');
    idp.person = { sub: `sub-${email}`, email, emailVerified: true, groups: ['beta-team'] };
    expect((await signInThroughOrganisation()).session).not.toBeNull();
    expect(await membership('team-a', email)).toMatchObject({ role: 'runner' });

    // The domain is sold: its new holder serves only its own record, and proves it.
    const { session: buyerIn, domains: theirs } = await otherOwnerListing(['beta.example']);
    // While both records are served, the holder keeps it.
    dns.records.set(beta.recordName, [beta.recordValue, theirs[0]!.recordValue]);
    const held = await buyerIn.mutate('POST', `/organisations/${other.slug}/sso/domains/beta.example/verify`);
    expect(held.status).toBe(409);
    dns.records.set(beta.recordName, [theirs[0]!.recordValue]);
    const taken = await buyerIn.mutate('POST', `/organisations/${other.slug}/sso/domains/beta.example/verify`);
    expect(taken.status, taken.text).toBe(200);
    expect(taken.body.domains[0]).toMatchObject({ domain: 'beta.example', verified: true });
    // The seller's provider no longer signs in that domain, and what its groups gave there is gone.
    const ours = (await aliceIn.call('GET', SSO)).body.domains.find((d: { domain: string }) => d.domain === 'beta.example');
    expect(ours.verified).toBe(false);
    expect(await membership('team-a', email)).toBeNull();
    expect((await signInThroughOrganisation()).location).toBe('/#/sign-in?error=sso_not_member');

    // Taking a domain out of the list forgets the groups of its people, and what they granted.
    await configure({
      allowedDomains: ['example.com', 'gamma.example'],
      groupRoles: [{ group: 'g', workspace: 'team-b', role: 'viewer' }],
    });
    await proveListed('gamma.example');
    const gammaEmail = newEmail('gamma').replace('@example.com', '@gamma.example');
    idp.person = { sub: `sub-${gammaEmail}`, email: gammaEmail, emailVerified: true, groups: ['g'] };
    expect((await signInThroughOrganisation()).session).not.toBeNull();
    await configure({ allowedDomains: ['example.com'] });
    expect(await membership('team-b', gammaEmail)).toBeNull();
  });

  test('settings read before another owner changed them are refused rather than put back', async () => {
    const read = (await aliceIn.call('GET', SSO)).body;
    await configure({ clientId: `${idp.clientId}-rotated` });
    const stale = await aliceIn.mutate('PUT', SSO, {
      issuer: read.issuer,
      clientId: read.clientId,
      allowedDomains: read.allowedDomains,
      expectedUpdatedAt: read.updatedAt,
      groupRoles: [],
    });
    expect(stale.status).toBe(409);
    expect(stale.body.detail).toMatch(/changed since these settings were read/);
    expect((await aliceIn.call('GET', SSO)).body.clientId).toBe(`${idp.clientId}-rotated`);
  });
});

describe('the session it opens is confined to the organisation', () => {
  test('it moves among the organisation’s workspaces and acts on the organisation, and knows nothing of another', async () => {
    await configure({
      groupRoles: [
        { group: 'both', workspace: 'team-a', role: 'viewer' },
        { group: 'both', workspace: 'team-b', role: 'viewer' },
      ],
    });
    // A person of both organisations: the other one's owner, invited here and accepted with a password.
    const both = await verifiedPerson('owner', client(server, other.ownerKey));
    await owner('POST', '/members', { body: { email: both.email, role: 'viewer' } });
    const own = await signInPerson(server, both.email);
    expect((await own.mutate('POST', `/account/invitations/${workspaceIds.default}/accept`)).status).toBe(200);
    // Another workspace of the other organisation invites them: its invitation is not this session's business.
    const third = await server.createWorkspace();
    await client(server, third.ownerKey)('POST', '/members', { body: { email: both.email, role: 'viewer' } });

    idp.person = { sub: `sub-${both.email}`, email: both.email, emailVerified: true, groups: ['both'] };
    const { session } = await signInThroughOrganisation('?workspace=team-a');
    if (!session) throw new Error('no session opened');
    const moved = await session.mutate('POST', '/auth/session/workspace', { workspace: 'team-b' });
    expect(moved.status, moved.text).toBe(200);
    expect(moved.body.workspace.slug).toBe('team-b');
    const cookies = moved.headers.getSetCookie();
    const next = browser(
      server,
      `outpost_session=${cookieValue(cookies, 'outpost_session')}; outpost_csrf=${cookieValue(cookies, 'outpost_csrf')}`,
    );
    const csrf = cookieValue(cookies, 'outpost_csrf') ?? '';
    const [stored] = await server.sql<{ opened_by: string }[]>`
      SELECT opened_by FROM sessions WHERE user_id = ${both.userId} AND revoked_at IS NULL ORDER BY created_at DESC LIMIT 1`;
    expect(stored?.opened_by).toBe('organisation-sign-on');
    // The other organisation's workspace is unknown to it, as is the other organisation itself.
    const away = await next('POST', '/auth/session/workspace', {
      body: { workspace: other.slug },
      headers: { 'x-outpost-csrf': csrf },
    });
    expect(away.status).toBe(404);
    const listed = await next('GET', '/organisations');
    expect(listed.body.items.map((o: { slug: string }) => o.slug)).toEqual(['default']);
    expect((await next('GET', `/organisations/${other.slug}`)).status).toBe(404);
    expect((await next('GET', '/organisations/default')).status).toBe(200);
    // Invitations elsewhere are neither listed nor accepted from here, and no workspace is made.
    const invitations = await next('GET', '/account/invitations');
    expect(invitations.body.items).toEqual([]);
    const accept = await next('POST', `/account/invitations/${third.workspaceId}/accept`, {
      headers: { 'x-outpost-csrf': csrf },
    });
    expect(accept.status).toBe(404);
    const made = await next('POST', '/workspaces', { body: { slug: `side-${Date.now()}` }, headers: { 'x-outpost-csrf': csrf } });
    expect(made.status).toBe(403);
  });
});

describe('changes of the mapping', () => {
  test('a changed mapping applies at once to everyone who signed in; turning single sign-on off ends what it granted and its sessions', async () => {
    await configure({ groupRoles: [{ group: 'ml-platform', workspace: 'team-a', role: 'developer' }] });
    const email = newEmail('mapped');
    idp.person = { sub: `sub-${email}`, email, emailVerified: true, groups: ['ml-platform'] };
    const { session } = await signInThroughOrganisation();
    if (!session) throw new Error('no session opened');
    expect(await membership('team-a', email)).toMatchObject({ role: 'developer' });

    await configure({
      groupRoles: [
        { group: 'ml-platform', workspace: 'team-a', role: 'runner' },
        { group: 'ml-platform', workspace: 'team-b', role: 'viewer' },
      ],
    });
    expect(await membership('team-a', email)).toMatchObject({ role: 'runner', source: 'directory' });
    expect(await membership('team-b', email)).toMatchObject({ role: 'viewer', source: 'directory' });
    // What the groups grant is the mapping's to change: by hand it is a 409 that says where.
    const [person] = await server.sql<{ id: string }[]>`SELECT id FROM users WHERE email = ${email}`;
    const byHand = await aliceIn.mutate('DELETE', `/organisations/default/workspaces/team-a/members/${person?.id}`);
    expect(byHand.status).toBe(409);
    expect(byHand.body.detail).toMatch(/single sign-on/);
    // Each workspace whose people changed records who changed the mapping.
    const audited = await server.sql`
      SELECT 1 FROM audit_log WHERE workspace_id = ${workspaceIds['team-b'] ?? ''} AND action = 'organisationSsoPut'`;
    expect(audited.length).toBeGreaterThan(0);

    expect((await aliceIn.mutate('DELETE', SSO)).status).toBe(204);
    expect(await membership('team-a', email)).toBeNull();
    expect(await membership('team-b', email)).toBeNull();
    expect((await session.call('GET', '/whoami')).status).toBe(401);
    const off = await aliceIn.call('GET', SSO);
    expect(off.status).toBe(200);
    expect(off.body).toBeNull();
    // With the provider gone, its start is the 404 of an organisation without single sign-on.
    const start = await server.app.request('/api/v1/auth/oidc/organisations/default/start', { headers: { accept: 'text/html' } });
    expect(start.status).toBe(302);
    expect(start.headers.get('location')).toBe('/#/sign-in?error=sso_off');
  });

  test('a person removed from the organisation keeps nothing a later mapping would grant', async () => {
    await configure({ groupRoles: [{ group: 'leavers', workspace: 'team-a', role: 'viewer' }] });
    const email = newEmail('leaver');
    idp.person = { sub: `sub-${email}`, email, emailVerified: true, groups: ['leavers'] };
    expect((await signInThroughOrganisation()).session).not.toBeNull();
    const [person] = await server.sql<{ id: string }[]>`SELECT id FROM users WHERE email = ${email}`;
    const removed = await aliceIn.mutate('DELETE', `/organisations/default/members/${person?.id}`);
    expect(removed.status, removed.text).toBe(204);
    await configure({ groupRoles: [{ group: 'leavers', workspace: 'team-b', role: 'admin' }] });
    expect(await membership('team-b', email)).toBeNull();
    // Signing in again does not bring them back: they are outside the organisation now.
    expect((await signInThroughOrganisation()).location).toBe('/#/sign-in?error=sso_not_member');
  });
});

describe('what the provider vouched for, over time', () => {
  test('a mapping that leaves a person no workspace keeps them the organisation’s, and a later one gives them workspaces again', async () => {
    await configure({ groupRoles: [{ group: 'seasonal', workspace: 'team-a', role: 'runner' }] });
    const email = newEmail('seasonal');
    idp.person = { sub: `sub-${email}`, email, emailVerified: true, groups: ['seasonal'] };
    expect((await signInThroughOrganisation()).session).not.toBeNull();
    await configure({ groupRoles: [] });
    expect(await membership('team-a', email)).toBeNull();
    expect(await organisationRoleOf(email)).toBe('member');
    await configure({ groupRoles: [{ group: 'seasonal', workspace: 'team-b', role: 'viewer' }] });
    expect(await membership('team-b', email)).toEqual({ role: 'viewer', source: 'directory', state: 'active' });
    expect((await signInThroughOrganisation()).session).not.toBeNull();
  });

  test('a sign-in whose groups no longer open a workspace is refused, and what they stopped granting is gone', async () => {
    await configure({ groupRoles: [{ group: 'project-x', workspace: 'team-a', role: 'developer' }] });
    const email = newEmail('moved-on');
    idp.person = { sub: `sub-${email}`, email, emailVerified: true, groups: ['project-x'] };
    expect((await signInThroughOrganisation()).session).not.toBeNull();
    expect(await membership('team-a', email)).toMatchObject({ role: 'developer' });
    // Left the group at the provider: the next sign-in takes the role away, then finds nothing to open.
    idp.person = { sub: `sub-${email}`, email, emailVerified: true, groups: [] };
    expect((await signInThroughOrganisation()).location).toBe('/#/sign-in?error=sso_not_member');
    expect(await membership('team-a', email)).toBeNull();
  });

  test('another provider ends the sessions the old one opened and forgets the groups it listed', async () => {
    await configure({ groupRoles: [{ group: 'ml-platform', workspace: 'team-a', role: 'viewer' }] });
    const email = newEmail('old-provider');
    idp.person = { sub: `sub-${email}`, email, emailVerified: true, groups: ['ml-platform'] };
    const { session } = await signInThroughOrganisation();
    if (!session) throw new Error('no session opened');
    // A password session of the owner is not the provider's, and outlives the change.
    const changed = await configure({ clientId: `${idp.clientId}-next`, clientSecret: null });
    expect(changed.body.clientId).toBe(`${idp.clientId}-next`);
    expect((await session.call('GET', '/whoami')).status).toBe(401);
    expect(await membership('team-a', email)).toBeNull();
    expect((await aliceIn.call('GET', SSO)).status).toBe(200);
    // Every workspace of the organisation records the change, with what it set.
    const [entry] = await server.sql<{ summary: { clientId: string; sessionsEnded: number } }[]>`
      SELECT summary FROM audit_log WHERE workspace_id = ${workspaceIds['team-b'] ?? ''} AND action = 'organisationSsoPut'
      ORDER BY id DESC LIMIT 1`;
    expect(entry?.summary).toMatchObject({ clientId: `${idp.clientId}-next`, sessionsEnded: 1 });
  });
});

describe("a workspace's own provider", () => {
  test('never grants roles from groups, in its workspace or any other', async () => {
    await configure({ groupRoles: [{ group: 'ml-platform', workspace: 'team-a', role: 'admin' }] });
    // The owner of team-b (its maker) gives team-b a provider of its own, with a default role.
    const inTeamB = await signInPerson(server, aliceEmail, undefined, 'team-b');
    const set = await inTeamB.mutate('PUT', '/sso/oidc', {
      issuer: idp.issuer,
      clientId: idp.clientId,
      clientSecret: idp.clientSecret,
      defaultRole: 'viewer',
      allowedDomains: ['example.com'],
    });
    expect(set.status, set.text).toBe(200);

    const email = newEmail('workspace-sso');
    idp.person = { sub: `sub-${email}`, email, emailVerified: true, groups: ['ml-platform'] };
    const start = await server.app.request('/api/v1/auth/oidc/team-b/start');
    const state = cookieValue(start.headers.getSetCookie(), 'outpost_oidc') ?? '';
    const atProvider = await fetch(start.headers.get('location') ?? '', { redirect: 'manual' });
    const callback = new URL(atProvider.headers.get('location') ?? '');
    const back = await server.app.request(`${callback.pathname}${callback.search}`, {
      headers: { cookie: `outpost_oidc=${state}` },
    });
    expect(cookieValue(back.headers.getSetCookie(), 'outpost_session')).toBeTruthy();
    expect(await membership('team-b', email)).toMatchObject({ role: 'viewer', source: 'direct' });
    expect(await membership('team-a', email)).toBeNull();
    expect(
      await server.sql`SELECT 1 FROM organisation_sso_groups g JOIN users u ON u.id = g.user_id WHERE u.email = ${email}`,
    ).toHaveLength(0);
  });
});
