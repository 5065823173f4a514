import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { isAbsolute, join, normalize } from 'node:path';
import { BundleError, displayGitUrl, parseGitSource } from '@outpost/sdk/bundle';
import { buildEntry, isBuiltExtension } from './build-entry.js';
import { holdTree, pruneGitCache, touch } from './git-cache-prune.js';
import { installModules } from './node-modules.js';
import type { FetchedBundle } from './pull.js';
import { runTool, toolEnv } from './run-tool.js';

export interface GitFetchOptions {
  cacheDir: string;
  /** The worker's environment: git's credentials, SSH agent and CA bundle come from here, never from the API. */
  env: NodeJS.ProcessEnv;
  /** Each git command. @default 10 minutes */
  gitTimeoutMs?: number;
  /** `npm ci`. @default 15 minutes */
  npmTimeoutMs?: number;
}

/*
 * Cache layout under `<cacheDir>/git/`:
 *   mirrors/<repo>.git       one bare mirror per repository URL, fetched when a commit is missing
 *   trees/<repo>-<sha>/      one worktree per commit, checked out detached at exactly that commit
 *   trees/<repo>-<sha>.ready written once the tree is complete (checkout verified, modules installed)
 *   modules/<lockfile sha256>/node_modules   installed dependencies, hard-linked into each tree
 * Trees and module directories sit at the same depth, so relative symlinks npm writes stay valid.
 * One worker process per cache directory; within it, one repository is worked on at a time.
 */

const locks = new Map<string, Promise<unknown>>();

async function withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const previous = locks.get(key) ?? Promise.resolve();
  const next = previous.then(fn, fn);
  const settled = next.catch(() => undefined);
  locks.set(key, settled);
  try {
    return await next;
  } finally {
    if (locks.get(key) === settled) locks.delete(key);
  }
}

async function exists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => null)) !== null;
}

