import type { AssetHealth, AssetLineageResponse, PartitionCounts } from '@outpost/sdk/contracts';
import { describe, expect, it } from 'vitest';
import { assetGroup, collapseLineage, groupHealthText, groupId, lineageGroups } from '../src/lib/lineage-groups.js';
import { partitionBarLabel, partitionBarSegments } from '../src/lib/partition-bar.js';

type Node = AssetLineageResponse['nodes'][number];

const counts = (c: Partial<PartitionCounts>): PartitionCounts => {
  const full = { MISSING: 0, MATERIALIZED: 0, FAILED: 0, STALE: 0, MATERIALIZING: 0, ...c };
  return { ...full, total: full.MISSING + full.MATERIALIZED + full.FAILED + full.STALE + full.MATERIALIZING };
};

const node = (key: string, extra: Partial<Node> = {}): Node => ({
  key,
  group: null,
  deploymentName: 'assets/warehouse',
  partitioned: false,
  partitionCounts: null,
  health: 'FRESH' as AssetHealth,
  staleReason: null,
  lastMaterializedAt: null,
  checks: { passed: 0, failed: 0, blocking: false },
  ...extra,
});

/*
 * raw/events, raw/users → customers/profile, customers/orders → ml (declared group: features, model)
 * → report; raw/users also feeds customers/orders directly.
 */
const LINEAGE = {
  nodes: [
    node('raw/events', { partitioned: true, partitionCounts: counts({ MATERIALIZED: 340, FAILED: 2, MISSING: 23 }) }),
    node('raw/users', { health: 'STALE' }),
    node('customers/profile'),
    node('customers/orders', { health: 'FAILED' }),
    node('features', { group: 'ml', partitioned: true, partitionCounts: counts({ MATERIALIZED: 10, STALE: 5 }) }),
    node('model/churn', { group: 'ml', health: 'MISSING' }),
    node('report'),
  ],
  edges: [
    { from: 'raw/events', to: 'customers/profile' },
    { from: 'raw/users', to: 'customers/profile' },
    { from: 'raw/users', to: 'customers/orders' },
    { from: 'customers/profile', to: 'features' },
    { from: 'customers/orders', to: 'features' },
    { from: 'features', to: 'model/churn' },
    { from: 'model/churn', to: 'report' },
  ],
};

