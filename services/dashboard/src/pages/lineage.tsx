import { ReactFlowProvider } from '@xyflow/react';
import { useMemo } from 'react';
import { api } from '../api/instance.js';
import { LineageGraph } from '../components/lineage-graph.js';
import { Empty, Notice } from '../components/notice.js';
import { useResource } from '../hooks/use-resource.js';
import { layeredLayout } from '../lib/lineage-layered.js';
import { graphIdentity, layoutRequest } from '../lib/lineage-layout.js';
import { AssetViews } from './assets.js';

/** Health changes are picked up on this interval; the layout is redone only when keys or edges change. */
const POLL_MS = 15_000;

/**
 * Every asset of the workspace as a graph, laid out left to right on the page (lineage-layered.ts,
 * about 15 ms for 1,000 assets) and drawn by React Flow. `?focus=<key>` opens it centred on one
 * asset, selected.
 */
export function LineagePage({ search }: { search: URLSearchParams }) {
  const lineage = useResource((signal) => api.call('assetsLineage', { signal }), [], { pollMs: POLL_MS });
  const request = useMemo(() => (lineage.data ? layoutRequest(lineage.data) : null), [lineage.data]);
  const identity = useMemo(() => (request ? graphIdentity(request) : ''), [request]);
  // biome-ignore lint/correctness/useExhaustiveDependencies: the identity is the request's shape; a re-read with the same shape keeps its layout
  const layout = useMemo(() => {
    if (!request) return null;
    const started = performance.now();
    const result = layeredLayout(request);
    return { result, ms: performance.now() - started };
  }, [identity]);
  const focus = search.get('focus');

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
      ) : layout && lineage.data ? (
        <ReactFlowProvider>
          <LineageGraph
            // a new layout starts a new graph: its view is fitted again
            key={identity}
            lineage={lineage.data}
            layout={layout.result}
            initialSelection={focus}
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
