import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { startTestServer, TEST_RATE_LIMITS, TestOidcProvider, type TestServer } from '../src/testing/index.js';
import { type Call, client } from './helpers.js';
import { browser, cookieValue } from './sessions.support.js';
import { addPerson, newEmail, post, signInPerson } from './users.support.js';

let server: TestServer;
let owner: Call;
let idp: TestOidcProvider;
const SECRET_KEY = 'a server key of at least thirty-two characters';

beforeAll(async () => {
  idp = await new TestOidcProvider().start();
  server = await startTestServer({ loops: false, secretKey: SECRET_KEY });
  owner = client(server, server.ownerKey);
});
afterAll(async () => {
  await server?.close();
  await idp?.close();
});

async function configure(overrides: Record<string, unknown> = {}) {
  const res = await owner('PUT', '/sso/oidc', {
    body: {
      issuer: idp.issuer,
      clientId: idp.clientId,
      clientSecret: idp.clientSecret,
      defaultRole: 'viewer',
      allowedDomains: ['example.com'],
      ...overrides,
    },
  });
  if (res.status !== 200) throw new Error(`configuring single sign-on failed: ${res.status} ${res.text}`);
  return res.body;
}

beforeEach(async () => {
  idp.twist = {};
  idp.confidential = true;
  await configure();
});

interface Outcome {
  location: string;
  cookies: string[];
  session: string | undefined;
}

/** A browser's round trip: start at the API, visit the provider, come back to the callback. */
async function signInThroughProvider(
  options: { returnTo?: string; cookieState?: (state: string) => string } = {},
): Promise<Outcome> {
  const start = await server.app.request(
    `/api/v1/auth/oidc/default/start${options.returnTo === undefined ? '' : `?returnTo=${encodeURIComponent(options.returnTo)}`}`,
  );
  expect(start.status).toBe(302);
  const state = cookieValue(start.headers.getSetCookie(), 'outpost_oidc') ?? '';
  expect(start.headers.getSetCookie()[0]).toMatch(/HttpOnly; SameSite=Lax/);
  const atProvider = await fetch(start.headers.get('location') ?? '', { redirect: 'manual' });
  const callback = new URL(atProvider.headers.get('location') ?? '');
  expect(callback.origin).toBe(server.url);
  const back = await server.app.request(`${callback.pathname}${callback.search}`, {
    headers: { cookie: `outpost_oidc=${options.cookieState ? options.cookieState(state) : state}` },
  });
  expect(back.status).toBe(302);
  const cookies = back.headers.getSetCookie();
  return { location: back.headers.get('location') ?? '', cookies, session: cookieValue(cookies, 'outpost_session') || undefined };
}

