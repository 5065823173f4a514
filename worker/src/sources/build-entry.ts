import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { BundleError } from '@outpost/sdk/bundle';

/*
 * TypeScript entrypoints from a git source are compiled on the worker with esbuild, once per commit
 * and entrypoint, rather than run through a loader such as tsx at every start:
 * - the flow process starts plain Node on a plain ES module, so start latency is the same as for a
 *   registry bundle, and a pre-started flow process (which cannot take a loader after it started)
 *   can run it;
 * - it is the compiler `outpost deploy` uses, so a flow behaves the same from git and from a registry;
 * - dependencies stay external and resolve from the tree's node_modules at run time, so native
 *   modules and packages that read their own files work as in development.
 */

const BUILT = new Set(['.ts', '.mts', '.cts', '.tsx', '.jsx']);
const REQUIRE_BANNER =
  "import { createRequire as __outpostCreateRequire } from 'node:module';\nconst require = __outpostCreateRequire(import.meta.url);";
const ESBUILD: string = 'esbuild';

export function isBuiltExtension(extension: string): boolean {
  return BUILT.has(extension);
}

// esbuild keeps one service process between builds; builds run one at a time so it can be stopped after each.
let queue: Promise<unknown> = Promise.resolve();

/** Compiles `entry` (relative to `tree`) to `<tree>/.outpost/build/<entry>.mjs`, once; returns its path. */
export function buildEntry(tree: string, entry: string): Promise<string> {
  const dot = entry.lastIndexOf('.');
  const out = join(tree, '.outpost', 'build', `${entry.slice(0, dot)}.mjs`);
  const task = queue.then(async () => {
    if (await stat(out).catch(() => null)) return out;
    const esbuild = (await import(ESBUILD)) as typeof import('esbuild');
    const temporary = `${out}.${randomBytes(6).toString('hex')}.tmp`;
    await mkdir(dirname(out), { recursive: true });
    try {
      await esbuild.build({
        absWorkingDir: tree,
        entryPoints: [join(tree, entry)],
        outfile: temporary,
        bundle: true,
        packages: 'external',
        platform: 'node',
        format: 'esm',
        target: 'node20',
        sourcemap: 'inline',
        keepNames: true,
        banner: { js: REQUIRE_BANNER },
        logLevel: 'silent',
      });
      await rename(temporary, out);
    } catch (error) {
      const errors = (error as { errors?: Array<{ text: string; location?: { file: string; line: number } | null }> }).errors;
      if (!errors) throw error;
      const details = errors
        .slice(0, 5)
        .map((e) => (e.location ? `${e.location.file}:${e.location.line}: ${e.text}` : e.text))
        .join('; ');
      throw new BundleError('invalid', `${entry} did not compile: ${details}`);
    } finally {
      await rm(temporary, { force: true });
      await esbuild.stop();
    }
    return out;
  });
  queue = task.catch(() => undefined);
  return task;
}