describe('grouping and collapsing the lineage graph', () => {
  it('groups an asset by its declared group, else by its key up to the last slash, and leaves a bare key ungrouped', () => {
    expect(assetGroup({ key: 'features', group: 'ml' })).toBe('ml');
    expect(assetGroup({ key: 'raw/events', group: 'ingest' })).toBe('ingest');
    expect(assetGroup({ key: 'warehouse/raw/events', group: null })).toBe('warehouse/raw');
    expect(assetGroup({ key: 'report', group: null })).toBeNull();
  });

  it('gives each group its members, worst health, health counts and added-up partitions, and drops groups of one', () => {
    const groups = lineageGroups(LINEAGE.nodes);
    expect([...groups.keys()].sort()).toEqual(['customers', 'ml', 'raw']);
    expect(groups.get('raw')).toEqual({
      id: groupId('raw'),
      name: 'raw',
      keys: ['raw/events', 'raw/users'],
      health: 'STALE',
      counts: { FAILED: 0, BLOCKED: 0, OVERDUE: 0, STALE: 1, MISSING: 0, FRESH: 1 },
      partitionCounts: counts({ MATERIALIZED: 340, FAILED: 2, MISSING: 23 }),
    });
    expect(groups.get('customers')?.health).toBe('FAILED');
    expect(groups.get('customers')?.partitionCounts).toBeNull();
    expect(groups.get('ml')?.health).toBe('MISSING');
    expect(groupHealthText(groups.get('customers') as never)).toBe('1 failed · 1 fresh');
    expect(lineageGroups([node('solo/one'), node('report')]).size).toBe(0);
  });

  it('with nothing collapsed, draws every asset and edge as they are', () => {
    const view = collapseLineage(LINEAGE, new Set());
    expect(view.assets.map((n) => n.key)).toEqual(LINEAGE.nodes.map((n) => n.key));
    expect(view.groups).toEqual([]);
    expect(view.edges).toEqual(LINEAGE.edges);
    expect(view.shownAs.get('features')).toBe('features');
  });

  it('draws a collapsed group as one node, with the edges into and out of it merged into one per neighbour', () => {
    const view = collapseLineage(LINEAGE, new Set(['customers']));
    expect(view.assets.map((n) => n.key)).toEqual(['raw/events', 'raw/users', 'features', 'model/churn', 'report']);
    expect(view.groups.map((g) => g.id)).toEqual([groupId('customers')]);
    expect(view.shownAs.get('customers/orders')).toBe(groupId('customers'));
    expect(view.edges).toEqual([
      { from: 'raw/events', to: groupId('customers') },
      { from: 'raw/users', to: groupId('customers') },
      { from: groupId('customers'), to: 'features' },
      { from: 'features', to: 'model/churn' },
      { from: 'model/churn', to: 'report' },
    ]);
  });

  it('merges the edges between collapsed groups into one per pair and drops those inside a group', () => {
    const view = collapseLineage(LINEAGE, new Set(['raw', 'customers', 'ml']));
    expect(view.assets.map((n) => n.key)).toEqual(['report']);
    expect(view.groups.map((g) => g.name)).toEqual(['raw', 'customers', 'ml']);
    expect(view.edges).toEqual([
      { from: groupId('raw'), to: groupId('customers') },
      { from: groupId('customers'), to: groupId('ml') },
      { from: groupId('ml'), to: 'report' },
    ]);
  });

  it('ignores a collapsed name that is no group, such as a group of one asset', () => {
    const view = collapseLineage(LINEAGE, new Set(['nothing', 'report']));
    expect(view.groups).toEqual([]);
    expect(view.assets).toHaveLength(LINEAGE.nodes.length);
  });

  it('collapses 10,000 assets in 100 groups to 100 nodes quickly', () => {
    const nodes: Node[] = [];
    const edges: { from: string; to: string }[] = [];
    for (let g = 0; g < 100; g++) {
      for (let i = 0; i < 100; i++) {
        nodes.push(node(`g${g}/a${i}`));
        if (g > 0) edges.push({ from: `g${g - 1}/a${(i * 7) % 100}`, to: `g${g}/a${i}` });
      }
    }
    const groups = lineageGroups(nodes);
    const started = performance.now();
    const view = collapseLineage({ nodes, edges }, new Set(groups.keys()), groups);
    const ms = performance.now() - started;
    expect(view.assets).toHaveLength(0);
    expect(view.groups).toHaveLength(100);
    expect(view.edges).toHaveLength(99);
    expect(ms).toBeLessThan(200);
  });
});

describe('a partition bar', () => {
  it('splits by status in proportion, materialised first and missing last, leaving out empty statuses', () => {
    const segments = partitionBarSegments(counts({ MATERIALIZED: 340, FAILED: 2, MISSING: 23 }));
    expect(segments.map((s) => [s.status, s.count])).toEqual([
      ['MATERIALIZED', 340],
      ['FAILED', 2],
      ['MISSING', 23],
    ]);
    expect(segments[0]?.percent).toBeCloseTo((340 / 365) * 100);
    expect(segments.reduce((sum, s) => sum + s.percent, 0)).toBeCloseTo(100);
    expect(partitionBarSegments(counts({}))).toEqual([]);
  });

  it('says how many partitions are materialised, failed and missing, and stale or materialising when there are any', () => {
    expect(partitionBarLabel(counts({ MATERIALIZED: 340, FAILED: 2, MISSING: 23 }))).toBe(
      '340 of 365 partitions materialised, 2 failed, 23 missing',
    );
    expect(partitionBarLabel(counts({ MATERIALIZED: 10, STALE: 5, MATERIALIZING: 1 }))).toBe(
      '10 of 16 partitions materialised, 5 stale, 1 materialising, 0 failed, 0 missing',
    );
  });
});
