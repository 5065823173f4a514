import '@xyflow/react/dist/style.css';
import '../styles/lineage-groups.css';
import type { AssetHealth, AssetLineageResponse, PartitionCounts } from '@outpost/sdk/contracts';
import {
  Background,
  Controls,
  type Edge,
  MarkerType,
  MiniMap,
  type NodeMouseHandler,
  Position,
  ReactFlow,
  type ReactFlowInstance,
  type Viewport,
} from '@xyflow/react';
import { useCallback, useMemo, useRef, useState } from 'react';
import { formatDateTime, pluralise } from '../lib/format.js';
import { assetGroup, groupHealthText, type LineageGroup, type LineageView } from '../lib/lineage-groups.js';
import {
  edgeRole,
  type LayoutResult,
  type LineageRole,
  lineageIndex,
  lineageRoles,
  NODE_HEIGHT,
  NODE_WIDTH,
  reachable,
} from '../lib/lineage-layout.js';
import { assetPath, href, navigate } from '../router.js';
import { type AssetFlowNode, AssetNode, LineageFar, type LineageNode } from './asset-node.js';
import { TextInput } from './form-field.js';
import { ExpandGroup, type GroupFlowNode, GroupNode } from './group-node.js';
import { HealthBadge } from './health-badge.js';
import { LineageFarEdges } from './lineage-far-edges.js';

// Not 'group': React Flow's stylesheet draws a frame around nodes of that type.
const nodeTypes = { asset: AssetNode, assetGroup: GroupNode };
type FlowNode = AssetFlowNode | GroupFlowNode;
const NO_EDGES: Edge[] = [];
/**
 * Where edges attach, known up front: React Flow then draws a node's edges before measuring it, and
 * with only visible elements rendered it need not mount all 1,000 nodes once just to measure them.
 */
const HANDLES = [
  { type: 'target' as const, position: Position.Left, x: 0, y: NODE_HEIGHT / 2, width: 1, height: 1 },
  { type: 'source' as const, position: Position.Right, x: NODE_WIDTH - 1, y: NODE_HEIGHT / 2, width: 1, height: 1 },
];
/** Below this zoom a node's text is hidden: unreadable anyway, and 1,000 labels cost paint on every frame. */
const FAR_ZOOM = 0.45;
const MINIMAP_FILL: Record<AssetHealth, string> = {
  MISSING: 'var(--health-missing)',
  FRESH: 'var(--health-fresh)',
  STALE: 'var(--health-stale)',
  FAILED: 'var(--health-failed)',
  BLOCKED: 'var(--health-blocked)',
  OVERDUE: 'var(--health-overdue)',
};

function sameCounts(a: PartitionCounts | null, b: PartitionCounts | null): boolean {
  if (a === null || b === null) return a === b;
  return (
    a.total === b.total &&
    a.MATERIALIZED === b.MATERIALIZED &&
    a.FAILED === b.FAILED &&
    a.STALE === b.STALE &&
    a.MATERIALIZING === b.MATERIALIZING &&
    a.MISSING === b.MISSING
  );
}

/** What a node shows; a re-read lineage (every 15 s) re-renders only the nodes whose asset changed. */
function sameAsset(a: LineageNode, b: LineageNode): boolean {
  return (
    a === b ||
    (a.key === b.key &&
      a.health === b.health &&
      sameCounts(a.partitionCounts, b.partitionCounts) &&
      a.staleReason === b.staleReason &&
      a.partitioned === b.partitioned &&
      a.lastMaterializedAt === b.lastMaterializedAt &&
      a.group === b.group &&
      a.deploymentName === b.deploymentName &&
      a.checks.passed === b.checks.passed &&
      a.checks.failed === b.checks.failed &&
      a.checks.blocking === b.checks.blocking)
  );
}

function roleClass(role: LineageRole): string {
  return role === 'none' ? '' : `lineage-${role}`;
}

/** Where the graph is opened after groups are collapsed or expanded: a node selected and centred, or these nodes fitted. */
export interface LineageFocus {
  select: string | null;
  fit: readonly string[] | null;
}

/**
 * The lineage graph: the layered layout's positions rendered by React Flow, with only the visible
 * nodes and edges in the DOM, a minimap, zoom controls and fit-to-view. Clicking a node selects it and highlights
 * everything upstream (blue) and downstream (amber) of it; its key links to the asset's page, as
 * does a double click. Groups of assets can be collapsed into one node each (the page lays out the
 * view again); finding an asset of a collapsed group expands that group.
 */
