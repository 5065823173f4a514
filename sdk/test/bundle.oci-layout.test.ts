import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { type BuiltBundle, BundleError, pullBundle, pushBundle, verifySource } from '../src/bundle/index.js';

const run = promisify(execFile);
const sdkDir = fileURLToPath(new URL('..', import.meta.url));
const temporaryDirs: string[] = [];

async function temporaryDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'outpost-bundle-layout-'));
  temporaryDirs.push(dir);
  return dir;
}

function fileBundle(name: string, text: string): BuiltBundle {
  return {
    files: [
      { path: `flows/${name}.mjs`, bytes: new TextEncoder().encode(text) },
      { path: 'README.txt', bytes: new TextEncoder().encode('shared by every bundle\n') },
    ],
    entrypoints: { [`flows/${name}.ts`]: `flows/${name}.mjs` },
  };
}

interface Index {
  manifests: { digest: string; mediaType: string; annotations?: Record<string, string> }[];
}

async function readIndex(dir: string): Promise<Index> {
  return JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as Index;
}

afterEach(async () => {
  await Promise.all(temporaryDirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('OCI image layout directories', () => {
  it('push to an oci-layout directory given relative to baseDir and pull from it gives identical files', async () => {
    const project = await temporaryDir();
    const bundle = fileBundle('etl', 'export const etl = 1;\n');
    const pushed = await pushBundle(bundle, 'oci-layout:./.outpost/registry', { baseDir: project, tag: 'v1' });
    const layoutDir = join(project, '.outpost', 'registry');
    expect(pushed.source).toBe(`oci-layout://${layoutDir}@${pushed.digest}`);
    expect(JSON.parse(await readFile(join(layoutDir, 'oci-layout'), 'utf8'))).toEqual({ imageLayoutVersion: '1.0.0' });
    const index = await readIndex(layoutDir);
    expect(index.manifests).toEqual([
      expect.objectContaining({
        digest: pushed.digest,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        annotations: { 'org.opencontainers.image.ref.name': 'v1' },
      }),
    ]);
    const manifest = JSON.parse(await readFile(join(layoutDir, 'blobs', 'sha256', pushed.digest.slice(7)), 'utf8'));
    expect(manifest.artifactType).toBe('application/vnd.outpost.bundle.v1');
    expect(manifest.layers.map((layer: { annotations: Record<string, string> }) => layer.annotations)).toEqual([
      { 'org.opencontainers.image.title': 'README.txt' },
      { 'org.opencontainers.image.title': 'flows/etl.mjs' },
    ]);

    await verifySource(pushed.source);
    const pulled = await pullBundle(pushed.source, { cacheDir: await temporaryDir() });
    for (const file of bundle.files) {
      expect(Buffer.compare(await readFile(join(pulled.dir, file.path)), Buffer.from(file.bytes))).toBe(0);
    }
  });

  it('two concurrent pushes of different bundles to the same layout both end up in index.json', async () => {
    const layoutDir = await temporaryDir();
    const [first, second] = await Promise.all([
      pushBundle(fileBundle('a', 'export const a = 1;\n'), `oci-layout://${layoutDir}`, { tag: 'a' }),
      pushBundle(fileBundle('b', 'export const b = 2;\n'), `oci-layout://${layoutDir}`, { tag: 'b' }),
    ]);
    const index = await readIndex(layoutDir);
    const tags = Object.fromEntries(
      index.manifests.map((entry) => [entry.annotations?.['org.opencontainers.image.ref.name'], entry.digest]),
    );
    expect(tags).toEqual({ a: first.digest, b: second.digest });
    expect((await readdir(layoutDir)).sort()).toEqual(['blobs', 'index.json', 'oci-layout']);
  });

  it('pushes from two processes at once to the same layout all end up in index.json', async () => {
    const layoutDir = await temporaryDir();
    // Each process pushes four bundles concurrently, like two `outpost deploy` runs sharing a dev layout.
    const script = (name: string) => `
      const { pushBundle } = await import('./src/bundle/index.ts');
      await Promise.all([0, 1, 2, 3].map((n) => pushBundle(
        { files: [{ path: 'm.mjs', bytes: new TextEncoder().encode('export const v = "${name}' + n + '";') }], entrypoints: { 'm.ts': 'm.mjs' } },
        ${JSON.stringify(`oci-layout:${layoutDir}`)}, { tag: '${name}' + n })));`;
    const push = (name: string) =>
      run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script(name)], { cwd: sdkDir });
    await Promise.all([push('p'), push('q')]);
    const index = await readIndex(layoutDir);
    const tags = index.manifests.map((entry) => entry.annotations?.['org.opencontainers.image.ref.name']).sort();
    expect(tags).toEqual(['p0', 'p1', 'p2', 'p3', 'q0', 'q1', 'q2', 'q3']);
    expect((await readdir(layoutDir)).sort()).toEqual(['blobs', 'index.json', 'oci-layout']);
  });

  it('many concurrent pushes under one tag keep every manifest listed and the tag on exactly one', async () => {
    const layoutDir = await temporaryDir();
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, n) => pushBundle(fileBundle(`f${n}`, `export const n = ${n};\n`), `oci-layout:${layoutDir}`)),
    );
    const index = await readIndex(layoutDir);
    expect(index.manifests.map((entry) => entry.digest).sort()).toEqual(results.map((result) => result.digest).sort());
    const tagged = index.manifests.filter((entry) => entry.annotations?.['org.opencontainers.image.ref.name'] === 'latest');
    expect(tagged).toHaveLength(1);
    for (const result of results) await verifySource(result.source);
  });

  it('pushing the same bundle again under its tag leaves one entry', async () => {
    const layoutDir = await temporaryDir();
    const bundle = fileBundle('same', 'export const same = true;\n');
    const first = await pushBundle(bundle, `oci-layout:${layoutDir}`);
    const second = await pushBundle(bundle, `oci-layout:${layoutDir}`);
    expect(second.digest).toBe(first.digest);
    expect((await readIndex(layoutDir)).manifests).toHaveLength(1);
  });

  it('a tampered manifest in the layout is refused with integrity and nothing is cached', async () => {
    const layoutDir = await temporaryDir();
    const pushed = await pushBundle(fileBundle('t', 'export const t = 1;\n'), `oci-layout:${layoutDir}`);
    const manifestPath = join(layoutDir, 'blobs', 'sha256', pushed.digest.slice(7));
    const manifest = JSON.parse(await readFile(manifestPath, 'utf8'));
    manifest.layers.reverse();
    await writeFile(manifestPath, JSON.stringify(manifest));

    const cacheDir = await temporaryDir();
    const error = await pullBundle(pushed.source, { cacheDir }).catch((reason: unknown) => reason);
    expect(error).toBeInstanceOf(BundleError);
    expect((error as BundleError).code).toBe('integrity');
    expect(await readdir(cacheDir)).toEqual([]);
    await expect(verifySource(pushed.source)).rejects.toMatchObject({ code: 'integrity' });
  });

  it('a digest the layout does not hold is not_found', async () => {
    const layoutDir = await temporaryDir();
    await pushBundle(fileBundle('x', 'x'), `oci-layout:${layoutDir}`);
    const source = `oci-layout://${layoutDir}@sha256:${'b'.repeat(64)}`;
    await expect(pullBundle(source, { cacheDir: await temporaryDir() })).rejects.toMatchObject({ code: 'not_found' });
    await expect(verifySource(source)).rejects.toMatchObject({ code: 'not_found' });
  });
});
