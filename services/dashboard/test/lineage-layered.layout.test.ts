import { describe, expect, it } from 'vitest';
import { layeredLayout } from '../src/lib/lineage-layered.js';
import { NODE_HEIGHT, NODE_WIDTH } from '../src/lib/lineage-layout.js';

/** `count` keys in `layers` layers, each depending on one to three keys of the layer before. */
function graph(count: number, layers: number) {
  const perLayer = Math.ceil(count / layers);
  const keys = Array.from({ length: count }, (_, i) => `l${Math.floor(i / perLayer)}/a${i}`);
  const edges: [string, string][] = [];
  let seed = 11;
  const next = () => {
    seed = (seed * 16807) % 2147483647;
    return seed / 2147483647;
  };
  keys.forEach((key, i) => {
    const layer = Math.floor(i / perLayer);
    if (layer === 0) return;
    for (let d = 0, n = 1 + Math.floor(next() * 3); d < n; d++) {
      const from = keys[(layer - 1) * perLayer + Math.floor(next() * perLayer)];
      if (from) edges.push([from, key]);
    }
  });
  return { keys, edges };
}

describe('layeredLayout', () => {
  it('puts every upstream asset in a column left of its downstream ones, in the order of the keys asked for', () => {
    const request = graph(1000, 10);
    const { positions } = layeredLayout(request);
    expect(positions.map((p) => p.key)).toEqual(request.keys);
    const at = new Map(positions.map((p) => [p.key, p]));
    for (const [from, to] of request.edges)
      expect(at.get(from)?.x ?? Infinity, `${from} → ${to}`).toBeLessThan(at.get(to)?.x ?? -Infinity);
  });

  it('places no two boxes over each other and keeps them all inside the width and height it reports', () => {
    const request = graph(400, 6);
    const result = layeredLayout(request);
    const seen = new Set<string>();
    for (const p of result.positions) {
      expect(p.x).toBeGreaterThanOrEqual(0);
      expect(p.y).toBeGreaterThanOrEqual(0);
      expect(p.x + NODE_WIDTH).toBeLessThanOrEqual(result.width);
      expect(p.y + NODE_HEIGHT).toBeLessThanOrEqual(result.height);
      const cell = `${p.x}:${Math.round(p.y)}`;
      expect(seen.has(cell), cell).toBe(false);
      seen.add(cell);
    }
    // Boxes of one column are at least a box height apart.
    const columns = new Map<number, number[]>();
    for (const p of result.positions) columns.set(p.x, [...(columns.get(p.x) ?? []), p.y]);
    for (const ys of columns.values()) {
      ys.sort((a, b) => a - b);
      for (let i = 1; i < ys.length; i++) expect((ys[i] ?? 0) - (ys[i - 1] ?? 0)).toBeGreaterThanOrEqual(NODE_HEIGHT);
    }
  });

  it('lays out a graph with a cycle, edges to unknown keys and duplicates without losing a key', () => {
    const result = layeredLayout({
      keys: ['a', 'b', 'c', 'd'],
      edges: [
        ['a', 'b'],
        ['b', 'c'],
        ['c', 'b'],
        ['a', 'b'],
        ['a', 'missing'],
        ['d', 'd'],
      ],
    });
    expect(result.positions.map((p) => p.key)).toEqual(['a', 'b', 'c', 'd']);
    const x = new Map(result.positions.map((p) => [p.key, p.x]));
    expect(x.get('a')).toBe(x.get('d'));
    expect(x.get('b')).toBeGreaterThan(x.get('a') ?? Infinity);
  });

  it('answers an empty graph with an empty layout', () => {
    expect(layeredLayout({ keys: [], edges: [] })).toEqual({ positions: [], width: 0, height: 0 });
  });
});
