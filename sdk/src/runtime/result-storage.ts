import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * Where task results are kept for caching. Results stay in the customer's own storage: the control
 * plane only ever learns a key and the `ref` a write returns, never the bytes.
 */
export interface ResultStorage {
  /** The bytes stored under `key`, or null when there are none or they have expired. */
  read(key: string): Promise<Uint8Array | null>;
  /** Store `bytes` under `key` (replacing what was there) and say where, as a reference that holds no data. */
  write(key: string, bytes: Uint8Array, meta: { expiresAt: Date | null }): Promise<{ ref: string }>;
}

/** Keys are file names and object names: letters, digits, `.`, `_`, `-`, never a path. */
const KEY = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

function checkKey(key: string): void {
  if (!KEY.test(key)) throw new TypeError(`invalid result key '${key}': use letters, digits, '.', '_' or '-' (at most 200)`);
}

export interface DirectoryResultStorageOptions {
  /** The clock expiry is judged by. @default () => new Date() */
  now?: () => Date;
}

/**
 * Results as files under `dir` (`<dir>/<first two characters of the key>/<key>`). Each file starts
 * with one JSON header line carrying the expiry, then the bytes. Writes go to a temporary file that
 * is renamed into place, so a reader never sees half a result, even from another process.
 */
export function directoryResultStorage(dir: string, options: DirectoryResultStorageOptions = {}): ResultStorage {
  const root = path.resolve(dir);
  const now = options.now ?? (() => new Date());
  const fileOf = (key: string) => path.join(root, key.slice(0, 2), key);
  return {
    async read(key) {
      checkKey(key);
      let content: Buffer;
      try {
        content = await readFile(fileOf(key));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw error;
      }
      const newline = content.indexOf(0x0a);
      if (newline < 0) return null;
      let header: { expiresAt?: unknown };
      try {
        header = JSON.parse(content.subarray(0, newline).toString('utf8')) as { expiresAt?: unknown };
      } catch {
        return null;
      }
      if (typeof header.expiresAt === 'string' && Date.parse(header.expiresAt) <= now().getTime()) {
        await rm(fileOf(key), { force: true }).catch(() => undefined);
        return null;
      }
      return new Uint8Array(content.subarray(newline + 1));
    },
    async write(key, bytes, meta) {
      checkKey(key);
      const file = fileOf(key);
      await mkdir(path.dirname(file), { recursive: true });
      const header = Buffer.from(`${JSON.stringify({ v: 1, expiresAt: meta.expiresAt?.toISOString() ?? null })}\n`, 'utf8');
      const temporary = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
      try {
        await writeFile(temporary, Buffer.concat([header, bytes]));
        await rename(temporary, file);
      } catch (error) {
        await rm(temporary, { force: true }).catch(() => undefined);
        throw error;
      }
      return { ref: pathToFileURL(file).href };
    },
  };
}

/** Makes a storage from its URL (`file:///abs/dir`, `s3://bucket/prefix`…). */
export type ResultStorageFactory = (url: URL) => ResultStorage;

/*
 * Factories by URL scheme, on globalThis: the flow process may hold two copies of the SDK (the
 * runner's and the bundle's), and a scheme registered through either must be found by both.
 */
const FACTORIES_KEY = Symbol.for('outpost.resultStorageFactories');

function factories(): Map<string, ResultStorageFactory> {
  const holder = globalThis as { [FACTORIES_KEY]?: Map<string, ResultStorageFactory> };
  holder[FACTORIES_KEY] ??= new Map();
  return holder[FACTORIES_KEY];
}

/** Adds (or replaces) the storage for a URL scheme, given without the colon: `registerResultStorage('s3', …)`. */
export function registerResultStorage(scheme: string, factory: ResultStorageFactory): void {
  factories().set(`${scheme.toLowerCase()}:`, factory);
}

/** The storage a URL names; `file:` is built in, other schemes must be registered first. */
export function resultStorageFromUrl(url: string): ResultStorage {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(`invalid result storage URL '${url}': expected e.g. file:///var/cache/outpost-results`);
  }
  const factory = factories().get(parsed.protocol);
  if (factory) return factory(parsed);
  if (parsed.protocol === 'file:') return directoryResultStorage(fileURLToPath(parsed));
  const known = ['file', ...[...factories().keys()].map((s) => s.slice(0, -1))].join(', ');
  throw new TypeError(`no result storage for '${parsed.protocol}' URLs (known: ${known})`);
}

/**
 * `OUTPOST_RESULT_STORAGE` when set (the worker sets it for the runs it starts), else a directory in
 * the user's cache: `$XDG_CACHE_HOME/outpost/results` or `~/.cache/outpost/results`.
 */
export function resultStorageUrl(env: NodeJS.ProcessEnv = process.env): string {
  const configured = env.OUTPOST_RESULT_STORAGE?.trim();
  if (configured) return configured;
  const cache = env.XDG_CACHE_HOME?.trim() || path.join(homedir(), '.cache');
  return pathToFileURL(path.join(cache, 'outpost', 'results')).href;
}

let current: { url: string; storage: ResultStorage } | null = null;

/** The storage for this process's environment, made once per URL. */
export function resultStorageFromEnv(env: NodeJS.ProcessEnv = process.env): ResultStorage {
  const url = resultStorageUrl(env);
  if (current?.url !== url) current = { url, storage: resultStorageFromUrl(url) };
  return current.storage;
}
