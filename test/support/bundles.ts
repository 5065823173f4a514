import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { BuiltBundle } from '@outpost/sdk/bundle';

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
