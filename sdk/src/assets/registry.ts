import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AssetDefinitionInput } from '../contracts/assets.js';

/** The global key under which assets register; shared by every copy of the SDK in a process. */
export const ASSET_REGISTRY_KEY = Symbol.for('outpost.assets');

/** What the assets flow and `outpost deploy` see of an asset defined with `asset()`. */
export interface RegisteredAsset {
  readonly key: string;
  /** `assets.ts:12`, where `asset()` was called; null when no stack said. */
  readonly definedAt: string | null;
  /** What `outpost deploy` registers for it. */
  definition(): AssetDefinitionInput;
  /** The asset object itself, for the copy of the SDK that defined it. */
  readonly asset: unknown;
}

/** The registry, created on first use. */
export function assetRegistry(): Map<string, RegisteredAsset> {
  const holder = globalThis as { [ASSET_REGISTRY_KEY]?: Map<string, RegisteredAsset> };
  holder[ASSET_REGISTRY_KEY] ??= new Map();
  return holder[ASSET_REGISTRY_KEY];
}

/** Two definitions of one asset key. */
export class DuplicateAssetKeyError extends Error {
  override readonly name = 'DuplicateAssetKeyError';
  constructor(
    readonly key: string,
    readonly places: readonly [string, string],
  ) {
    super(`asset key '${key}' is defined twice: at ${places[0]} and at ${places[1]}; asset keys must be unique`);
  }
}

/**
 * Adds an asset. A key already defined elsewhere is an error naming both places; a definition
 * from the very same place (the module evaluated again, as a watcher or test runner may) replaces
 * the earlier one.
 */
export function registerAsset(entry: RegisteredAsset): void {
  const registry = assetRegistry();
  const earlier = registry.get(entry.key);
  if (earlier && earlier.asset !== entry.asset && (earlier.definedAt === null || earlier.definedAt !== entry.definedAt)) {
    throw new DuplicateAssetKeyError(entry.key, [earlier.definedAt ?? 'an unknown place', entry.definedAt ?? 'an unknown place']);
  }
  registry.set(entry.key, entry);
}

/** Forget every asset (for tests that define the same keys again). */
export function clearAssetRegistry(): void {
  assetRegistry().clear();
}

/**
 * `file:line` of the code that called `caller`: a path relative to the working directory when
 * inside it (so `outpost deploy`, which reads a bundle with source maps from its own directory,
 * names `assets.ts:12`), else absolute. Null when the stack says nothing usable.
 */
export function callSite(caller: (...args: never[]) => unknown): string | null {
  const holder: { stack?: string } = {};
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = Math.max(limit, 3);
  try {
    Error.captureStackTrace(holder, caller);
  } finally {
    Error.stackTraceLimit = limit;
  }
  const frame = holder.stack?.split('\n').find((line) => line.trimStart().startsWith('at '));
  if (!frame) return null;
  const match = /\(?((?:file:\/\/)?[^()\s][^()]*?):(\d+):\d+\)?\s*$/.exec(frame.trim().slice(3));
  if (!match) return null;
  let file = match[1] as string;
  if (file.startsWith('file://')) {
    try {
      file = fileURLToPath(file);
    } catch {
      return `${file}:${match[2]}`;
    }
  }
  if (path.isAbsolute(file)) {
    const relative = path.relative(process.cwd(), file);
    if (relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative)) file = relative.split(path.sep).join('/');
  }
  return `${file}:${match[2]}`;
}
