import type { AssetLineageResponse } from '@outpost/sdk/contracts';
import { Handle, type Node, type NodeProps, Position } from '@xyflow/react';
import { createContext, memo, useContext } from 'react';
import { assetPath, href } from '../router.js';
import { HEALTH_LABEL, healthClass } from './health-badge.js';
import { PartitionBar } from './partition-bar.js';

export type LineageNode = AssetLineageResponse['nodes'][number];
export type AssetFlowNode = Node<{ asset: LineageNode }, 'asset'>;

/**
 * True while the graph is zoomed out too far to read: a node is then only a box in its health
 * colour, without handles (where edges attach is given by the node's `handles`, and the far view
 * draws its edges itself). Drawing 1,000 fitted nodes without their text took the lineage page's first paint from
 * about 2.5 s to about 2 s on the bench's 1,000-asset graph.
 */
export const LineageFar = createContext(false);

/**
 * One asset in the lineage graph: its key (a link to its page), health colour, a mark when it is
 * partitioned with a bar of its partitions by status, and its checks (passed, failed, and whether a failure blocks downstream). Memoised:
 * a node re-renders only when its own data changes, not when another node is selected.
 */
export const AssetNode = memo(function AssetNode({ data }: NodeProps<AssetFlowNode>) {
  const a = data.asset;
  const far = useContext(LineageFar);
  const { passed, failed, blocking } = a.checks;
  const box = {
    className: `asset-node ${healthClass(a.health)}`,
    'data-testid': 'lineage-node',
    'data-asset': a.key,
    'data-health': a.health,
    title: a.staleReason ?? `${a.key} — ${HEALTH_LABEL[a.health]}`,
  };
  // Zoomed far out, the node is its coloured box alone.
  if (far) return <div {...box} />;
  return (
    <div {...box}>
      <Handle type="target" position={Position.Left} isConnectable={false} />
      <a className="asset-node-key nodrag" href={href(assetPath(a.key))} data-testid="lineage-node-link">
        {a.key}
      </a>
      <div className="asset-node-meta">
        <span className={`asset-node-health ${healthClass(a.health)}`}>{HEALTH_LABEL[a.health].toUpperCase()}</span>
        {a.partitioned && (
          <span className="partitioned-mark" title="Partitioned" data-testid="lineage-node-partitioned">
            ▦ partitioned
          </span>
        )}
        {passed + failed > 0 && (
          <span
            className="asset-node-checks"
            title={`${passed} passed, ${failed} failed${blocking ? ', blocking downstream' : ''}`}
          >
            <span className="passed">✓{passed}</span>
            {failed > 0 && (
              <span className="failed">
                ✗{failed}
                {blocking ? ' ⛔' : ''}
              </span>
            )}
          </span>
        )}
      </div>
      {a.partitionCounts && <PartitionBar counts={a.partitionCounts} />}
      <Handle type="source" position={Position.Right} isConnectable={false} />
    </div>
  );
});
