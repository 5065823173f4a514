import { lstat, readFile, realpath, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, sep } from 'node:path';
import { BundleError } from './errors.js';
import { assertSafeBundlePath } from './manifest.js';
import type { BundleFile } from './types.js';

const MIB = 1024 * 1024;
/** The most a deployment's `files` may add to its bundle, all files together: 50 MiB. */
export const MAX_PROJECT_FILES_BYTES = 50 * MIB;

/** Never shipped, whatever a pattern says: dependencies are bundled by esbuild, and history is not code. */
const ALWAYS_IGNORED = ['**/node_modules/**', '**/.git/**'];

function compareCodePoints(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

/** A pattern may only look inside the project: no absolute path, no `..` segment. */
function checkPattern(pattern: string, root: string): void {
  const body = pattern.startsWith('!') ? pattern.slice(1) : pattern;
  if (body.trim() === '') throw new BundleError('invalid', `files: the pattern ${JSON.stringify(pattern)} is empty`);
  const escapes =
    isAbsolute(body) ||
    body.startsWith('/') ||
    /^[A-Za-z]:/.test(body) ||
    body.split(/[\\/]/).some((segment) => segment === '..');
  if (escapes) throw new BundleError('invalid', `files: ${body} is outside the project directory ${root}`);
}

/**
 * The project files a deployment ships beside its built modules (`files` in `outpost.config.ts`):
 * every file the glob patterns match under `root`, at its project-relative path, with its bytes and
 * whether it is executable, sorted by path. Nothing else of the file (owner, times) is kept, so the
 * same files always give the same bundle. A pattern starting with `!` leaves out what it matches;
 * a directory name takes everything under it; dot files match only a pattern that names the dot.
 *
 * Refused, each with one line naming the file or pattern: a pattern reaching outside `root` or
 * matching nothing, a match that is (or lies under) a symlink leading outside `root`, and files
 * adding up to more than `MAX_PROJECT_FILES_BYTES`. `node_modules` and `.git` never match.
 */
export async function collectProjectFiles(root: string, patterns: readonly string[]): Promise<BundleFile[]> {
  if (patterns.length === 0) return [];
  for (const pattern of patterns) checkPattern(pattern, root);
  // Loaded only when there is something to match: workers import this package to pull bundles.
  const { glob } = await import('tinyglobby');
  const ignore = [...ALWAYS_IGNORED, ...patterns.filter((p) => p.startsWith('!')).map((p) => p.slice(1))];
  const matched = new Set<string>();
  for (const pattern of patterns.filter((p) => !p.startsWith('!'))) {
    const found = await glob(pattern, { cwd: root, ignore, dot: false, onlyFiles: true, followSymbolicLinks: true });
    if (found.length === 0) throw new BundleError('invalid', `files: the pattern ${pattern} matches no file in ${root}`);
    for (const path of found) matched.add(path.split(sep).join('/'));
  }
  const realRoot = await realpath(root);
  const files: BundleFile[] = [];
  let total = 0;
  for (const path of [...matched].sort(compareCodePoints)) {
    const absolute = join(root, ...path.split('/'));
    if (!isInside(root, absolute)) throw new BundleError('invalid', `files: ${path} is outside the project directory ${root}`);
    assertSafeBundlePath(path);
    const real = await realpath(absolute);
    if (!isInside(realRoot, real)) {
      const link = (await lstat(absolute)).isSymbolicLink();
      throw new BundleError(
        'invalid',
        link
          ? `files: ${path} is a symlink to ${real}, outside the project directory ${root}`
          : `files: ${path} resolves to ${real} through a symlinked directory, outside the project directory ${root}`,
      );
    }
    const info = await stat(real);
    if (!info.isFile()) continue;
    total += info.size;
    if (total > MAX_PROJECT_FILES_BYTES) {
      throw new BundleError(
        'invalid',
        `files: ${path} takes the shipped files to ${total} bytes, over the limit of ${MAX_PROJECT_FILES_BYTES / MIB} MiB (${MAX_PROJECT_FILES_BYTES} bytes)`,
      );
    }
    const bytes = new Uint8Array(await readFile(real));
    files.push({ path, bytes, ...((info.mode & 0o111) !== 0 ? { executable: true } : {}) });
  }
  return files;
}
