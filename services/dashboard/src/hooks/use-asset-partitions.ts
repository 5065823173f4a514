import type { AssetPartition, AssetPartitionsResponse } from '@outpost/sdk/contracts';
import { useEffect, useState } from 'react';
import { describeFailure } from '../api/client.js';
import { api } from '../api/instance.js';

/** The grid shows at most this many partitions (ten pages of the API's largest). */
export const MAX_GRID_PARTITIONS = 100_000;
const PAGE = 10_000;

export interface AssetPartitionsView {
  partitions: AssetPartition[];
  dimensions: AssetPartitionsResponse['dimensions'];
  counts: AssetPartitionsResponse['counts'] | null;
  /** More partitions exist than the grid loaded. */
  truncated: boolean;
  loading: boolean;
  error: string | null;
}

const EMPTY: AssetPartitionsView = {
  partitions: [],
  dimensions: null,
  counts: null,
  truncated: false,
  loading: true,
  error: null,
};

/**
 * Every partition of an asset with its status, read in pages of 10,000 (one call for most grids).
 * `version` re-reads when it changes (a new materialisation); the old grid stays until the new one is in.
 */
export function useAssetPartitions(key: string, version: string): AssetPartitionsView {
  const [view, setView] = useState<AssetPartitionsView>(EMPTY);
  // biome-ignore lint/correctness/useExhaustiveDependencies: a new version is the reason to read again
  useEffect(() => {
    const controller = new AbortController();
    const load = async () => {
      setView((v) => ({ ...v, loading: true }));
      const partitions: AssetPartition[] = [];
      let cursor: string | undefined;
      let first: AssetPartitionsResponse | null = null;
      let truncated = false;
      for (;;) {
        const result = await api.call('assetsPartitions', {
          query: { key, limit: PAGE, cursor },
          signal: controller.signal,
        });
        if (controller.signal.aborted) return;
        if (!result.ok) {
          setView((v) => ({ ...v, loading: false, error: describeFailure(result) }));
          return;
        }
        first ??= result.data;
        partitions.push(...result.data.partitions);
        if (!result.data.nextCursor) break;
        if (partitions.length >= MAX_GRID_PARTITIONS) {
          truncated = true;
          break;
        }
        cursor = result.data.nextCursor;
      }
      setView({ partitions, dimensions: first.dimensions, counts: first.counts, truncated, loading: false, error: null });
    };
    void load();
    return () => controller.abort();
  }, [key, version]);
  return view;
}
