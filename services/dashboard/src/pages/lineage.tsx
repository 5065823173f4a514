import { ReactFlowProvider } from '@xyflow/react';
import { useEffect, useMemo } from 'react';
import { api } from '../api/instance.js';
import { LineageGraph } from '../components/lineage-graph.js';
import { Empty, Notice } from '../components/notice.js';
import { useLineageLayout, warmLineageLayout } from '../hooks/use-lineage-layout.js';
import { useResource } from '../hooks/use-resource.js';
import { graphIdentity, layoutRequest } from '../lib/lineage-layout.js';
import { AssetViews } from './assets.js';

/** Health changes are picked up on this interval; the layout is redone only when keys or edges change. */
const POLL_MS = 15_000;

/**
 * Every asset of the workspace as a graph, laid out by ELK in a Web Worker (so the page keeps
 * answering while 1,000 assets are placed) and drawn by React Flow. `?focus=<key>` opens it
 * centred on one asset, selected.
 */
export function LineagePage({ search }: { search: URLSearchParams }) {
  useEffect(warmLineageLayout, []);
  const lineage = useResource((signal) => api.call('assetsLineage', { signal }), [], { pollMs: POLL_MS });
  const request = useMemo(() => (lineage.data ? layoutRequest(lineage.data) : null), [lineage.data]);
  const identity = useMemo(() => (request ? graphIdentity(request) : ''), [request]);
  const layout = useLineageLayout(request, identity);
  const focus = search.get('focus');

  return (
    <div className="page page-fill lineage-page">
      <div className="page-header">
        <h1>Assets</h1>
        <AssetViews current="lineage" />
      </div>
      {lineage.error && <Notice>{lineage.error}</Notice>}
      {layout.status === 'failed' && <Notice>The graph could not be laid out: {layout.message}</Notice>}
      {lineage.data && lineage.data.nodes.length === 0 ? (
        <Empty>No assets yet. Deploy an asset graph with `outpost deploy` (a deployment with `assets: true`).</Empty>
      ) : layout.status === 'done' && lineage.data ? (
        <ReactFlowProvider>
          <LineageGraph
            // a new layout starts a new graph: its view is fitted again
            key={identity}
            lineage={lineage.data}
            layout={layout.result}
            initialSelection={focus}
          />
          <span className="muted small" data-testid="lineage-layout-time" data-ms={Math.round(layout.ms)}>
            Laid out in {Math.round(layout.ms).toLocaleString()} ms
          </span>
        </ReactFlowProvider>
      ) : (
        <div className="lineage-frame">
          <div className="lineage-status" data-testid="lineage-laying-out">
            {lineage.data ? `Laying out ${lineage.data.nodes.length.toLocaleString()} assets…` : 'Loading lineage…'}
          </div>
        </div>
      )}
    </div>
  );
}
