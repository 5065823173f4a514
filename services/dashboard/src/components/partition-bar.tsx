import type { PartitionCounts } from '@outpost/sdk/contracts';
import { partitionBarLabel, partitionBarSegments } from '../lib/partition-bar.js';

/**
 * A thin bar split by partition status in proportion (materialised, stale, materialising, failed,
 * missing), named for assistive technology and on hover by its counts.
 */
export function PartitionBar({ counts, testId = 'lineage-node-partition-bar' }: { counts: PartitionCounts; testId?: string }) {
  const label = partitionBarLabel(counts);
  return (
    <div className="partition-bar" role="img" aria-label={label} title={label} data-testid={testId}>
      {partitionBarSegments(counts).map((s) => (
        <span
          key={s.status}
          className={`partition-bar-${s.status.toLowerCase()}`}
          style={{ width: `${s.percent}%` }}
          data-status={s.status}
          data-count={s.count}
        />
      ))}
    </div>
  );
}
