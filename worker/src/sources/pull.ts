import { parseSource, pullBundle, resolveBundleEntrypoint, resolveRegistryCredentials } from '@outpost/sdk/bundle';

export interface FetchedBundle {
  /** Directory holding the bundle's files; the flow process runs with it as cwd. */
  dir: string;
  /** Absolute path of the module that defines the flow. */
  entry: string;
  /** The verified manifest digest; null for a `dir:///` development source. */
  digest: string | null;
}

/**
 * Fetches a deployment's bundle with the worker's *local* registry credentials (never anything
 * from the control plane), verified against the pinned digest by `pullBundle`, and finds the flow
 * module in it: the module the bundle's config records for the entrypoint, else the entrypoint
 * compiled to `.mjs`, else the entrypoint as it is (a `dir:///` source). Throws `BundleError`,
 * whose message is safe to record as the run's state message.
 */
export async function fetchBundle(
  source: string,
  entrypoint: string,
  options: { cacheDir: string; env: NodeJS.ProcessEnv },
): Promise<FetchedBundle> {
  const parsed = parseSource(source);
  const credentials = parsed.kind === 'oci' ? await resolveRegistryCredentials(parsed.host, options.env) : null;
  const { dir, digest } = await pullBundle(source, { cacheDir: options.cacheDir, credentials });
  const entry = await resolveBundleEntrypoint(dir, entrypoint);
  return { dir, entry, digest };
}
