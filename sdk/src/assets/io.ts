import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PartitionsDefinition } from '../contracts/partitions.js';
import type { Logger } from '../runtime/logger.js';

/** A JSON value, as metadata holds them. */
export type MetadataValue = string | number | boolean | null | MetadataValue[] | { [key: string]: MetadataValue };

/** What an I/O manager knows about the data it reads or writes. */
export interface IOContext {
  readonly assetKey: string;
  /** The partition read or written; null for an unpartitioned asset. */
  readonly partitionKey: string | null;
  readonly partitions: PartitionsDefinition | null;
  /** The run reading or writing (a stage is named after it, so attempts never share one). */
  readonly runId: string;
  readonly attempt: number;
  readonly signal: AbortSignal;
  readonly log: Logger;
}

/** What a write returns: a hash of the data written, and metadata about it (never the data). */
export interface StoreResult {
  /** Changes whenever the data changes, e.g. a sha256 of the bytes written. Null when unknown. */
  dataVersion: string | null;
  /** Rows, bytes, schema, where it is… @default {} */
  metadata?: Record<string, MetadataValue>;
}

/**
 * Reads and writes an asset's data in the customer's storage, on the worker. `store` and `load`
 * are all a manager needs; one that also implements `stage`, `loadStaged` and `publish` gets
 * write-audit-publish: the data is staged, the asset's checks run on the staged copy, and only data
 * whose blocking checks passed is published where downstream assets read it.
 */
export interface IOManager<T = unknown> {
  /** Shown in the catalog (`fs`, `s3`, or a name of yours). @default 'custom' */
  readonly kind?: string;
  store(ctx: IOContext, value: T): Promise<StoreResult>;
  /** The stored value; throws `AssetValueMissingError` when nothing is stored for this asset and partition. */
  load(ctx: IOContext): Promise<T>;
  /** Write where downstream does not read yet. */
  stage?(ctx: IOContext, value: T): Promise<StoreResult>;
  /** Read the staged value back, for the checks. */
  loadStaged?(ctx: IOContext): Promise<T>;
  /** Make the staged value the stored one. */
  publish?(ctx: IOContext): Promise<void>;
  /** Drop a staged value whose checks failed. */
  discardStaged?(ctx: IOContext): Promise<void>;
}

/** Nothing is stored for an asset (or one of its partitions). */
export class AssetValueMissingError extends Error {
  override readonly name = 'AssetValueMissingError';
  constructor(
    readonly assetKey: string,
    readonly partitionKey: string | null,
    where: string,
  ) {
    super(`no stored value of asset ${assetKey}${partitionKey === null ? '' : ` for partition ${partitionKey}`} (${where})`);
  }
}

/** How values become bytes and back. */
export interface FileFormat<T = unknown> {
  /** File name extension, without the dot. */
  extension: string;
  encode(value: T): Uint8Array | string;
  decode(bytes: Uint8Array): T;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/** Values as JSON text (the default): what `JSON.stringify` keeps is what a downstream asset gets. */
export const jsonFormat: FileFormat<never> = {
  extension: 'json',
  encode(value) {
    const text = JSON.stringify(value);
    if (text === undefined) throw new TypeError('the value has no JSON form (a function, a symbol or undefined)');
    return text;
  },
  decode(bytes) {
    return JSON.parse(decoder.decode(bytes)) as never;
  },
};

export function sha256Bytes(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** A partition key as one path segment: anything but letters, digits, `-` and `_` is %-encoded (`.` too, so never `..`). */
export function encodePathSegment(text: string): string {
  return Array.from(new TextEncoder().encode(text), (byte) => {
    const c = String.fromCharCode(byte);
    return /[A-Za-z0-9_-]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }).join('');
}

/** The most bytes a file name may have on common file systems (ext4, XFS, APFS, NTFS). */
const NAME_MAX_BYTES = 255;
/** The length of a hashed partition segment: well under NAME_MAX_BYTES, for file systems that allow less. */
const HASHED_SEGMENT_BYTES = 200;

/**
 * A partition key as the path segment holding its value: `partition=` and the key encoded. For a
 * file name (`fileName`), when that does not fit 255 bytes — each byte of a CJK character is
 * `%XX`, so 28 of them already do not — a longer key keeps a readable start of its encoding, then
 * `~` and the sha256 of the whole key: `partition=%E6%97%A5…~<64 hex>`, at most 200 bytes. `~` is
 * never part of an encoding, so a hashed name cannot equal a short key's, and names that fitted
 * before are unchanged.
 */
export function partitionSegment(partitionKey: string, fileName = false): string {
  const encoded = encodePathSegment(partitionKey);
  const plain = `partition=${encoded}`;
  if (!fileName || plain.length <= NAME_MAX_BYTES) return plain;
  const hash = createHash('sha256').update(partitionKey, 'utf8').digest('hex');
  let prefix = encoded.slice(0, HASHED_SEGMENT_BYTES - 'partition='.length - 1 - hash.length);
  // Never end inside a `%XX`.
  const cut = prefix.lastIndexOf('%');
  if (cut !== -1 && cut > prefix.length - 3) prefix = prefix.slice(0, cut);
  return `partition=${prefix}~${hash}`;
}

/**
 * Where an asset's value lives, relative to a manager's root: `features/data.json`,
 * `raw/events/partition=2026-03-01/data.json`. `partition=` cannot be an asset key's segment (keys
 * have no `=`), so one asset's partitions never collide with another asset's files. A stage sits
 * under `<key>/.staging/<run>.<attempt>/` (no key segment starts with a dot). `fileNames`: the
 * path is on a file system, whose names are limited (see partitionSegment).
 */
export function assetObjectPath(
  ctx: Pick<IOContext, 'assetKey' | 'partitionKey'>,
  extension: string,
  stage?: string,
  fileNames = false,
): string {
  const parts = [ctx.assetKey];
  if (stage !== undefined) parts.push('.staging', stage);
  if (ctx.partitionKey !== null) parts.push(partitionSegment(ctx.partitionKey, fileNames));
  parts.push(`data.${extension}`);
  return parts.join('/');
}

export function stageName(ctx: Pick<IOContext, 'runId' | 'attempt'>): string {
  return `${encodePathSegment(ctx.runId)}.${ctx.attempt}`;
}

export function toBytes(encoded: Uint8Array | string): Uint8Array {
  return typeof encoded === 'string' ? new TextEncoder().encode(encoded) : encoded;
}

export interface FsIOOptions<T> {
  /** The root directory (a path or a `file://` URL). */
  dir: string;
  /** @default JSON */
  format?: FileFormat<T>;
}

async function writeAtomically(file: string, bytes: Uint8Array): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(temporary, bytes);
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true }).catch(() => undefined);
    throw error;
  }
}

