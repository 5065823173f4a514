import { Handle, type Node, type NodeProps, Position } from '@xyflow/react';
import { createContext, memo, useContext } from 'react';
import { pluralise } from '../lib/format.js';
import { groupHealthText, type LineageGroup } from '../lib/lineage-groups.js';
import { LineageFar } from './asset-node.js';
import { HEALTH_LABEL, healthClass } from './health-badge.js';
import { PartitionBar } from './partition-bar.js';

export type GroupFlowNode = Node<{ group: LineageGroup }, 'assetGroup'>;

/** Expands a collapsed group: given by the graph, called by the group node's button. */
export const ExpandGroup = createContext<(name: string) => void>(() => {});

/**
 * A collapsed group in the lineage graph: its name and size, the worst health of its assets with how
 * many are in each health, their partitions added up, and a button that expands it (as does a double click).
 */
export const GroupNode = memo(function GroupNode({ data }: NodeProps<GroupFlowNode>) {
  const g = data.group;
  const far = useContext(LineageFar);
  const expand = useContext(ExpandGroup);
  const healths = groupHealthText(g);
  const common = {
    className: `asset-node group-node ${healthClass(g.health)}`,
    'data-testid': 'lineage-group',
    'data-group': g.name,
    'data-health': g.health,
    'data-size': g.keys.length,
    title: `${g.name} — ${pluralise(g.keys.length, 'asset')}: ${healths}`,
  };
  if (far) return <div {...common} />;
  return (
    <div {...common}>
      <Handle type="target" position={Position.Left} isConnectable={false} />
      <div className="group-node-title">
        <span className="asset-node-key" data-testid="lineage-group-name">
          {g.name} · {pluralise(g.keys.length, 'asset')}
        </span>
        <button
          type="button"
          className="group-node-expand nodrag"
          onClick={(e) => {
            e.stopPropagation();
            expand(g.name);
          }}
          aria-label={`Expand group ${g.name}`}
          data-testid="lineage-group-expand"
        >
          Expand
        </button>
      </div>
      <div className="asset-node-meta">
        <span className={`asset-node-health ${healthClass(g.health)}`}>{HEALTH_LABEL[g.health].toUpperCase()}</span>
        <span className="group-node-counts" data-testid="lineage-group-counts">
          {healths}
        </span>
      </div>
      {g.partitionCounts && <PartitionBar counts={g.partitionCounts} testId="lineage-group-partition-bar" />}
      <Handle type="source" position={Position.Right} isConnectable={false} />
    </div>
  );
});
