import { cacheKeyFor, decodeResult, encodeResult, NotCacheableError, taskSourceDigest } from './cache.js';
import { describeError, toError } from './errors.js';
import { log } from './logger.js';
import { type ResultStorage, resultStorageFromEnv } from './result-storage.js';

export interface TaskCacheSettings<A extends unknown[]> {
  name: string;
  cacheKey?: ((...args: A) => string) | undefined;
  cacheExpirationSeconds?: number | undefined;
  resultStorage?: ResultStorage | undefined;
}

/** Runs `fn` with the calling task run's context, so its log lines belong to the task run. */
export type InTaskScope = (fn: () => void) => void;

/** What the state of a task run whose result was stored carries: where, never what. */
export interface StoredResultRef {
  cacheKey: string;
  ref: string;
}

/**
 * The cache of one task. Every failure here — an argument with no JSON form, a storage that cannot
 * be read or written — costs only the cache: it is logged once per call and the task runs as if
 * caching were off. Nothing in here talks to the control plane.
 */
export class TaskCache<A extends unknown[] = unknown[]> {
  private readonly sourceDigest: string;

  constructor(
    private readonly settings: TaskCacheSettings<A>,
    fn: (...args: A) => unknown,
  ) {
    this.sourceDigest = taskSourceDigest(settings.name, fn as (...args: never[]) => unknown);
  }

  private storage(): ResultStorage {
    return this.settings.resultStorage ?? resultStorageFromEnv();
  }

  /** The call's key and the stored result, if any; null when this call cannot be cached. */
  async lookup(args: A, inScope: InTaskScope): Promise<{ key: string; hit: { value: unknown } | null } | null> {
    let key: string;
    try {
      const custom = this.settings.cacheKey?.(...args);
      if (custom !== undefined && typeof custom !== 'string') throw new TypeError('cacheKey must return a string');
      key = cacheKeyFor(this.settings.name, this.sourceDigest, args, custom);
    } catch (error) {
      const why = error instanceof NotCacheableError ? error.message : describeError(toError(error));
      inScope(() => log.warning(`not cached: no cache key for these arguments (${why}); pass cacheKey to choose one`));
      return null;
    }
    try {
      const bytes = await this.storage().read(key);
      const hit = bytes ? decodeResult(bytes) : null;
      if (hit) inScope(() => log.info(`cache hit: returning the stored result (key ${key.slice(0, 12)}…)`));
      return { key, hit };
    } catch (error) {
      inScope(() => log.warning(`cache lookup failed, running the task: ${describeError(toError(error))}`));
      return { key, hit: null };
    }
  }

  /** Stores a fresh result; returns the reference for the task run's state, or null when it was not stored. */
  async store(key: string, value: unknown, inScope: InTaskScope): Promise<StoredResultRef | null> {
    let bytes: Uint8Array;
    try {
      bytes = encodeResult(value);
    } catch (error) {
      const why = error instanceof NotCacheableError ? error.message : describeError(toError(error));
      inScope(() => log.warning(`result not cached: only JSON results are cached (${why})`));
      return null;
    }
    const seconds = this.settings.cacheExpirationSeconds;
    const expiresAt = seconds === undefined ? null : new Date(Date.now() + seconds * 1000);
    try {
      const { ref } = await this.storage().write(key, bytes, { expiresAt });
      return { cacheKey: key, ref };
    } catch (error) {
      inScope(() => log.warning(`result not cached: writing it failed: ${describeError(toError(error))}`));
      return null;
    }
  }
}