function safeEntrypoint(entrypoint: string): string {
  const normalized = normalize(entrypoint.replace(/^\.\//, ''));
  if (isAbsolute(normalized) || normalized === '..' || normalized.startsWith('../') || normalized.startsWith('.outpost/')) {
    throw new BundleError('invalid', `entrypoint ${entrypoint} must be a path inside the repository`);
  }
  return normalized;
}

/**
 * Fetches a `git+…#<sha>` source: the commit into a per-repository bare mirror (clone once, fetch
 * when the commit is missing), a worktree detached at exactly that commit — refused unless
 * `git rev-parse HEAD` says so — dependencies installed with `npm ci` when a package-lock.json is
 * there (cached by the lockfile's sha256), and a TypeScript entrypoint compiled with esbuild.
 */
export async function fetchGitBundle(source: string, entrypoint: string, options: GitFetchOptions): Promise<FetchedBundle> {
  const { url, commit } = parseGitSource(source);
  const entry = safeEntrypoint(entrypoint);
  const root = join(options.cacheDir, 'git');
  const repo = createHash('sha256').update(url).digest('hex').slice(0, 24);
  const mirror = join(root, 'mirrors', `${repo}.git`);
  const tree = join(root, 'trees', `${repo}-${commit}`);
  const ready = `${tree}.ready`;
  const shown = displayGitUrl(url);
  const gitTimeoutMs = options.gitTimeoutMs ?? 10 * 60_000;
  const env = toolEnv(options.env, {
    GIT_TERMINAL_PROMPT: '0',
    // Sources come from the control plane: no transport that runs commands (ext::), whatever git's config says.
    GIT_ALLOW_PROTOCOL: 'https:ssh:file',
  });
  const git = (args: string[], what: string, code: 'unreachable' | 'not_found' | 'invalid' = 'unreachable') =>
    runTool('git', args, { env, timeoutMs: gitTimeoutMs, what, mask: displayGitUrl, code });

  // Held from the start, so pruning on behalf of another repository never removes a tree being prepared for a run.
  const release = holdTree(tree);
  return withLock(repo, async () => {
    if (!(await exists(ready))) {
      if (!(await exists(join(mirror, 'HEAD')))) {
        await mkdir(join(root, 'mirrors'), { recursive: true });
        const temporary = join(root, 'mirrors', `.tmp-${randomBytes(6).toString('hex')}`);
        try {
          await git(['clone', '--mirror', '--quiet', '--', url, temporary], `cannot clone ${shown}`);
          await rm(mirror, { recursive: true, force: true });
          await rename(temporary, mirror);
        } finally {
          await rm(temporary, { recursive: true, force: true });
        }
      }
      if (!(await hasCommit(git, mirror, commit))) {
        await git(['-C', mirror, 'fetch', '--quiet', '--prune', 'origin'], `cannot fetch ${shown}`);
      }
      if (!(await hasCommit(git, mirror, commit))) {
        // A commit no branch or tag points at any more; servers that allow it hand it out by sha.
        await git(['-C', mirror, 'fetch', '--quiet', 'origin', commit], `commit ${commit} is not in ${shown}`, 'not_found').catch(
          () => undefined,
        );
      }
      if (!(await hasCommit(git, mirror, commit))) {
        throw new BundleError('not_found', `commit ${commit} is not in ${shown} (fetched every branch and tag)`);
      }
      await rm(tree, { recursive: true, force: true });
      await git(['-C', mirror, 'worktree', 'prune'], 'cannot prune stale worktrees');
      await mkdir(join(root, 'trees'), { recursive: true });
      await git(
        ['-C', mirror, 'worktree', 'add', '--quiet', '--detach', '--force', '--', tree, commit],
        `cannot check out ${commit}`,
      );
      await verifyHead(git, tree, commit);
      if (await exists(join(tree, 'package-lock.json'))) {
        await installModules(tree, join(root, 'modules'), {
          env: toolEnv(options.env),
          timeoutMs: options.npmTimeoutMs ?? 15 * 60_000,
        });
      }
      await writeFile(ready, `${commit}\n`);
      // A new tree: make room for it among the least recently used (worktrees left behind are pruned from the mirror).
      await pruneGitCache(root);
      await git(['-C', mirror, 'worktree', 'prune'], 'cannot prune stale worktrees');
    } else {
      // A cached tree is trusted no further than git's own word that it is at the pinned commit.
      await verifyHead(git, tree, commit);
    }
    const dot = entry.lastIndexOf('.');
    const extension = dot === -1 ? '' : entry.slice(dot);
    if (!(await exists(join(tree, entry)))) {
      throw new BundleError('not_found', `entrypoint ${entry} is not in ${shown} at ${commit}`);
    }
    const module = isBuiltExtension(extension) ? await buildEntry(tree, entry) : join(tree, entry);
    await touch(ready);
    return { dir: tree, entry: module, digest: null, commit, release };
  }).catch((error: unknown) => {
    release();
    throw error;
  });
}

async function hasCommit(
  git: (args: string[], what: string) => Promise<{ stdout: string }>,
  mirror: string,
  commit: string,
): Promise<boolean> {
  try {
    await git(['-C', mirror, 'cat-file', '-e', `${commit}^{commit}`], 'no such commit');
    return true;
  } catch {
    return false;
  }
}

async function verifyHead(git: (args: string[], what: string) => Promise<{ stdout: string }>, tree: string, commit: string) {
  const { stdout } = await git(['-C', tree, 'rev-parse', 'HEAD'], `cannot read the checked-out commit in ${tree}`);
  const head = stdout.trim();
  if (head !== commit) {
    throw new BundleError('integrity', `the checkout is at ${head || 'nothing'}, not the pinned commit ${commit}`);
  }
  const marker = await readFile(`${tree}.ready`, 'utf8').catch(() => null);
  if (marker !== null && marker.trim() !== commit) {
    throw new BundleError('integrity', `the cached checkout ${tree} belongs to another commit`);
  }
}
