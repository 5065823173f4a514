import { readFile, stat } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import type { BuildFailure, BuildOptions, Message, Metafile } from 'esbuild';
import { BUNDLE_PYTHON_DIR, PYTHON_CLIENT_FILE } from '../pipes/python-path.js';
import { BundleError } from './errors.js';
import { collectProjectFiles } from './files.js';
import { assertNoFileUnderFile } from './manifest.js';
import type { BuiltBundle, BundleFile } from './types.js';

export interface BuildBundleOptions {
  /** The project root; entrypoints and every path in the output are relative to it. */
  projectDir: string;
  /** Flow modules relative to `projectDir`, e.g. `['flows/hello.ts']`. */
  entrypoints: string[];
  /** @default false */
  minify?: boolean;
  /**
   * Glob patterns of project files shipped as they are beside the built modules, at their paths
   * relative to `projectDir` (`scripts/*.py`, `sql/report.sql`); see `collectProjectFiles` for what
   * is refused. @default []
   */
  files?: readonly string[];
}

// CommonJS dependencies call `require` for Node built-ins, which ESM lacks. esbuild renames any
// module-level `require` of the bundled code, so this declaration never collides with one.
const REQUIRE_BANNER =
  "import { createRequire as __outpostCreateRequire } from 'node:module';\nconst require = __outpostCreateRequire(import.meta.url);";

const ESBUILD: string = 'esbuild';

/** How every deploy bundles a flow module, whatever its entries and wherever it lands. */
export const DEPLOY_BUILD_OPTIONS = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: 'linked',
  banner: { js: REQUIRE_BANNER },
  // Flow and task names may default to function names, which minification would otherwise mangle.
  keepNames: true,
  metafile: true,
  logLevel: 'silent',
} as const satisfies BuildOptions;

function toPosix(path: string): string {
  return path.split(sep).join('/');
}

function isBuildFailure(error: unknown): error is BuildFailure {
  return error instanceof Error && Array.isArray((error as Partial<BuildFailure>).errors);
}

function formatMessage(message: Message): string {
  const where = message.location ? `${message.location.file}:${message.location.line}:${message.location.column}: ` : '';
  return `${where}${message.text}`;
}

/** The SDK's Pipes launcher, as esbuild names an input it bundled from the built or the source tree. */
const PIPES_HOST = /(?:^|\/)(?:dist|src)\/pipes\/host\.[jt]s$/;

/**
 * The SDK's Python Pipes client, when the bundle's code includes the SDK's Pipes launcher: the copy
 * of the same SDK the launcher came from, so the client and the launcher always speak the same
 * protocol. It ships at `BUNDLE_PYTHON_DIR`, where `pipes.run` puts it on the launched process's
 * `PYTHONPATH`; a bundle that never launches a process carries nothing.
 */
async function pipesPythonClient(root: string, metafile: Metafile | undefined): Promise<BundleFile | null> {
  const bundled = Object.values(metafile?.outputs ?? {}).flatMap((output) =>
    Object.entries(output.inputs)
      .filter(([, input]) => input.bytesInOutput > 0)
      .map(([path]) => path),
  );
  for (const input of bundled) {
    if (!PIPES_HOST.test(input)) continue;
    const sdk = resolve(root, dirname(input), '..', '..');
    const manifest = await readFile(resolve(sdk, 'package.json'), 'utf8').catch(() => null);
    if (!manifest || (JSON.parse(manifest) as { name?: unknown }).name !== '@outpost/sdk') continue;
    const bytes = await readFile(resolve(sdk, 'python', PYTHON_CLIENT_FILE)).catch(() => null);
    if (bytes) return { path: `${BUNDLE_PYTHON_DIR}/${PYTHON_CLIENT_FILE}`, bytes: new Uint8Array(bytes) };
  }
  return null;
}

interface Entry {
  source: string;
  absolute: string;
  out: string;
}

