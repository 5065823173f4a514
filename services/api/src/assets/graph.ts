import type { AssetNode } from './db/asset-definitions.js';

export type { AssetNode } from './db/asset-definitions.js';

/*
 * The asset graph of a workspace as pure data: nodes with their deps, the order that puts every
 * asset after its upstream, cycles, and the assets upstream or downstream of a selection. Nothing
 * here reads the database.
 */

export interface AssetGraph {
  nodes: ReadonlyMap<string, AssetNode>;
  /** Assets that list the key in their deps, by key order. */
  dependents: ReadonlyMap<string, readonly string[]>;
}

/** Graphs built from an array of nodes, kept while the array lives (large graphs' arrays are cached). */
const built = new WeakMap<readonly AssetNode[], AssetGraph>();
/** The topological order of every node of a graph, kept while the graph lives. */
const fullOrders = new WeakMap<AssetGraph, readonly string[]>();

export function buildGraph(nodes: readonly AssetNode[]): AssetGraph {
  const known = built.get(nodes);
  if (known) return known;
  const graph = buildGraphOnce(nodes);
  built.set(nodes, graph);
  return graph;
}

function buildGraphOnce(nodes: readonly AssetNode[]): AssetGraph {
  const byKey = new Map(nodes.map((n) => [n.key, n]));
  const dependents = new Map<string, string[]>();
  for (const node of [...nodes].sort((a, b) => compareKeys(a.key, b.key))) {
    for (const dep of new Set(node.deps)) {
      const list = dependents.get(dep);
      if (list) list.push(node.key);
      else dependents.set(dep, [node.key]);
    }
  }
  return { nodes: byKey, dependents };
}

/** Code-point order, the order keys are listed and paged in (the database compares them with COLLATE "C"). */
export function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * A cycle of the graph `deps` describes (key → its upstream keys), as the path that closes it,
 * upstream first: `['a', 'b', 'a']` when b depends on a and a on b. Null when there is none.
 * Deps naming keys outside the map are ignored.
 */
export function findCycle(deps: ReadonlyMap<string, readonly string[]>): string[] | null {
  const state = new Map<string, 'open' | 'done'>();
  for (const root of [...deps.keys()].sort(compareKeys)) {
    if (state.has(root)) continue;
    // Iterative depth-first search along deps: a chain of thousands of assets must not overflow the stack.
    const path: string[] = [root];
    const next: number[] = [0];
    state.set(root, 'open');
    while (path.length > 0) {
      const key = path[path.length - 1] as string;
      const upstream = deps.get(key) ?? [];
      const i = next[next.length - 1] as number;
      if (i >= upstream.length) {
        state.set(key, 'done');
        path.pop();
        next.pop();
        continue;
      }
      next[next.length - 1] = i + 1;
      const dep = upstream[i] as string;
      if (!deps.has(dep)) continue;
      const seen = state.get(dep);
      if (seen === 'open') {
        // path[start..] depends on each next one; the cycle read upstream first is that path reversed.
        const start = path.indexOf(dep);
        return [...path.slice(start), dep].reverse();
      }
      if (seen === undefined) {
        state.set(dep, 'open');
        path.push(dep);
        next.push(0);
      }
    }
  }
  return null;
}

/** `a → b → a`. */
export function formatPath(keys: readonly string[]): string {
  return keys.join(' → ');
}

/**
 * `keys` (every node when absent) in dependency order: each after every upstream asset of it that
 * is also listed. Ties go by key, so the order is the same every time. The graph must be acyclic.
 */
export function topologicalOrder(graph: AssetGraph, keys?: Iterable<string>): string[] {
  const wanted = new Set(keys ?? graph.nodes.keys());
  if (wanted.size === graph.nodes.size && [...wanted].every((key) => graph.nodes.has(key))) {
    const all = fullOrders.get(graph) ?? orderOf(graph, wanted);
    fullOrders.set(graph, all);
    return [...all];
  }
  return orderOf(graph, wanted);
}

function orderOf(graph: AssetGraph, wanted: ReadonlySet<string>): string[] {
  const order: string[] = [];
  const placed = new Set<string>();
  for (const root of [...wanted].sort(compareKeys)) {
    if (placed.has(root)) continue;
    // Each node's deps are sorted once, when it is pushed, not at every step back to it.
    const sortedDeps = (key: string) => [...(graph.nodes.get(key)?.deps ?? [])].sort(compareKeys);
    const path: string[] = [root];
    const pathDeps: string[][] = [sortedDeps(root)];
    const next: number[] = [0];
    const onPath = new Set([root]);
    while (path.length > 0) {
      const key = path[path.length - 1] as string;
      const deps = pathDeps[pathDeps.length - 1] as string[];
      const i = next[next.length - 1] as number;
      if (i >= deps.length) {
        path.pop();
        pathDeps.pop();
        next.pop();
        onPath.delete(key);
        if (!placed.has(key)) {
          placed.add(key);
          if (wanted.has(key)) order.push(key);
        }
        continue;
      }
      next[next.length - 1] = i + 1;
      const dep = deps[i] as string;
      // Unlisted upstream assets are walked through too: they order listed ones that depend on each other through them.
      if (placed.has(dep) || onPath.has(dep) || !graph.nodes.has(dep)) continue;
      onPath.add(dep);
      path.push(dep);
      pathDeps.push(sortedDeps(dep));
      next.push(0);
    }
  }
  return order;
}

function closure(start: Iterable<string>, step: (key: string) => readonly string[]): Set<string> {
  const seen = new Set(start);
  const queue = [...seen];
  while (queue.length > 0) {
    const key = queue.pop() as string;
    for (const next of step(key)) {
      if (!seen.has(next)) {
        seen.add(next);
        queue.push(next);
      }
    }
  }
  return seen;
}

/** The keys and every asset upstream of them (defined ones only). */
export function withUpstream(graph: AssetGraph, keys: Iterable<string>): Set<string> {
  return closure(keys, (key) => (graph.nodes.get(key)?.deps ?? []).filter((dep) => graph.nodes.has(dep)));
}

/** The keys and every asset downstream of them. */
export function withDownstream(graph: AssetGraph, keys: Iterable<string>): Set<string> {
  return closure(keys, (key) => graph.dependents.get(key) ?? []);
}
