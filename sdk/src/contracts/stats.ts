import * as z from 'zod';
import { Id, Name, Timestamp } from './common.js';
import { StateType } from './states.js';

export const StatsWindow = z.enum(['1h', '24h', '7d']);
export type StatsWindow = z.infer<typeof StatsWindow>;

/** `GET /api/v1/stats/overview?window=24h`. */
export const StatsOverviewQuery = z.strictObject({ window: StatsWindow.default('24h') });
export type StatsOverviewQuery = z.input<typeof StatsOverviewQuery>;

/** Run counts by current state type; absent types count zero. */
export const StateCounts = z.partialRecord(StateType, z.number().int().min(0));
export type StateCounts = z.infer<typeof StateCounts>;

export const StatsOverviewResponse = z.strictObject({
  window: StatsWindow,
  /** Inclusive start and exclusive end of the window (database clock), both on bucket boundaries. */
  from: Timestamp,
  to: Timestamp,
  /** Bucket width: 300 for `1h`, 3600 for `24h`, 21600 for `7d`. */
  bucketSeconds: z.number().int().positive(),
  /**
   * Every bucket of the window, oldest first, empty ones included. A run counts in the bucket
   * holding its `expectedStartTime`, under its current state type.
   */
  buckets: z.array(z.strictObject({ start: Timestamp, counts: StateCounts })),
  totals: z.strictObject({
    /** Runs whose expected start time falls in the window. */
    runs: z.number().int().min(0),
    counts: StateCounts,
    /** (FAILED + CRASHED) / runs that reached a terminal state in the window; null when none did. */
    failureRate: z.number().min(0).max(1).nullable(),
  }),
  /** Runs now in state SCHEDULED/Late: the count, and the 10 that have waited longest. */
  late: z.strictObject({
    count: z.number().int().min(0),
    items: z
      .array(
        z.strictObject({
          id: Id,
          name: z.string(),
          flowName: Name,
          deploymentName: Name.nullable(),
          expectedStartTime: Timestamp,
        }),
      )
      .max(10),
  }),
  /** Up to 10 deployments with the most runs in the window, most first. */
  busiestDeployments: z
    .array(
      z.strictObject({
        deploymentId: Id,
        flowName: Name,
        deploymentName: Name,
        runs: z.number().int().min(0),
        failed: z.number().int().min(0),
      }),
    )
    .max(10),
});
export type StatsOverviewResponse = z.infer<typeof StatsOverviewResponse>;
