import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestServer, TEST_RATE_LIMITS, type TestServer } from '../src/testing/index.js';
import { client, useServer } from './helpers.js';
import { addPerson, confirmAddress, newEmail, PASSWORD, post, signInPerson } from './users.support.js';

const api = useServer();

describe('people and passwords', () => {
  test('a new member sets a password with the one-time token, signs in, and acts with the membership role', async () => {
    const email = newEmail('dev');
    const added = await api.owner('POST', '/members', { body: { email: email.toUpperCase(), role: 'developer', name: 'Dev' } });
    expect(added.status, added.text).toBe(201);
    expect(added.body.member).toMatchObject({ email, role: 'developer', hasPassword: false, sso: false });
    expect(added.body.setupToken).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const weak = await post(api.server, '/auth/password/setup', { token: added.body.setupToken, password: 'short' });
    expect(weak.status).toBe(400);
    expect(weak.body.errors).toEqual([{ path: 'body.password', message: expect.stringMatching(/at least/) }]);
    // A refused password does not use the token up.
    expect((await post(api.server, '/auth/password/setup', { token: added.body.setupToken, password: PASSWORD })).status).toBe(
      204,
    );
    expect((await post(api.server, '/auth/password/setup', { token: added.body.setupToken, password: PASSWORD })).status).toBe(
      401,
    );

    const person = await signInPerson(api.server, email);
    expect(person.reply.body.principal).toMatchObject({ kind: 'session', role: 'developer' });
    expect(person.reply.body.user).toEqual({ id: added.body.member.userId, email, name: 'Dev' });
    expect((await person.call('GET', '/whoami')).body.user.email).toBe(email);
    expect(person.reply.headers.getSetCookie().join(';')).toContain('HttpOnly');
    expect((await person.mutate('POST', '/work-pools', { name: 'dev-pool' })).status).toBe(201);
    expect((await person.mutate('POST', '/api-keys', { name: 'nope', role: 'viewer' })).status).toBe(403);
    const listed = await api.owner('GET', '/members');
    expect(listed.body.items.find((m: { email: string }) => m.email === email)).toMatchObject({ hasPassword: true });
  });

  test('a wrong password and a missing account are the same 401, and neither sets a cookie', async () => {
    const { email } = await addPerson(api.server, api.owner, 'viewer');
    const wrong = await post(api.server, '/auth/password', { email, password: 'not the password at all' });
    const missing = await post(api.server, '/auth/password', { email: newEmail('ghost'), password: PASSWORD });
    for (const res of [wrong, missing]) {
      expect(res.status).toBe(401);
      expect(res.headers.getSetCookie()).toEqual([]);
    }
    const { requestId: _a, instance: _b, ...a } = wrong.body;
    const { requestId: _c, instance: _d, ...b } = missing.body;
    expect(a).toEqual(b);
  });

  test('changing a password ends every session of the account in every workspace, and the old password stops working', async () => {
    const other = await api.server.createWorkspace();
    const otherOwner = client(api.server, other.ownerKey);
    const person = await addPerson(api.server, api.owner, 'viewer');
    const { email } = person;
    const joined = await otherOwner('POST', '/members', { body: { email, role: 'runner' } });
    expect(joined.body.setupToken).toBeNull();
    const slug = (await otherOwner('GET', '/whoami')).body.workspace.slug;
    // Confirmed through its own workspace first (which keeps that membership), then accepting the other's.
    await confirmAddress(api.server, person);
    await confirmAddress(api.server, person, { workspaceId: other.workspaceId });

    // An account in two workspaces must name one.
    const ambiguous = await post(api.server, '/auth/password', { email, password: PASSWORD });
    expect(ambiguous.status).toBe(400);
    expect(ambiguous.body.errors[0].path).toBe('body.workspace');
    const here = await signInPerson(api.server, email, PASSWORD, 'default');
    const there = await signInPerson(api.server, email, PASSWORD, slug);
    expect(there.reply.body.principal.role).toBe('runner');
    expect((await here.call('GET', '/flow-runs')).status).toBe(200);

    const changed = await post(api.server, '/auth/password/change', {
      email,
      currentPassword: PASSWORD,
      newPassword: 'a brand new passphrase',
    });
    expect(changed.status, changed.text).toBe(204);
    expect((await here.call('GET', '/flow-runs')).status).toBe(401);
    expect((await there.call('GET', '/flow-runs')).status).toBe(401);
    expect((await post(api.server, '/auth/password', { email, password: PASSWORD, workspace: 'default' })).status).toBe(401);
    expect((await signInPerson(api.server, email, 'a brand new passphrase', 'default')).reply.status).toBe(200);
  });

  test('a sign-in that names no workspace asks for one without telling which workspaces the account belongs to', async () => {
    const other = await api.server.createWorkspace();
    const otherOwner = client(api.server, other.ownerKey);
    const otherSlug = (await otherOwner('GET', '/whoami')).body.workspace.slug;
    const person = await addPerson(api.server, api.owner, 'viewer');
    const { email } = person;
    // With one workspace, naming it is not needed.
    expect((await post(api.server, '/auth/password', { email, password: PASSWORD })).status).toBe(200);

    await otherOwner('POST', '/members', { body: { email, role: 'runner' } });
    await confirmAddress(api.server, person);
    await confirmAddress(api.server, person, { workspaceId: other.workspaceId });
    const ambiguous = await post(api.server, '/auth/password', { email, password: PASSWORD });
    expect(ambiguous.status).toBe(400);
    expect(ambiguous.body.errors).toEqual([{ path: 'body.workspace', message: expect.stringMatching(/name the workspace/) }]);
    expect(ambiguous.text).not.toContain(otherSlug);
    expect(ambiguous.text).not.toMatch(/\bdefault\b/);
    expect(ambiguous.headers.getSetCookie()).toEqual([]);
    // Without the password, nothing at all: the same 401 as for a missing account.
    expect((await post(api.server, '/auth/password', { email, password: 'not the password at all' })).status).toBe(401);
    expect((await signInPerson(api.server, email, PASSWORD, otherSlug)).reply.body.principal.role).toBe('runner');
  });

  test('a password change needs the current password and refuses a weak or unchanged new one', async () => {
    const { email } = await addPerson(api.server, api.owner, 'viewer');
    const session = await signInPerson(api.server, email);
    expect(
      (
        await post(api.server, '/auth/password/change', {
          email,
          currentPassword: 'guess guess guess',
          newPassword: 'x'.repeat(20),
        })
      ).status,
    ).toBe(401);
    const same = await post(api.server, '/auth/password/change', { email, currentPassword: PASSWORD, newPassword: PASSWORD });
    expect(same.status).toBe(400);
    expect(same.body.errors[0].path).toBe('body.newPassword');
    // Refused changes leave the session alone.
    expect((await session.call('GET', '/flow-runs')).status).toBe(200);
  });

  test('an admin reset (a new setup token) ends the sessions once the new password is set', async () => {
    const { email, userId } = await addPerson(api.server, api.owner, 'viewer');
    const session = await signInPerson(api.server, email);
    const reset = await api.owner('POST', `/members/${userId}/setup-token`);
    expect(reset.status, reset.text).toBe(201);
    expect((await session.call('GET', '/flow-runs')).status).toBe(200);
    expect(
      (await post(api.server, '/auth/password/setup', { token: reset.body.setupToken, password: 'the reset passphrase' })).status,
    ).toBe(204);
    expect((await session.call('GET', '/flow-runs')).status).toBe(401);
  });

  test('only the workspace that manages an account resets its password, and none once the person confirmed the address', async () => {
    const other = await api.server.createWorkspace();
    const person = await addPerson(api.server, api.owner, 'viewer');
    const otherOwner = client(api.server, other.ownerKey);
    await otherOwner('POST', '/members', { body: { email: person.email, role: 'owner' } });
    const elsewhere = await otherOwner('POST', `/members/${person.userId}/setup-token`);
    expect(elsewhere.status).toBe(409);
    expect(elsewhere.body.code).toBe('conflict');
    // Being invited elsewhere changes nothing for the managing workspace: the account still reaches only it.
    expect((await api.owner('POST', `/members/${person.userId}/setup-token`)).status).toBe(201);
    await confirmAddress(api.server, person);
    expect((await api.owner('POST', `/members/${person.userId}/setup-token`)).status).toBe(409);
  });

  test('a setup token stops working once the person confirmed their address, but not because another workspace invited them', async () => {
    const email = newEmail('pending');
    const added = await api.owner('POST', '/members', { body: { email, role: 'viewer' } });
    const other = await api.server.createWorkspace();
    await client(api.server, other.ownerKey)('POST', '/members', { body: { email, role: 'admin' } });
    expect((await post(api.server, '/auth/password/setup', { token: added.body.setupToken, password: PASSWORD })).status).toBe(
      204,
    );
    const again = await api.owner('POST', `/members/${added.body.member.userId}/setup-token`);
    await confirmAddress(api.server, { userId: added.body.member.userId, email }, { password: 'the person chose this one' });
    expect((await post(api.server, '/auth/password/setup', { token: again.body.setupToken, password: PASSWORD })).status).toBe(
      401,
    );
  });

  test('a role change applies to live sessions at once, and removal ends them', async () => {
    const { email, userId } = await addPerson(api.server, api.owner, 'viewer');
    const session = await signInPerson(api.server, email);
    expect((await session.mutate('POST', '/work-pools', { name: 'not-yet' })).status).toBe(403);
    const promoted = await api.owner('PATCH', `/members/${userId}`, { body: { role: 'developer' } });
    expect(promoted.body.role).toBe('developer');
    expect((await session.mutate('POST', '/work-pools', { name: 'now-yes' })).status).toBe(201);
    expect((await api.owner('DELETE', `/members/${userId}`)).status).toBe(204);
    expect((await session.call('GET', '/flow-runs')).status).toBe(401);
    expect((await api.owner('DELETE', `/members/${userId}`)).status).toBe(404);
  });

  test('only owners grant or take away owner, and the last owner cannot step down', async () => {
    const admin = client(api.server, await api.server.createKey('admin'));
    expect((await admin('POST', '/members', { body: { email: newEmail('o'), role: 'owner' } })).status).toBe(403);
    const ws = await api.server.createWorkspace();
    const wsOwnerKey = client(api.server, ws.ownerKey);
    const { email, userId } = await addPerson(api.server, wsOwnerKey, 'owner');
    const person = await signInPerson(api.server, email);
    const keys = await person.call('GET', '/api-keys');
    for (const key of keys.body.items) expect((await person.mutate('DELETE', `/api-keys/${key.id}`)).status).toBe(200);
    const demote = await person.mutate('PATCH', `/members/${userId}`, { role: 'admin' });
    expect(demote.status).toBe(409);
    expect((await person.mutate('DELETE', `/members/${userId}`)).status).toBe(409);
    expect((await person.call('GET', '/members')).body.items).toEqual([expect.objectContaining({ userId, role: 'owner' })]);
  });

  test('adding someone twice is a 409, and a member of another workspace is a 404 here', async () => {
    const { email } = await addPerson(api.server, api.owner, 'viewer');
    expect((await api.owner('POST', '/members', { body: { email, role: 'runner' } })).status).toBe(409);
    const other = await api.server.createWorkspace();
    const stranger = await addPerson(api.server, client(api.server, other.ownerKey), 'viewer');
    expect((await api.owner('PATCH', `/members/${stranger.userId}`, { body: { role: 'admin' } })).status).toBe(404);
    expect((await api.owner('DELETE', `/members/${stranger.userId}`)).status).toBe(404);
    expect((await api.owner('POST', `/members/${stranger.userId}/setup-token`)).status).toBe(404);
  });
});

describe('password attempt limits', () => {
  let limited: TestServer;
  beforeAll(async () => {
    limited = await startTestServer({ loops: false, rateLimits: { ...TEST_RATE_LIMITS, signInAttemptsPerAccount: 3 } });
  });
  afterAll(async () => {
    await limited?.close();
  });

  test('the fourth attempt on one account within 15 minutes is a 429 with Retry-After, even with the right password', async () => {
    const { email } = await addPerson(limited, client(limited, limited.ownerKey), 'viewer');
    for (let i = 0; i < 3; i++)
      expect((await post(limited, '/auth/password', { email, password: `wrong guess ${i}!!` })).status).toBe(401);
    const blocked = await post(limited, '/auth/password', { email, password: PASSWORD });
    expect(blocked.status).toBe(429);
    expect(blocked.body.code).toBe('rate_limited');
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(60);
    // Another account is not affected.
    const other = await addPerson(limited, client(limited, limited.ownerKey), 'viewer');
    expect((await post(limited, '/auth/password', { email: other.email, password: PASSWORD })).status).toBe(200);
  });
});
