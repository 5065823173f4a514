import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import type { AssetEvent } from '../src/contracts/index.js';
import {
  AssetCycleError,
  AssetRunError,
  AssetValueMissingError,
  asset,
  check,
  DuplicateAssetKeyError,
  flow,
  fsIO,
  type IOManager,
  materialize,
  partitions,
} from '../src/index.js';
import type { PartitionInfo } from '../src/partitions/index.js';

let dir: string;
const previousDir = process.env.OUTPOST_ASSET_DIR;
const previousCache = process.env.OUTPOST_RESULT_STORAGE;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'outpost-assets-'));
  // Assets without an `io` write here; cached values go to the result storage.
  process.env.OUTPOST_ASSET_DIR = path.join(dir, 'default');
  process.env.OUTPOST_RESULT_STORAGE = `file://${path.join(dir, 'results')}`;
});

afterAll(() => {
  if (previousDir === undefined) delete process.env.OUTPOST_ASSET_DIR;
  else process.env.OUTPOST_ASSET_DIR = previousDir;
  if (previousCache === undefined) delete process.env.OUTPOST_RESULT_STORAGE;
  else process.env.OUTPOST_RESULT_STORAGE = previousCache;
  rmSync(dir, { recursive: true, force: true });
});

const kinds = (events: AssetEvent[]) =>
  events.map((e) => `${e.kind} ${e.assetKey}${e.kind === 'check' ? `:${e.checkName} ${e.passed ? 'passed' : 'failed'}` : ''}`);

