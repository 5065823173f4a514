/*
 * The lineage graph apart from React: what the layout (lineage-layered.ts) is asked and answers,
 * the identity of a graph's shape, and the upstream/downstream closure of a node for highlighting.
 */

/** Every asset node is drawn this size; the layout places boxes of it and the stylesheet agrees. */
export const NODE_WIDTH = 220;
export const NODE_HEIGHT = 64;

/** What the layout needs: keys and edges only (health and the rest stay on the page). */
export interface LayoutRequest {
  keys: string[];
  /** Upstream → downstream, as [from, to]. */
  edges: [string, string][];
}

export interface LayoutResult {
  /** Top-left corner of each node, in the order of the request's keys. */
  positions: { key: string; x: number; y: number }[];
  width: number;
  height: number;
}

export function layoutRequest(lineage: {
  nodes: readonly { key: string }[];
  edges: readonly { from: string; to: string }[];
}): LayoutRequest {
  return { keys: lineage.nodes.map((n) => n.key), edges: lineage.edges.map((e) => [e.from, e.to]) };
}

/**
 * A short name for a graph's shape (its keys and edges, not their health): the layout is redone
 * only when it changes. FNV-1a over the keys and edges, as 8 hex digits, plus the counts.
 */
export function graphIdentity(request: LayoutRequest): string {
  let h = 0x811c9dc5;
  const add = (s: string) => {
    for (let i = 0; i < s.length; i++) {
      h ^= s.charCodeAt(i);
      h = Math.imul(h, 0x01000193);
    }
    h ^= 0x0a;
    h = Math.imul(h, 0x01000193);
  };
  for (const k of request.keys) add(k);
  for (const [from, to] of request.edges) add(`${from}\u0000${to}`);
  return `${request.keys.length}-${request.edges.length}-${(h >>> 0).toString(16).padStart(8, '0')}`;
}

/** Adjacency both ways, built once per lineage. */
export interface LineageIndex {
  upstream: Map<string, string[]>;
  downstream: Map<string, string[]>;
}

export function lineageIndex(edges: readonly { from: string; to: string }[]): LineageIndex {
  const upstream = new Map<string, string[]>();
  const downstream = new Map<string, string[]>();
  const add = (m: Map<string, string[]>, k: string, v: string) => {
    const list = m.get(k);
    if (list) list.push(v);
    else m.set(k, [v]);
  };
  for (const e of edges) {
    add(downstream, e.from, e.to);
    add(upstream, e.to, e.from);
  }
  return { upstream, downstream };
}

/** Every key reachable from `start` along `next` (transitively), `start` excluded. */
export function reachable(next: Map<string, string[]>, start: string): Set<string> {
  const out = new Set<string>();
  const stack = [...(next.get(start) ?? [])];
  while (stack.length > 0) {
    const key = stack.pop() as string;
    if (out.has(key) || key === start) continue;
    out.add(key);
    for (const k of next.get(key) ?? []) if (!out.has(k)) stack.push(k);
  }
  return out;
}

export type LineageRole = 'selected' | 'upstream' | 'downstream' | 'dimmed' | 'none';

/** How each key relates to the selected one: itself, upstream, downstream, or neither (dimmed). */
export function lineageRoles(index: LineageIndex, selected: string | null): (key: string) => LineageRole {
  if (!selected) return () => 'none';
  const up = reachable(index.upstream, selected);
  const down = reachable(index.downstream, selected);
  return (key) => (key === selected ? 'selected' : up.has(key) ? 'upstream' : down.has(key) ? 'downstream' : 'dimmed');
}

/** An edge is on the highlighted path when both ends are the selection or on the same side of it. */
export function edgeRole(from: LineageRole, to: LineageRole): 'upstream' | 'downstream' | 'dimmed' | 'none' {
  if (from === 'none') return 'none';
  if ((from === 'upstream' || from === 'selected') && to === 'selected') return 'upstream';
  if (from === 'upstream' && to === 'upstream') return 'upstream';
  if (from === 'selected' && to === 'downstream') return 'downstream';
  if (from === 'downstream' && to === 'downstream') return 'downstream';
  return 'dimmed';
}
