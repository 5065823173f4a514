import type { PartitionSelection } from '@outpost/sdk/contracts';
import { useCallback, useState } from 'react';
import { Notice } from '../components/notice.js';
import { type GridPick, PartitionGrid } from '../components/partition-grid.js';
import { MAX_GRID_PARTITIONS, useAssetPartitions } from '../hooks/use-asset-partitions.js';
import { pluralise, pluralWord } from '../lib/format.js';

/** The partition grid of an asset, and the selection made on it, ready to materialise. */
export function AssetPartitions({
  assetKey,
  version,
  canMaterialize,
  onMaterialize,
}: {
  assetKey: string;
  /** Changes when the asset's partitions may have changed: re-read then. */
  version: string;
  canMaterialize: boolean;
  onMaterialize: (selection: PartitionSelection) => void;
}) {
  const view = useAssetPartitions(assetKey, version);
  const [picked, setPicked] = useState<GridPick | null>(null);
  const onSelectionChange = useCallback((s: GridPick | null) => setPicked(s), []);

  if (view.error) return <Notice>{view.error}</Notice>;
  if (view.loading && view.partitions.length === 0) return <p className="muted">Loading partitions…</p>;
  return (
    <>
      {view.truncated && <Notice kind="info">The grid shows the first {pluralise(MAX_GRID_PARTITIONS, 'partition')}.</Notice>}
      <PartitionGrid
        partitions={view.partitions}
        dimensions={view.dimensions}
        counts={view.counts}
        onSelectionChange={onSelectionChange}
      />
      <div className="selection-bar" data-testid="partition-selection" data-count={picked?.keys.length ?? 0}>
        {picked && picked.keys.length > 0 ? (
          <>
            <span>
              <strong>{picked.keys.length.toLocaleString()}</strong> {pluralWord(picked.keys.length, 'partition')} selected:{' '}
              <span className="mono" data-testid="partition-selection-range">
                {picked.keys[0]}
                {picked.keys.length > 1 ? ` → ${picked.keys.at(-1)}` : ''}
              </span>
            </span>
            {canMaterialize && picked.partitions && (
              <button
                type="button"
                className="button button-primary"
                onClick={() => picked.partitions && onMaterialize(picked.partitions)}
                data-testid="partition-materialize"
              >
                Materialize selection
              </button>
            )}
          </>
        ) : (
          <span className="muted small">Drag across the grid (or click, then shift-click) to select partitions.</span>
        )}
      </div>
    </>
  );
}
