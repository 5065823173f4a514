import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BundleError, resolveGitRef } from '../src/bundle/index.js';

const run = promisify(execFile);
const ENV = {
  PATH: process.env.PATH ?? '',
  HOME: tmpdir(),
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_AUTHOR_NAME: 't',
  GIT_AUTHOR_EMAIL: 't@example.invalid',
  GIT_COMMITTER_NAME: 't',
  GIT_COMMITTER_EMAIL: 't@example.invalid',
};
const git = async (cwd: string, ...args: string[]) => (await run('git', args, { cwd, env: ENV })).stdout.trim();

describe('resolveGitRef', () => {
  let dir: string;
  let url: string;
  let first: string;
  let second: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'outpost-git-ref-'));
    await git(dir, 'init', '--quiet', '--initial-branch=main');
    writeFileSync(join(dir, 'a.txt'), 'one');
    await git(dir, 'add', '-A');
    await git(dir, 'commit', '--quiet', '-m', 'one');
    first = await git(dir, 'rev-parse', 'HEAD');
    await git(dir, 'tag', '-a', 'v1', '-m', 'release one');
    writeFileSync(join(dir, 'a.txt'), 'two');
    await git(dir, 'commit', '--quiet', '-am', 'two');
    second = await git(dir, 'rev-parse', 'HEAD');
    url = `file://${dir}`;
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('resolves a branch, an annotated tag (to its commit) and HEAD to full shas', async () => {
    expect(await resolveGitRef(url, 'main', { env: ENV })).toBe(second);
    expect(await resolveGitRef(url, 'v1', { env: ENV })).toBe(first);
    expect(await resolveGitRef(url, 'HEAD', { env: ENV })).toBe(second);
    expect(await resolveGitRef(url, first.toUpperCase(), { env: ENV })).toBe(first);
  });

  it('fails with not_found for a ref the repository does not have', async () => {
    const error = await resolveGitRef(url, 'no-such-branch', { env: ENV }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BundleError);
    expect((error as BundleError).code).toBe('not_found');
  });

  it('fails with unreachable for a repository that is not there, and refuses option-like refs and credentialed URLs', async () => {
    const error = await resolveGitRef(`file://${dir}-missing`, 'main', { env: ENV }).catch((e: unknown) => e);
    expect((error as BundleError).code).toBe('unreachable');
    await expect(resolveGitRef(url, '--upload-pack=touch /tmp/x', { env: ENV })).rejects.toThrow(/not a git ref/);
    await expect(resolveGitRef('https://user:pw@git.example.com/r.git', 'main', { env: ENV })).rejects.toThrow(/credential/);
  });
});
