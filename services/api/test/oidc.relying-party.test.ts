import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { OidcError, OidcRelyingParty, pkcePair, randomToken } from '../src/identity/oidc.js';
import { TestOidcProvider } from '../src/testing/index.js';

let provider: TestOidcProvider;
const redirectUri = 'http://127.0.0.1:9/api/v1/auth/oidc/callback';

beforeAll(async () => {
  provider = await new TestOidcProvider().start();
});
afterAll(async () => {
  await provider?.close();
});
beforeEach(() => {
  provider.twist = {};
  provider.confidential = true;
  provider.person = { sub: 'user-1', email: 'Ada@Example.com', emailVerified: true, name: 'Ada' };
});

/** Walks the authorization-code flow as a browser would and verifies the ID token. */
async function signIn(
  rp: OidcRelyingParty,
  options: { secret?: string | null; verifierOverride?: string; groupsClaim?: string } = {},
) {
  const meta = await rp.discover(provider.issuer);
  const state = randomToken();
  const nonce = randomToken();
  const pkce = pkcePair();
  const authorize = rp.authorizationUrl(meta, {
    clientId: provider.clientId,
    redirectUri,
    state,
    nonce,
    codeChallenge: pkce.challenge,
  });
  const res = await fetch(authorize, { redirect: 'manual' });
  const back = new URL(res.headers.get('location') ?? '');
  expect(back.searchParams.get('state')).toBe(state);
  const idToken = await rp.exchangeCode(meta, {
    clientId: provider.clientId,
    clientSecret: options.secret === undefined ? provider.clientSecret : options.secret,
    code: back.searchParams.get('code') ?? '',
    redirectUri,
    codeVerifier: options.verifierOverride ?? pkce.verifier,
  });
  return rp.verifyIdToken(meta, idToken, {
    clientId: provider.clientId,
    nonce,
    ...(options.groupsClaim === undefined ? {} : { groupsClaim: options.groupsClaim }),
  });
}

describe('OpenID Connect relying party', () => {
  test.each([
    ['a list of names', ['ml', 'ops', 'ml'], ['ml', 'ops']],
    ['one name', 'ml', ['ml']],
    ['values that are not names, or too long to map', ['ml', 7, null, { id: 'x' }, '', 'x'.repeat(257)], ['ml']],
    ['an object', { ml: true }, []],
    ['nothing', undefined, []],
  ])('reads the groups claim asked for from %s, as distinct strings', async (_what, groups, expected) => {
    provider.person = { sub: 'user-1', email: 'ada@example.com', emailVerified: true, groups };
    expect((await signIn(new OidcRelyingParty({ allowLoopbackHttp: true }), { groupsClaim: 'groups' })).groups).toEqual(expected);
  });

  test('refuses a groups claim of more values than it reads, rather than reading part of it', async () => {
    provider.person = {
      sub: 'user-1',
      email: 'ada@example.com',
      emailVerified: true,
      groups: Array.from({ length: 501 }, (_, i) => `g${i}`),
    };
    const refused = await signIn(new OidcRelyingParty({ allowLoopbackHttp: true }), { groupsClaim: 'groups' }).catch((e) => e);
    expect(refused).toBeInstanceOf(OidcError);
    expect(refused.reason).toBe('id_token_invalid');
    expect(refused.message).toMatch(/501 groups/);
    // Without a claim asked for, the groups are not read at all.
    expect((await signIn(new OidcRelyingParty({ allowLoopbackHttp: true }))).groups).toEqual([]);
  });

  test('completes the code flow with PKCE S256 and a client secret, and reads the verified identity', async () => {
    const rp = new OidcRelyingParty({ allowLoopbackHttp: true });
    const claims = await signIn(rp);
    expect(claims).toEqual({
      issuer: provider.issuer,
      subject: 'user-1',
      email: 'ada@example.com',
      emailVerified: true,
      name: 'Ada',
      groups: [],
    });
    const last = provider.tokenRequests.at(-1);
    expect(last?.body.get('code_verifier')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(last?.authorization).toMatch(/^Basic /);
  });

  test('a public client sends no secret, and PKCE alone binds the code', async () => {
    provider.confidential = false;
    const rp = new OidcRelyingParty({ allowLoopbackHttp: true });
    expect((await signIn(rp, { secret: null })).subject).toBe('user-1');
    expect(provider.tokenRequests.at(-1)?.authorization).toBeUndefined();
    await expect(signIn(rp, { secret: null, verifierOverride: pkcePair().verifier })).rejects.toMatchObject({
      reason: 'token_exchange_failed',
    });
  });

  test.each([
    ['another audience', { audience: 'someone-else' }, 'id_token_invalid'],
    ['another issuer', { issuer: 'http://127.0.0.1:1' }, 'id_token_invalid'],
    ['an expired token', { expiresIn: -120 }, 'id_token_invalid'],
    ['alg none', { signing: 'none' as const }, 'id_token_invalid'],
    ['HS256 keyed with the public key', { signing: 'HS256-public' as const }, 'id_token_invalid'],
    ['a key outside the JWKS', { signing: 'foreign' as const }, 'id_token_invalid'],
    ['another sign-in’s nonce', { nonce: 'replayed' }, 'nonce_mismatch'],
    ['several audiences without our azp', { audience: ['outpost-test', 'other'], azp: 'other' }, 'id_token_invalid'],
  ])('refuses an ID token with %s', async (_what, twist, reason) => {
    provider.twist = twist;
    const rp = new OidcRelyingParty({ allowLoopbackHttp: true });
    const error = await signIn(rp).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OidcError);
    expect((error as OidcError).reason).toBe(reason);
  });

  test('an unverified email is reported as unverified, however it is spelled', async () => {
    provider.person = { sub: 'u2', email: 'x@example.com', emailVerified: 'yes' };
    const rp = new OidcRelyingParty({ allowLoopbackHttp: true });
    expect((await signIn(rp)).emailVerified).toBe(false);
  });

  test('refuses plain-HTTP issuers unless loopback HTTP is allowed, and issuers that are not URLs', async () => {
    const strict = new OidcRelyingParty();
    await expect(strict.discover(provider.issuer)).rejects.toMatchObject({ reason: 'issuer_not_allowed' });
    const loose = new OidcRelyingParty({ allowLoopbackHttp: true });
    expect(() => loose.checkUrl('http://10.0.0.1/', 'the issuer')).toThrow(OidcError);
    expect(() => loose.checkUrl('https://user:pw@idp.example/', 'the issuer')).toThrow(OidcError);
    expect(() => loose.checkUrl('not a url', 'the issuer')).toThrow(OidcError);
  });

  test('refuses a discovery document that names another issuer', async () => {
    const rp = new OidcRelyingParty({ allowLoopbackHttp: true });
    // A trailing slash is another issuer string: the comparison is exact.
    await expect(rp.discover(`${provider.issuer}/`)).rejects.toMatchObject({ reason: 'discovery_failed' });
  });
});
