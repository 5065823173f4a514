import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { digestHex } from './digest.js';
import { isErrnoException } from './errors.js';
import { CACHE_MARKER } from './manifest.js';

/** @default 2 GiB */
export const DEFAULT_MAX_CACHE_BYTES = 2 * 1024 * 1024 * 1024;
const ENTRY_PATTERN = /^sha256-[a-f0-9]{64}$/;
// A temporary directory this old belongs to a pull that died; younger ones may still be filling.
const ABANDONED_TEMP_MS = 60 * 60 * 1000;

/** What the marker file, written last into a complete cache entry, records. */
export interface CacheMarker {
  digest: string;
  bytes: number;
  entrypoints: Record<string, string>;
}

/** Entries runs of this process are using (directory → number of holders): never evicted while held. */
const held = new Map<string, number>();

/**
 * Keeps an entry from eviction by this process until the returned function is called (once per
 * hold): a flow may read its bundle's shipped files (a script, a SQL file) at any point of its run.
 */
export function holdCacheEntry(dir: string): () => void {
  held.set(dir, (held.get(dir) ?? 0) + 1);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const left = (held.get(dir) ?? 1) - 1;
    if (left > 0) held.set(dir, left);
    else held.delete(dir);
  };
}

export function cacheEntryDir(cacheDir: string, digest: string): string {
  return join(cacheDir, `sha256-${digestHex(digest)}`);
}

/** A complete entry's directory (its use time refreshed for LRU), or null on a miss. */
export async function lookupCacheEntry(cacheDir: string, digest: string): Promise<string | null> {
  const dir = cacheEntryDir(cacheDir, digest);
  const marker = join(dir, CACHE_MARKER);
  const now = new Date();
  try {
    await utimes(marker, now, now);
    return dir;
  } catch (error) {
    if (isErrnoException(error) && (error.code === 'ENOENT' || error.code === 'ENOTDIR')) return null;
    throw error;
  }
}

export interface CacheWriter {
  /** Writes one file of the entry (mode 0755 when `executable`); `path` is a verified safe relative path. */
  writeFile(path: string, bytes: Uint8Array, executable?: boolean): Promise<void>;
}

/**
 * Fills a temporary directory through `fill`, writes the marker last and renames the directory into
 * place, so a reader sees either a complete entry or none. If `fill` throws, nothing is left behind.
 */
export async function storeCacheEntry(
  cacheDir: string,
  marker: CacheMarker,
  fill: (writer: CacheWriter) => Promise<void>,
): Promise<string> {
  await mkdir(cacheDir, { recursive: true });
  const temporary = await mkdtemp(join(cacheDir, '.tmp-'));
  const final = cacheEntryDir(cacheDir, marker.digest);
  try {
    await fill({
      async writeFile(path, bytes, executable = false) {
        const target = join(temporary, ...path.split('/'));
        await mkdir(dirname(target), { recursive: true });
        await writeFile(target, bytes, { flag: 'wx', ...(executable ? { mode: 0o755 } : {}) });
      },
    });
    await writeFile(join(temporary, CACHE_MARKER), JSON.stringify(marker));
    for (let attempt = 0; ; attempt++) {
      try {
        await rename(temporary, final);
        return final;
      } catch (error) {
        const occupied = isErrnoException(error) && ['ENOTEMPTY', 'EEXIST', 'EPERM'].includes(error.code ?? '');
        if (!occupied || attempt > 0) throw error;
      }
      // Another pull of the same digest got there first: its entry is as good as ours. A directory
      // without a marker is debris of something else and is replaced.
      if (await lookupCacheEntry(cacheDir, marker.digest)) {
        await rm(temporary, { recursive: true, force: true });
        return final;
      }
      await removeEntry(cacheDir, final);
    }
  } catch (error) {
    await rm(temporary, { recursive: true, force: true });
    throw error;
  }
}

async function readMarker(dir: string): Promise<{ bytes: number; usedAt: number } | null> {
  const path = join(dir, CACHE_MARKER);
  try {
    const [info, text] = await Promise.all([stat(path), readFile(path, 'utf8')]);
    const marker = JSON.parse(text) as Partial<CacheMarker>;
    return { bytes: typeof marker.bytes === 'number' ? marker.bytes : 0, usedAt: info.mtimeMs };
  } catch {
    return null;
  }
}

/** Removes a directory by first renaming it aside, so no reader ever sees a half-deleted entry. */
async function removeEntry(cacheDir: string, dir: string): Promise<void> {
  const aside = join(cacheDir, `.tmp-evict-${randomBytes(6).toString('hex')}`);
  try {
    await rename(dir, aside);
  } catch (error) {
    if (isErrnoException(error) && error.code === 'ENOENT') return;
    throw error;
  }
  await rm(aside, { recursive: true, force: true });
}

/**
 * Evicts least-recently-used entries until the cache fits in `maxBytes`, sparing `keep` (the entry
 * just pulled) and the entries held with `holdCacheEntry`. A run executing from an entry that was
 * not held keeps its flow module, read completely when it was imported, but loses any shipped
 * file it has not read yet.
 */
export async function enforceCacheLimit(cacheDir: string, maxBytes: number, keep: string): Promise<void> {
  const names = await readdir(cacheDir).catch(() => [] as string[]);
  const entries: { dir: string; bytes: number; usedAt: number }[] = [];
  for (const name of names) {
    const dir = join(cacheDir, name);
    if (name.startsWith('.tmp-')) {
      const info = await stat(dir).catch(() => null);
      if (info && Date.now() - info.mtimeMs > ABANDONED_TEMP_MS) await rm(dir, { recursive: true, force: true });
      continue;
    }
    if (!ENTRY_PATTERN.test(name)) continue;
    const marker = await readMarker(dir);
    if (marker) entries.push({ dir, ...marker });
  }
  let total = entries.reduce((sum, entry) => sum + entry.bytes, 0);
  entries.sort((a, b) => a.usedAt - b.usedAt);
  for (const entry of entries) {
    if (total <= maxBytes) break;
    if (entry.dir === keep || held.has(entry.dir)) continue;
    await removeEntry(cacheDir, entry.dir);
    total -= entry.bytes;
  }
}

/** The entrypoint map recorded when the entry was pulled, or null for a directory without a marker. */
export async function readCachedEntrypoints(dir: string): Promise<Record<string, string> | null> {
  try {
    const marker = JSON.parse(await readFile(join(dir, CACHE_MARKER), 'utf8')) as Partial<CacheMarker>;
    return marker.entrypoints && typeof marker.entrypoints === 'object' ? marker.entrypoints : null;
  } catch {
    return null;
  }
}
