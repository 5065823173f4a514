import { describe, expect, test } from 'vitest';
import { createSignInLink } from '../src/auth/sessions.js';
import { useServer } from './helpers.js';
import { browser, cookieValue, openBrowserSession, signIn } from './sessions.support.js';
import { addPerson } from './users.support.js';

const api = useServer();

const link = (role: 'owner' | 'viewer' = 'owner', ttlSeconds?: number) =>
  createSignInLink(api.server.sql, { workspaceId: api.server.workspaceId, role, ttlSeconds });

describe('one-time sign-in links', () => {
  test('a link opens a session with its role once; the second use is a 401', async () => {
    const { token, path } = await link('owner');
    expect(path).toBe(`/#/sign-in?token=${token}`);
    const first = await signIn(api.server, { token });
    expect(first.status, first.text).toBe(200);
    expect(first.body.workspace.id).toBe(api.server.workspaceId);
    expect(first.body.principal).toMatchObject({ kind: 'session', role: 'owner' });
    const again = await signIn(api.server, { token });
    expect(again.status).toBe(401);
    expect(again.body.code).toBe('unauthenticated');
    expect(again.headers.getSetCookie()).toEqual([]);
  });

  test('concurrent sign-ins with one link open exactly one session', async () => {
    const { token } = await link('owner');
    const replies = await Promise.all(Array.from({ length: 6 }, () => signIn(api.server, { token })));
    expect(replies.map((r) => r.status).sort()).toEqual([200, 401, 401, 401, 401, 401]);
  });

  test('an expired, unknown or empty token is a 401 and a body with both or neither field a 400', async () => {
    const { token } = await link('owner', 900);
    await api.server.sql`UPDATE sign_in_tokens SET expires_at = now() - interval '1 second'`;
    expect((await signIn(api.server, { token })).status).toBe(401);
    expect((await signIn(api.server, { token: 'made-up' })).status).toBe(401);
    const both = await signIn(api.server, { token: 'a', apiKey: 'b' });
    expect(both.status).toBe(400);
    expect(both.body.errors.map((e: { path: string }) => e.path)).toEqual(['body']);
    expect((await signIn(api.server, {})).status).toBe(400);
    expect((await signIn(api.server, { token: '' })).status).toBe(400);
  });

  test("a link made for a person opens that person's session with their membership's role, and none once they left the workspace", async () => {
    const dana = await addPerson(api.server, api.owner, 'developer');
    const made = () =>
      createSignInLink(api.server.sql, { workspaceId: api.server.workspaceId, role: 'owner', userId: dana.userId });
    const { token } = await made();
    const opened = await signIn(api.server, { token });
    expect(opened.status, opened.text).toBe(200);
    // The person's own role, not the role stored with the link.
    expect(opened.body.principal).toMatchObject({ kind: 'session', role: 'developer' });
    expect(opened.body.user).toMatchObject({ id: dana.userId, email: dana.email });
    const [session] = await api.server.sql<{ user_id: string; opened_by: string; label: string }[]>`
      SELECT user_id, opened_by, label FROM sessions WHERE user_id = ${dana.userId} ORDER BY created_at DESC LIMIT 1`;
    expect(session).toEqual({ user_id: dana.userId, opened_by: 'password', label: `sign-in link (${dana.email})` });

    const unused = await made();
    const removed = await api.owner('DELETE', `/members/${dana.userId}`);
    expect(removed.status, removed.text).toBe(204);
    const refused = await signIn(api.server, { token: unused.token });
    expect(refused.status).toBe(401);
    expect(refused.headers.getSetCookie()).toEqual([]);
  });

  test('only hashes of sign-in tokens, session tokens and CSRF tokens are stored', async () => {
    const { token } = await link('viewer');
    const opened = await openBrowserSession(api.server, { token });
    const dump = JSON.stringify([
      await api.server.sql`SELECT * FROM sign_in_tokens`,
      await api.server.sql`SELECT * FROM sessions`,
    ]);
    for (const secret of [token, opened.session, opened.csrf]) expect(dump).not.toContain(secret);
  });
});

