import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build, stop } from 'esbuild';

const run = promisify(execFile);
const SDK_ENTRY = fileURLToPath(new URL('../../../sdk/dist/index.js', import.meta.url));
const GIT_ENV = {
  PATH: process.env.PATH ?? '',
  HOME: tmpdir(),
  GIT_AUTHOR_NAME: 'Test',
  GIT_AUTHOR_EMAIL: 'test@example.invalid',
  GIT_COMMITTER_NAME: 'Test',
  GIT_COMMITTER_EMAIL: 'test@example.invalid',
  GIT_CONFIG_NOSYSTEM: '1',
};

export async function git(cwd: string, ...args: string[]): Promise<string> {
  const { stdout } = await run('git', args, { cwd, env: GIT_ENV });
  return stdout.trim();
}

let vendored: Promise<{ dir: string; file: string }> | null = null;

/**
 * `@outpost/sdk` packed as a self-contained tarball (the SDK and zod in one module), the way a
 * customer without a registry would vendor it: `npm ci` installs it with no network.
 */
function vendoredSdk(): Promise<{ dir: string; file: string }> {
  vendored ??= (async () => {
    const dir = await mkdtemp(join(tmpdir(), 'outpost-vendored-sdk-'));
    const pkg = join(dir, 'pkg');
    await build({
      entryPoints: [SDK_ENTRY],
      outfile: join(pkg, 'index.js'),
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      logLevel: 'silent',
    });
    await stop();
    await writeFile(
      join(pkg, 'package.json'),
      JSON.stringify({
        name: '@outpost/sdk',
        version: '0.1.0',
        type: 'module',
        main: 'index.js',
        exports: { '.': './index.js' },
      }),
    );
    await run('npm', ['pack', '--silent', '--pack-destination', dir], {
      cwd: pkg,
      env: { ...process.env, npm_config_update_notifier: 'false' },
    });
    const file = (await readdir(dir)).find((f) => f.endsWith('.tgz'));
    if (!file) throw new Error('npm pack made no tarball');
    return { dir, file: join(dir, file) };
  })();
  return vendored;
}

export async function removeVendoredSdk(): Promise<void> {
  if (!vendored) return;
  const { dir } = await vendored;
  vendored = null;
  await rm(dir, { recursive: true, force: true });
}

/**
 * A git repository of flows in `dir`: `files` plus, unless `withLockfile` is false, a package.json
 * depending on the vendored SDK tarball and the package-lock.json npm writes for it. Returns the
 * commit sha.
 */
export async function makeFlowRepo(dir: string, files: Record<string, string>, withLockfile = true): Promise<string> {
  await mkdir(dir, { recursive: true });
  await git(dir, 'init', '--quiet', '--initial-branch=main');
  if (withLockfile) {
    const { file } = await vendoredSdk();
    await mkdir(join(dir, 'vendor'), { recursive: true });
    await run('cp', [file, join(dir, 'vendor', 'outpost-sdk-0.1.0.tgz')]);
    await writeFile(
      join(dir, 'package.json'),
      `${JSON.stringify({ name: 'flows', private: true, type: 'module', dependencies: { '@outpost/sdk': 'file:vendor/outpost-sdk-0.1.0.tgz' } }, null, 2)}\n`,
    );
    await run('npm', ['install', '--package-lock-only', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], {
      cwd: dir,
      env: { ...process.env, npm_config_update_notifier: 'false' },
    });
    await writeFile(join(dir, '.gitignore'), 'node_modules/\n');
  }
  await commitFiles(dir, files, 'flows');
  return git(dir, 'rev-parse', 'HEAD');
}

/** Writes `files` into the repository and commits everything; returns the new commit sha. */
export async function commitFiles(dir: string, files: Record<string, string>, message: string): Promise<string> {
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), text);
  }
  await git(dir, 'add', '-A');
  await git(dir, 'commit', '--quiet', '-m', message);
  return git(dir, 'rev-parse', 'HEAD');
}