export function LineageGraph({
  lineage,
  view,
  groups,
  collapsed,
  onCollapsedChange,
  layout,
  initialSelection,
  initialFit,
  layoutMs,
}: {
  lineage: AssetLineageResponse;
  /** The graph as drawn, with the collapsed groups as one node each. */
  view: LineageView;
  groups: ReadonlyMap<string, LineageGroup>;
  collapsed: ReadonlySet<string>;
  onCollapsedChange: (next: ReadonlySet<string>, focus: LineageFocus) => void;
  layout: LayoutResult;
  initialSelection: string | null;
  initialFit: readonly string[] | null;
  /** The layout's time on the page: on the frame as data-layout-ms for benchmarks, not shown. */
  layoutMs: number;
}) {
  // Highlights follow the edges drawn; an asset's upstream and downstream counts, every asset's.
  const index = useMemo(() => lineageIndex(view.edges), [view.edges]);
  const fullIndex = useMemo(() => lineageIndex(lineage.edges), [lineage.edges]);
  const [selected, setSelected] = useState<string | null>(initialSelection);
  // Far from the start when even the whole window could not show the fitted graph at a readable
  // zoom, so the first paint draws boxes only; onMove corrects it from the real zoom.
  const [far, setFar] = useState(
    () =>
      !initialSelection &&
      layout.width > 0 &&
      Math.min(window.innerWidth / layout.width, window.innerHeight / layout.height) < FAR_ZOOM,
  );
  const [ready, setReady] = useState(false);
  const [query, setQuery] = useState('');
  const [notFound, setNotFound] = useState<string | null>(null);
  const flow = useRef<ReactFlowInstance<FlowNode, Edge> | null>(null);

  const positions = useMemo(() => new Map(layout.positions.map((p) => [p.key, p])), [layout]);
  const byKey = useMemo(() => new Map(lineage.nodes.map((n) => [n.key, n])), [lineage.nodes]);
  const shownGroups = useMemo(() => new Map(view.groups.map((g) => [g.id, g])), [view.groups]);
  const shown = (key: string | null) => key !== null && view.shownAs.get(key) === key;
  const role = useMemo(
    () => lineageRoles(index, selected && view.shownAs.get(selected) === selected ? selected : null),
    [index, selected, view.shownAs],
  );

  // Node objects are kept while their class stays the same, so selecting one re-renders only the
  // nodes whose highlight changes.
  const cache = useRef(new Map<string, AssetFlowNode>());
  const nodes = useMemo<FlowNode[]>(() => {
    const next = new Map<string, AssetFlowNode>();
    const list: FlowNode[] = view.assets.map((asset) => {
      const className = roleClass(role(asset.key));
      const position = positions.get(asset.key) ?? { x: 0, y: 0 };
      const old = cache.current.get(asset.key);
      const node: AssetFlowNode =
        old &&
        sameAsset(old.data.asset, asset) &&
        old.className === className &&
        old.position.x === position.x &&
        old.position.y === position.y
          ? old
          : {
              id: asset.key,
              type: 'asset',
              position: { x: position.x, y: position.y },
              data: { asset },
              width: NODE_WIDTH,
              height: NODE_HEIGHT,
              handles: HANDLES,
              className,
              draggable: false,
              connectable: false,
            };
      next.set(asset.key, node);
      return node;
    });
    cache.current = next;
    for (const group of view.groups) {
      const position = positions.get(group.id) ?? { x: 0, y: 0 };
      list.push({
        id: group.id,
        type: 'assetGroup',
        position: { x: position.x, y: position.y },
        data: { group },
        width: NODE_WIDTH,
        height: NODE_HEIGHT,
        handles: HANDLES,
        className: roleClass(role(group.id)),
        draggable: false,
        connectable: false,
      });
    }
    return list;
  }, [view, positions, role]);

  const edges = useMemo<Edge[]>(
    () =>
      view.edges.map((e) => {
        const className = roleClass(edgeRole(role(e.from), role(e.to)));
        return {
          id: `${e.from}->${e.to}`,
          source: e.from,
          target: e.to,
          className,
          markerEnd: { type: MarkerType.ArrowClosed, width: 14, height: 14 },
          focusable: false,
          selectable: false,
        };
      }),
    [view.edges, role],
  );

  const center = useCallback(
    (key: string) => {
      const p = positions.get(key);
      if (!p || !flow.current) return;
      void flow.current.setCenter(p.x + NODE_WIDTH / 2, p.y + NODE_HEIGHT / 2, { zoom: 1, duration: 300 });
    },
    [positions],
  );

  const onInit = useCallback(
    (instance: ReactFlowInstance<FlowNode, Edge>) => {
      flow.current = instance;
      const focus = initialSelection ? positions.get(initialSelection) : undefined;
      const fit = (initialFit ?? []).flatMap((k) => positions.get(k) ?? []);
      if (focus) void instance.setCenter(focus.x + NODE_WIDTH / 2, focus.y + NODE_HEIGHT / 2, { zoom: 1 });
      else if (fit.length > 0) {
        const x = Math.min(...fit.map((p) => p.x));
        const y = Math.min(...fit.map((p) => p.y));
        const width = Math.max(...fit.map((p) => p.x)) + NODE_WIDTH - x;
        const height = Math.max(...fit.map((p) => p.y)) + NODE_HEIGHT - y;
        void instance.fitBounds({ x, y, width, height }, { padding: 0.1 }).then(() => {
          if (instance.getZoom() > 1) void instance.zoomTo(1);
        });
      }
      // Fitted to the layout's own bounds: React Flow's fitView fits only the nodes it has measured,
      // and with only visible nodes rendered those were the few under the first viewport.
      else void instance.fitBounds({ x: 0, y: 0, width: layout.width, height: layout.height }, { padding: 0.05 });
      setReady(true);
    },
    [initialSelection, initialFit, positions, layout],
  );

  const expand = useCallback(
    (name: string, focus?: LineageFocus) => {
      const group = groups.get(name);
      const next = new Set(collapsed);
      next.delete(name);
      onCollapsedChange(next, focus ?? { select: null, fit: group?.keys ?? null });
    },
    [collapsed, groups, onCollapsedChange],
  );
  const collapse = (name: string) => {
    const group = groups.get(name);
    if (!group) return;
    onCollapsedChange(new Set(collapsed).add(name), { select: group.id, fit: null });
  };

  const onNodeClick: NodeMouseHandler<FlowNode> = useCallback((_e, node) => setSelected(node.id), []);
  const onNodeDoubleClick: NodeMouseHandler<FlowNode> = useCallback(
    (_e, node) => (node.type === 'assetGroup' ? expand(node.data.group.name) : navigate(assetPath(node.id))),
    [expand],
  );
  // Moves before the first fit (the default viewport being set up) say nothing about the fitted zoom.
  const onMove = useCallback((_e: unknown, viewport: Viewport) => {
    if (flow.current) setFar(viewport.zoom < FAR_ZOOM);
  }, []);

  const find = (e: React.FormEvent) => {
    e.preventDefault();
    const wanted = query.trim();
    const key = byKey.has(wanted) ? wanted : lineage.nodes.find((n) => n.key.includes(wanted))?.key;
    if (!wanted || !key) {
      setNotFound(wanted ? `No asset matches “${wanted}”.` : null);
      return;
    }
    setNotFound(null);
    const name = assetGroup({ key, group: byKey.get(key)?.group ?? null });
    if (!shown(key) && name !== null) {
      // A new layout with the group open, centred on the asset found.
      expand(name, { select: key, fit: null });
      return;
    }
    setSelected(key);
    center(key);
  };

  const chosen = selected && shown(selected) ? byKey.get(selected) : undefined;
  const chosenGroup = selected ? shownGroups.get(selected) : undefined;
  const upstreamCount = chosen ? reachable(fullIndex.upstream, chosen.key).size : 0;
  const downstreamCount = chosen ? reachable(fullIndex.downstream, chosen.key).size : 0;
  const chosenGroupName = chosen ? assetGroup(chosen) : null;
  const collapsible = [...groups.keys()].filter((name) => !collapsed.has(name));

  return (
    <>
      <form className="lineage-toolbar" onSubmit={find}>
        <TextInput
          type="search"
          list="lineage-keys"
          placeholder="Find an asset"
          aria-label="Find an asset"
          value={query}
          onChange={setQuery}
          testId="lineage-search"
        />
        <datalist id="lineage-keys">
          {lineage.nodes.length <= 2000 && lineage.nodes.map((n) => <option key={n.key} value={n.key} />)}
        </datalist>
        <button type="submit" className="button">
          Find
        </button>
        {notFound && <span className="muted small">{notFound}</span>}
        {groups.size > 0 && (
          <span className="lineage-group-controls">
            <button
              type="button"
              className="button"
              disabled={collapsible.length === 0}
              onClick={() => onCollapsedChange(new Set(groups.keys()), { select: null, fit: null })}
              data-testid="lineage-collapse-all"
            >
              Collapse groups
            </button>
            <button
              type="button"
              className="button"
              disabled={collapsed.size === 0}
              onClick={() => onCollapsedChange(new Set(), { select: null, fit: null })}
              data-testid="lineage-expand-all"
            >
              Expand groups
            </button>
          </span>
        )}
        <span className="muted small" data-testid="lineage-summary">
          {pluralise(lineage.nodes.length, 'asset')} · {pluralise(lineage.edges.length, 'dependency', 'dependencies')}
          {view.groups.length > 0 && ` · ${pluralise(view.groups.length, 'group')} collapsed`}
        </span>
      </form>
      <div
        className={`lineage-frame${far ? ' lineage-far' : ''}`}
        data-testid="lineage-graph"
        data-nodes={lineage.nodes.length}
        data-edges={lineage.edges.length}
        data-shown-nodes={view.assets.length + view.groups.length}
        data-shown-edges={view.edges.length}
        data-collapsed={view.groups.length}
        data-ready={String(ready)}
        data-layout-ms={Math.round(layoutMs)}
        data-selected={chosen?.key ?? chosenGroup?.id ?? ''}
      >
        <ExpandGroup.Provider value={expand}>
          <LineageFar.Provider value={far}>
            <ReactFlow<FlowNode, Edge>
              nodes={nodes}
              edges={far ? NO_EDGES : edges}
              nodeTypes={nodeTypes}
              onInit={onInit}
              onNodeClick={onNodeClick}
              onNodeDoubleClick={onNodeDoubleClick}
              onPaneClick={() => setSelected(null)}
              onMove={onMove}
              onlyRenderVisibleElements
              minZoom={0.02}
              maxZoom={2}
              nodesDraggable={false}
              nodesConnectable={false}
              edgesFocusable={false}
              zoomOnDoubleClick={false}
              deleteKeyCode={null}
            >
              <Background gap={24} size={1} />
              <MiniMap
                pannable
                zoomable
                nodeColor={(n: FlowNode) => MINIMAP_FILL[n.type === 'assetGroup' ? n.data.group.health : n.data.asset.health]}
                nodeStrokeWidth={0}
              />
              <Controls showInteractive={false} />
              {far && <LineageFarEdges edges={view.edges} positions={positions} role={role} />}
            </ReactFlow>
          </LineageFar.Provider>
        </ExpandGroup.Provider>
        {chosenGroup && (
          <aside className="lineage-panel" data-testid="lineage-selection" data-group={chosenGroup.name}>
            <div className="mono strong">{chosenGroup.name}</div>
            <div>
              <HealthBadge health={chosenGroup.health} testId="lineage-selection-health" />
            </div>
            <div className="small" data-testid="lineage-selection-counts">
              {pluralise(chosenGroup.keys.length, 'asset')}: {groupHealthText(chosenGroup)}
            </div>
            <button
              type="button"
              className="button button-primary"
              onClick={() => expand(chosenGroup.name)}
              data-testid="lineage-selection-expand"
            >
              Expand group
            </button>
          </aside>
        )}
        {chosen && (
          <aside className="lineage-panel" data-testid="lineage-selection" data-asset={chosen.key}>
            <div className="mono strong">{chosen.key}</div>
            <div>
              <HealthBadge health={chosen.health} reason={chosen.staleReason} testId="lineage-selection-health" />
            </div>
            {chosen.staleReason && <div className="stale-reason">{chosen.staleReason}</div>}
            <div className="muted small">
              {chosen.deploymentName}
              {chosen.group ? ` · ${chosen.group}` : ''}
            </div>
            <div className="small">
              Last materialised {chosen.lastMaterializedAt ? formatDateTime(chosen.lastMaterializedAt) : 'never'}
            </div>
            <div className="small" data-testid="lineage-selection-counts">
              {upstreamCount} upstream · {downstreamCount} downstream
            </div>
            <a href={href(assetPath(chosen.key))} className="button button-primary" data-testid="lineage-open">
              Open asset →
            </a>
            {chosenGroupName !== null && groups.has(chosenGroupName) && (
              <button
                type="button"
                className="button"
                onClick={() => collapse(chosenGroupName)}
                data-testid="lineage-selection-collapse"
              >
                Collapse {chosenGroupName}
              </button>
            )}
          </aside>
        )}
      </div>
    </>
  );
}
