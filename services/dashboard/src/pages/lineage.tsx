import { ReactFlowProvider } from '@xyflow/react';
import { useCallback, useMemo, useState } from 'react';
import { api } from '../api/instance.js';
import { type LineageFocus, LineageGraph } from '../components/lineage-graph.js';
import { Empty, Notice } from '../components/notice.js';
import { useResource } from '../hooks/use-resource.js';
import { assetGroup, COLLAPSED_FROM, collapseLineage, lineageGroups } from '../lib/lineage-groups.js';
import { layeredLayout } from '../lib/lineage-layered.js';
import { graphIdentity, layoutRequest } from '../lib/lineage-layout.js';
import { AssetViews } from './assets.js';

/** Health changes are picked up on this interval; the layout is redone only when keys or edges change. */
const POLL_MS = 15_000;

/**
 * Every asset of the workspace as a graph, laid out left to right on the page (lineage-layered.ts,
 * about 15 ms for 1,000 assets) and drawn by React Flow. `?focus=<key>` opens it centred on one
 * asset, selected. Groups (an asset's group, else its key's prefix) collapse into one node each; a
 * graph of more than COLLAPSED_FROM assets opens with every group collapsed but the focused asset's,
 * and `?groups=collapsed` or `?groups=expanded` opens it so whatever its size.
 */
export function LineagePage({ search }: { search: URLSearchParams }) {
  const lineage = useResource((signal) => api.call('assetsLineage', { signal }), [], { pollMs: POLL_MS });
  const initialFocus = search.get('focus');
  const opening = search.get('groups');
  // Null until the reader collapses or expands something: the default then follows the graph's size.
  const [chosen, setChosen] = useState<ReadonlySet<string> | null>(null);
  const [focus, setFocus] = useState<LineageFocus>({ select: initialFocus, fit: null });
  const groups = useMemo(() => lineageGroups(lineage.data?.nodes ?? []), [lineage.data]);
  const collapsed = useMemo(() => {
    if (chosen) return chosen;
    const all = opening === 'collapsed' || (opening !== 'expanded' && (lineage.data?.nodes.length ?? 0) > COLLAPSED_FROM);
    if (!all) return new Set<string>();
    const names = new Set(groups.keys());
    const focused = initialFocus ? lineage.data?.nodes.find((n) => n.key === initialFocus) : undefined;
    const open = focused ? assetGroup(focused) : null;
    if (open !== null) names.delete(open);
    return names;
  }, [chosen, opening, lineage.data, groups, initialFocus]);
  const view = useMemo(
    () => (lineage.data ? collapseLineage(lineage.data, collapsed, groups) : null),
    [lineage.data, collapsed, groups],
  );
  const request = useMemo(
    () =>
      view ? layoutRequest({ nodes: [...view.assets, ...view.groups.map((g) => ({ key: g.id }))], edges: view.edges }) : null,
    [view],
  );
  const identity = useMemo(() => (request ? graphIdentity(request) : ''), [request]);
  // biome-ignore lint/correctness/useExhaustiveDependencies: the identity is the request's shape; a re-read with the same shape keeps its layout
  const layout = useMemo(() => {
    if (!request) return null;
    const started = performance.now();
    const result = layeredLayout(request);
    return { result, ms: performance.now() - started };
  }, [identity]);
  const onCollapsedChange = useCallback((next: ReadonlySet<string>, nextFocus: LineageFocus) => {
    setChosen(next);
    setFocus(nextFocus);
  }, []);

  return (
    <div className="page page-fill lineage-page">
      <div className="page-header">
        <h1>Assets</h1>
        <AssetViews current="lineage" />
      </div>
      {lineage.error && <Notice>{lineage.error}</Notice>}
      {lineage.data && lineage.data.nodes.length === 0 ? (
        <Empty>
          No assets yet. Deploy an asset graph with <code>outpost deploy</code> (a deployment with <code>assets: true</code>).
        </Empty>
      ) : layout && lineage.data && view ? (
        <ReactFlowProvider>
          <LineageGraph
            // a new layout (a changed graph, a group collapsed or expanded) starts a new graph: its view is fitted again
            key={identity}
            lineage={lineage.data}
            view={view}
            groups={groups}
            collapsed={collapsed}
            onCollapsedChange={onCollapsedChange}
            layout={layout.result}
            initialSelection={focus.select}
            initialFit={focus.fit}
            layoutMs={layout.ms}
          />
        </ReactFlowProvider>
      ) : (
        <div className="lineage-frame">
          <div className="lineage-status" data-testid="lineage-loading">
            Loading lineage…
          </div>
        </div>
      )}
    </div>
  );
}
