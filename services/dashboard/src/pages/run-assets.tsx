import { DEFAULT_STATE_NAME, type FlowRun, isTerminal } from '@outpost/sdk/contracts';
import { useMemo } from 'react';
import { api } from '../api/instance.js';
import { Notice } from '../components/notice.js';
import { useResource } from '../hooks/use-resource.js';
import { layeredLayout } from '../lib/lineage-layered.js';
import { NODE_HEIGHT, NODE_WIDTH } from '../lib/lineage-layout.js';
import { describeRunAsset, edgesAmong, type RunAsset } from '../lib/run-assets.js';
import { assetPath, href } from '../router.js';

/** Drawn at 0.75 of the lineage page's node size: the run page shows a handful of assets, not a map. */
const SCALE = 0.75;
const STRIPE = 6;

/**
 * The assets a run of the `assets` flow materialises, laid out as on the lineage page (upstream on
 * the left), each with the state its task runs add up to and a link to its page. The edges come from
 * the workspace's lineage, read once.
 */
export function RunAssets({ run, assets }: { run: FlowRun; assets: readonly RunAsset[] }) {
  const lineage = useResource((signal) => api.call('assetsLineage', { signal }), []);
  const keys = useMemo(() => assets.map((a) => a.key), [assets]);
  const edges = useMemo(() => edgesAmong(keys, lineage.data?.edges ?? []), [keys, lineage.data]);
  const layout = useMemo(() => layeredLayout({ keys, edges }), [keys, edges]);
  const ended = isTerminal(run.state.type);
  const at = new Map(layout.positions.map((p) => [p.key, p]));
  const byKey = new Map(assets.map((a) => [a.key, a]));
  return (
    <section className="panel run-assets" aria-label="Assets" id="run-assets" tabIndex={-1} data-testid="run-assets">
      <div className="panel-header">
        <h2>Assets</h2>
        <span className="muted small">
          {assets.length} asset{assets.length === 1 ? '' : 's'} · upstream on the left
        </span>
      </div>
      {lineage.error && <Notice>{lineage.error}</Notice>}
      <div className="run-assets-frame">
        <svg
          width={layout.width * SCALE}
          height={layout.height * SCALE}
          viewBox={`0 0 ${layout.width} ${layout.height}`}
          aria-label={`The run's ${assets.length} assets and their dependencies`}
        >
          <g className="run-assets-edges">
            {edges.map(([from, to]) => {
              const a = at.get(from);
              const b = at.get(to);
              if (!a || !b) return null;
              const x1 = a.x + NODE_WIDTH;
              const y1 = a.y + NODE_HEIGHT / 2;
              const x2 = b.x;
              const y2 = b.y + NODE_HEIGHT / 2;
              const mid = (x1 + x2) / 2;
              return (
                <path
                  key={`${from}\u0000${to}`}
                  d={`M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}`}
                  data-testid="run-asset-edge"
                  data-from={from}
                  data-to={to}
                />
              );
            })}
          </g>
          {layout.positions.map((p) => {
            const a = byKey.get(p.key);
            if (!a) return null;
            const words = describeRunAsset(a, ended);
            return (
              <a
                key={p.key}
                href={href(assetPath(p.key))}
                className="run-asset-node"
                data-testid="run-asset-node"
                data-key={p.key}
                data-state={a.state}
                aria-label={`${p.key}: ${DEFAULT_STATE_NAME[a.state]}, ${words}`}
              >
                <title>{`${p.key} · ${DEFAULT_STATE_NAME[a.state]} · ${words}`}</title>
                <rect className="run-asset-box" x={p.x} y={p.y} width={NODE_WIDTH} height={NODE_HEIGHT} rx={6} />
                <rect className={`fill-${a.state.toLowerCase()}`} x={p.x} y={p.y} width={STRIPE} height={NODE_HEIGHT} rx={3} />
                <text className="run-asset-key" x={p.x + STRIPE + 10} y={p.y + 26}>
                  {shorten(p.key, 24)}
                </text>
                <text className="run-asset-state" x={p.x + STRIPE + 10} y={p.y + 48}>
                  {`${DEFAULT_STATE_NAME[a.state]} · ${shorten(words, 22)}`}
                </text>
              </a>
            );
          })}
        </svg>
      </div>
    </section>
  );
}

/** Keeps the end of a long key (its own name) and cuts the front: `…/features/rejected_rows`. */
function shorten(text: string, max: number): string {
  return text.length <= max ? text : `…${text.slice(text.length - max + 1)}`;
}
