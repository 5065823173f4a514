import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  type CacheWriter,
  DEFAULT_MAX_CACHE_BYTES,
  enforceCacheLimit,
  holdCacheEntry,
  lookupCacheEntry,
  readCachedEntrypoints,
  storeCacheEntry,
} from './cache.js';
import { credentialsFor, type RegistryCredentials } from './credentials.js';
import { sha256Digest } from './digest.js';
import { BundleError } from './errors.js';
import {
  assertSafeBundlePath,
  type BundleLayer,
  type BundleManifest,
  type Descriptor,
  MAX_MANIFEST_BYTES,
  parseBundleConfig,
  parseBundleManifest,
} from './manifest.js';
import { OciLayout } from './oci-layout.js';
import { RegistryClient } from './registry-client.js';
import { type ParsedSource, parseSource } from './source.js';

export interface PullBundleOptions {
  /** Directory holding one sub-directory per pulled digest. */
  cacheDir: string;
  /** Registry credentials; `null` pulls anonymously. @default resolveRegistryCredentials(host) */
  credentials?: RegistryCredentials | null;
  /** Least-recently-used entries are evicted beyond this size. @default 2 GiB */
  maxCacheBytes?: number;
  /** Speak plain HTTP to a registry that is not on loopback. @default false */
  insecure?: boolean;
  /**
   * Keep the pulled entry from eviction by this process (`holdCacheEntry`) until the returned
   * `release` is called: for a run that reads the bundle's shipped files. @default false
   */
  hold?: boolean;
}

export interface VerifySourceOptions {
  /** @default resolveRegistryCredentials(host) */
  credentials?: RegistryCredentials | null;
  /** @default false */
  insecure?: boolean;
}

const FETCH_CONCURRENCY = 4;

/** Where verified bytes come from: a registry or a layout directory. */
interface BlobStore {
  manifest(digest: string): Promise<Uint8Array>;
  blob(descriptor: Descriptor): Promise<Uint8Array>;
  close(): Promise<void>;
}

function verified(bytes: Uint8Array, expected: string, size: number | null, what: string): Uint8Array {
  if (size !== null && bytes.byteLength !== size) {
    throw new BundleError('integrity', `${what} is ${bytes.byteLength} bytes but its descriptor says ${size}; refusing it`);
  }
  const actual = sha256Digest(bytes);
  if (actual !== expected) throw new BundleError('integrity', `${what} has digest ${actual}, expected ${expected}; refusing it`);
  return bytes;
}

async function openStore(parsed: Exclude<ParsedSource, { kind: 'dir' }>, options: VerifySourceOptions): Promise<BlobStore> {
  if (parsed.kind === 'oci-layout') {
    const layout = new OciLayout(resolve(parsed.path));
    return {
      manifest: (digest) => layout.readBlob(digest, MAX_MANIFEST_BYTES),
      blob: (descriptor) => layout.readBlob(descriptor.digest, descriptor.size),
      close: async () => {},
    };
  }
  const credentials = await credentialsFor(parsed.host, options.credentials);
  const client = new RegistryClient({ ...parsed, credentials, actions: 'pull', insecure: options.insecure ?? false });
  return {
    manifest: (digest) => client.getManifest(digest),
    blob: (descriptor) => client.getBlob(descriptor.digest, descriptor.size),
    close: () => client.close(),
  };
}

function pinnedDigest(source: string, parsed: ParsedSource): string {
  if (parsed.kind === 'dir' || parsed.digest === null) {
    throw new BundleError('invalid', `bundle source ${source} is not pinned to a digest (…@sha256:…)`);
  }
  return parsed.digest;
}

async function fetchVerifiedManifest(store: BlobStore, digest: string): Promise<BundleManifest> {
  const bytes = verified(await store.manifest(digest), digest, null, `manifest ${digest}`);
  return parseBundleManifest(bytes, digest);
}

async function unpack(store: BlobStore, manifest: BundleManifest, writer: CacheWriter): Promise<void> {
  const byDigest = new Map<string, { descriptor: Descriptor; layers: BundleLayer[] }>();
  for (const layer of manifest.layers) {
    const group = byDigest.get(layer.descriptor.digest);
    if (group) group.layers.push(layer);
    else byDigest.set(layer.descriptor.digest, { descriptor: layer.descriptor, layers: [layer] });
  }
  const groups = [...byDigest.values()];
  let next = 0;
  // The first failure stops every lane from starting another file, and is thrown only once all lanes
  // have stopped: a lane still writing when the caller removes the unfinished entry would recreate
  // its directory and leave debris in the cache.
  let failure: { error: unknown } | null = null;
  const lanes = Array.from({ length: Math.min(FETCH_CONCURRENCY, groups.length) }, async () => {
    try {
      while (failure === null && next < groups.length) {
        const { descriptor, layers } = groups[next++]!;
        const bytes = verified(
          await store.blob(descriptor),
          descriptor.digest,
          descriptor.size,
          `bundle file ${layers[0]?.path}`,
        );
        for (const layer of layers) await writer.writeFile(layer.path, bytes, layer.executable);
      }
    } catch (error) {
      failure ??= { error };
    }
  });
  await Promise.all(lanes);
  if (failure) throw (failure as { error: unknown }).error;
}

