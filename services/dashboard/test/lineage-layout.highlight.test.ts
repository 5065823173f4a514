import { describe, expect, it } from 'vitest';
import { edgeRole, lineageIndex, lineageRoles, reachable } from '../src/lib/lineage-layout.js';

const node = (key: string) => ({
  key,
  group: null,
  deploymentName: 'assets/warehouse',
  partitioned: false,
  partitionCounts: null,
  health: 'FRESH' as const,
  staleReason: null,
  lastMaterializedAt: null,
  checks: { passed: 0, failed: 0, blocking: false },
});

/** raw/events → features → model/churn → evaluation; raw/users → features; an unrelated island. */
const LINEAGE = {
  nodes: ['raw/events', 'raw/users', 'features', 'model/churn', 'evaluation', 'island'].map(node),
  edges: [
    { from: 'raw/events', to: 'features' },
    { from: 'raw/users', to: 'features' },
    { from: 'features', to: 'model/churn' },
    { from: 'model/churn', to: 'evaluation' },
  ],
};

describe('highlighting a selected asset', () => {
  const index = lineageIndex(LINEAGE.edges);

  it('finds everything upstream and downstream of an asset, transitively', () => {
    expect([...reachable(index.upstream, 'model/churn')].sort()).toEqual(['features', 'raw/events', 'raw/users']);
    expect([...reachable(index.downstream, 'raw/users')].sort()).toEqual(['evaluation', 'features', 'model/churn']);
    expect(reachable(index.downstream, 'island').size).toBe(0);
  });

  it('gives each asset and edge its part: selected, upstream, downstream or dimmed', () => {
    const role = lineageRoles(index, 'features');
    expect(LINEAGE.nodes.map((n) => [n.key, role(n.key)])).toEqual([
      ['raw/events', 'upstream'],
      ['raw/users', 'upstream'],
      ['features', 'selected'],
      ['model/churn', 'downstream'],
      ['evaluation', 'downstream'],
      ['island', 'dimmed'],
    ]);
    expect(LINEAGE.edges.map((e) => edgeRole(role(e.from), role(e.to)))).toEqual([
      'upstream',
      'upstream',
      'downstream',
      'downstream',
    ]);
    expect(lineageRoles(index, null)('features')).toBe('none');
    expect(edgeRole('none', 'none')).toBe('none');
    // an edge from one of the selection's upstream assets straight to a downstream one skips the selection
    expect(edgeRole('upstream', 'downstream')).toBe('dimmed');
  });

  it('survives a cycle in the edges without looping', () => {
    const cyclic = lineageIndex([
      { from: 'a', to: 'b' },
      { from: 'b', to: 'a' },
    ]);
    expect([...reachable(cyclic.downstream, 'a')]).toEqual(['b']);
  });
});
