import * as z from 'zod';
import { DIGEST_PATTERN, sha256Digest } from './digest.js';
import { BundleError } from './errors.js';
import type { BuiltBundle } from './types.js';

// Debian's docker-registry (distribution 2.8.2) stores manifests byte for byte and accepts both
// `artifactType` and custom config media types, so the ORAS artifact convention is used unchanged.
export const MANIFEST_MEDIA_TYPE = 'application/vnd.oci.image.manifest.v1+json';
export const INDEX_MEDIA_TYPE = 'application/vnd.oci.image.index.v1+json';
export const ARTIFACT_TYPE = 'application/vnd.outpost.bundle.v1';
export const CONFIG_MEDIA_TYPE = 'application/vnd.outpost.bundle.config.v1+json';
export const FILE_MEDIA_TYPE = 'application/vnd.outpost.bundle.file.v1';
export const TITLE_ANNOTATION = 'org.opencontainers.image.title';
/** Set to `true` on the layer of a file unpacked as executable; absent otherwise, so older bundles keep their digests. */
export const EXECUTABLE_ANNOTATION = 'vnd.outpost.bundle.file.executable';
/** Written into every cached bundle directory, so no bundle file may carry this name. */
export const CACHE_MARKER = '.outpost-bundle.json';
/** Manifests are small; the same cap as distribution's own. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
const MAX_LAYERS = 10_000;

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

export interface BundleBlob {
  descriptor: Descriptor;
  bytes: Uint8Array;
  /** The bundle file this blob holds; absent for the config. */
  path?: string;
}

export interface PackedBundle {
  manifest: Uint8Array;
  digest: string;
  /** Config first, then one blob per file in path order. */
  blobs: BundleBlob[];
}

export interface BundleLayer {
  path: string;
  descriptor: Descriptor;
  executable: boolean;
}

export interface BundleManifest {
  config: Descriptor;
  layers: BundleLayer[];
}

/** Code-point order, unlike localeCompare, so the result never depends on the machine's locale. */
function compareCodePoints(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** JSON with object keys sorted at every level: the same value always gives the same bytes. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) => {
    if (item === null || typeof item !== 'object' || Array.isArray(item)) return item;
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(item).sort(compareCodePoints)) sorted[key] = (item as Record<string, unknown>)[key];
    return sorted;
  });
}

/** A bundle path must stay inside the bundle directory wherever it is unpacked. */
export function assertSafeBundlePath(path: string): void {
  const segments = path.split('/');
  const unsafe =
    path.length === 0 ||
    path.length > 1024 ||
    path.startsWith('/') ||
    /[\\\0]/.test(path) ||
    /^[A-Za-z]:/.test(path) ||
    segments.some((segment) => segment === '' || segment === '.' || segment === '..') ||
    path === CACHE_MARKER;
  if (unsafe) throw new BundleError('invalid', `unsafe path in bundle: ${JSON.stringify(path.slice(0, 200))}`);
}

/** `a` and `a/b` cannot both be files once unpacked. */
export function assertNoFileUnderFile(paths: Iterable<string>): void {
  const files = new Set(paths);
  for (const path of files) {
    for (let slash = path.indexOf('/'); slash !== -1; slash = path.indexOf('/', slash + 1)) {
      const parent = path.slice(0, slash);
      if (files.has(parent)) throw new BundleError('invalid', `bundle path ${parent} is both a file and a directory`);
    }
  }
}

export function encodeBundleConfig(entrypoints: Record<string, string>): Uint8Array {
  return new TextEncoder().encode(canonicalJson({ entrypoints }));
}

