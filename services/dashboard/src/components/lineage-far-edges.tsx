import { ViewportPortal } from '@xyflow/react';
import { memo, useMemo } from 'react';
import { edgeRole, type LineageRole, NODE_HEIGHT, NODE_WIDTH } from '../lib/lineage-layout.js';

type EdgeClass = ReturnType<typeof edgeRole>;
const ORDER: EdgeClass[] = ['dimmed', 'none', 'upstream', 'downstream'];

/**
 * Every dependency as one SVG path per highlight (plain, dimmed, upstream, downstream), drawn in the
 * viewport while the graph is zoomed out too far to read. React Flow draws each edge as a component
 * of its own: on the bench's 1,000-asset graph (1,813 edges) those took 0.5–0.8 s of the fitted
 * graph's first paint; these four paths take a few milliseconds. Closer in, React Flow's edges,
 * culled to the visible ones, take over.
 */
export const LineageFarEdges = memo(function LineageFarEdges({
  edges,
  positions,
  role,
}: {
  edges: readonly { from: string; to: string }[];
  positions: ReadonlyMap<string, { x: number; y: number }>;
  role: (key: string) => LineageRole;
}) {
  const paths = useMemo(() => {
    const d = new Map<EdgeClass, string[]>();
    for (const e of edges) {
      const a = positions.get(e.from);
      const b = positions.get(e.to);
      if (!a || !b) continue;
      const sx = a.x + NODE_WIDTH;
      const sy = a.y + NODE_HEIGHT / 2;
      const tx = b.x;
      const ty = b.y + NODE_HEIGHT / 2;
      const mx = (sx + tx) / 2;
      const cls = edgeRole(role(e.from), role(e.to));
      const list = d.get(cls) ?? [];
      list.push(`M${sx} ${sy}C${mx} ${sy} ${mx} ${ty} ${tx} ${ty}`);
      d.set(cls, list);
    }
    return ORDER.flatMap((cls) => {
      const list = d.get(cls);
      return list ? [{ cls, d: list.join('') }] : [];
    });
  }, [edges, positions, role]);
  return (
    <ViewportPortal>
      <svg className="lineage-far-edges" data-testid="lineage-far-edges" aria-hidden="true">
        {paths.map((p) => (
          <path key={p.cls} className={`lineage-far-edge-${p.cls}`} d={p.d} />
        ))}
      </svg>
    </ViewportPortal>
  );
});
