import { randomUUID } from 'node:crypto';
import { type CryptoKey, generateKeyPair, importJWK, type JWK, SignJWT } from 'jose';
import { beforeAll, describe, expect, test } from 'vitest';
import { type Call, client, comparable, useServer } from './helpers.js';
import { type HeldRun, Scene } from './security.fixtures.js';
import { tally } from './security.tally.js';

let scene: Scene;
let run: HeldRun;
let other: HeldRun;
let signing: { kid: string; privateJwk: JWK; publicJwk: JWK };

const api = useServer();

beforeAll(async () => {
  scene = await new Scene(api.server, await api.server.createWorkspace(), 'tokens').setUp();
  run = await scene.held();
  other = await scene.held();
  const [key] = await api.server.sql<{ kid: string; private_jwk: JWK; public_jwk: JWK }[]>`
    SELECT kid, private_jwk, public_jwk FROM signing_keys WHERE retired_at IS NULL ORDER BY created_at DESC LIMIT 1`;
  if (!key) throw new Error('no signing key');
  signing = { kid: key.kid, privateJwk: key.private_jwk, publicJwk: key.public_jwk };
});

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

interface Forge {
  header?: Record<string, unknown>;
  claims?: Record<string, unknown>;
  issuer?: string;
  audience?: string;
  subject?: string;
  expiresAt?: number;
  issuedAt?: number;
  /** Another key to sign with than the server's own. */
  key?: CryptoKey | Uint8Array;
}

/** A run token signed with the server's own signing key, with one thing changed. */
async function forge(options: Forge = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const key = options.key ?? (await importJWK({ ...signing.privateJwk, alg: 'EdDSA' }, 'EdDSA'));
  return new SignJWT({ att: 1, wsp: scene.ws.workspaceId, ...options.claims })
    .setProtectedHeader({ alg: 'EdDSA', typ: 'outpost-run+jwt', kid: signing.kid, ...options.header })
    .setIssuer(options.issuer ?? 'outpost')
    .setAudience(options.audience ?? 'outpost-run')
    .setSubject(options.subject ?? run.id)
    .setIssuedAt(options.issuedAt ?? now)
    .setExpirationTime(options.expiresAt ?? now + 300)
    .setJti(randomUUID())
    .sign(key);
}

const attacks = tally('token and key attacks refused');

async function expect401(token: string, path = `/flow-runs/${run.id}`): Promise<void> {
  const res = await client(api.server, token)('GET', path);
  attacks.add();
  expect(res.status, res.text).toBe(401);
  expect(res.body.code).toBe('unauthenticated');
  expect(res.headers.get('www-authenticate')).toBe('Bearer');
}

describe('run token attacks', () => {
  test('a well-formed forgery with the real key is accepted, so the refusals below are about what was changed', async () => {
    expect((await client(api.server, await forge())('GET', `/flow-runs/${run.id}`)).status).toBe(200);
  });

  test('an expired token, or one issued too long ago, is a 401', async () => {
    const now = Math.floor(Date.now() / 1000);
    await expect401(await forge({ issuedAt: now - 1200, expiresAt: now - 600 }));
    await expect401(await forge({ issuedAt: now - 3600, expiresAt: now + 300 }));
  });

  test('another audience, issuer or type is a 401', async () => {
    await expect401(await forge({ audience: 'outpost-api' }));
    await expect401(await forge({ issuer: 'someone-else' }));
    await expect401(await forge({ header: { typ: 'JWT' } }));
    await expect401(await forge({ header: { typ: 'OUTPOST-RUN+JWT' } }));
  });

  test('alg none is a 401', async () => {
    const now = Math.floor(Date.now() / 1000);
    const payload = {
      iss: 'outpost',
      aud: 'outpost-run',
      sub: run.id,
      att: 1,
      wsp: scene.ws.workspaceId,
      iat: now,
      exp: now + 300,
      jti: randomUUID(),
    };
    for (const alg of ['none', 'None', 'NONE']) {
      await expect401(`${b64({ alg, typ: 'outpost-run+jwt', kid: signing.kid })}.${b64(payload)}.`);
    }
  });

  test('HS256 keyed with the public key (algorithm confusion) is a 401', async () => {
    const publicKeyAsSecret = [
      new TextEncoder().encode(JSON.stringify(signing.publicJwk)),
      Buffer.from(String(signing.publicJwk.x), 'base64url'),
      new TextEncoder().encode(String(signing.publicJwk.x)),
    ];
    for (const secret of publicKeyAsSecret) {
      await expect401(await forge({ key: secret, header: { alg: 'HS256' } }));
    }
  });

  test('a token signed by a key the server does not hold, or carrying its own key, is a 401', async () => {
    const { privateKey, publicKey } = await generateKeyPair('EdDSA', { extractable: true });
    const { exportJWK } = await import('jose');
    const embedded = await exportJWK(publicKey);
    for (const header of [
      { kid: signing.kid },
      { kid: 'unknown' },
      { kid: signing.kid, jwk: embedded },
      { jku: 'http://127.0.0.1:9/jwks' },
    ]) {
      // Only the kid the header names, if any.
      await expect401(await forge({ key: privateKey, header: { kid: undefined, ...header } }));
    }
  });

  test('the subject is compared exactly: case, padding or a prefix of the run id is a 401', async () => {
    for (const subject of [
      run.id.toUpperCase(),
      ` ${run.id}`,
      `${run.id} `,
      `${run.id}x`,
      run.id.slice(0, 35),
      `run:${run.id}`,
    ]) {
      await expect401(await forge({ subject }));
    }
  });

  test('a token with its payload or signature altered is a 401, as is one too long to be ours', async () => {
    const token = run.token;
    const [h, p, s] = token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
    await expect401(`${h}.${b64({ ...claims, sub: other.id })}.${s}`);
    // Every bit of a base64url signature's first character is signature, so changing it always changes the
    // bytes; a rewritten tail can spell the very signature it replaced (its last character is mostly padding).
    await expect401(`${h}.${p}.${s.startsWith('A') ? 'B' : 'A'}${s.slice(1)}`);
    await expect401(`${h}.${p}.${s}${'A'.repeat(5000)}`);
  });

  test("another run's valid token reaches nothing of this run: a 404 identical to a missing run", async () => {
    const asOther = client(api.server, other.token);
    const mine = await asOther('GET', `/flow-runs/${run.id}`);
    const nobody = await asOther('GET', `/flow-runs/${randomUUID()}`);
    expect(mine.status).toBe(404);
    expect(comparable(mine.body)).toEqual(comparable(nobody.body));
    attacks.add();
    // Claims naming another workspace or attempt, signed with the real key, gain nothing either.
    const foreign = await api.server.createWorkspace();
    expect(
      (await client(api.server, await forge({ claims: { wsp: foreign.workspaceId } }))('GET', `/flow-runs/${run.id}`)).status,
    ).toBe(404);
    const stale = await client(api.server, await forge({ claims: { att: 2 } }))('POST', `/flow-runs/${run.id}/set-state`, {
      body: { transitionId: randomUUID(), state: { type: 'RUNNING' } },
    });
    expect(stale.status).toBe(409);
    attacks.add(2);
  });
});

