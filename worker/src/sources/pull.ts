import {
  holdCacheEntry,
  isGitSource,
  parseSource,
  pullBundle,
  resolveBundleEntrypoint,
  resolveRegistryCredentials,
} from '@outpost/sdk/bundle';
import { fetchGitBundle } from './git.js';
import { holdTree } from './git-cache-prune.js';

export interface FetchedBundle {
  /** Directory holding the bundle's files; the flow process runs with it as cwd and as `OUTPOST_BUNDLE_DIR`. */
  dir: string;
  /** Absolute path of the module that defines the flow. */
  entry: string;
  /** The verified manifest digest of an OCI source; null for git and `dir:///` sources. */
  digest: string | null;
  /** The verified commit of a git source. */
  commit?: string;
  /** Says the run is done with `dir` (the cache may then remove it). */
  release?: () => void;
}

export interface FetchOptions {
  cacheDir: string;
  /** The worker's own environment: the only place registry and git credentials come from. */
  env: NodeJS.ProcessEnv;
}

/**
 * Fetches a deployment's code by its pinned reference and finds the flow module in it:
 * - `oci://…@sha256:…` and `oci-layout:///…@sha256:…`: pulled and verified against the digest by
 *   `pullBundle`, with the worker's *local* registry credentials — `resolveRegistryCredentials` reads
 *   the worker's environment and Docker config, and nothing in a claim (source, job variables) can
 *   supply or replace them;
 * - `git+…#<sha>`: see `fetchGitBundle`;
 * - `dir:///…`: a development directory, used as it is.
 * Throws `BundleError`, whose message is safe to record as the run's state message.
 */
export async function fetchBundle(source: string, entrypoint: string, options: FetchOptions): Promise<FetchedBundle> {
  if (isGitSource(source)) return fetchGitBundle(source, entrypoint, options);
  const parsed = parseSource(source);
  const credentials = parsed.kind === 'oci' ? await resolveRegistryCredentials(parsed.host, options.env) : null;
  // Held until the run is done: the flow may read the bundle's shipped files at any point of it.
  const { dir, digest, release } = await pullBundle(source, { cacheDir: options.cacheDir, credentials, hold: true });
  try {
    const entry = await resolveBundleEntrypoint(dir, entrypoint);
    return { dir, entry, digest, ...(release ? { release } : {}) };
  } catch (error) {
    release?.();
    throw error;
  }
}

/**
 * Another hold on a fetched bundle's files, for a process that will run it later (a warm start):
 * null for a `dir:///` source, whose files are not pinned by content and may change under it.
 */
export function holdBundle(bundle: FetchedBundle): (() => void) | null {
  if (bundle.digest !== null) return holdCacheEntry(bundle.dir);
  if (bundle.commit !== undefined) return holdTree(bundle.dir);
  return null;
}
