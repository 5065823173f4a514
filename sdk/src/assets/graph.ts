/** A cycle in an asset graph; `cycle` starts and ends with the same key. */
export class AssetCycleError extends Error {
  override readonly name = 'AssetCycleError';
  constructor(readonly cycle: readonly string[]) {
    super(`the asset graph has a cycle: ${cycle.join(' → ')}`);
  }
}

export interface GraphNode {
  key: string;
  deps: readonly string[];
}

/** The first cycle found among `nodes` (deps outside them are ignored), as `[a, b, c, a]`, or null. */
export function findCycle(nodes: readonly GraphNode[]): string[] | null {
  const byKey = new Map(nodes.map((n) => [n.key, n]));
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (key: string): string[] | null => {
    const seen = state.get(key);
    if (seen === 'done') return null;
    if (seen === 'visiting') return [...stack.slice(stack.indexOf(key)), key];
    state.set(key, 'visiting');
    stack.push(key);
    for (const dep of byKey.get(key)?.deps ?? []) {
      if (!byKey.has(dep)) continue;
      const cycle = visit(dep);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(key, 'done');
    return null;
  };
  for (const node of nodes) {
    const cycle = visit(node.key);
    if (cycle) return cycle;
  }
  return null;
}

/**
 * The keys of `nodes` with every key after the ones it depends on; among keys free to go, the
 * order they were given in. Throws `AssetCycleError` naming a cycle.
 */
export function topologicalOrder(nodes: readonly GraphNode[]): string[] {
  const cycle = findCycle(nodes);
  if (cycle) throw new AssetCycleError(cycle);
  const byKey = new Map(nodes.map((n) => [n.key, n]));
  const placed = new Set<string>();
  const order: string[] = [];
  const place = (key: string) => {
    if (placed.has(key)) return;
    placed.add(key);
    for (const dep of byKey.get(key)?.deps ?? []) if (byKey.has(dep)) place(dep);
    order.push(key);
  };
  for (const node of nodes) place(node.key);
  return order;
}

/** Every key downstream of `key` among `nodes` (not `key` itself). */
export function downstreamOf(nodes: readonly GraphNode[], key: string): Set<string> {
  const dependents = new Map<string, string[]>();
  for (const n of nodes) for (const d of n.deps) dependents.set(d, [...(dependents.get(d) ?? []), n.key]);
  const found = new Set<string>();
  const walk = (k: string) => {
    for (const next of dependents.get(k) ?? []) {
      if (found.has(next)) continue;
      found.add(next);
      walk(next);
    }
  };
  walk(key);
  return found;
}
