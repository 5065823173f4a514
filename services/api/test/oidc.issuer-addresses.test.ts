import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { OidcError, OidcRelyingParty, type ProviderMetadata } from '../src/identity/oidc.js';
import { type HostResolver, OutboundRefused } from '../src/outbound/address.js';
import { startTestServer, TestOidcProvider, type TestServer } from '../src/testing/index.js';
import { type Call, client } from './helpers.js';

// The test provider listens on 127.0.0.1; the test server (like the relying parties built with
// allowLoopbackHttp) may reach loopback, strict ones may not. Every other address is refused before
// a connection is made.

let idp: TestOidcProvider;
let server: TestServer;
let owner: Call;

beforeAll(async () => {
  idp = await new TestOidcProvider().start();
  server = await startTestServer({ loops: false, secretKey: 'a server key of at least thirty-two characters' });
  owner = client(server, server.ownerKey);
});
afterAll(async () => {
  await server?.close();
  await idp?.close();
});
beforeEach(() => {
  idp.endpoints = {};
});

const resolver =
  (table: Record<string, string>): HostResolver =>
  async (name) => {
    const address = table[name];
    if (!address) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
    return [{ address, family: address.includes(':') ? 6 : 4 }];
  };

async function refusal(promise: Promise<unknown>): Promise<OidcError> {
  const error = await promise.catch((e: unknown) => e);
  expect(error).toBeInstanceOf(OidcError);
  return error as OidcError;
}

describe('the issuer when single sign-on is saved', () => {
  test.each([
    ['a query', 'https://idp.example.com/?tenant=other'],
    ['an empty query', 'https://idp.example.com/?'],
    ['a fragment', 'https://idp.example.com/#x'],
    ['an empty fragment', 'https://idp.example.com#'],
    ['credentials', 'https://user:pw@idp.example.com/'],
    ['a private address', 'https://10.0.0.1/'],
    ['the metadata service', 'https://169.254.169.254/'],
    ['a decimal link-local address', 'https://2852039166/'],
    ['an IPv4-mapped private address', 'https://[::ffff:192.168.0.1]/'],
    ['a unique-local address', 'https://[fd00::1]/'],
  ])('an issuer with %s is refused with its field', async (_what, issuer) => {
    const res = await owner('PUT', '/sso/oidc', { body: { issuer, clientId: 'c' } });
    expect(res.status).toBe(400);
    expect(res.body.errors).toHaveLength(1);
    expect(res.body.errors[0].path).toBe('body.issuer');
  });

  test('the refusal names why the address is not allowed', async () => {
    const res = await owner('PUT', '/sso/oidc', { body: { issuer: 'https://10.0.0.1/', clientId: 'c' } });
    expect(res.body.errors[0].message).toBe(
      "the issuer's address is not allowed: 10.0.0.1 is a private-use network (10.0.0.0/8)",
    );
  });

  test('a name that resolves to a refused address is refused when saved, and one that does not resolve yet is saved', async () => {
    const rp = new OidcRelyingParty({ resolver: resolver({ 'idp.inside.test': '172.16.0.9' }) });
    const error = await refusal(rp.checkIssuerDestination('https://idp.inside.test'));
    expect(error.reason).toBe('issuer_not_allowed');
    expect(error.message).toContain('idp.inside.test resolves to 172.16.0.9');
    await expect(rp.checkIssuerDestination('https://idp.later.test')).resolves.toBeUndefined();
  });

  test('without the loopback allowance a loopback issuer is refused, by address and by name', async () => {
    const strict = new OidcRelyingParty({ resolver: resolver({ 'idp.rebound.test': '127.0.0.1' }) });
    expect((await refusal(strict.checkIssuerDestination('https://127.0.0.1:8443'))).reason).toBe('issuer_not_allowed');
    expect((await refusal(strict.checkIssuerDestination('https://2130706433'))).reason).toBe('issuer_not_allowed');
    expect((await refusal(strict.checkIssuerDestination('https://idp.rebound.test'))).reason).toBe('issuer_not_allowed');
    // Discovery of a name that resolves to loopback when it is dialled: refused before connecting.
    const error = await refusal(strict.discover('https://idp.rebound.test'));
    expect(error.reason).toBe('discovery_failed');
    expect(error.cause).toBeInstanceOf(OutboundRefused);
  });
});

