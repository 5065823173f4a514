import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { type BuiltBundle, buildBundle, pushBundle } from '@outpost/sdk/bundle';
import { stop as stopEsbuild } from 'esbuild';

/** Writes a built bundle's files into `dir` the way `outpost deploy` lays a bundle out; returns the `dir://` source. */
export function writeBundle(built: BuiltBundle, dir: string): string {
  for (const file of built.files) {
    mkdirSync(dirname(join(dir, file.path)), { recursive: true });
    writeFileSync(join(dir, file.path), file.bytes);
  }
  return `dir://${dir}`;
}

/**
 * The same bundle with its code-version marker (`code version A` in a fixture's source) rewritten to
 * `code version B`: other code, so another digest. Throws when the bundle carries no marker.
 */
export function asVersionB(built: BuiltBundle): BuiltBundle {
  let rewritten = 0;
  const files = built.files.map((file) => {
    const text = new TextDecoder().decode(file.bytes);
    if (!text.includes('code version A')) return file;
    rewritten++;
    return { ...file, bytes: new TextEncoder().encode(text.replaceAll('code version A', 'code version B')) };
  });
  if (rewritten === 0) throw new Error('the bundle does not carry the code-version marker');
  return { ...built, files };
}

/**
 * Builds `entrypoint` of the fixture project at `projectDir` and pushes it to an OCI layout in
 * `scratch/registry`, once per code version asked for (`a` as built, `b` as `asVersionB` rewrites
 * it), each tagged with its version; answers each version's source.
 */
export async function pushCodeVersions<V extends 'a' | 'b'>(
  projectDir: string,
  entrypoint: string,
  scratch: string,
  versions: readonly V[],
): Promise<Record<V, string>> {
  const built = await buildBundle({ projectDir, entrypoints: [entrypoint] });
  const layout = `oci-layout://${join(scratch, 'registry')}`;
  const sources = {} as Record<V, string>;
  for (const version of versions) {
    sources[version] = (await pushBundle(version === 'a' ? built : asVersionB(built), layout, { tag: version })).source;
  }
  // esbuild keeps a service process running between builds; it must not outlive the test.
  await stopEsbuild();
  return sources;
}
