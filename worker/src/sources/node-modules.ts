import { createHash, randomBytes } from 'node:crypto';
import { cp, mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { touch } from './git-cache-prune.js';
import { runTool } from './run-tool.js';

export interface InstallModulesOptions {
  /** npm's environment: the worker's allow-listed variables only (install scripts run here). */
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
}

/** sha256 of the lockfile: two commits with the same lockfile get the same dependencies. */
export async function lockfileKey(dir: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(join(dir, 'package-lock.json')))
    .digest('hex');
}

/**
 * Gives `tree` the `node_modules` its package-lock.json pins: hard-linked from the cache when a
 * tree with the same lockfile was installed before, else `npm ci` in the tree (so `file:`
 * dependencies inside the repository resolve) and the result hard-linked into the cache for the
 * next commit. Hard links cost no space and no copying time; where they are impossible, files
 * are copied.
 */
export async function installModules(tree: string, cacheRoot: string, options: InstallModulesOptions): Promise<void> {
  const key = await lockfileKey(tree);
  const cached = join(cacheRoot, key, 'node_modules');
  const target = join(tree, 'node_modules');
  if (await stat(cached).catch(() => null)) {
    await rm(target, { recursive: true, force: true });
    await linkTree(cached, target);
    await touch(join(cacheRoot, key));
    return;
  }
  await runTool('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd: tree,
    env: { ...options.env, npm_config_update_notifier: 'false' },
    timeoutMs: options.timeoutMs,
    what: 'npm ci failed',
    code: 'invalid',
  });
  if (!(await stat(target).catch(() => null))) return;
  await mkdir(cacheRoot, { recursive: true });
  const temporary = join(cacheRoot, `.tmp-${randomBytes(6).toString('hex')}`);
  try {
    await mkdir(temporary);
    await linkTree(target, join(temporary, 'node_modules'));
    await rename(temporary, join(cacheRoot, key)).catch(async (error: NodeJS.ErrnoException) => {
      // Another tree with the same lockfile got there first; its copy is as good as ours.
      if (error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST') throw error;
    });
  } finally {
    await rm(temporary, { recursive: true, force: true });
  }
}

/** `cp -al`: hard links for files, symlinks kept as they are (npm's relative links stay valid at the same depth). */
async function linkTree(from: string, to: string): Promise<void> {
  try {
    await runTool('cp', ['-al', '--', from, to], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      timeoutMs: 10 * 60_000,
      what: 'cp',
    });
  } catch {
    await rm(to, { recursive: true, force: true });
    await cp(from, to, { recursive: true, verbatimSymlinks: true });
  }
}
