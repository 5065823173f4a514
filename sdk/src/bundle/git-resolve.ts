import { execFile } from 'node:child_process';
import { BundleError } from './errors.js';
import { checkGitUrl, displayGitUrl } from './git-source.js';

const COMMIT = /^[0-9a-f]{40}$/i;
const LS_REMOTE_TIMEOUT_MS = 60_000;

export interface ResolveGitRefOptions {
  /** Environment for git (credential helpers, SSH agent, CA bundle). @default process.env */
  env?: NodeJS.ProcessEnv;
  /** @default 60 s */
  timeoutMs?: number;
}

/** Runs `git ls-remote` and returns its `<sha>\t<ref>` lines as a map from ref name to sha. */
function lsRemote(url: string, patterns: string[], options: ResolveGitRefOptions): Promise<Map<string, string>> {
  const env = { ...(options.env ?? process.env), GIT_TERMINAL_PROMPT: '0' };
  return new Promise((resolve, reject) => {
    execFile(
      'git',
      ['ls-remote', '--', url, ...patterns],
      { env, timeout: options.timeoutMs ?? LS_REMOTE_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' },
      (error, stdout, stderr) => {
        if (error) {
          const code = (error as NodeJS.ErrnoException).code;
          const why =
            code === 'ENOENT'
              ? 'git is not installed'
              : (stderr.trim().split('\n').filter(Boolean).at(-1) ?? `git exited with ${String(error.code ?? error.signal)}`);
          reject(new BundleError('unreachable', `cannot reach git repository ${displayGitUrl(url)}: ${displayGitUrl(why)}`));
          return;
        }
        const refs = new Map<string, string>();
        for (const line of stdout.split('\n')) {
          const [sha, name] = line.split('\t');
          if (sha && name && COMMIT.test(sha)) refs.set(name, sha.toLowerCase());
        }
        resolve(refs);
      },
    );
  });
}

/**
 * Resolves a branch, tag or full sha of a remote repository to a full commit sha with
 * `git ls-remote`: an exact `refs/heads/<ref>` first, then the commit a tag points at (annotated
 * tags peeled), then a full ref name such as `HEAD`. A full sha is taken as it is once the repository
 * answers. Throws `BundleError('unreachable')` when the repository cannot be reached and
 * `BundleError('not_found')` when the ref does not exist.
 */
export async function resolveGitRef(url: string, ref: string, options: ResolveGitRefOptions = {}): Promise<string> {
  checkGitUrl(url);
  if (ref.startsWith('-') || /[\s\0]/.test(ref) || ref === '') {
    throw new BundleError('invalid', `"${ref}" is not a git ref`);
  }
  if (COMMIT.test(ref)) {
    await lsRemote(url, ['HEAD'], options);
    return ref.toLowerCase();
  }
  // The peeled line of an annotated tag (`refs/tags/v1^{}`, the commit) matches only a pattern of its own.
  const refs = await lsRemote(url, [ref, `${ref}^{}`], options);
  const candidates = [`refs/heads/${ref}`, `refs/tags/${ref}^{}`, `refs/tags/${ref}`, ref];
  for (const name of candidates) {
    const sha = refs.get(name);
    if (sha) return sha;
  }
  throw new BundleError('not_found', `git repository ${displayGitUrl(url)} has no branch, tag or ref "${ref}"`);
}