/** Turns a built bundle into its manifest and blobs; deterministic, so the digest names the content. */
export function packBundle(bundle: BuiltBundle): PackedBundle {
  const files = [...bundle.files].sort((a, b) => compareCodePoints(a.path, b.path));
  for (const [index, file] of files.entries()) {
    assertSafeBundlePath(file.path);
    if (index > 0 && files[index - 1]?.path === file.path) throw new BundleError('invalid', `duplicate bundle path ${file.path}`);
  }
  assertNoFileUnderFile(files.map((file) => file.path));
  for (const modulePath of Object.values(bundle.entrypoints)) {
    if (!files.some((file) => file.path === modulePath)) {
      throw new BundleError('invalid', `entrypoint module ${modulePath} is not a file of the bundle`);
    }
  }
  const configBytes = encodeBundleConfig(bundle.entrypoints);
  const config: BundleBlob = {
    descriptor: { mediaType: CONFIG_MEDIA_TYPE, digest: sha256Digest(configBytes), size: configBytes.byteLength },
    bytes: configBytes,
  };
  const layers: BundleBlob[] = files.map((file) => ({
    descriptor: {
      mediaType: FILE_MEDIA_TYPE,
      digest: sha256Digest(file.bytes),
      size: file.bytes.byteLength,
      annotations: { [TITLE_ANNOTATION]: file.path, ...(file.executable ? { [EXECUTABLE_ANNOTATION]: 'true' } : {}) },
    },
    bytes: file.bytes,
    path: file.path,
  }));
  const manifest = new TextEncoder().encode(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MANIFEST_MEDIA_TYPE,
      artifactType: ARTIFACT_TYPE,
      config: config.descriptor,
      layers: layers.map((layer) => layer.descriptor),
    }),
  );
  return { manifest, digest: sha256Digest(manifest), blobs: [config, ...layers] };
}

const descriptorSchema = z.object({
  mediaType: z.string(),
  digest: z.string().regex(DIGEST_PATTERN),
  size: z.number().int().nonnegative(),
  annotations: z.record(z.string(), z.string()).optional(),
});

const manifestSchema = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.literal(MANIFEST_MEDIA_TYPE).optional(),
  artifactType: z.string().optional(),
  config: descriptorSchema,
  layers: z.array(descriptorSchema).max(MAX_LAYERS),
});

const configSchema = z.object({ entrypoints: z.record(z.string(), z.string()) });

function parseJson(bytes: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (error) {
    throw new BundleError('invalid', `${what} is not valid JSON`, { cause: error });
  }
}

/** Reads a verified manifest, refusing anything that is not an Outpost bundle or that would escape its directory. */
export function parseBundleManifest(bytes: Uint8Array, digest: string): BundleManifest {
  const parsed = manifestSchema.safeParse(parseJson(bytes, `manifest ${digest}`));
  if (!parsed.success)
    throw new BundleError('invalid', `manifest ${digest} is not an OCI image manifest: ${parsed.error.message}`);
  const manifest = parsed.data;
  if (manifest.config.mediaType !== CONFIG_MEDIA_TYPE || (manifest.artifactType && manifest.artifactType !== ARTIFACT_TYPE)) {
    throw new BundleError('invalid', `manifest ${digest} is not an Outpost bundle (config ${manifest.config.mediaType})`);
  }
  const seen = new Set<string>();
  const layers = manifest.layers.map((descriptor): BundleLayer => {
    const path = descriptor.annotations?.[TITLE_ANNOTATION];
    if (descriptor.mediaType !== FILE_MEDIA_TYPE || path === undefined) {
      throw new BundleError('invalid', `manifest ${digest} has a layer that is not a bundle file (${descriptor.mediaType})`);
    }
    assertSafeBundlePath(path);
    if (seen.has(path)) throw new BundleError('invalid', `manifest ${digest} lists ${path} twice`);
    seen.add(path);
    return { path, descriptor, executable: descriptor.annotations?.[EXECUTABLE_ANNOTATION] === 'true' };
  });
  assertNoFileUnderFile(seen);
  return { config: manifest.config, layers };
}

export function parseBundleConfig(bytes: Uint8Array): { entrypoints: Record<string, string> } {
  const parsed = configSchema.safeParse(parseJson(bytes, 'bundle config'));
  if (!parsed.success) throw new BundleError('invalid', `bundle config is malformed: ${parsed.error.message}`);
  for (const modulePath of Object.values(parsed.data.entrypoints)) assertSafeBundlePath(modulePath);
  return parsed.data;
}
