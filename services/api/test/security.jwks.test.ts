import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { beforeAll, describe, expect, test } from 'vitest';
import { RunTokens } from '../src/auth/run-tokens.js';
import { rotateSigningKey } from '../src/auth/signing-keys.js';
import { main } from '../src/main.js';
import { client, useServer } from './helpers.js';
import { Scene } from './security.fixtures.js';

let scene: Scene;

const api = useServer();

beforeAll(async () => {
  scene = await new Scene(api.server, await api.server.createWorkspace(), 'jwks').setUp();
});

async function jwks(path = '/api/v1/.well-known/jwks.json'): Promise<Response> {
  return api.server.app.request(path);
}

describe('JWKS document', () => {
  test('is public at its exact path, holds public keys only, and verifies the run tokens the API issues', async () => {
    const res = await jwks();
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/jwk-set+json');
    expect(res.headers.get('cache-control')).toBe('public, max-age=300');
    const doc = (await res.json()) as { keys: Record<string, unknown>[] };
    expect(doc.keys.length).toBeGreaterThan(0);
    for (const key of doc.keys) {
      expect(key).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' });
      expect(key).not.toHaveProperty('d');
    }
    const run = await scene.held();
    const { payload } = await jwtVerify(run.token, createLocalJWKSet(doc as never), {
      algorithms: ['EdDSA'],
      issuer: 'outpost',
      audience: 'outpost-run',
      typ: 'outpost-run+jwt',
    });
    expect(payload.sub).toBe(run.id);
  });

  test('only the exact path is public: variants of it need a credential', async () => {
    for (const path of [
      '/api/v1/.well-known/jwks.json/',
      '/api/v1/.well-known/JWKS.json',
      '/api/v1/.well-known/jwks.json.bak',
      '/api/v1/x/.well-known/jwks.json',
      '/api/v1/.well-known/jwks.json%2F',
      '/api/v1/.well-known/',
    ]) {
      const res = await jwks(path);
      expect(res.status, path).toBe(401);
    }
  });
});

describe('signing key rotation', () => {
  test('a new key is published before it signs, and tokens of either key verify on every replica throughout', async () => {
    const [first, second] = [
      await RunTokens.load(api.server.sql, { refreshMs: 100 }),
      await RunTokens.load(api.server.sql, { refreshMs: 100 }),
    ];
    const claims = { runId: (await scene.run()).id, attempt: 1, workspaceId: scene.ws.workspaceId };
    const before = await first.sign(claims);
    const oldKid = decodeProtectedHeader(before).kid;

    const rotated = await rotateSigningKey(api.server.sql, { publishSeconds: 5 });
    expect(rotated.kid).not.toBe(oldKid);
    // Published at once (a replica refreshes within its interval), while the old key keeps signing.
    await second.refresh();
    expect((await second.jwks()).keys.map((k) => k.kid)).toContain(rotated.kid);
    expect(decodeProtectedHeader(await second.sign(claims)).kid).toBe(oldKid);

    const deadline = Date.now() + 15_000;
    const seen = new Set<unknown>();
    while (!seen.has(rotated.kid)) {
      if (Date.now() > deadline) throw new Error('the new key never started signing');
      for (const signer of [first, second]) {
        const token = await signer.sign(claims);
        seen.add(decodeProtectedHeader(token).kid);
        // Whichever replica signed it, each one verifies it.
        for (const verifier of [first, second]) expect(await verifier.verify(token)).toEqual(claims);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // Tokens of the old key stay good until they expire.
    expect(await second.verify(before)).toEqual(claims);
    expect((await first.jwks()).keys.map((k) => k.kid)).toEqual(expect.arrayContaining([oldKid, rotated.kid]));
  });

  test('the API keeps accepting tokens it issued before a rotation, and keeps issuing new ones', async () => {
    const before = await scene.held();
    await rotateSigningKey(api.server.sql, { publishSeconds: 0 });
    expect((await client(api.server, before.token)('GET', `/flow-runs/${before.id}`)).status).toBe(200);
    const after = await scene.held();
    expect((await client(api.server, after.token)('GET', `/flow-runs/${after.id}`)).status).toBe(200);
  });

  test('`outpost server signing-keys rotate` adds a key that signs only after the publish time', async () => {
    const previous = process.env.DATABASE_URL;
    process.env.DATABASE_URL = api.server.databaseUrl;
    let code: number;
    try {
      code = await main(['signing-keys', 'rotate', '--publish-seconds', '600']);
    } finally {
      if (previous === undefined) delete process.env.DATABASE_URL;
      else process.env.DATABASE_URL = previous;
    }
    expect(code).toBe(0);
    const [pending] = await api.server.sql<{ wait: number }[]>`
      SELECT extract(epoch FROM activates_at - now())::int AS wait FROM signing_keys ORDER BY created_at DESC LIMIT 1`;
    expect(pending?.wait).toBeGreaterThan(590);
    expect(await main(['signing-keys', 'rotate', '--publish-seconds', 'soon'])).toBe(2);
  });
});
