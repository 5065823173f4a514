import { describe, expect, test } from 'vitest';
import { assetKeyOfTaskName, describeRunAsset, edgesAmong, requestedAssets, runAssets } from '../src/lib/run-assets.js';

const row = (name: string, byState: Record<string, number>) => ({
  name,
  total: Object.values(byState).reduce((a, b) => a + b, 0),
  byState,
  firstStart: null,
  lastEnd: null,
  meanMs: null,
  maxMs: null,
});

describe("a run's assets on its page", () => {
  test('a task run named for a partition or a range belongs to the asset before the bracket', () => {
    expect(assetKeyOfTaskName('customers/features [2026-11-02]')).toBe('customers/features');
    expect(assetKeyOfTaskName('raw/events [2026-01-01..2026-01-07]')).toBe('raw/events');
    expect(assetKeyOfTaskName('model')).toBe('model');
  });

  test("an asset's partitions add up to one state, a failure outweighing completed partitions and a running one outweighing waiting ones", () => {
    const assets = runAssets(
      {
        byName: [
          row('raw/events [2026-01-01]', { COMPLETED: 1 }),
          row('raw/events [2026-01-02]', { FAILED: 1 }),
          row('features [2026-01-01]', { COMPLETED: 1 }),
          row('features [2026-01-02]', { RUNNING: 1 }),
          row('model', { COMPLETED: 1 }),
        ],
      },
      [],
    );
    expect(assets.map((a) => [a.key, a.state, a.total])).toEqual([
      ['raw/events', 'FAILED', 2],
      ['features', 'RUNNING', 2],
      ['model', 'COMPLETED', 1],
    ]);
    expect(describeRunAsset(assets[0] as (typeof assets)[number])).toBe('1 of 2 materialised, 1 failed');
    expect(describeRunAsset(assets[2] as (typeof assets)[number])).toBe('materialised');
  });

  test('an asset the run was asked for that has no task run is not started while the run goes on, and not run once it ended', () => {
    const assets = runAssets({ byName: [row('a', { COMPLETED: 1 })] }, ['a', 'b']);
    expect(assets.map((a) => [a.key, a.state])).toEqual([
      ['a', 'COMPLETED'],
      ['b', 'SCHEDULED'],
    ]);
    expect(describeRunAsset(assets[1] as (typeof assets)[number])).toBe('not started');
    expect(describeRunAsset(assets[1] as (typeof assets)[number], true)).toBe('not run');
    expect(runAssets(null, [])).toEqual([]);
  });

  test("only the run's own assets' edges are drawn, and only string keys are read from its parameters", () => {
    const edges = [
      { from: 'a', to: 'b' },
      { from: 'b', to: 'c' },
      { from: 'x', to: 'a' },
    ];
    expect(edgesAmong(['a', 'b'], edges)).toEqual([['a', 'b']]);
    expect(requestedAssets({ assets: ['a', 3, 'b'] })).toEqual(['a', 'b']);
    expect(requestedAssets({})).toEqual([]);
  });
});
