import { startTestServer, type TestServer } from '@outpost/api/testing';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { outpost } from './cli.support.js';

/*
 * `outpost server users verify-email` and `outpost server organisations set-owner`, run as the real
 * CLI in a child process against the test server's Postgres (DATABASE_URL), as an operator runs them
 * next to `outpost server start`; what they did is checked in the database and over the API.
 */

let server: TestServer;
let counter = 0;

beforeAll(async () => {
  server = await startTestServer({ loops: false });
});
afterAll(async () => {
  await server?.close();
});

const operator = (args: string[]) =>
  outpost(['server', ...args], { env: { DATABASE_URL: server.databaseUrl }, timeoutMs: 60_000 });

/** A person the owner adds to the default workspace: an account it manages, its address not confirmed. */
async function addPerson(): Promise<{ userId: string; email: string; setupToken: string }> {
  counter += 1;
  const email = `operated-${Date.now().toString(36)}-${counter}@example.com`;
  const res = await fetch(`${server.url}/api/v1/members`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.ownerKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ email, role: 'developer' }),
  });
  const body = (await res.json()) as { member: { userId: string }; setupToken: string };
  expect(res.status).toBe(201);
  return { userId: body.member.userId, email, setupToken: body.setupToken };
}

const PASSWORD = 'correct horse battery staple';

async function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${server.url}/api/v1${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

/** The session cookie of a password sign-in. */
async function signIn(email: string): Promise<string> {
  const res = await post('/auth/password', { email, password: PASSWORD });
  expect(res.status, await res.clone().text()).toBe(200);
  return res.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');
}

async function account(userId: string): Promise<{ verified: boolean; managed: boolean }> {
  const [row] = await server.sql<{ verified: boolean; managed: boolean }[]>`
    SELECT email_verified_at IS NOT NULL AS verified, managed_by IS NOT NULL AS managed FROM users WHERE id = ${userId}`;
  if (!row) throw new Error(`no user ${userId}`);
  return row;
}

async function organisationRole(userId: string): Promise<string | null> {
  const [row] = await server.sql<{ role: string }[]>`
    SELECT om.role FROM organisation_members om JOIN organisations o ON o.id = om.organisation_id
    WHERE o.slug = 'default' AND om.user_id = ${userId}`;
  return row?.role ?? null;
}

async function auditOf(
  userId: string,
  action: string,
): Promise<{ actor_kind: string; actor_id: string | null; summary: unknown }[]> {
  return server.sql`
    SELECT actor_kind, actor_id, summary FROM audit_log
    WHERE workspace_id = ${server.workspaceId} AND action = ${action} AND ${userId} = ANY(object_ids)`;
}

describe('outpost server users verify-email', { timeout: 120_000 }, () => {
  test("confirms the account's address, audited as the operator, and says so once", async () => {
    const person = await addPerson();
    expect(await account(person.userId)).toEqual({ verified: false, managed: true });

    const done = await operator(['users', 'verify-email', person.email.toUpperCase()]);
    expect(done.code, done.stderr).toBe(0);
    expect(done.stdout).toContain(`confirmed the address ${person.email} of user ${person.userId}`);
    expect(done.stdout).toContain('its admins may know its password');
    // The account is now its person's own: no workspace manages it, so no setup token resets its password.
    expect(await account(person.userId)).toEqual({ verified: true, managed: false });
    const entries = await auditOf(person.userId, 'operator.users.verify-email');
    expect(entries).toEqual([{ actor_kind: 'operator', actor_id: null, summary: { email: person.email } }]);

    const again = await operator(['users', 'verify-email', person.email]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('was already confirmed; nothing changed');
    expect(await auditOf(person.userId, 'operator.users.verify-email')).toHaveLength(1);
  });

  test('an unknown address is one line of error and exit code 1; a missing one is a usage error', async () => {
    const unknown = await operator(['users', 'verify-email', 'nobody-here@example.com']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe('error: no account has the address "nobody-here@example.com"\n');
    const missing = await operator(['users', 'verify-email']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('error: users verify-email takes <address>');
    const noDatabase = await outpost(['server', 'users', 'verify-email', 'a@example.com'], { env: {} });
    expect(noDatabase.code).toBe(2);
    expect(noDatabase.stderr).toContain('needs DATABASE_URL');
  });
});

describe('outpost server organisations set-owner', { timeout: 120_000 }, () => {
  test('refuses an unconfirmed address unless told to confirm it, then names the owner, whose organisation powers work', async () => {
    const person = await addPerson();
    expect((await post('/auth/password/setup', { token: person.setupToken, password: PASSWORD })).status).toBe(204);
    // Before: the person is in the organisation, but its pages refuse an unconfirmed address.
    const before = await fetch(`${server.url}/api/v1/organisations/default/members`, {
      headers: { cookie: await signIn(person.email) },
    });
    expect(before.status).toBe(403);
    const refused = await operator(['organisations', 'set-owner', 'default', person.email]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /^error: the address \S+ is not confirmed, and organisation powers act only for a confirmed address: add --confirm-email/,
    );
    expect(refused.stderr.split('\n').filter(Boolean)).toHaveLength(1);
    expect(await organisationRole(person.userId)).not.toBe('owner');
    expect((await account(person.userId)).verified).toBe(false);

    const named = await operator(['organisations', 'set-owner', 'default', person.email, '--confirm-email']);
    expect(named.code, named.stderr).toBe(0);
    expect(named.stdout).toContain(`confirmed the address ${person.email}`);
    expect(named.stdout).toMatch(
      new RegExp(`${person.email.replace(/[.]/g, '\\.')} is now an owner of the organisation default`),
    );
    expect(await organisationRole(person.userId)).toBe('owner');
    const [entry] = await auditOf(person.userId, 'operator.organisations.set-owner');
    expect(entry).toMatchObject({ actor_kind: 'operator', actor_id: null, summary: { organisation: 'default', role: 'owner' } });

    // The new owner signs in with the password they chose, and the organisation's pages answer them.
    const cookie = await signIn(person.email);
    const members = await fetch(`${server.url}/api/v1/organisations/default/members`, { headers: { cookie } });
    expect(members.status, await members.clone().text()).toBe(200);
    const workspaces = await fetch(`${server.url}/api/v1/organisations/default`, { headers: { cookie } });
    expect(workspaces.status).toBe(200);
    expect(((await workspaces.json()) as { role: string }).role).toBe('owner');
    const again = await operator(['organisations', 'set-owner', 'default', person.email]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('was already an owner of the organisation default; nothing changed');
  });

  test('an unknown organisation or address is one line of error and exit code 1', async () => {
    const person = await addPerson();
    const noOrganisation = await operator(['organisations', 'set-owner', 'no-such-org', person.email, '--confirm-email']);
    expect(noOrganisation.code).toBe(1);
    expect(noOrganisation.stderr).toBe('error: no organisation has the slug "no-such-org"\n');
    const noAccount = await operator(['organisations', 'set-owner', 'default', 'nobody-here@example.com']);
    expect(noAccount.code).toBe(1);
    expect(noAccount.stderr).toBe('error: no account has the address "nobody-here@example.com"\n');
    // Nothing was confirmed on the way to the refusal.
    expect((await account(person.userId)).verified).toBe(false);
  });
});
