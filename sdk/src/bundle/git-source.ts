import { BundleError } from './errors.js';

/** A `git+…#<sha>` deployment source: a repository URL and the one commit to run. */
export interface GitSource {
  kind: 'git';
  /** The URL git is given, without the `git+` prefix: `https://…`, `ssh://…` or `file:///…`. */
  url: string;
  /** Full 40-hex commit sha, lowercase. */
  commit: string;
}

const COMMIT = /^[0-9a-f]{40}$/;
const SCHEMES = ['https:', 'ssh:', 'file:'];

function invalid(source: string, reason: string): BundleError {
  return new BundleError('invalid', `invalid git source "${displayGitUrl(source)}": ${reason}`);
}

/** True for `git+https://…`, `git+ssh://…` and `git+file://…` sources. */
export function isGitSource(source: string): boolean {
  return source.startsWith('git+');
}

/**
 * Checks a repository URL as a worker will use it. Only https, ssh and file URLs are accepted —
 * git's `ext::` transport, for one, runs commands — and a URL must carry no credential: the control
 * plane stores sources, and credentials stay with the worker (its git config, SSH keys, helpers).
 */
export function checkGitUrl(url: string, shown = url): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalid(shown, 'not a URL');
  }
  if (!SCHEMES.includes(parsed.protocol)) throw invalid(shown, 'only git+https://, git+ssh:// and git+file:// are supported');
  if (parsed.password !== '' || (parsed.protocol === 'https:' && parsed.username !== '')) {
    throw invalid(shown, 'the URL carries a credential; configure git credentials on the worker instead');
  }
  if (parsed.search !== '' || parsed.hash !== '') throw invalid(shown, 'a repository URL takes no query or fragment');
  if (parsed.protocol === 'file:' && parsed.host !== '')
    throw invalid(shown, 'a file URL needs an absolute path: file:///abs/repo');
  if (parsed.protocol !== 'file:' && (parsed.hostname === '' || parsed.hostname.startsWith('-'))) {
    throw invalid(shown, 'the URL has no valid host');
  }
  if (/[\s\0]/.test(url)) throw invalid(shown, 'the URL contains whitespace');
  return parsed;
}

/** Parses `git+<url>#<40-hex sha>`; throws `BundleError('invalid')` for anything else, including short shas and refs. */
export function parseGitSource(source: string): GitSource {
  if (!isGitSource(source)) throw invalid(source, 'expected git+https://…, git+ssh://… or git+file://…');
  const hash = source.lastIndexOf('#');
  if (hash === -1) throw invalid(source, 'not pinned: append #<40-hex commit sha>');
  const commit = source.slice(hash + 1);
  if (!COMMIT.test(commit))
    throw invalid(source, `"${commit}" is not a full 40-hex commit sha; refs are resolved at deploy time`);
  const url = source.slice('git+'.length, hash);
  checkGitUrl(url, source);
  return { kind: 'git', url, commit };
}

/** A git URL as it may appear in logs and messages: any user:password masked. */
export function displayGitUrl(url: string): string {
  return url.replace(/\/\/[^/@\s]+@/, '//***@');
}