describe('cookies', () => {
  test('the session cookie is HttpOnly, SameSite=Strict and Path=/; the CSRF cookie is readable by the page', async () => {
    const { token } = await link();
    const { setCookies } = await openBrowserSession(api.server, { token });
    const session = setCookies.find((c) => c.startsWith('outpost_session='));
    const csrf = setCookies.find((c) => c.startsWith('outpost_csrf='));
    expect(session).toMatch(/; HttpOnly/);
    expect(session).toMatch(/; SameSite=Strict/);
    expect(session).toMatch(/; Path=\//);
    expect(session).not.toMatch(/; Secure/);
    expect(csrf).toMatch(/; SameSite=Strict/);
    expect(csrf).not.toMatch(/HttpOnly/);
    expect(cookieValue(setCookies, 'outpost_session')).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  test('cookies are Secure when the browser speaks HTTPS, directly or through a proxy', async () => {
    const direct = await signIn(api.server, { token: (await link()).token }, { url: 'https://outpost.test/api/v1/auth/session' });
    expect(direct.status).toBe(200);
    for (const c of direct.headers.getSetCookie()) expect(c).toMatch(/; Secure/);
    const proxied = await signIn(api.server, { token: (await link()).token }, { headers: { 'x-forwarded-proto': 'https' } });
    for (const c of proxied.headers.getSetCookie()) expect(c).toMatch(/; Secure/);
  });
});

describe('signing in with an API key', () => {
  test('the session acts with the key’s role in the key’s workspace', async () => {
    const viewerKey = await api.server.createKey('viewer');
    const { cookie } = await openBrowserSession(api.server, { apiKey: viewerKey });
    const as = browser(api.server, cookie);
    const me = await as('GET', '/whoami');
    expect(me.status).toBe(200);
    expect(me.body.principal).toMatchObject({ kind: 'session', role: 'viewer' });
    expect((await as('GET', '/work-pools')).status).toBe(200);
    const denied = await as('POST', '/work-pools', { body: { name: 'viewer-pool' }, headers: { 'x-outpost-csrf': 'x' } });
    expect(denied.status).toBe(403);
  });

  test('a worker key cannot open a session; a malformed, revoked or foreign-format key is a 401', async () => {
    expect((await signIn(api.server, { apiKey: await api.server.createKey('worker') })).status).toBe(403);
    expect((await signIn(api.server, { apiKey: 'op_nope' })).status).toBe(401);
    const revoked = await api.server.createKey('admin');
    const keys = await api.owner('GET', '/api-keys');
    const id = keys.body.items.find((k: { prefix: string }) => revoked.startsWith(k.prefix)).id;
    await api.owner('DELETE', `/api-keys/${id}`);
    expect((await signIn(api.server, { apiKey: revoked })).status).toBe(401);
  });

  test('revoking the API key that opened a session ends the session', async () => {
    const adminKey = await api.server.createKey('admin');
    const { cookie } = await openBrowserSession(api.server, { apiKey: adminKey });
    const as = browser(api.server, cookie);
    expect((await as('GET', '/whoami')).status).toBe(200);
    const keys = await api.owner('GET', '/api-keys');
    const id = keys.body.items.find((k: { prefix: string }) => adminKey.startsWith(k.prefix)).id;
    expect((await api.owner('DELETE', `/api-keys/${id}`)).status).toBe(200);
    const after = await as('GET', '/whoami');
    expect(after.status).toBe(401);
    expect(after.body.code).toBe('unauthenticated');
  });

  test('an owner’s session may create owner keys, as the owner key itself may', async () => {
    const { cookie, csrf } = await openBrowserSession(api.server, { apiKey: api.server.ownerKey });
    const created = await browser(api.server, cookie)('POST', '/api-keys', {
      body: { name: 'from-session', role: 'owner' },
      headers: { 'x-outpost-csrf': csrf },
    });
    expect(created.status, created.text).toBe(201);
  });
});
