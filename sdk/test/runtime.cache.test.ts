import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  directoryResultStorage,
  flow,
  type ResultStorage,
  registerResultStorage,
  resultStorageFromUrl,
  task,
} from '../src/index.js';
import { canonicalJson, NotCacheableError, resultStorageFromEnv, resultStorageUrl } from '../src/runtime/index.js';
import { executeUnderWorker, MemoryWorker } from './runtime.memory-worker.js';

let dir: string;
let counter = 0;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'outpost-cache-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllEnvs();
});

/** A fresh storage directory per test, so no test sees another's results. */
function freshStorage(options?: Parameters<typeof directoryResultStorage>[1]): { storage: ResultStorage; root: string } {
  const root = path.join(dir, `s${++counter}`);
  return { storage: directoryResultStorage(root, options), root };
}

async function filesUnder(root: string): Promise<string[]> {
  try {
    return (await readdir(root, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name);
  } catch {
    return [];
  }
}

describe('task caching', () => {
  it('runs the body once for equal arguments, again for different ones, and returns the stored result on a hit', async () => {
    const { storage } = freshStorage();
    const body = vi.fn(async (day: string, opts: { scale: number }) => ({
      day,
      rows: [1, 2, 3].map((n) => n * opts.scale),
      b: 1,
      a: 2,
    }));
    const features = task({ name: 'features', cache: true, resultStorage: storage }, body);

    const first = await features('2024-05-01', { scale: 2 });
    const second = await features('2024-05-01', { scale: 2 });
    await features('2024-05-02', { scale: 2 });

    expect(body).toHaveBeenCalledTimes(2);
    expect(second).toEqual(first);
    expect(second).not.toBe(first);
    // Read back in its own key order, so it prints like the original.
    expect(Object.keys(second)).toEqual(['day', 'rows', 'b', 'a']);
  });

  it('treats arguments that differ only in key order as the same call', async () => {
    const { storage } = freshStorage();
    const body = vi.fn(async (input: Record<string, number>) => Object.keys(input).length);
    const count = task({ name: 'count-keys', cache: true, resultStorage: storage }, body);
    await count({ a: 1, b: 2 });
    await count({ b: 2, a: 1 });
    expect(body).toHaveBeenCalledTimes(1);
  });

  it('misses once the stored result has expired by the storage clock', async () => {
    let now = new Date('2024-05-01T00:00:00Z');
    const { storage } = freshStorage({ now: () => now });
    vi.useFakeTimers({ toFake: ['Date'], now });
    const body = vi.fn(async (n: number) => n + 1);
    const inc = task({ name: 'inc-expiring', cache: true, cacheExpirationSeconds: 60, resultStorage: storage }, body);

    await inc(1);
    now = new Date('2024-05-01T00:00:59Z');
    await inc(1);
    expect(body).toHaveBeenCalledTimes(1);
    now = new Date('2024-05-01T00:01:00Z');
    await inc(1);
    expect(body).toHaveBeenCalledTimes(2);
  });

  it('uses the key a cacheKey function gives, scoped to the task name', async () => {
    const { storage } = freshStorage();
    const a = vi.fn(async (day: string, _noise: number) => `a:${day}`);
    const b = vi.fn(async (day: string, _noise: number) => `b:${day}`);
    const taskA = task({ name: 'by-day-a', cacheKey: (day) => day, resultStorage: storage }, a);
    const taskB = task({ name: 'by-day-b', cacheKey: (day) => day, resultStorage: storage }, b);

    expect(await taskA('mon', 1)).toBe('a:mon');
    expect(await taskA('mon', 2)).toBe('a:mon');
    expect(await taskB('mon', 3)).toBe('b:mon');
    expect(a).toHaveBeenCalledTimes(1);
    expect(b).toHaveBeenCalledTimes(1);
  });

  it('changes the default key when the task’s source changes', async () => {
    const { storage } = freshStorage();
    const v1 = task({ name: 'versioned', cache: true, resultStorage: storage }, async (n: number) => n * 2);
    const v2 = task({ name: 'versioned', cache: true, resultStorage: storage }, async (n: number) => n * 3);
    expect(await v1(5)).toBe(10);
    expect(await v2(5)).toBe(15);
  });

  it('does not cache a result that is not plain JSON, warns, and still returns it', async () => {
    const { storage, root } = freshStorage();
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    const body = vi.fn(async () => new Map([['a', 1]]));
    const t = task({ name: 'map-result', cache: true, resultStorage: storage }, body);

    expect(await t()).toBeInstanceOf(Map);
    await t();
    expect(body).toHaveBeenCalledTimes(2);
    expect(errors.mock.calls.map((c) => String(c[0]))).toContain(
      '[map-result-0] warning result not cached: only JSON results are cached (the value is a Map, not plain JSON data)',
    );
    expect(await filesUnder(root)).toEqual([]);
    errors.mockRestore();
  });

  it('runs uncached, with a warning, when an argument has no JSON form', async () => {
    const { storage } = freshStorage();
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    const body = vi.fn(async (s: Set<number>) => s.size);
    const t = task({ name: 'set-arg', cache: true, resultStorage: storage }, body);
    await t(new Set([1]));
    await t(new Set([1]));
    expect(body).toHaveBeenCalledTimes(2);
    expect(String(errors.mock.calls[0]?.[0])).toContain('not cached: no cache key for these arguments (the value[0] is a Set');
    errors.mockRestore();
  });

  it('reads OUTPOST_RESULT_STORAGE when the task names no storage', async () => {
    const root = path.join(dir, 'from-env');
    vi.stubEnv('OUTPOST_RESULT_STORAGE', pathToFileURL(root).href);
    const body = vi.fn(async (n: number) => n);
    const t = task({ name: 'env-storage', cache: true }, body);
    await t(7);
    await t(7);
    expect(body).toHaveBeenCalledTimes(1);
    expect(await filesUnder(root)).toHaveLength(1);
  });

  it('records a hit COMPLETED/Cached with the key only: no result value reaches the worker', async () => {
    const { storage } = freshStorage();
    const marker = 'result-value-7b1c9e';
    const body = vi.fn(async (n: number) => ({ marker, n }));
    const t = task({ name: 'cached-under-worker', cache: true, resultStorage: storage }, body);
    flow({ name: 'cache-flow' }, async () => [await t(1), await t(1)]);
    const worker = new MemoryWorker();

    await executeUnderWorker('cache-flow', worker);

    expect(body).toHaveBeenCalledTimes(1);
    const creates = worker.creates();
    expect(creates.map((c) => [c.taskKey, c.state.type, c.state.name ?? null])).toEqual([
      ['cached-under-worker-0', 'RUNNING', null],
      ['cached-under-worker-1', 'COMPLETED', 'Cached'],
    ]);
    const key = creates[0]?.cacheKey;
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(creates[1]?.cacheKey).toBe(key);
    expect(creates[1]?.state.data).toEqual({ cacheKey: key });
    const completed = worker.taskStates().find((s) => s.state.type === 'COMPLETED');
    expect(completed?.state.data).toMatchObject({ cacheKey: key, ref: expect.stringMatching(/^file:\/\//) });
    expect(JSON.stringify(worker.messages)).not.toContain(marker);
  });
});

describe('directoryResultStorage', () => {
  it('writes atomically, leaving only the result file, and reads back the bytes', async () => {
    const { storage, root } = freshStorage();
    const { ref } = await storage.write('abc123', new TextEncoder().encode('hello'), { expiresAt: null });
    expect(new TextDecoder().decode((await storage.read('abc123')) ?? new Uint8Array())).toBe('hello');
    expect(await filesUnder(root)).toEqual(['abc123']);
    expect(ref).toBe(pathToFileURL(path.join(root, 'ab', 'abc123')).href);
    expect(await storage.read('missing')).toBeNull();
  });

  it('refuses keys that could name another path', async () => {
    const { storage } = freshStorage();
    await expect(storage.write('../escape', new Uint8Array(), { expiresAt: null })).rejects.toThrow(TypeError);
    await expect(storage.read('a/b')).rejects.toThrow(/invalid result key/);
  });

  it('treats a damaged file as missing', async () => {
    const { storage, root } = freshStorage();
    await storage.write('damaged', new Uint8Array([1]), { expiresAt: null });
    await writeFile(path.join(root, 'da', 'damaged'), 'not a header');
    expect(await storage.read('damaged')).toBeNull();
    expect((await readFile(path.join(root, 'da', 'damaged'))).length).toBeGreaterThan(0);
  });
});

describe('result storage URLs', () => {
  it('defaults to a directory in the user cache and honours OUTPOST_RESULT_STORAGE', () => {
    expect(resultStorageUrl({ HOME: '/home/ada', XDG_CACHE_HOME: '/xdg' })).toBe('file:///xdg/outpost/results');
    expect(resultStorageUrl({ OUTPOST_RESULT_STORAGE: 'file:///srv/results' })).toBe('file:///srv/results');
    expect(resultStorageFromEnv({ OUTPOST_RESULT_STORAGE: pathToFileURL(dir).href })).toBe(
      resultStorageFromEnv({ OUTPOST_RESULT_STORAGE: pathToFileURL(dir).href }),
    );
  });

  it('finds registered schemes and names the known ones for an unknown scheme', async () => {
    const stored = new Map<string, Uint8Array>();
    registerResultStorage('memtest', (url) => ({
      read: async (key) => stored.get(`${url.host}/${key}`) ?? null,
      write: async (key, bytes) => {
        stored.set(`${url.host}/${key}`, bytes);
        return { ref: `memtest://${url.host}/${key}` };
      },
    }));
    const storage = resultStorageFromUrl('memtest://bucket');
    expect(await storage.write('k', new Uint8Array([7]), { expiresAt: null })).toEqual({ ref: 'memtest://bucket/k' });
    expect(() => resultStorageFromUrl('gopher://x')).toThrow(/no result storage for 'gopher:' URLs \(known: file, .*memtest/);
    expect(() => resultStorageFromUrl('not a url')).toThrow(/invalid result storage URL/);
  });
});

describe('canonicalJson', () => {
  it('sorts keys, marks undefined array items and dates, and refuses what JSON cannot represent exactly', () => {
    expect(canonicalJson({ b: 1, a: [undefined, null], c: undefined })).toBe('{"a":[{"$undefined":true},null],"b":1}');
    expect(canonicalJson(new Date('2024-01-01T00:00:00Z'), { dates: true })).toBe('{"$date":"2024-01-01T00:00:00.000Z"}');
    expect(() => canonicalJson(new Date())).toThrow(NotCacheableError);
    expect(() => canonicalJson(Number.NaN)).toThrow(/NaN/);
    expect(() => canonicalJson(1n)).toThrow(/bigint/);
    const loop: Record<string, unknown> = {};
    loop.self = loop;
    expect(() => canonicalJson(loop)).toThrow(/refers to itself/);
  });
});
