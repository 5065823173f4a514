// What an image is built from, as one digest: `npm run images` stores it on each image as a label
// and builds an image again only when the digest of its inputs differs from its label's.
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';

/** The label on each image that holds the digest of what it was built from. */
export const INPUTS_LABEL = 'dev.outpost.build-inputs';

/**
 * sha256 over every entry under `dir`: its path, its kind and mode, and its bytes or a link's
 * target, in path order, so that a file added, removed, renamed, made executable or changed by a
 * byte changes the digest. The build context is read once for all the images built from it.
 */
export function treeDigest(dir) {
  const hash = createHash('sha256');
  for (const rel of readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort()) {
    const file = path.join(dir, rel);
    const stat = lstatSync(file);
    if (stat.isDirectory()) continue;
    hash.update(`entry ${rel.split(path.sep).join('/')} ${(stat.mode & 0o170777).toString(8)}\0`);
    if (stat.isSymbolicLink()) hash.update(`link ${readlinkSync(file)}\0`);
    else {
      const bytes = readFileSync(file);
      hash.update(`${bytes.length}\0`);
      hash.update(bytes);
    }
  }
  return hash.digest('hex');
}

/**
 * sha256 over an image's inputs, each by name: the context's `treeDigest`, the Dockerfile's name,
 * the base images' ids, the version and the revision.
 */
export function buildInputs(values) {
  const hash = createHash('sha256');
  for (const name of Object.keys(values).sort()) hash.update(`value ${name}=${values[name]}\0`);
  return hash.digest('hex');
}
