import type { AssetHealth, AssetLineageResponse, PartitionCounts } from '@outpost/sdk/contracts';

/*
 * Groups of the lineage graph, and the graph with some of them collapsed: a collapsed group is one
 * node standing for its assets, the edges into, out of and between collapsed groups merged into one
 * per pair. Apart from React so the page only lays out what this returns.
 */

type LineageNode = AssetLineageResponse['nodes'][number];
type LineageEdge = AssetLineageResponse['edges'][number];

/**
 * A graph of more assets than this opens with every group collapsed: the bench's 10,000 assets in
 * 100 groups are then 100 nodes, laid out and drawn at once, where 10,000 boxes fitted are unreadable.
 */
export const COLLAPSED_FROM = 300;

/** A group node's id: `:` is not allowed in an asset key, so it never names an asset. */
export function groupId(name: string): string {
  return `group:${name}`;
}

/** An asset's group: its declared `group`, else its key up to the last `/`; null for a bare key without one. */
export function assetGroup(node: Pick<LineageNode, 'key' | 'group'>): string | null {
  if (node.group) return node.group;
  const slash = node.key.lastIndexOf('/');
  return slash > 0 ? node.key.slice(0, slash) : null;
}

/** Worst first: a group shows the health of its worst member. */
export const HEALTH_SEVERITY: readonly AssetHealth[] = ['FAILED', 'BLOCKED', 'OVERDUE', 'STALE', 'MISSING', 'FRESH'];

export interface LineageGroup {
  id: string;
  name: string;
  /** Its assets, in the lineage's order. */
  keys: string[];
  /** The worst health among its assets. */
  health: AssetHealth;
  /** How many of its assets are in each health. */
  counts: Record<AssetHealth, number>;
  /** Its partitioned assets' partition counts added up; null when none is partitioned. */
  partitionCounts: PartitionCounts | null;
}

function emptyCounts(): Record<AssetHealth, number> {
  return { FAILED: 0, BLOCKED: 0, OVERDUE: 0, STALE: 0, MISSING: 0, FRESH: 0 };
}

/** The lineage's groups by name; a group of one asset is left out, as collapsing it would hide nothing. */
export function lineageGroups(nodes: readonly LineageNode[]): Map<string, LineageGroup> {
  const all = new Map<string, LineageGroup>();
  for (const node of nodes) {
    const name = assetGroup(node);
    if (name === null) continue;
    let group = all.get(name);
    if (!group) {
      group = { id: groupId(name), name, keys: [], health: 'FRESH', counts: emptyCounts(), partitionCounts: null };
      all.set(name, group);
    }
    group.keys.push(node.key);
    group.counts[node.health]++;
    if (HEALTH_SEVERITY.indexOf(node.health) < HEALTH_SEVERITY.indexOf(group.health)) group.health = node.health;
    if (node.partitionCounts) {
      group.partitionCounts ??= { total: 0, MISSING: 0, MATERIALIZED: 0, FAILED: 0, STALE: 0, MATERIALIZING: 0 };
      const sum = group.partitionCounts;
      for (const k of Object.keys(sum) as (keyof PartitionCounts)[]) sum[k] += node.partitionCounts[k];
    }
  }
  for (const [name, group] of all) if (group.keys.length < 2) all.delete(name);
  return all;
}

/** The graph as drawn: the assets outside collapsed groups, one node per collapsed group, and the edges between them. */
export interface LineageView {
  assets: LineageNode[];
  groups: LineageGroup[];
  /** Between drawn nodes (asset keys and group ids), one per pair, none from a node to itself. */
  edges: LineageEdge[];
  /** Each asset's drawn node: its own key, or its collapsed group's id. */
  shownAs: Map<string, string>;
}

export function collapseLineage(
  lineage: Pick<AssetLineageResponse, 'nodes' | 'edges'>,
  collapsed: ReadonlySet<string>,
  groups: ReadonlyMap<string, LineageGroup> = lineageGroups(lineage.nodes),
): LineageView {
  const shownAs = new Map<string, string>();
  const assets: LineageNode[] = [];
  const shownGroups: LineageGroup[] = [];
  for (const node of lineage.nodes) {
    const name = assetGroup(node);
    const group = name !== null && collapsed.has(name) ? groups.get(name) : undefined;
    if (group) {
      if (!shownAs.has(group.id)) {
        shownAs.set(group.id, group.id);
        shownGroups.push(group);
      }
      shownAs.set(node.key, group.id);
    } else {
      shownAs.set(node.key, node.key);
      assets.push(node);
    }
  }
  if (shownGroups.length === 0) return { assets, groups: shownGroups, edges: lineage.edges as LineageEdge[], shownAs };
  const seen = new Set<string>();
  const edges: LineageEdge[] = [];
  for (const e of lineage.edges) {
    const from = shownAs.get(e.from);
    const to = shownAs.get(e.to);
    if (from === undefined || to === undefined || from === to) continue;
    const id = `${from}\u0000${to}`;
    if (seen.has(id)) continue;
    seen.add(id);
    edges.push({ from, to });
  }
  return { assets, groups: shownGroups, edges, shownAs };
}

/** "2 failed · 10 fresh": the healths its assets have, worst first. */
export function groupHealthText(group: Pick<LineageGroup, 'counts'>): string {
  return HEALTH_SEVERITY.filter((h) => group.counts[h] > 0)
    .map((h) => `${group.counts[h]} ${h.toLowerCase()}`)
    .join(' · ');
}