describe('materialize()', () => {
  it('materialises assets in dependency order and hands each upstream value, typed, to its downstream', async () => {
    const order: string[] = [];
    const numbers = asset({ key: 'order/numbers' }, async () => {
      order.push('numbers');
      return [1, 2, 3];
    });
    const label = asset({ key: 'order/label' }, () => {
      order.push('label');
      return { name: 'sum' };
    });
    const total = asset({ key: 'order/total', deps: [numbers, label] }, async (_ctx, values, meta) => {
      expectTypeOf(values).toEqualTypeOf<number[]>();
      expectTypeOf(meta).toEqualTypeOf<{ name: string }>();
      order.push('total');
      return `${meta.name}=${values.reduce((a, b) => a + b, 0)}`;
    });
    const doubled = asset({ key: 'order/doubled', deps: [total, numbers] }, (_ctx, text, values) => {
      expectTypeOf(text).toEqualTypeOf<string>();
      order.push('doubled');
      return values.map((n) => n * 2).concat(text.length);
    });

    // Given in any order: run in dependency order.
    const result = await materialize([doubled, total, label, numbers]);
    expect(result.success).toBe(true);
    expect(order).toEqual(['numbers', 'label', 'total', 'doubled']);
    expect(kinds(result.events)).toEqual([
      'materialization order/numbers',
      'materialization order/label',
      'materialization order/total',
      'materialization order/doubled',
    ]);
    expect(result.valueOf(total)).toBe('sum=6');
    expect(result.valueOf(doubled)).toEqual([2, 4, 6, 5]);
  });

  it('records the I/O manager’s data version (a sha256 of the bytes), its metadata, the declared metadata and the code version', async () => {
    const io = fsIO<{ rows: number[] }>({ dir: path.join(dir, 'versions') });
    const table = asset({ key: 'versions/table', io }, async (ctx) => {
      ctx.addMetadata({ rows: 3, schema: { id: 'int' } });
      return { rows: [1, 2, 3] };
    });
    const result = await materialize([table]);
    const event = result.events[0];
    if (event?.kind !== 'materialization') throw new Error('expected a materialisation');
    const file = path.join(dir, 'versions', 'versions', 'table', 'data.json');
    const bytes = readFileSync(file);
    expect(JSON.parse(bytes.toString())).toEqual({ rows: [1, 2, 3] });
    expect(event.dataVersion).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(event.metadata).toEqual({ bytes: bytes.byteLength, path: file, rows: 3, schema: { id: 'int' } });
    expect(event.codeVersion).toBe(table.codeVersion);
    expect(event.partitionKey).toBeNull();
    expect(event.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('reads an upstream that is not part of the run through its I/O manager', async () => {
    const io = fsIO<string[]>({ dir: path.join(dir, 'reads') });
    let calls = 0;
    const words = asset({ key: 'reads/words', io }, () => {
      calls++;
      return ['a', 'b'];
    });
    const joined = asset({ key: 'reads/joined', deps: [words] }, (_ctx, w) => w.join('+'));
    await materialize([words]);
    const result = await materialize([joined]);
    expect(calls).toBe(1);
    expect(result.valueOf(joined)).toBe('a+b');
  });

  it('fails a downstream whose upstream was never stored, saying to materialise the upstream first', async () => {
    const never = asset({ key: 'missing/never', io: fsIO({ dir: path.join(dir, 'missing') }) }, () => 1);
    const after = asset({ key: 'missing/after', deps: [never] }, (_ctx, n) => n + 1);
    const result = await materialize([after], { throwOnFailure: false });
    expect(result.success).toBe(false);
    expect(result.events).toEqual([
      expect.objectContaining({
        kind: 'failure',
        assetKey: 'missing/after',
        message: expect.stringMatching(/no stored value of asset missing\/never .*materialise missing\/never first/),
      }),
    ]);
  });

  it('runs checks right after materialisation and reports each result with the materialisation it checked', async () => {
    const seen: unknown[] = [];
    const rows = asset(
      {
        key: 'checks/rows',
        checks: [
          check('not_empty', (v: number[]) => v.length > 0),
          check('few_nulls', { severity: 'WARN', description: 'at most one null' }, (v: (number | null)[], ctx) => {
            seen.push(ctx.staged, ctx.partitionKey, ctx.checkName);
            const nulls = v.filter((x) => x === null).length;
            return { passed: nulls <= 1, metadata: { nulls } };
          }),
        ],
      },
      () => [1, null, null] as (number | null)[],
    );
    const result = await materialize([rows]);
    expect(kinds(result.events)).toEqual([
      'materialization checks/rows',
      'check checks/rows:not_empty passed',
      'check checks/rows:few_nulls failed',
    ]);
    const [materialization, , few] = result.events;
    expect(few).toMatchObject({
      severity: 'WARN',
      blocking: false,
      metadata: { nulls: 2 },
      materializationId: materialization?.id,
    });
    // A failed check that does not block fails nothing.
    expect(result.success).toBe(true);
    expect(seen).toEqual([false, null, 'few_nulls']);
    expect(rows.definition().checks).toEqual([
      { name: 'not_empty', blocking: false, severity: 'ERROR' },
      { name: 'few_nulls', blocking: false, severity: 'WARN', description: 'at most one null' },
    ]);
  });

  it('a check that throws has failed, with the error as its metadata', async () => {
    const value = asset({ key: 'checks/throws', checks: [check('explodes', () => Promise.reject(new Error('boom')))] }, () => 1);
    const result = await materialize([value]);
    expect(result.events[1]).toMatchObject({ kind: 'check', passed: false, metadata: { error: 'boom' } });
  });

  it('skips every downstream asset of a failed blocking check, reported as failures naming the check, and the run fails', async () => {
    // A manager of the user's own that cannot stage: the value is stored, then checked.
    const kept = new Map<string, unknown>();
    const memoryIO: IOManager<number[]> = {
      kind: 'memory',
      async store(ctx, value) {
        kept.set(ctx.assetKey, value);
        return { dataVersion: JSON.stringify(value), metadata: { rows: value.length } };
      },
      async load(ctx) {
        if (!kept.has(ctx.assetKey)) throw new AssetValueMissingError(ctx.assetKey, ctx.partitionKey, 'memory');
        return kept.get(ctx.assetKey) as number[];
      },
    };
    let downstreamCalls = 0;
    const source = asset(
      {
        key: 'blocking/source',
        io: memoryIO,
        checks: [check('no_negatives', { blocking: true }, (v: number[]) => v.every((n) => n >= 0))],
      },
      () => [1, -2],
    );
    const middle = asset({ key: 'blocking/middle', deps: [source] }, (_ctx, v) => {
      downstreamCalls++;
      return v.length;
    });
    const last = asset({ key: 'blocking/last', deps: [middle] }, (_ctx, n) => {
      downstreamCalls++;
      return n * 2;
    });
    const unrelated = asset({ key: 'blocking/unrelated' }, () => 'still runs');

    const error = await materialize([source, middle, last, unrelated]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AssetRunError);
    const { outcome } = error as AssetRunError;
    expect(downstreamCalls).toBe(0);
    expect(kinds(outcome.events)).toEqual([
      'materialization blocking/source',
      'check blocking/source:no_negatives failed',
      'failure blocking/middle',
      'failure blocking/last',
      'materialization blocking/unrelated',
    ]);
    expect(outcome.events[0]).toMatchObject({ dataVersion: '[1,-2]', metadata: { rows: 2 } });
    expect(outcome.events[1]).toMatchObject({ blocking: true, materializationId: outcome.events[0]?.id });
    const failures = outcome.events.filter((e) => e.kind === 'failure');
    for (const f of failures) expect(f).toMatchObject({ message: 'skipped: blocking check blocking/source:no_negatives failed' });
    expect((error as Error).message).toMatch(/^3 asset\(s\) not materialised: blocking\/source: blocking check/);
    expect(source.definition().io).toBe('memory');
  });

  it('write-audit-publish: data that fails a blocking check is never published, data that passes is', async () => {
    const io = fsIO<number[]>({ dir: path.join(dir, 'wap') });
    const file = path.join(dir, 'wap', 'wap', 'scores', 'data.json');
    let next: number[] = [1, 2];
    const atCheck: { staged: boolean; published: string | null; checked: number[] }[] = [];
    const scores = asset(
      {
        key: 'wap/scores',
        io,
        checks: [
          check('in_range', { blocking: true }, (v: number[], ctx) => {
            atCheck.push({ staged: ctx.staged, published: existsSync(file) ? readFileSync(file, 'utf8') : null, checked: v });
            return v.every((n) => n <= 10);
          }),
        ],
      },
      () => next,
    );
    const downstream = asset({ key: 'wap/count', deps: [scores] }, (_ctx, v) => v.length);
    const good = await materialize([scores]);
    expect(kinds(good.events)).toEqual(['materialization wap/scores', 'check wap/scores:in_range passed']);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual([1, 2]);

    next = [1, 2, 99];
    const bad = await materialize([scores, downstream], { throwOnFailure: false });
    expect(kinds(bad.events)).toEqual(['check wap/scores:in_range failed', 'failure wap/scores', 'failure wap/count']);
    expect(bad.events[0]).toMatchObject({ materializationId: null, blocking: true });
    expect(bad.events[1]).toMatchObject({ message: 'staged data not published: blocking check wap/scores:in_range failed' });
    expect(bad.events[2]).toMatchObject({ message: 'skipped: blocking check wap/scores:in_range failed' });
    // Checks saw the staged value while the published one was still the earlier one.
    expect(atCheck).toEqual([
      { staged: true, published: null, checked: [1, 2] },
      { staged: true, published: '[1,2]', checked: [1, 2, 99] },
    ]);
    // The published value is still the one that passed, and no staged copy is left behind.
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual([1, 2]);
    const staging = path.join(dir, 'wap', 'wap', 'scores', '.staging');
    expect(
      existsSync(staging) ? readdirSync(staging, { recursive: true }).filter((f) => String(f).endsWith('.json')) : [],
    ).toEqual([]);
  });

  it('changes the code version of an asset whose code changed, and of no other', () => {
    const before = asset({ key: 'cv/raw-v1' }, async () => [1, 2, 3]);
    const after = asset({ key: 'cv/raw-v2' }, async () => [1, 2, 3, 4]);
    // Downstream assets with the same code keep the same version, whatever their upstream's.
    const downBefore = asset({ key: 'cv/sum-v1', deps: [before] }, (_ctx, v) => v.reduce((a, b) => a + b, 0));
    const downAfter = asset({ key: 'cv/sum-v2', deps: [after] }, (_ctx, v) => v.reduce((a, b) => a + b, 0));
    expect(before.codeVersion).toMatch(/^[0-9a-f]{64}$/);
    expect(after.codeVersion).not.toBe(before.codeVersion);
    expect(downAfter.codeVersion).toBe(downBefore.codeVersion);
    // A check is part of its asset's code; an explicit version wins.
    const checked = asset(
      { key: 'cv/sum-checked', deps: [after], checks: [check('positive', (n: number) => n > 0)] },
      (_ctx, v) => v.reduce((a, b) => a + b, 0),
    );
    expect(checked.codeVersion).not.toBe(downAfter.codeVersion);
    expect(asset({ key: 'cv/pinned', codeVersion: 'v7' }, () => 1).codeVersion).toBe('v7');
  });

  it('gives a partitioned asset its partition: key, time window (DST-exact) and dimensions', async () => {
    const daily = partitions.daily({ start: '2026-03-01', timezone: 'Europe/Berlin' });
    const seen: PartitionInfo[] = [];
    const events = asset({ key: 'parts/events', partitions: daily }, (ctx) => {
      expectTypeOf(ctx.partition).toEqualTypeOf<PartitionInfo>();
      expectTypeOf(ctx.partitionRange).toEqualTypeOf<null>();
      seen.push(ctx.partition);
      return { day: ctx.partition.key, partitionKey: ctx.partitionKey };
    });
    const result = await materialize([events], { partition: '2026-03-29' });
    expect(seen[0]?.key).toBe('2026-03-29');
    expect(seen[0]?.window?.start.toISOString()).toBe('2026-03-28T23:00:00.000Z');
    expect(seen[0]?.window?.end.toISOString()).toBe('2026-03-29T22:00:00.000Z');
    expect(seen[0]?.dimensions).toBeNull();
    // The run context says the same partition.
    expect(result.valueOf(events, '2026-03-29')).toEqual({ day: '2026-03-29', partitionKey: '2026-03-29' });
    expect(result.events[0]).toMatchObject({ kind: 'materialization', partitionKey: '2026-03-29' });
    expect(events.definition().partitions).toEqual(daily);

    const grid = partitions.multi({ date: partitions.daily({ start: '2026-03-01' }), region: partitions.static(['eu', 'us']) });
    const regional = asset({ key: 'parts/regional', partitions: grid }, (ctx) => ctx.partition.dimensions);
    const multi = await materialize([regional], { partition: '2026-03-02|eu' });
    expect(multi.valueOf(regional, '2026-03-02|eu')).toEqual({ date: '2026-03-02', region: 'eu' });

    const plain = asset({ key: 'parts/plain' }, (ctx) => {
      expectTypeOf(ctx.partition).toEqualTypeOf<null>();
      return ctx.partition;
    });
    expect((await materialize([plain])).valueOf(plain)).toBeNull();
  });

  it('passes a partitioned upstream’s partition to a downstream partitioned the same way, and every stored partition by key to an unpartitioned one', async () => {
    const days = partitions.static(['mon', 'tue', 'wed']);
    const io = fsIO<number>({ dir: path.join(dir, 'fanin') });
    const sales = asset({ key: 'fanin/sales', partitions: days, io }, (ctx) => ctx.partition.key.length * 10);
    const plusOne = asset({ key: 'fanin/plus-one', partitions: days, deps: [sales] }, (_ctx, s) => {
      expectTypeOf(s).toEqualTypeOf<number>();
      return s + 1;
    });
    const total = asset({ key: 'fanin/total', deps: [sales] }, (_ctx, all) => {
      expectTypeOf(all).toEqualTypeOf<Record<string, number>>();
      return all;
    });
    await materialize([sales], { partition: 'mon' });
    const tue = await materialize([sales, plusOne], { partition: 'tue' });
    expect(tue.valueOf(plusOne, 'tue')).toBe(31);
    // wed was never stored: it is left out.
    expect((await materialize([total])).valueOf(total)).toEqual({ mon: 30, tue: 30 });
  });

  it('refuses to materialise a partitioned asset without a partition, saying so', async () => {
    const part = asset({ key: 'nopart/x', partitions: partitions.static(['a']) }, () => 1);
    const result = await materialize([part], { throwOnFailure: false });
    expect(result.events).toEqual([
      expect.objectContaining({
        kind: 'failure',
        message: 'nopart/x is partitioned: materialise it with a partition (or a range)',
      }),
    ]);
  });

  it('over a range, calls an asset that accepts ranges once and any other one once per partition', async () => {
    const days = partitions.daily({ start: '2026-01-01', end: '2026-02-01' });
    const calls: string[] = [];
    const bulk = asset({ key: 'range/bulk', partitions: days, acceptsRange: true }, (ctx) => {
      expectTypeOf(ctx.partitionRange).toEqualTypeOf<{
        readonly start: string;
        readonly end: string;
        readonly keys: readonly string[];
      }>();
      calls.push(`bulk ${ctx.partitionRange.keys.join(',')} ${ctx.partition === null ? 'no partition' : ctx.partition.key}`);
      return Object.fromEntries(ctx.partitionRange.keys.map((k) => [k, k.slice(-2)]));
    });
    const each = asset({ key: 'range/each', partitions: days, deps: [bulk], concurrency: 2 }, (ctx, day) => {
      calls.push(`each ${ctx.partition.key}`);
      return Number(day);
    });
    const result = await materialize([bulk, each], { partitionRange: { start: '2026-01-02', end: '2026-01-04' } });
    expect(calls.sort()).toEqual([
      'bulk 2026-01-02,2026-01-03,2026-01-04 no partition',
      'each 2026-01-02',
      'each 2026-01-03',
      'each 2026-01-04',
    ]);
    expect(result.events.filter((e) => e.kind === 'materialization').map((e) => `${e.assetKey} ${e.partitionKey}`)).toEqual([
      'range/bulk 2026-01-02',
      'range/bulk 2026-01-03',
      'range/bulk 2026-01-04',
      expect.stringMatching(/^range\/each /),
      expect.stringMatching(/^range\/each /),
      expect.stringMatching(/^range\/each /),
    ]);
    expect(result.valueOf(each, '2026-01-03')).toBe(3);
  });

  it('retries a failing asset function like a task', async () => {
    let attempts = 0;
    const flaky = asset({ key: 'retry/flaky', retries: 2 }, () => {
      attempts++;
      if (attempts < 3) throw new Error(`attempt ${attempts} failed`);
      return 'ok';
    });
    const result = await materialize([flaky]);
    expect(attempts).toBe(3);
    expect(result.valueOf(flaky)).toBe('ok');

    const broken = asset({ key: 'retry/broken', retries: 1 }, () => {
      throw new Error('the source is down');
    });
    const failed = await materialize([broken], { throwOnFailure: false });
    expect(failed.events).toEqual([expect.objectContaining({ kind: 'failure', message: 'the source is down' })]);
  });

  it('reuses a cached value when the code and the inputs are unchanged', async () => {
    let calls = 0;
    const input = asset({ key: 'cache/input' }, () => [1, 2]);
    const slow = asset({ key: 'cache/slow', deps: [input], cache: true }, (_ctx, v) => {
      calls++;
      return v.map((n) => n * 10);
    });
    const first = await materialize([input, slow]);
    const second = await materialize([input, slow]);
    expect(calls).toBe(1);
    expect(second.valueOf(slow)).toEqual([10, 20]);
    // Still written and recorded on a cache hit.
    expect(second.events.filter((e) => e.kind === 'materialization').map((e) => e.assetKey)).toEqual([
      'cache/input',
      'cache/slow',
    ]);
    expect(first.events[1]).toMatchObject({ dataVersion: (second.events[1] as { dataVersion: string }).dataVersion });
  });

  it('checksOnly runs the checks against the stored values and materialises nothing', async () => {
    let calls = 0;
    const stored = asset({ key: 'only/stored', checks: [check('small', { blocking: true }, (v: number) => v < 5)] }, () => {
      calls++;
      return 3;
    });
    await materialize([stored]);
    const result = await materialize([stored], { checksOnly: true });
    expect(calls).toBe(1);
    expect(kinds(result.events)).toEqual(['check only/stored:small passed']);
    expect(result.events[0]).toMatchObject({ materializationId: null });
  });

  it('names both places when an asset key is defined twice', () => {
    asset({ key: 'dup/twice' }, () => 1);
    let error: unknown;
    try {
      asset({ key: 'dup/twice' }, () => 2);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DuplicateAssetKeyError);
    expect((error as Error).message).toMatch(
      /^asset key 'dup\/twice' is defined twice: at test\/assets\.materialize\.test\.ts:\d+ and at test\/assets\.materialize\.test\.ts:\d+;/,
    );
    const [first, second] = (error as DuplicateAssetKeyError).places;
    expect(first).not.toBe(second);
  });

  it('refuses a cycle, printing it', async () => {
    const a = asset({ key: 'cycle/a', deps: ['cycle/c'] }, () => 1);
    const b = asset({ key: 'cycle/b', deps: [a] }, () => 2);
    const c = asset({ key: 'cycle/c', deps: [b] }, () => 3);
    const error = await materialize([a, b, c]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AssetCycleError);
    expect((error as Error).message).toBe('the asset graph has a cycle: cycle/a → cycle/c → cycle/b → cycle/a');
  });

  it('refuses bad options with the field and a user flow named assets', () => {
    expect(() => asset({ key: 'Bad Key' }, () => 1)).toThrow(
      /invalid options of asset 'Bad Key' \(test\/assets\.materialize\.test\.ts:\d+\): key: use/,
    );
    expect(() => asset({ key: 'bad/self', deps: ['bad/self'] }, () => 1)).toThrow("asset 'bad/self' lists itself in its deps");
    expect(() => flow({ name: 'assets' }, async () => 1)).toThrow(/the flow name 'assets' is reserved/);
  });
});