/**
 * Pulls a digest-pinned bundle (`oci://…@sha256:…` or `oci-layout:///…@sha256:…`) into the cache
 * and returns its directory. The manifest and every blob are checked against their digests and
 * sizes first; on any mismatch nothing is cached and a `BundleError('integrity')` is thrown.
 * A `dir:///abs/path` source is returned as it is, with a null digest.
 */
export async function pullBundle(
  source: string,
  options: PullBundleOptions,
): Promise<{ dir: string; digest: string | null; release?: () => void }> {
  const parsed = parseSource(source);
  if (parsed.kind === 'dir') {
    const info = await stat(parsed.path).catch(() => null);
    if (!info?.isDirectory()) throw new BundleError('not_found', `bundle directory ${parsed.path} does not exist`);
    return { dir: parsed.path, digest: null };
  }
  const digest = pinnedDigest(source, parsed);
  const cacheDir = resolve(options.cacheDir);
  const maxBytes = options.maxCacheBytes ?? DEFAULT_MAX_CACHE_BYTES;
  const hit = await lookupCacheEntry(cacheDir, digest);
  if (hit) return { dir: hit, digest, ...(options.hold ? { release: holdCacheEntry(hit) } : {}) };
  const store = await openStore(parsed, options);
  let dir: string;
  try {
    const manifest = await fetchVerifiedManifest(store, digest);
    const configBytes = await store.blob(manifest.config);
    const config = parseBundleConfig(verified(configBytes, manifest.config.digest, manifest.config.size, 'bundle config'));
    const bytes = manifest.layers.reduce((sum, layer) => sum + layer.descriptor.size, 0);
    dir = await storeCacheEntry(cacheDir, { digest, bytes, entrypoints: config.entrypoints }, (writer) =>
      unpack(store, manifest, writer),
    );
  } finally {
    await store.close();
  }
  const release = options.hold ? holdCacheEntry(dir) : undefined;
  await enforceCacheLimit(cacheDir, maxBytes, dir);
  return { dir, digest, ...(release ? { release } : {}) };
}

/**
 * Checks at deploy time that a bundle reference can be reached (a HEAD of the manifest, or the
 * layout's manifest file checked against its digest), so no deployment points at nothing.
 */
export async function verifySource(source: string, options: VerifySourceOptions = {}): Promise<void> {
  const parsed = parseSource(source);
  if (parsed.kind === 'dir') {
    const info = await stat(parsed.path).catch(() => null);
    if (!info?.isDirectory()) throw new BundleError('not_found', `bundle directory ${parsed.path} does not exist`);
    return;
  }
  if (parsed.kind === 'oci-layout') {
    const store = await openStore(parsed, options);
    await fetchVerifiedManifest(store, pinnedDigest(source, parsed));
    return;
  }
  const credentials = await credentialsFor(parsed.host, options.credentials);
  const client = new RegistryClient({ ...parsed, credentials, actions: 'pull', insecure: options.insecure ?? false });
  try {
    const reference = parsed.digest ?? parsed.tag ?? 'latest';
    const reported = await client.headManifest(reference);
    if (parsed.digest !== null && reported !== null && reported !== parsed.digest) {
      throw new BundleError('integrity', `registry ${parsed.host} answers ${reference} with ${reported}`);
    }
  } finally {
    await client.close();
  }
}

/**
 * The absolute path of the module to import for an entrypoint of a pulled bundle: the module the
 * bundle recorded for it, else the entrypoint with `.mjs` in place of its extension when that file
 * exists (a bundle built elsewhere), else the entrypoint itself (a `dir:` source of plain modules).
 */
export async function resolveBundleEntrypoint(dir: string, entrypoint: string): Promise<string> {
  const normalized = entrypoint.replace(/^\.\//, '');
  assertSafeBundlePath(normalized);
  const recorded = (await readCachedEntrypoints(dir))?.[normalized];
  if (recorded !== undefined) return join(dir, recorded);
  const dot = normalized.lastIndexOf('.');
  const built = `${dot > normalized.lastIndexOf('/') ? normalized.slice(0, dot) : normalized}.mjs`;
  if (await stat(join(dir, built)).catch(() => null)) return join(dir, built);
  const plain = join(dir, normalized);
  if (await stat(plain).catch(() => null)) return plain;
  throw new BundleError('not_found', `entrypoint ${entrypoint} is not in the bundle at ${dir}`);
}
