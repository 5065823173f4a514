import { calculateJwkThumbprint, decodeProtectedHeader } from 'jose';
import { describe, expect, it } from 'vitest';
import { generateSigningKey, RunTokenError, RunTokenIssuer, type SigningKeyRecord } from '../src/auth/run-token.js';

const CLAIMS = { runId: '3f1c2a4e-8b7d-4c6e-9a1b-2d3e4f5a6b7c', attempt: 1, workspaceId: '9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b' };

async function keyCreatedAt(iso: string, retiredAt: string | null = null): Promise<SigningKeyRecord> {
  return {
    ...(await generateSigningKey()),
    createdAt: new Date(iso),
    retiredAt: retiredAt === null ? null : new Date(retiredAt),
  };
}

describe('signing key rotation', () => {
  it('names each generated key by the thumbprint of its public half', async () => {
    const key = await generateSigningKey();
    expect(key.kid).toBe(await calculateJwkThumbprint(key.publicJwk as { kty: string; crv: string; x: string }));
    expect(key.retiredAt).toBeNull();
    expect(key.publicJwk.d).toBeUndefined();
    expect(typeof key.privateJwk.d).toBe('string');
  });

  it('signs new tokens with the newest unretired key and still verifies tokens of the older one', async () => {
    const older = await keyCreatedAt('2030-01-01T00:00:00Z');
    const newer = await keyCreatedAt('2030-02-01T00:00:00Z');
    const oldToken = await new RunTokenIssuer([older]).sign(CLAIMS);

    const rotated = new RunTokenIssuer([older, newer]);
    expect(decodeProtectedHeader(await rotated.sign(CLAIMS)).kid).toBe(newer.kid);
    expect(await rotated.verify(oldToken)).toEqual(CLAIMS);
    // Listing order does not matter, only creation time.
    expect(decodeProtectedHeader(await new RunTokenIssuer([newer, older]).sign(CLAIMS)).kid).toBe(newer.kid);
  });

  it('never signs with a retired key but verifies its tokens until it is dropped from the list', async () => {
    const retired = await keyCreatedAt('2030-03-01T00:00:00Z', '2030-03-02T00:00:00Z');
    const active = await keyCreatedAt('2030-01-01T00:00:00Z');
    const oldToken = await new RunTokenIssuer([{ ...retired, retiredAt: null }]).sign(CLAIMS);

    const issuer = new RunTokenIssuer([retired, active]);
    expect(decodeProtectedHeader(await issuer.sign(CLAIMS)).kid).toBe(active.kid);
    expect(await issuer.verify(oldToken)).toEqual(CLAIMS);
    await expect(new RunTokenIssuer([active]).verify(oldToken)).rejects.toBeInstanceOf(RunTokenError);
  });

  it('refuses to sign when every listed key is retired', async () => {
    const retired = await keyCreatedAt('2030-01-01T00:00:00Z', '2030-01-02T00:00:00Z');
    await expect(new RunTokenIssuer([retired]).sign(CLAIMS)).rejects.toBeInstanceOf(RunTokenError);
    await expect(new RunTokenIssuer([]).sign(CLAIMS)).rejects.toBeInstanceOf(RunTokenError);
  });

  it('refuses a key list with two keys under one id', async () => {
    const key = await generateSigningKey();
    expect(() => new RunTokenIssuer([key, { ...key }])).toThrow(RunTokenError);
  });

  it('publishes every listed public key in the JWKS and no private key material', async () => {
    const keys = [await keyCreatedAt('2030-01-01T00:00:00Z', '2030-02-01T00:00:00Z'), await keyCreatedAt('2030-02-01T00:00:00Z')];
    const { keys: published } = new RunTokenIssuer(keys).jwks();
    expect(published).toEqual(
      keys.map((key) => ({ kty: 'OKP', crv: 'Ed25519', x: key.publicJwk.x, kid: key.kid, alg: 'EdDSA', use: 'sig' })),
    );
    const text = JSON.stringify(published);
    for (const key of keys) expect(text).not.toContain(key.privateJwk.d as string);
    for (const jwk of published) expect(Object.keys(jwk)).not.toContain('d');
  });

  it('publishes only public members even when handed a public JWK that carries a private part', async () => {
    const key = await generateSigningKey();
    const leaky = { ...key, publicJwk: { ...key.privateJwk } };
    const text = JSON.stringify(new RunTokenIssuer([leaky]).jwks());
    expect(text).not.toContain(key.privateJwk.d as string);
  });
});
