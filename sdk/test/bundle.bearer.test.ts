import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BuiltBundle, pullBundle, pushBundle, verifySource } from '../src/bundle/index.js';
import { caughtBundleError, useTemporaryDirs } from './support/bundle.js';
import { startRegistry, startTokenServer, type TestRegistry, type TokenServer } from './support/registry.js';

// docker-registry runs with `auth: token`, trusting a certificate made by openssl; the token server
// is a real HTTP server on 127.0.0.1 that signs RS256 JWTs with that certificate's key.
const user = { username: 'robot', password: 'token-server-password' };
const refreshToken = 'identity-token-from-docker-login';
let tokens: TokenServer;
let registry: TestRegistry;
function fileBundle(text: string): BuiltBundle {
  return {
    files: [{ path: 'flows/job.mjs', bytes: new TextEncoder().encode(text) }],
    entrypoints: { 'flows/job.ts': 'flows/job.mjs' },
  };
}

const temporaryDir = useTemporaryDirs('outpost-bundle-bearer-');

beforeAll(async () => {
  tokens = await startTokenServer({ ...user, refreshToken });
  registry = await startRegistry({ token: tokens.token });
});

afterAll(async () => {
  await registry?.stop();
  await tokens?.stop();
});

describe('the bearer-token flow against docker-registry with auth: token', () => {
  it('pushes and pulls with a token fetched from the realm, reusing it for every request of a push', async () => {
    const bundle = fileBundle('export const job = () => "bearer";\n');
    const before = tokens.issued();
    const pushed = await pushBundle(bundle, `oci://${registry.host}/acme/bearer`, { credentials: user });
    // One token for the whole push: the ping's challenge yields it, and the blob and manifest requests reuse it.
    expect(tokens.issued() - before).toBe(1);

    const cacheDir = await temporaryDir();
    const pulled = await pullBundle(pushed.source, { cacheDir, credentials: user });
    expect(await readFile(join(pulled.dir, 'flows/job.mjs'), 'utf8')).toBe('export const job = () => "bearer";\n');
    await verifySource(pushed.source, { credentials: user });
  });

  it('an identity token is exchanged through the OAuth2 refresh-token grant', async () => {
    const pushed = await pushBundle(fileBundle('export const job = 2;\n'), `oci://${registry.host}/acme/identity`, {
      credentials: { identityToken: refreshToken },
    });
    const pulled = await pullBundle(pushed.source, {
      cacheDir: await temporaryDir(),
      credentials: { identityToken: refreshToken },
    });
    expect(pulled.digest).toBe(pushed.digest);
  });

  it('a wrong password is refused by the token server as unauthorized, without the password in the message', async () => {
    const password = 'not-the-token-server-password';
    const error = await caughtBundleError(
      pushBundle(fileBundle('x'), `oci://${registry.host}/acme/bearer`, { credentials: { username: user.username, password } }),
    );
    expect(error.code).toBe('unauthorized');
    expect(error.message).toContain(registry.host);
    expect(error.message).not.toContain(password);
  });

  it('an anonymous token that grants nothing ends as unauthorized', async () => {
    const error = await caughtBundleError(
      pushBundle(fileBundle('x'), `oci://${registry.host}/acme/bearer`, { credentials: null }),
    );
    expect(error.code).toBe('unauthorized');
  });

  it('a wrong identity token is refused as unauthorized', async () => {
    const error = await caughtBundleError(
      pushBundle(fileBundle('x'), `oci://${registry.host}/acme/bearer`, { credentials: { identityToken: 'stolen-or-stale' } }),
    );
    expect(error.code).toBe('unauthorized');
    expect(error.message).not.toContain('stolen-or-stale');
  });
});
