import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partitionSegment } from '../src/assets/io.js';
import { fsIO, type IOContext } from '../src/index.js';

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'outpost-fsio-names-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const quiet = () => undefined;
const ctx = (partitionKey: string | null, runId = 'run-1'): IOContext => ({
  assetKey: 'lake/events',
  partitionKey,
  partitions: null,
  runId,
  attempt: 1,
  signal: new AbortController().signal,
  log: { debug: quiet, info: quiet, warning: quiet, error: quiet, critical: quiet },
});

/** The names of the partition directories fsIO made under `root`. */
const partitionDirs = (root: string) => readdirSync(path.join(root, 'lake', 'events')).filter((n) => n.startsWith('partition='));

describe('fsIO partition names', () => {
  it('writes and reads back a 200-character CJK partition key, under a name of at most 255 bytes', async () => {
    const root = path.join(dir, 'cjk');
    const io = fsIO<{ n: number }>({ dir: root });
    const key = '東京都渋谷区'.repeat(34).slice(0, 200);
    expect(key).toHaveLength(200);

    await io.store(ctx(key), { n: 1 });
    expect(await io.load(ctx(key))).toEqual({ n: 1 });
    const [name] = partitionDirs(root);
    expect(Buffer.byteLength(name ?? '')).toBeLessThanOrEqual(200);
    // Readable: the name starts with the key's own encoding.
    expect(name?.startsWith(`partition=${encodeURIComponent('東京都')}`)).toBe(true);
  });

  it('writes and reads back 200-character ASCII keys: plain ones as before, ones with punctuation hashed', async () => {
    const root = path.join(dir, 'ascii');
    const io = fsIO<string>({ dir: root });
    const letters = 'a'.repeat(200);
    const dotted = 'a.b:'.repeat(50);

    await io.store(ctx(letters), 'letters');
    await io.store(ctx(dotted), 'dotted');
    expect(await io.load(ctx(letters))).toBe('letters');
    expect(await io.load(ctx(dotted))).toBe('dotted');
    // A name that fitted before this limit is where it always was, so stored values stay readable.
    expect(existsSync(path.join(root, 'lake', 'events', `partition=${letters}`, 'data.json'))).toBe(true);
    for (const name of partitionDirs(root)) expect(Buffer.byteLength(name)).toBeLessThanOrEqual(255);
  });

  it('puts two long keys that share their start in different files', async () => {
    const root = path.join(dir, 'shared-start');
    const io = fsIO<string>({ dir: root });
    const start = '日本語のパーティション'.repeat(18);
    const first = `${start}一`;
    const second = `${start}二`;

    await io.store(ctx(first), 'first');
    await io.store(ctx(second), 'second');
    expect(await io.load(ctx(first))).toBe('first');
    expect(await io.load(ctx(second))).toBe('second');
    expect(partitionDirs(root)).toHaveLength(2);
    expect(partitionSegment(first, true)).not.toBe(partitionSegment(second, true));
  });

  it('stages and publishes a long key, and the published value is found', async () => {
    const root = path.join(dir, 'staged');
    const io = fsIO<number>({ dir: root });
    const key = '가'.repeat(200);
    await io.stage?.(ctx(key), 7);
    expect(await io.loadStaged?.(ctx(key))).toBe(7);
    await io.publish?.(ctx(key));
    expect(await io.load(ctx(key))).toBe(7);
    expect(existsSync(path.join(root, 'lake', 'events', '.staging', 'run-1.1', partitionSegment(key, true)))).toBe(false);
  });

  it('keeps a long key with path characters inside its asset directory', async () => {
    const root = path.join(dir, 'traversal');
    const io = fsIO<string>({ dir: root });
    const key = `${'../'.repeat(80)}etc/passwd`;
    const result = await io.store(ctx(key), 'x');
    expect(String(result.metadata?.path).startsWith(path.join(root, 'lake', 'events', 'partition='))).toBe(true);
    expect(partitionSegment(key, true)).not.toMatch(/[/\\]|\.\./);
    expect(await io.load(ctx(key))).toBe('x');
  });

  it('leaves object-store paths unshortened', () => {
    const key = '東'.repeat(200);
    expect(partitionSegment(key)).toBe(`partition=${encodeURIComponent(key)}`);
  });
});