describe("the endpoints of the issuer's discovery document", () => {
  test.each([
    ['token_endpoint', 'https://10.0.0.1/token', 'is a private-use network'],
    ['jwks_uri', 'https://169.254.169.254/jwks', 'is link-local'],
    ['token_endpoint', 'https://[::ffff:a00:1]/token', 'carries 10.0.0.1'],
    ['jwks_uri', 'https://idp-keys.inside.test/jwks', 'idp-keys.inside.test resolves to 192.168.4.4'],
  ] as const)('a %s at %s is refused when discovered', async (field, value, why) => {
    idp.endpoints = { [field]: value };
    const rp = new OidcRelyingParty({
      allowLoopbackHttp: true,
      resolver: async (name) =>
        name === 'idp-keys.inside.test' ? [{ address: '192.168.4.4', family: 4 }] : [{ address: '127.0.0.1', family: 4 }],
    });
    const error = await refusal(rp.discover(idp.issuer));
    expect(error.reason).toBe('discovery_failed');
    expect(error.message).toContain(`the discovery document's ${field} is not allowed`);
    expect(error.message).toContain(why);
  });

  test('an endpoint that is not https, or carries a fragment, is refused when discovered', async () => {
    const rp = new OidcRelyingParty({ allowLoopbackHttp: true });
    idp.endpoints = { authorization_endpoint: 'http://idp.example.com/authorize' };
    expect((await refusal(rp.discover(idp.issuer))).reason).toBe('issuer_not_allowed');
    idp.endpoints = { token_endpoint: `${idp.issuer}/token#frag` };
    expect((await refusal(rp.discover(idp.issuer))).reason).toBe('issuer_not_allowed');
  });

  test('the token endpoint is checked again when it is called: an address refused then is never dialled', async () => {
    const rp = new OidcRelyingParty({
      // Public when checked, loopback when called: a rebinding name (the public address is never dialled).
      resolver: (() => {
        let calls = 0;
        return async () => [{ address: ++calls === 1 ? '93.184.216.34' : '127.0.0.1', family: 4 }];
      })(),
    });
    const meta: ProviderMetadata = {
      issuer: 'https://idp.rebinding.test',
      authorizationEndpoint: 'https://idp.rebinding.test/authorize',
      tokenEndpoint: 'https://idp.rebinding.test/token',
      jwksUri: 'https://idp.rebinding.test/jwks',
      algorithms: ['RS256'],
      tokenAuthMethods: ['client_secret_post'],
    };
    // The first resolution stands for discovery's check; the exchange resolves again and is refused.
    await rp.checkIssuerDestination(meta.issuer);
    const error = await refusal(
      rp.exchangeCode(meta, {
        clientId: 'c',
        clientSecret: 's',
        code: 'x',
        redirectUri: 'https://o.example/cb',
        codeVerifier: 'v',
      }),
    );
    expect(error.reason).toBe('token_exchange_failed');
    expect(error.message).toBe('may not call https://idp.rebinding.test');
    expect(error.cause).toBeInstanceOf(OutboundRefused);
  });

  test('a sign-in against a discovery document naming a refused endpoint answers without the address', async () => {
    const saved = await owner('PUT', '/sso/oidc', { body: { issuer: idp.issuer, clientId: idp.clientId } });
    expect(saved.status).toBe(200);
    idp.endpoints = { token_endpoint: 'https://10.0.0.1/token' };
    const start = await server.app.request('/api/v1/auth/oidc/default/start');
    expect(start.status).toBe(503);
    const text = await start.text();
    expect(text).toContain('the identity provider cannot be reached or is misconfigured');
    expect(text).not.toContain('10.0.0.1');
  });
});
