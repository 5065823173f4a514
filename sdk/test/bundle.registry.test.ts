import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  type BuiltBundle,
  buildBundle,
  type PushProgress,
  pullBundle,
  pushBundle,
  resolveBundleEntrypoint,
  verifySource,
} from '../src/bundle/index.js';
import { caughtBundleError, useTemporaryDirs } from './support/bundle.js';
import { freePort, startRegistry, type TestRegistry } from './support/registry.js';

const fixture = fileURLToPath(new URL('./fixtures/bundle-project', import.meta.url));
const user = { username: 'ci-deployer', password: 'correct horse battery staple' };
let registry: TestRegistry;
let bundle: BuiltBundle;
const temporaryDir = useTemporaryDirs('outpost-bundle-registry-');

beforeAll(async () => {
  [registry, bundle] = await Promise.all([
    startRegistry({ htpasswd: user }),
    buildBundle({ projectDir: fixture, entrypoints: ['flows/hello.ts', 'flows/goodbye.ts'] }),
  ]);
});

afterAll(async () => {
  await registry?.stop();
});

afterEach(async () => {
  vi.unstubAllEnvs();
});

describe('pushBundle and pullBundle against a registry with htpasswd auth', () => {
  it('push to a registry with htpasswd auth and pull by digest into a fresh cache gives identical files', async () => {
    const progress: PushProgress[] = [];
    const pushed = await pushBundle(bundle, `oci://${registry.host}/acme/flows`, {
      credentials: user,
      onProgress: (event) => progress.push(event),
    });
    expect(pushed.source).toBe(`oci://${registry.host}/acme/flows@${pushed.digest}`);
    expect(progress.filter((event) => event.phase === 'blob')).toHaveLength(bundle.files.length + 1);
    expect(progress.at(-1)?.phase).toBe('manifest');

    const cacheDir = await temporaryDir();
    const pulled = await pullBundle(pushed.source, { cacheDir, credentials: user });
    expect(pulled.digest).toBe(pushed.digest);
    expect(pulled.dir).toBe(join(cacheDir, `sha256-${pushed.digest.slice('sha256:'.length)}`));
    for (const file of bundle.files) {
      expect(Buffer.compare(await readFile(join(pulled.dir, file.path)), Buffer.from(file.bytes))).toBe(0);
    }
    expect(await resolveBundleEntrypoint(pulled.dir, 'flows/hello.ts')).toBe(join(pulled.dir, 'flows/hello.mjs'));
  });

  it('pushing the same bundle again uploads nothing and gives the same digest', async () => {
    const first = await pushBundle(bundle, `oci://${registry.host}/acme/again`, { credentials: user });
    const progress: PushProgress[] = [];
    const second = await pushBundle(bundle, `oci://${registry.host}/acme/again:v2`, {
      credentials: user,
      onProgress: (event) => progress.push(event),
    });
    expect(second.digest).toBe(first.digest);
    const blobs = progress.filter((event) => event.phase === 'blob');
    expect(blobs.length).toBeGreaterThan(0);
    expect(blobs.every((event) => event.skipped === true)).toBe(true);
    await verifySource(`oci://${registry.host}/acme/again:v2`, { credentials: user });
  });

  it('verifySource accepts a pushed reference and reports a missing one as not_found', async () => {
    const pushed = await pushBundle(bundle, `oci://${registry.host}/acme/verify`, { credentials: user });
    await verifySource(pushed.source, { credentials: user });
    const missing = `oci://${registry.host}/acme/verify@sha256:${'0'.repeat(64)}`;
    const error = await caughtBundleError(verifySource(missing, { credentials: user }));
    expect(error.code).toBe('not_found');
  });

  it('a cached bundle is served without asking the registry again', async () => {
    const pushed = await pushBundle(bundle, `oci://${registry.host}/acme/cached`, { credentials: user });
    const cacheDir = await temporaryDir();
    const first = await pullBundle(pushed.source, { cacheDir, credentials: user });
    const again = await pullBundle(pushed.source, { cacheDir, credentials: { username: user.username, password: 'not it' } });
    expect(again).toEqual(first);
  });

  it('a wrong password fails with an unauthorized BundleError whose message does not contain the password', async () => {
    const password = 'hunter2-wrong-password';
    const credentials = { username: user.username, password };
    const push = await caughtBundleError(pushBundle(bundle, `oci://${registry.host}/acme/flows`, { credentials }));
    expect(push.code).toBe('unauthorized');
    expect(push.message).toContain(registry.host);
    expect(push.message).not.toContain(password);

    const pushed = await pushBundle(bundle, `oci://${registry.host}/acme/flows`, { credentials: user });
    const pull = await caughtBundleError(pullBundle(pushed.source, { cacheDir: await temporaryDir(), credentials }));
    expect(pull.code).toBe('unauthorized');
    expect(pull.message).not.toContain(password);
    expect(JSON.stringify(pull)).not.toContain(password);
  });

  it('without explicit credentials, the environment and then the Docker config supply them', async () => {
    vi.stubEnv('OUTPOST_REGISTRY_USERNAME', user.username);
    vi.stubEnv('OUTPOST_REGISTRY_PASSWORD', user.password);
    const pushed = await pushBundle(bundle, `oci://${registry.host}/acme/from-env`);
    vi.stubEnv('OUTPOST_REGISTRY_USERNAME', '');
    vi.stubEnv('OUTPOST_REGISTRY_PASSWORD', '');
    const dockerDir = await temporaryDir();
    const auth = Buffer.from(`${user.username}:${user.password}`).toString('base64');
    await writeFile(join(dockerDir, 'config.json'), JSON.stringify({ auths: { [registry.host]: { auth } } }));
    vi.stubEnv('DOCKER_CONFIG', dockerDir);
    const pulled = await pullBundle(pushed.source, { cacheDir: await temporaryDir() });
    expect(pulled.digest).toBe(pushed.digest);
  });

  it('no credentials for a registry that wants them fails as unauthorized and says how to give them', async () => {
    const error = await caughtBundleError(pushBundle(bundle, `oci://${registry.host}/acme/flows`, { credentials: null }));
    expect(error.code).toBe('unauthorized');
    expect(error.message).toContain('OUTPOST_REGISTRY_USERNAME');
  });

  it('an unreachable registry fails with unreachable, naming the host', async () => {
    const host = `127.0.0.1:${await freePort()}`;
    const push = await caughtBundleError(pushBundle(bundle, `oci://${host}/acme/flows`, { credentials: user }));
    expect(push.code).toBe('unreachable');
    expect(push.message).toContain(host);
    const pull = await caughtBundleError(
      pullBundle(`oci://${host}/acme/flows@sha256:${'a'.repeat(64)}`, { cacheDir: await temporaryDir() }),
    );
    expect(pull.code).toBe('unreachable');
  });

  it('a tampered blob is refused with integrity and leaves nothing in the cache', async () => {
    const pushed = await pushBundle(bundle, `oci://${registry.host}/acme/tampered`, { credentials: user });
    const target = bundle.files.find((file) => file.path === 'flows/hello.mjs')!;
    const { sha256Digest } = await import('../src/bundle/digest.js');
    const dataPath = registry.blobDataPath(sha256Digest(target.bytes));
    const original = await readFile(dataPath);
    const tampered = Buffer.from(original);
    // Same length, one byte changed: only the digest check can catch it.
    tampered[tampered.length - 2] = tampered[tampered.length - 2] === 0x41 ? 0x42 : 0x41;
    await writeFile(dataPath, tampered);
    try {
      const cacheDir = await temporaryDir();
      const error = await caughtBundleError(pullBundle(pushed.source, { cacheDir, credentials: user }));
      expect(error.code).toBe('integrity');
      expect(error.message).toContain('flows/hello.mjs');
      expect(await readdir(cacheDir)).toEqual([]);
    } finally {
      await writeFile(dataPath, original);
    }
  });

  it('a reference without a digest is not pulled', async () => {
    const error = await caughtBundleError(
      pullBundle(`oci://${registry.host}/acme/flows:latest`, { cacheDir: await temporaryDir() }),
    );
    expect(error.code).toBe('invalid');
    expect(error.message).toContain('not pinned');
  });
});
