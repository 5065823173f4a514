import ELK from 'elkjs/lib/elk.bundled.js';
import { describe, expect, it } from 'vitest';
import {
  edgeRole,
  fromElkLayout,
  layoutRequest,
  lineageIndex,
  lineageRoles,
  NODE_HEIGHT,
  NODE_WIDTH,
  reachable,
  toElkGraph,
} from '../src/lib/lineage-layout.js';

const node = (key: string) => ({
  key,
  group: null,
  deploymentName: 'assets/warehouse',
  partitioned: false,
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

describe('the lineage layout adapter', () => {
  it('makes one fixed-size ELK node per asset and one edge per dependency, laid out left to right', () => {
    const graph = toElkGraph(layoutRequest(LINEAGE));
    expect(graph.children?.map((c) => [c.id, c.width, c.height])).toEqual(
      LINEAGE.nodes.map((n) => [n.key, NODE_WIDTH, NODE_HEIGHT]),
    );
    expect(graph.edges?.map((e) => [e.sources, e.targets])).toEqual(LINEAGE.edges.map((e) => [[e.from], [e.to]]));
    expect(graph.layoutOptions).toMatchObject({ 'elk.algorithm': 'layered', 'elk.direction': 'RIGHT' });
  });

  it('drops self-loops, repeated edges and edges to assets not in the graph, which ELK would refuse', () => {
    const graph = toElkGraph({
      keys: ['a', 'b'],
      edges: [
        ['a', 'b'],
        ['a', 'b'],
        ['a', 'a'],
        ['a', 'gone'],
        ['gone', 'b'],
      ],
    });
    expect(graph.edges?.map((e) => [e.sources[0], e.targets[0]])).toEqual([['a', 'b']]);
  });

  it('places every upstream asset left of its downstream ones, without overlaps, through real ELK', async () => {
    const request = layoutRequest(LINEAGE);
    const result = fromElkLayout(request, await new ELK().layout(toElkGraph(request)));
    expect(result.positions.map((p) => p.key)).toEqual(request.keys);
    const at = new Map(result.positions.map((p) => [p.key, p]));
    for (const e of LINEAGE.edges) {
      expect(at.get(e.from)?.x ?? 0).toBeLessThan(at.get(e.to)?.x ?? 0);
    }
    for (const a of result.positions) {
      for (const b of result.positions) {
        if (a === b) continue;
        const apart = a.x + NODE_WIDTH <= b.x || b.x + NODE_WIDTH <= a.x || a.y + NODE_HEIGHT <= b.y || b.y + NODE_HEIGHT <= a.y;
        expect(apart, `${a.key} overlaps ${b.key}`).toBe(true);
      }
    }
    expect(result.width).toBeGreaterThan(3 * NODE_WIDTH);
    expect(result.height).toBeGreaterThan(NODE_HEIGHT);
  });

  it('lays out 1,000 assets in layers with every dependency pointing right', async () => {
    const keys = Array.from({ length: 1000 }, (_, i) => `layer${Math.floor(i / 125)}/asset${i}`);
    const edges: [string, string][] = [];
    keys.forEach((key, i) => {
      if (i < 125) return;
      for (const d of [1, 7]) edges.push([keys[i - 125 + ((i * d) % 125) - (i % 125)] as string, key]);
    });
    const request = { keys, edges };
    const result = fromElkLayout(request, await new ELK().layout(toElkGraph(request)));
    const at = new Map(result.positions.map((p) => [p.key, p]));
    expect(at.size).toBe(1000);
    for (const [from, to] of edges) expect(at.get(from)?.x ?? 0).toBeLessThan(at.get(to)?.x ?? 0);
  }, 60_000);

  it('puts a node ELK left out at the origin rather than losing it', () => {
    const result = fromElkLayout({ keys: ['a', 'b'], edges: [] }, { id: 'root', children: [{ id: 'a', x: 5, y: 6 }], width: 9 });
    expect(result.positions).toEqual([
      { key: 'a', x: 5, y: 6 },
      { key: 'b', x: 0, y: 0 },
    ]);
    expect(result.height).toBe(0);
  });
});

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
