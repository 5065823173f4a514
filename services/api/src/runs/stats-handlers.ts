import { type StateCounts, type StateType, type StatsOverviewResponse, TERMINAL_STATES } from '@outpost/sdk/contracts';
import type { Handlers } from '../http/route-types.js';
import { busiestDeployments, countRunsByBucket, lateRuns, windowBounds } from './db/stats.js';

const WINDOWS = {
  '1h': { seconds: 3600, bucketSeconds: 300 },
  '24h': { seconds: 24 * 3600, bucketSeconds: 3600 },
  '7d': { seconds: 7 * 24 * 3600, bucketSeconds: 6 * 3600 },
} as const;

const TOP = 10;

function add(counts: StateCounts, state: StateType, n: number): void {
  counts[state] = (counts[state] ?? 0) + n;
}

export const statsHandlers = {
  statsOverview: async ({ query, principal, deps }) => {
    const { seconds, bucketSeconds } = WINDOWS[query.window];
    const bounds = await windowBounds(deps.sql, seconds, bucketSeconds);
    const [cells, busiest, late] = await Promise.all([
      countRunsByBucket(deps.sql, principal.workspaceId, bounds, bucketSeconds),
      busiestDeployments(deps.sql, principal.workspaceId, bounds, TOP),
      lateRuns(deps.sql, principal.workspaceId, TOP),
    ]);

    const buckets: StatsOverviewResponse['buckets'] = Array.from({ length: seconds / bucketSeconds }, (_, i) => ({
      start: new Date(bounds.from.getTime() + i * bucketSeconds * 1000).toISOString(),
      counts: {},
    }));
    const totals: StateCounts = {};
    let runs = 0;
    for (const cell of cells) {
      const bucket = buckets[cell.bucket];
      if (bucket) add(bucket.counts, cell.stateType, cell.runs);
      add(totals, cell.stateType, cell.runs);
      runs += cell.runs;
    }
    const terminal = TERMINAL_STATES.reduce((sum, state) => sum + (totals[state] ?? 0), 0);
    const failed = (totals.FAILED ?? 0) + (totals.CRASHED ?? 0);

    return {
      window: query.window,
      from: bounds.from.toISOString(),
      to: bounds.to.toISOString(),
      bucketSeconds,
      buckets,
      totals: { runs, counts: totals, failureRate: terminal === 0 ? null : failed / terminal },
      late: {
        count: late.count,
        items: late.items.map((r) => ({ ...r, expectedStartTime: r.expectedStartTime.toISOString() })),
      },
      busiestDeployments: busiest,
    };
  },
} satisfies Pick<Handlers, 'statsOverview'>;