describe('API key misuse', () => {
  test('made-up, mistyped, revoked and expired keys are 401s', async () => {
    const owner: Call = client(api.server, scene.ws.ownerKey);
    const created = await owner('POST', '/api-keys', { body: { name: 'short-lived', role: 'viewer' } });
    const key: string = created.body.key;
    const flipped = `${key.slice(0, 10)}${key[10] === 'a' ? 'b' : 'a'}${key.slice(11)}`;
    for (const bad of [flipped, `${key}x`, key.toLowerCase(), `op_${'0'.repeat(38)}`, 'op_', key.slice(3)]) {
      const res = await client(api.server, bad)('GET', '/whoami');
      expect(res.status, bad).toBe(401);
      attacks.add();
    }
    await owner('DELETE', `/api-keys/${created.body.apiKey.id}`);
    expect((await client(api.server, key)('GET', '/whoami')).status).toBe(401);
    const expiring = await owner('POST', '/api-keys', {
      body: { name: 'expiring', role: 'viewer', expiresAt: new Date(Date.now() + 5_000).toISOString() },
    });
    const soon: string = expiring.body.key;
    expect((await client(api.server, soon)('GET', '/whoami')).status).toBe(200);
    const deadline = Date.now() + 15_000;
    let status = 200;
    while (status === 200 && Date.now() < deadline) {
      status = (await client(api.server, soon)('GET', '/whoami')).status;
      if (status === 200) await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe(401);
    attacks.add(2);
  });

  test('a worker key on admin routes and a viewer minting keys are 403s, and nothing is created', async () => {
    const worker = client(api.server, await scene.key('worker'));
    const viewer = client(api.server, await scene.key('viewer'));
    const admin = client(api.server, await scene.key('admin'));
    const before = await client(api.server, scene.ws.ownerKey)('GET', '/api-keys');
    for (const [caller, method, path, body] of [
      [worker, 'POST', '/api-keys', { name: 'w', role: 'owner' }],
      [worker, 'GET', '/api-keys', undefined],
      [worker, 'POST', '/members', { email: 'w@example.com', role: 'admin' }],
      [worker, 'GET', '/audit-log', undefined],
      [worker, 'PUT', '/sso/oidc', { issuer: 'https://idp.example.com', clientId: 'x' }],
      [viewer, 'POST', '/api-keys', { name: 'v', role: 'viewer' }],
      [viewer, 'POST', '/api-keys', { name: 'v', role: 'owner' }],
      [admin, 'POST', '/api-keys', { name: 'a', role: 'owner' }],
      [admin, 'PUT', '/sso/oidc', { issuer: 'https://idp.example.com', clientId: 'x' }],
    ] as const) {
      const res = await caller(method, path, { body });
      expect(res.status, `${method} ${path}`).toBe(403);
      attacks.add();
    }
    const after = await client(api.server, scene.ws.ownerKey)('GET', '/api-keys');
    expect(after.body.items.length).toBe(before.body.items.length);
  });

  test('a worker key limited to pools cannot use a run token of another pool to escape, nor read runs', async () => {
    const limited = client(api.server, await scene.ws.createKey('worker', [scene.idlePool]));
    expect(
      (await limited('POST', `/work-pools/${scene.heldPool}/claim`, { body: { workerId: randomUUID(), limit: 1 } })).status,
    ).toBe(403);
    expect((await limited('GET', `/flow-runs/${run.id}`)).status).toBe(403);
    expect(
      (
        await limited('POST', `/flow-runs/${run.id}/logs`, {
          body: { attempt: 1, logs: [{ seq: 1, timestamp: new Date().toISOString(), level: 'info', message: 'x' }] },
        })
      ).status,
    ).toBe(404);
    attacks.add(3);
  });
});
