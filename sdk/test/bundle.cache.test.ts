import { mkdir, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sha256Digest } from '../src/bundle/digest.js';
import { type BuiltBundle, pullBundle, pushBundle, resolveBundleEntrypoint } from '../src/bundle/index.js';
import { useTemporaryDirs } from './support/bundle.js';

const temporaryDir = useTemporaryDirs('outpost-bundle-cache-');

function sizedBundle(name: string, bytes: number): BuiltBundle {
  return {
    files: [{ path: `${name}.mjs`, bytes: new TextEncoder().encode(`export default '${name}';`.padEnd(bytes, ' ')) }],
    entrypoints: { [`${name}.ts`]: `${name}.mjs` },
  };
}

/** Writes a layout by hand, as a hostile or broken pusher could, and returns its pinned source. */
async function handMadeLayout(layers: { title: string; bytes: Uint8Array }[]): Promise<string> {
  const dir = await temporaryDir();
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  await writeFile(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  const put = async (bytes: Uint8Array) => {
    const digest = sha256Digest(bytes);
    await writeFile(join(dir, 'blobs', 'sha256', digest.slice(7)), bytes);
    return { digest, size: bytes.byteLength };
  };
  const config = await put(new TextEncoder().encode('{"entrypoints":{}}'));
  const manifest = new TextEncoder().encode(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactType: 'application/vnd.outpost.bundle.v1',
      config: { mediaType: 'application/vnd.outpost.bundle.config.v1+json', ...config },
      layers: await Promise.all(
        layers.map(async (layer) => ({
          mediaType: 'application/vnd.outpost.bundle.file.v1',
          ...(await put(layer.bytes)),
          annotations: { 'org.opencontainers.image.title': layer.title },
        })),
      ),
    }),
  );
  const { digest } = await put(manifest);
  return `oci-layout://${dir}@${digest}`;
}

describe('the bundle cache', () => {
  it('serves a pulled digest from disk once its origin is gone', async () => {
    const layout = await temporaryDir();
    const pushed = await pushBundle(sizedBundle('a', 100), `oci-layout:${layout}`);
    const cacheDir = await temporaryDir();
    const first = await pullBundle(pushed.source, { cacheDir });
    await rm(layout, { recursive: true });
    expect(await pullBundle(pushed.source, { cacheDir })).toEqual(first);
    expect(await resolveBundleEntrypoint(first.dir, './a.ts')).toBe(join(first.dir, 'a.mjs'));
  });

  it('evicts the least recently used bundles beyond maxCacheBytes, never the one just pulled', async () => {
    const layout = await temporaryDir();
    const cacheDir = await temporaryDir();
    const [a, b, c] = await Promise.all(
      ['a', 'b', 'c'].map((name) => pushBundle(sizedBundle(name, 1000), `oci-layout:${layout}`, { tag: name })),
    );
    const pulledA = await pullBundle(a!.source, { cacheDir, maxCacheBytes: 2500 });
    const pulledB = await pullBundle(b!.source, { cacheDir, maxCacheBytes: 2500 });
    // Make the order unambiguous on filesystems with coarse timestamps: b was used long ago, then a is used again.
    const marker = (dir: string) => join(dir, '.outpost-bundle.json');
    await utimes(marker(pulledB.dir), new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
    await utimes(marker(pulledA.dir), new Date(Date.now() - 120_000), new Date(Date.now() - 120_000));
    await pullBundle(a!.source, { cacheDir, maxCacheBytes: 2500 });
    const pulledC = await pullBundle(c!.source, { cacheDir, maxCacheBytes: 2500 });

    const entries = (await readdir(cacheDir)).sort();
    expect(entries).toEqual([pulledA.dir, pulledC.dir].map((dir) => dir.slice(cacheDir.length + 1)).sort());
    expect(await stat(pulledB.dir).catch(() => null)).toBeNull();

    const tiny = await pullBundle(b!.source, { cacheDir, maxCacheBytes: 10 });
    expect(await readdir(cacheDir)).toEqual([tiny.dir.slice(cacheDir.length + 1)]);
  });

  it('a directory without its completion marker is not a hit and is replaced by a verified pull', async () => {
    const layout = await temporaryDir();
    const pushed = await pushBundle(sizedBundle('m', 10), `oci-layout:${layout}`);
    const cacheDir = await temporaryDir();
    const partial = join(cacheDir, `sha256-${pushed.digest.slice(7)}`);
    await mkdir(partial);
    await writeFile(join(partial, 'm.mjs'), 'half a fi');
    const pulled = await pullBundle(pushed.source, { cacheDir });
    expect(pulled.dir).toBe(partial);
    expect(await readFile(join(partial, 'm.mjs'), 'utf8')).toBe("export default 'm';".padEnd(10, ' '));
    expect((await readdir(cacheDir)).length).toBe(1);
  });

  it('a layer titled with a path that climbs out of the bundle is refused as invalid and nothing is written', async () => {
    const source = await handMadeLayout([{ title: '../escaped.mjs', bytes: new TextEncoder().encode('bad') }]);
    const cacheDir = await temporaryDir();
    await expect(pullBundle(source, { cacheDir })).rejects.toMatchObject({ code: 'invalid' });
    expect(await readdir(cacheDir).catch(() => [])).toEqual([]);
    expect(await stat(join(cacheDir, '..', 'escaped.mjs')).catch(() => null)).toBeNull();
  });

  it('an absolute layer title is refused as invalid', async () => {
    const source = await handMadeLayout([{ title: '/etc/outpost.mjs', bytes: new TextEncoder().encode('bad') }]);
    await expect(pullBundle(source, { cacheDir: await temporaryDir() })).rejects.toMatchObject({ code: 'invalid' });
  });

  it('a dir source is returned as it is, without a digest', async () => {
    const dir = await temporaryDir();
    await writeFile(join(dir, 'flow.mjs'), 'export {};');
    expect(await pullBundle(`dir://${dir}`, { cacheDir: await temporaryDir() })).toEqual({ dir, digest: null });
    expect(await resolveBundleEntrypoint(dir, 'flow.ts')).toBe(join(dir, 'flow.mjs'));
    await expect(pullBundle(`dir://${dir}/missing`, { cacheDir: dir })).rejects.toMatchObject({ code: 'not_found' });
  });
});
