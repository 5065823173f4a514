import { resolve } from 'node:path';
import { credentialsFor, type RegistryCredentials } from './credentials.js';
import { BundleError } from './errors.js';
import { type BundleBlob, type PackedBundle, packBundle } from './manifest.js';
import { OciLayout } from './oci-layout.js';
import { RegistryClient } from './registry-client.js';
import { parseSource, TAG_PATTERN } from './source.js';
import type { BuiltBundle, PushProgress, PushResult } from './types.js';

export interface PushBundleOptions {
  /** Registry credentials; `null` pushes anonymously. @default resolveRegistryCredentials(host) */
  credentials?: RegistryCredentials | null;
  /** @default the target's tag, else "latest" */
  tag?: string;
  /** Directory that a relative `oci-layout:` target is resolved against. @default process.cwd() */
  baseDir?: string;
  onProgress?: (progress: PushProgress) => void;
  /** Speak plain HTTP to a registry that is not on loopback. @default false */
  insecure?: boolean;
}

const UPLOAD_CONCURRENCY = 4;

export async function mapConcurrently<T>(items: T[], limit: number, action: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await action(item);
    }
  });
  await Promise.all(lanes);
}

/** One blob per digest: two identical files are stored once. */
function uniqueBlobs(packed: PackedBundle): BundleBlob[] {
  const seen = new Set<string>();
  return packed.blobs.filter((blob) => !seen.has(blob.descriptor.digest) && seen.add(blob.descriptor.digest));
}

function report(options: PushBundleOptions, blob: BundleBlob, skipped: boolean): void {
  const progress: PushProgress = { phase: 'blob', bytes: blob.descriptor.size, skipped };
  if (blob.path !== undefined) progress.path = blob.path;
  options.onProgress?.(progress);
}

async function pushToRegistry(
  packed: PackedBundle,
  target: { host: string; repository: string },
  tag: string,
  options: PushBundleOptions,
): Promise<PushResult> {
  const credentials = await credentialsFor(target.host, options.credentials);
  const client = new RegistryClient({ ...target, credentials, actions: 'pull,push', insecure: options.insecure ?? false });
  try {
    await client.ping();
    await mapConcurrently(uniqueBlobs(packed), UPLOAD_CONCURRENCY, async (blob) => {
      const exists = await client.hasBlob(blob.descriptor.digest);
      if (!exists) await client.uploadBlob(blob.descriptor.digest, blob.bytes);
      report(options, blob, exists);
    });
    const stored = await client.putManifest(tag, packed.manifest);
    if (stored !== null && stored !== packed.digest) {
      throw new BundleError('integrity', `registry ${target.host} stored the manifest as ${stored}, not ${packed.digest}`);
    }
    // A push only counts once the pinned reference answers: a deploy must never register a digest that cannot be pulled.
    await client.headManifest(packed.digest);
    options.onProgress?.({ phase: 'manifest', bytes: packed.manifest.byteLength });
    return { digest: packed.digest, source: `oci://${target.host}/${target.repository}@${packed.digest}` };
  } finally {
    await client.close();
  }
}

async function pushToLayout(packed: PackedBundle, root: string, tag: string, options: PushBundleOptions): Promise<PushResult> {
  const layout = new OciLayout(root);
  await layout.init();
  await mapConcurrently(uniqueBlobs(packed), UPLOAD_CONCURRENCY, async (blob) => {
    const exists = await layout.hasBlob(blob.descriptor.digest, blob.descriptor.size);
    if (!exists) await layout.writeBlob(blob.descriptor.digest, blob.bytes);
    report(options, blob, exists);
  });
  await layout.writeBlob(packed.digest, packed.manifest);
  await layout.addManifest(packed.digest, packed.manifest.byteLength, tag);
  options.onProgress?.({ phase: 'manifest', bytes: packed.manifest.byteLength });
  return { digest: packed.digest, source: `oci-layout://${root}@${packed.digest}` };
}

/**
 * Pushes a bundle to `oci://host[:port]/repository[:tag]` or an OCI layout directory
 * (`oci-layout:./dir`, `oci-layout:///abs/dir`) and returns its digest-pinned reference.
 */
export async function pushBundle(bundle: BuiltBundle, target: string, options: PushBundleOptions = {}): Promise<PushResult> {
  const parsed = parseSource(target);
  if (parsed.kind === 'dir') throw new BundleError('invalid', `cannot push to ${target}: use oci://… or oci-layout:…`);
  if (parsed.digest !== null) throw new BundleError('invalid', `cannot push to ${target}: a push target names no digest`);
  const tag = options.tag ?? (parsed.kind === 'oci' ? parsed.tag : null) ?? 'latest';
  if (!TAG_PATTERN.test(tag)) throw new BundleError('invalid', `"${tag}" is not a valid tag`);
  const packed = packBundle(bundle);
  if (parsed.kind === 'oci') return pushToRegistry(packed, parsed, tag, options);
  return pushToLayout(packed, resolve(options.baseDir ?? process.cwd(), parsed.path), tag, options);
}