async function resolveEntries(root: string, entrypoints: string[]): Promise<Entry[]> {
  if (entrypoints.length === 0) throw new BundleError('invalid', 'a bundle needs at least one entrypoint');
  const entries: Entry[] = [];
  const outs = new Map<string, string>();
  for (const entrypoint of entrypoints) {
    const absolute = resolve(root, entrypoint);
    const source = relative(root, absolute);
    if (source === '' || source.startsWith('..') || isAbsolute(source)) {
      throw new BundleError('invalid', `entrypoint ${entrypoint} is outside the project directory ${root}`);
    }
    const info = await stat(absolute).catch(() => null);
    if (!info?.isFile()) throw new BundleError('invalid', `entrypoint ${entrypoint} does not exist (looked for ${absolute})`);
    const sourcePosix = toPosix(source);
    const dot = sourcePosix.lastIndexOf('.');
    const out = dot > sourcePosix.lastIndexOf('/') ? sourcePosix.slice(0, dot) : sourcePosix;
    const clash = outs.get(out);
    if (clash !== undefined && clash !== sourcePosix) {
      throw new BundleError('invalid', `entrypoints ${clash} and ${sourcePosix} would both build to ${out}.mjs`);
    }
    if (clash === undefined) entries.push({ source: sourcePosix, absolute, out });
    outs.set(out, sourcePosix);
  }
  return entries;
}

/**
 * Bundles each entrypoint with everything it imports (the SDK and zod included) into one
 * self-contained ES module plus its source map, and adds the project files `files` matches as they
 * are. Nothing is written to disk, and the output holds no absolute path of this machine nor any
 * file time, so the same sources always give the same bytes.
 */
export async function buildBundle(options: BuildBundleOptions): Promise<BuiltBundle> {
  const root = resolve(options.projectDir);
  const entries = await resolveEntries(root, options.entrypoints);
  // Checked before the build: a pattern that reaches outside the project fails at once.
  const shipped = await collectProjectFiles(root, options.files ?? []);
  // Loaded lazily, because workers import this module only to pull bundles. The specifier is a
  // variable so that a flow bundle which happens to include this module never tries to inline esbuild.
  const esbuild = (await import(ESBUILD)) as typeof import('esbuild');
  let result: Awaited<ReturnType<typeof esbuild.build>>;
  try {
    result = await esbuild.build({
      absWorkingDir: root,
      entryPoints: entries.map((entry) => ({ in: entry.absolute, out: entry.out })),
      // With `write: false` nothing lands here; placing the virtual output beside the sources makes
      // source-map paths short and relative to the project (`hello.ts`, `../node_modules/zod/…`).
      outdir: root,
      outExtension: { '.js': '.mjs' },
      ...DEPLOY_BUILD_OPTIONS,
      minify: options.minify ?? false,
      write: false,
    });
  } catch (error) {
    if (isBuildFailure(error)) {
      const details = error.errors.slice(0, 10).map(formatMessage).join('\n');
      throw new BundleError('invalid', `the bundle did not build:\n${details}`, { cause: error });
    }
    throw error;
  }
  const files: BundleFile[] = (result.outputFiles ?? []).map((file) => {
    const path = toPosix(relative(root, file.path));
    if (path.startsWith('..')) throw new BundleError('invalid', `esbuild wrote ${file.path}, outside the project directory`);
    return { path, bytes: file.contents };
  });
  const built = new Set(files.map((file) => file.path));
  for (const file of shipped) {
    if (built.has(file.path))
      throw new BundleError('invalid', `files: ${file.path} has the path of a built module of the bundle`);
    files.push(file);
  }
  const client = await pipesPythonClient(root, result.metafile);
  if (client && !built.has(client.path) && !shipped.some((file) => file.path === client.path)) files.push(client);
  assertNoFileUnderFile(files.map((file) => file.path));
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const entrypoints: Record<string, string> = {};
  for (const entry of entries) entrypoints[entry.source] = `${entry.out}.mjs`;
  return { files, entrypoints };
}
