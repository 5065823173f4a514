import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { BundleError, parseGitSource } from '@outpost/sdk/bundle';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchGitBundle } from '../src/sources/git.js';
import { pruneGitCache } from '../src/sources/git-cache-prune.js';
import { commitFiles, git, makeFlowRepo, removeVendoredSdk } from './support/git-repo.js';
import { expectNoLiveChildren } from './support/leaks.js';
import { startWorkerOnFakeApi } from './support/worker-on-fake-api.js';

const FLOW = `import { flow, log } from '@outpost/sdk';

const greeting: string = 'hello from git';

export const fromGit = flow({ name: 'from-git' }, async () => {
  log.info(\`\${greeting} at \${process.env.OUTPOST_RUN_ID}\`);
  return 1;
});
`;

describe('git sources', () => {
  let scratch: string;
  let repo: string;
  let first: string;
  const env = { PATH: process.env.PATH ?? '', HOME: tmpdir() };

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'outpost-git-'));
    repo = join(scratch, 'repo');
    first = await makeFlowRepo(repo, { 'flows/hello.ts': FLOW });
  });

  afterAll(async () => {
    rmSync(scratch, { recursive: true, force: true });
    await removeVendoredSdk();
    await expectNoLiveChildren();
  });

  const cacheDir = () => join(scratch, 'cache');

  it('checks out exactly the pinned commit, installs the locked dependencies and compiles the TypeScript entrypoint', async () => {
    const fetched = await fetchGitBundle(`git+file://${repo}#${first}`, 'flows/hello.ts', { cacheDir: cacheDir(), env });
    expect(fetched.commit).toBe(first);
    expect(await git(fetched.dir, 'rev-parse', 'HEAD')).toBe(first);
    expect(fetched.entry).toBe(join(fetched.dir, '.outpost', 'build', 'flows', 'hello.mjs'));
    expect(statSync(fetched.entry).isFile()).toBe(true);
    expect(statSync(join(fetched.dir, 'node_modules', '@outpost', 'sdk', 'index.js')).isFile()).toBe(true);
    // A second fetch is served from the cache: same tree, same compiled module.
    const again = await fetchGitBundle(`git+file://${repo}#${first}`, 'flows/hello.ts', { cacheDir: cacheDir(), env });
    expect({ ...again, release: null }).toEqual({ ...fetched, release: null });
    fetched.release?.();
    again.release?.();
  });

  it('gives a later commit with the same lockfile the cached node_modules as hard links, without npm', async () => {
    const second = await commitFiles(repo, { 'flows/other.js': 'export const x = 1;\n' }, 'second');
    const one = await fetchGitBundle(`git+file://${repo}#${first}`, 'flows/hello.ts', { cacheDir: cacheDir(), env });
    // No npm on the PATH: the install can only come from the cache.
    const two = await fetchGitBundle(`git+file://${repo}#${second}`, 'flows/other.js', {
      cacheDir: cacheDir(),
      env: { PATH: '/usr/bin:/bin', HOME: tmpdir() },
    });
    expect(two.entry).toBe(join(two.dir, 'flows', 'other.js'));
    const file = join('node_modules', '@outpost', 'sdk', 'index.js');
    expect(statSync(join(two.dir, file)).ino).toBe(statSync(join(one.dir, file)).ino);
    expect(statSync(join(two.dir, file)).nlink).toBeGreaterThanOrEqual(3);
    one.release?.();
    two.release?.();
  });

  it('fails with not_found for a commit the repository does not have', async () => {
    const missing = 'f'.repeat(40);
    const error = await fetchGitBundle(`git+file://${repo}#${missing}`, 'flows/hello.ts', { cacheDir: cacheDir(), env }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(BundleError);
    expect((error as BundleError).code).toBe('not_found');
    expect((error as Error).message).toContain(missing);
  });

  it('refuses a cached checkout that was moved off the pinned commit', async () => {
    const fetched = await fetchGitBundle(`git+file://${repo}#${first}`, 'flows/hello.ts', { cacheDir: cacheDir(), env });
    const other = await git(repo, 'rev-parse', 'HEAD');
    await git(fetched.dir, 'checkout', '--quiet', '--detach', other);
    const error = await fetchGitBundle(`git+file://${repo}#${first}`, 'flows/hello.ts', { cacheDir: cacheDir(), env }).catch(
      (e: unknown) => e,
    );
    expect((error as BundleError).code).toBe('integrity');
    expect((error as Error).message).toContain(`not the pinned commit ${first}`);
    await git(fetched.dir, 'checkout', '--quiet', '--detach', first);
    fetched.release?.();
  });

  it('prunes the least recently used worktrees, never one a run is using, and fetches a pruned commit again', async () => {
    const third = await commitFiles(repo, { 'flows/third.js': 'export const y = 2;\n' }, 'third');
    const held = await fetchGitBundle(`git+file://${repo}#${first}`, 'flows/hello.ts', { cacheDir: cacheDir(), env });
    const recent = await fetchGitBundle(`git+file://${repo}#${third}`, 'flows/third.js', { cacheDir: cacheDir(), env });
    recent.release?.();
    // Keep one tree: the most recent (third) stays, the held one (first) stays while in use, the rest go.
    await pruneGitCache(join(cacheDir(), 'git'), { trees: 1, modules: 1 });
    const trees = readdirSync(join(cacheDir(), 'git', 'trees')).filter((n) => n.endsWith('.ready'));
    expect(trees.sort()).toEqual([`${basename(held.dir)}.ready`, `${basename(recent.dir)}.ready`].sort());
    expect(statSync(held.entry).isFile()).toBe(true);
    held.release?.();
    await pruneGitCache(join(cacheDir(), 'git'), { trees: 1, modules: 1 });
    expect(existsSync(held.dir)).toBe(false);
    const again = await fetchGitBundle(`git+file://${repo}#${first}`, 'flows/hello.ts', { cacheDir: cacheDir(), env });
    expect(await git(again.dir, 'rev-parse', 'HEAD')).toBe(first);
    again.release?.();
  });

  it('accepts only pinned https, ssh and file URLs that carry no credential', () => {
    const sha = 'a'.repeat(40);
    expect(parseGitSource(`git+ssh://git@git.example.com/acme/flows.git#${sha}`)).toEqual({
      kind: 'git',
      url: 'ssh://git@git.example.com/acme/flows.git',
      commit: sha,
    });
    expect(() => parseGitSource(`git+https://token:x-oauth@git.example.com/acme/flows#${sha}`)).toThrow(/credential/);
    expect(() => parseGitSource(`git+https://ghp_abc@git.example.com/acme/flows#${sha}`)).toThrow(/credential/);
    expect(() => parseGitSource(`git+ext::sh -c touch% /tmp/pwned#${sha}`)).toThrow(/only git\+https/);
    expect(() => parseGitSource('git+https://git.example.com/acme/flows#main')).toThrow(/full 40-hex/);
    expect(() => parseGitSource('git+https://git.example.com/acme/flows')).toThrow(/not pinned/);
  });

  it('runs a flow from a git source through the worker to COMPLETED', async () => {
    const { api, outcomeOf, stop } = await startWorkerOnFakeApi(scratch, {
      vars: { OUTPOST_WORKER_CACHE_DIR: join(scratch, 'worker-cache'), HOME: scratch },
      env,
    });
    try {
      const id = api.enqueue({ source: `git+file://${repo}#${first}`, entrypoint: 'flows/hello.ts', flowName: 'from-git' });
      const outcome = await outcomeOf(id, 120_000, 'the git run');
      expect(outcome).toMatchObject({ ending: 'reported', state: 'COMPLETED' });
      const text = [...api.runs.get(id)!.logs.values()].map((l) => l.message).join('\n');
      expect(text).toContain(`hello from git at ${id}`);
    } finally {
      await stop();
    }
  });
});
