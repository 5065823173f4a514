// What an image is built from, as one digest: `npm run images` stores it on each image as a label
// and builds an image again only when the digest of its inputs differs from its label's.
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';

/** The label on each image that holds the digest of what it was built from. */
export const INPUTS_LABEL = 'dev.outpost.build-inputs';

/**
 * sha256 over `values` (the Dockerfile's name, the base images' ids, the version and revision
 * labels: each by name) and every entry under `context`: its path, its kind and mode, and its bytes
 * or a link's target, in path order, so that a file added, removed, renamed, made executable or
 * changed by a byte changes the digest.
 */
export function buildInputs(context, values) {
  const hash = createHash('sha256');
  for (const name of Object.keys(values).sort()) hash.update(`value ${name}=${values[name]}\0`);
  const entries = readdirSync(context, { recursive: true, encoding: 'utf8' }).sort();
  for (const rel of entries) {
    const file = path.join(context, rel);
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