/**
 * Asset values as files under `dir` (`<dir>/<asset key>/partition=<key>/data.json`; a key too
 * long for a file name is shortened with its hash, see partitionSegment), written to a temporary
 * file and renamed into place, so a reader never sees half a value. The data version is
 * the sha256 of the bytes; the metadata says how many bytes and where. Stages and publishes
 * (write-audit-publish) by renaming the staged file into place.
 * @example
 * export const features = asset({ key: 'features', io: fsIO({ dir: '/data/assets' }) }, build);
 */
// biome-ignore lint/suspicious/noExplicitAny: holds any JSON value unless told which.
export function fsIO<T = any>(options: FsIOOptions<T>): IOManager<T> {
  if (typeof options?.dir !== 'string' || options.dir === '') throw new TypeError('fsIO needs a dir');
  const root = path.resolve(options.dir.startsWith('file:') ? fileURLToPath(options.dir) : options.dir);
  const format = options.format ?? (jsonFormat as FileFormat<T>);
  const fileOf = (ctx: IOContext, stage?: string) =>
    path.join(root, ...assetObjectPath(ctx, format.extension, stage, true).split('/'));

  const write = async (value: T, file: string, published: string): Promise<StoreResult> => {
    const bytes = toBytes(format.encode(value));
    await writeAtomically(file, bytes);
    return { dataVersion: sha256Bytes(bytes), metadata: { bytes: bytes.byteLength, path: published } };
  };
  const read = async (ctx: IOContext, file: string): Promise<T> => {
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT')
        throw new AssetValueMissingError(ctx.assetKey, ctx.partitionKey, file);
      throw error;
    }
    return format.decode(new Uint8Array(bytes));
  };

  return {
    kind: 'fs',
    store: (ctx, value) => write(value, fileOf(ctx), fileOf(ctx)),
    load: (ctx) => read(ctx, fileOf(ctx)),
    stage: (ctx, value) => write(value, fileOf(ctx, stageName(ctx)), fileOf(ctx)),
    loadStaged: (ctx) => read(ctx, fileOf(ctx, stageName(ctx))),
    async publish(ctx) {
      const target = fileOf(ctx);
      await mkdir(path.dirname(target), { recursive: true });
      await rename(fileOf(ctx, stageName(ctx)), target);
      await removeStage(ctx);
    },
    async discardStaged(ctx) {
      await rm(fileOf(ctx, stageName(ctx)), { force: true });
      await removeStage(ctx);
    },
  };

  async function removeStage(ctx: IOContext): Promise<void> {
    // The stage's directory of this partition, once empty; others' partitions may still be in it.
    const dir = path.join(root, ...ctx.assetKey.split('/'), '.staging', stageName(ctx));
    await rm(path.join(dir, ctx.partitionKey === null ? '' : partitionSegment(ctx.partitionKey, true)), {
      recursive: true,
      force: true,
    }).catch(() => undefined);
  }
}

/**
 * The I/O manager of assets that name none: files under `OUTPOST_ASSET_DIR`, or
 * `$XDG_DATA_HOME/outpost/assets` (`~/.local/share/outpost/assets`).
 */
export function defaultIO(env: NodeJS.ProcessEnv = process.env): IOManager {
  const configured = env.OUTPOST_ASSET_DIR?.trim();
  const data = env.XDG_DATA_HOME?.trim() || path.join(homedir(), '.local', 'share');
  return fsIO({ dir: configured || path.join(data, 'outpost', 'assets') });
}