describe('OpenID Connect single sign-on', () => {
  test('a first sign-in from an allowed domain joins with the default role and lands where it started', async () => {
    const email = newEmail('sso');
    idp.person = { sub: `sub-${email}`, email, emailVerified: true, name: 'Sso Person' };
    const outcome = await signInThroughProvider({ returnTo: '/runs?state=FAILED' });
    expect(outcome.location).toBe('/#/runs?state=FAILED');
    expect(outcome.session).toBeDefined();
    const csrf = cookieValue(outcome.cookies, 'outpost_csrf');
    const who = await browser(server, `outpost_session=${outcome.session}; outpost_csrf=${csrf}`)('GET', '/whoami');
    expect(who.body.principal).toMatchObject({ kind: 'session', role: 'viewer' });
    const member = (await owner('GET', '/members')).body.items.find((m: { email: string }) => m.email === email);
    expect(member).toMatchObject({ role: 'viewer', sso: true, hasPassword: false, name: 'Sso Person' });
    // The code went with the PKCE verifier and the client secret, over client_secret_basic.
    const exchange = idp.tokenRequests.at(-1);
    expect(exchange?.body.get('code_verifier')).toBeTruthy();
    expect(exchange?.authorization).toMatch(/^Basic /);
  });

  test('an existing member is found by verified email, keeps their role, and is found by subject afterwards', async () => {
    const { email, userId } = await addPerson(server, owner, 'developer');
    idp.person = { sub: `linked-${userId}`, email, emailVerified: true };
    expect((await signInThroughProvider()).session).toBeDefined();
    // The email at the provider changes; the (issuer, subject) link still finds the account.
    idp.person = { sub: `linked-${userId}`, email: newEmail('renamed'), emailVerified: true };
    const again = await signInThroughProvider();
    const csrf = cookieValue(again.cookies, 'outpost_csrf');
    const who = await browser(server, `outpost_session=${again.session}; outpost_csrf=${csrf}`)('GET', '/whoami');
    expect(who.body.principal.role).toBe('developer');
  });

  test.each([
    ['an unverified email', { emailVerified: false }],
    ['a domain that is not allowed', { email: 'someone@elsewhere.org' }],
  ])('%s is not admitted, and no session is opened', async (_what, person) => {
    idp.person = { sub: `x-${newEmail()}`, email: newEmail('nope'), emailVerified: true, ...person };
    const outcome = await signInThroughProvider();
    expect(outcome.location).toBe('/#/sign-in?error=sso_not_member');
    expect(outcome.session).toBeUndefined();
  });

  test("an ID token with email_verified proves the address: an invitation is accepted, and what another workspace's admin knew stops working", async () => {
    await configure({ defaultRole: null, allowedDomains: [] });
    // Another workspace created the account and its admin set the password; this workspace invited it.
    const elsewhere = await server.createWorkspace();
    const adminElsewhere = client(server, elsewhere.ownerKey);
    const { email, userId } = await addPerson(server, adminElsewhere, 'developer');
    const theirSession = await signInPerson(server, email);
    const invited = await owner('POST', '/members', { body: { email, role: 'runner' } });
    expect(invited.body).toMatchObject({ outcome: 'invited', member: { state: 'invited', account: 'unverified' } });

    // An unverified email proves nothing: the invitation is not accepted, and no session opens.
    idp.person = { sub: `invited-${userId}`, email, emailVerified: false };
    expect((await signInThroughProvider()).location).toBe('/#/sign-in?error=sso_not_member');
    expect((await theirSession.call('GET', '/whoami')).status).toBe(200);

    idp.person = { sub: `invited-${userId}`, email, emailVerified: true };
    const outcome = await signInThroughProvider();
    expect(outcome.session).toBeDefined();
    const csrf = cookieValue(outcome.cookies, 'outpost_csrf');
    const who = await browser(server, `outpost_session=${outcome.session}; outpost_csrf=${csrf}`)('GET', '/whoami');
    expect(who.body.principal).toMatchObject({ kind: 'session', role: 'runner' });
    const member = (await owner('GET', '/members')).body.items.find((m: { userId: string }) => m.userId === userId);
    expect(member).toMatchObject({ state: 'active', account: 'verified', sso: true });
    // The other workspace's admin: their session ended, the password they set is gone, and they cannot set another.
    expect((await theirSession.call('GET', '/whoami')).status).toBe(401);
    expect((await post(server, '/auth/password', { email, password: 'correct horse battery staple' })).status).toBe(401);
    expect((await adminElsewhere('POST', `/members/${userId}/setup-token`)).status).toBe(409);
    const audit = await owner('GET', `/audit-log?objectId=${userId}`);
    expect(audit.body.items.map((e: { action: string }) => e.action)).toEqual(
      expect.arrayContaining(['accountInvitationsAccept', 'authOidcSignIn']),
    );
  });

  test('without a default role only members get in', async () => {
    await configure({ defaultRole: null, allowedDomains: [] });
    idp.person = { sub: `y-${newEmail()}`, email: newEmail('outsider'), emailVerified: true };
    expect((await signInThroughProvider()).location).toBe('/#/sign-in?error=sso_not_member');
  });

  test('a callback whose state is not the browser’s, or that is replayed, opens nothing', async () => {
    idp.person = { sub: `z-${newEmail()}`, email: newEmail('state'), emailVerified: true };
    const forged = await signInThroughProvider({ cookieState: () => 'another-browsers-state' });
    expect(forged.location).toBe('/#/sign-in?error=sso_state');
    expect(forged.session).toBeUndefined();

    const start = await server.app.request('/api/v1/auth/oidc/default/start');
    const state = cookieValue(start.headers.getSetCookie(), 'outpost_oidc') ?? '';
    const callback = new URL(
      (await fetch(start.headers.get('location') ?? '', { redirect: 'manual' })).headers.get('location') ?? '',
    );
    const path = `${callback.pathname}${callback.search}`;
    const first = await server.app.request(path, { headers: { cookie: `outpost_oidc=${state}` } });
    expect(cookieValue(first.headers.getSetCookie(), 'outpost_session')).toBeTruthy();
    const replay = await server.app.request(path, { headers: { cookie: `outpost_oidc=${state}` } });
    expect(replay.headers.get('location')).toBe('/#/sign-in?error=sso_state');
  });

  test.each([
    ['another audience', { audience: 'another-client' }],
    ['alg none', { signing: 'none' as const }],
    ['HS256 keyed with the public key', { signing: 'HS256-public' as const }],
    ['an expired token', { expiresIn: -300 }],
    ['another issuer', { issuer: 'http://127.0.0.1:9' }],
  ])('an ID token with %s is refused', async (_what, twist) => {
    idp.person = { sub: `t-${newEmail()}`, email: newEmail('twist'), emailVerified: true };
    idp.twist = twist;
    const outcome = await signInThroughProvider();
    expect(outcome.location).toBe('/#/sign-in?error=sso_rejected');
    expect(outcome.session).toBeUndefined();
  });

  test('a public client signs in with PKCE alone', async () => {
    idp.confidential = false;
    await configure({ clientSecret: null });
    idp.person = { sub: `p-${newEmail()}`, email: newEmail('public'), emailVerified: true };
    expect((await signInThroughProvider()).session).toBeDefined();
    expect(idp.tokenRequests.at(-1)?.authorization).toBeUndefined();
  });

  test('the client secret is stored encrypted and never shown; another site cannot be the landing page', async () => {
    const config = await configure();
    expect(config).toMatchObject({ hasClientSecret: true, redirectUri: `${server.url}/api/v1/auth/oidc/callback` });
    expect(JSON.stringify(config)).not.toContain(idp.clientSecret);
    const [row] = await server.sql<{ client_secret_encrypted: string }[]>`SELECT client_secret_encrypted FROM oidc_providers`;
    expect(row?.client_secret_encrypted).toMatch(/^v1\./);
    expect(row?.client_secret_encrypted).not.toContain(idp.clientSecret);
    // Omitting the secret keeps it.
    expect((await configure({ clientSecret: undefined })).hasClientSecret).toBe(true);

    idp.person = { sub: `r-${newEmail()}`, email: newEmail('redirect'), emailVerified: true };
    for (const target of ['//evil.example/x', 'https://evil.example/', '/\\evil.example']) {
      expect((await signInThroughProvider({ returnTo: target })).location).toBe('/#/');
    }
  });

  test('settings are checked: HTTPS issuers, domains for a default role, a server key for a secret', async () => {
    const bad = await owner('PUT', '/sso/oidc', { body: { issuer: 'http://idp.example.com', clientId: 'c' } });
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].path).toBe('body.issuer');
    const open = await owner('PUT', '/sso/oidc', {
      body: { issuer: 'https://idp.example.com', clientId: 'c', defaultRole: 'viewer' },
    });
    expect(open.body.errors[0].path).toBe('body.allowedDomains');
    const keyless = await startTestServer({ loops: false });
    try {
      const res = await client(keyless, keyless.ownerKey)('PUT', '/sso/oidc', {
        body: { issuer: 'https://idp.example.com', clientId: 'c', clientSecret: 's' },
      });
      expect(res.status).toBe(400);
      expect(res.body.errors[0].path).toBe('body.clientSecret');
    } finally {
      await keyless.close();
    }
  });

  test('the settings of a workspace without single sign-on read as null, an answer and not an error', async () => {
    expect((await owner('DELETE', '/sso/oidc')).status).toBe(204);
    const off = await owner('GET', '/sso/oidc');
    expect(off.status).toBe(200);
    expect(off.text).toBe('null');
    await configure();
    const on = await owner('GET', '/sso/oidc');
    expect(on.status).toBe(200);
    expect(on.body).toMatchObject({ issuer: idp.issuer, clientId: idp.clientId, hasClientSecret: true });
  });

  test('a workspace without single sign-on is a 404 at the start, like an unknown workspace', async () => {
    expect((await owner('DELETE', '/sso/oidc')).status).toBe(204);
    const off = await server.app.request('/api/v1/auth/oidc/default/start');
    const unknown = await server.app.request('/api/v1/auth/oidc/no-such-workspace/start');
    expect(off.status).toBe(404);
    expect(unknown.status).toBe(404);
    const strip = async (r: Response) => {
      const { requestId: _r, instance: _i, ...rest } = (await r.json()) as Record<string, unknown>;
      return rest;
    };
    expect(await strip(off)).toEqual(await strip(unknown));
  });

  test('a browser sent to the start of a workspace without single sign-on lands on the sign-in page with the reason', async () => {
    expect((await owner('DELETE', '/sso/oidc')).status).toBe(204);
    const page = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };
    const returnTo = encodeURIComponent('/runs?tag=a+b');
    const answers = [];
    for (const workspace of ['default', 'no-such-workspace', 'Bad_Slug!']) {
      answers.push(
        await server.app.request(`/api/v1/auth/oidc/${encodeURIComponent(workspace)}/start?returnTo=${returnTo}`, {
          headers: page,
        }),
      );
    }
    for (const res of answers) {
      expect(res.status).toBe(302);
      expect(res.headers.get('location')).toBe(`/#/sign-in?error=sso_off&next=${returnTo}`);
      expect(res.headers.getSetCookie()).toEqual([]);
    }
  });

  test('a browser whose address has used up its anonymous requests lands on the sign-in page told to wait', async () => {
    const limited = await startTestServer({
      loops: false,
      secretKey: SECRET_KEY,
      rateLimits: { ...TEST_RATE_LIMITS, anonymousPerMinute: 1 },
    });
    try {
      const start = () => limited.app.request('/api/v1/auth/oidc/default/start', { headers: { accept: 'text/html' } });
      expect((await start()).headers.get('location')).toBe('/#/sign-in?error=sso_off');
      const refused = await start();
      expect(refused.status).toBe(302);
      expect(refused.headers.get('location')).toBe('/#/sign-in?error=sso_busy');
      // An API client is told the same with the problem document and Retry-After.
      const api = await limited.app.request('/api/v1/auth/oidc/default/start');
      expect(api.status).toBe(429);
      expect(api.headers.get('retry-after')).toMatch(/^\d+$/);
    } finally {
      await limited.close();
    }
  });
});
