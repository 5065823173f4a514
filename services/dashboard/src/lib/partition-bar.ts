import type { PartitionCounts, PartitionStatus } from '@outpost/sdk/contracts';

/** Left to right: what is done, then what is in doubt, then what is not there. */
const ORDER: readonly PartitionStatus[] = ['MATERIALIZED', 'STALE', 'MATERIALIZING', 'FAILED', 'MISSING'];

export interface PartitionBarSegment {
  status: PartitionStatus;
  count: number;
  /** Share of the bar, 0–100. */
  percent: number;
}

/** The bar's segments, one per status that has partitions, sized by their share of the total. */
export function partitionBarSegments(counts: PartitionCounts): PartitionBarSegment[] {
  if (counts.total <= 0) return [];
  return ORDER.filter((s) => counts[s] > 0).map((status) => ({
    status,
    count: counts[status],
    percent: (counts[status] / counts.total) * 100,
  }));
}

/** "340 of 365 partitions materialised, 2 failed, 23 missing" (stale and materialising named when there are any). */
export function partitionBarLabel(counts: PartitionCounts): string {
  const parts = [`${counts.MATERIALIZED} of ${counts.total} ${counts.total === 1 ? 'partition' : 'partitions'} materialised`];
  if (counts.STALE > 0) parts.push(`${counts.STALE} stale`);
  if (counts.MATERIALIZING > 0) parts.push(`${counts.MATERIALIZING} materialising`);
  parts.push(`${counts.FAILED} failed`, `${counts.MISSING} missing`);
  return parts.join(', ');
}
