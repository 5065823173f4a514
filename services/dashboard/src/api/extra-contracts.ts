/**
 * Wire contracts the dashboard needs that the shared route table does not carry yet.
 * The API implements exactly these; once they move into `@outpost/sdk/contracts`, import them from there.
 */
import { FlowRun, Id, Name, StateType, Timestamp, WhoAmIResponse } from '@outpost/sdk/contracts';
import { z } from 'zod';

/**
 * `POST /api/v1/auth/session` — exchange a one-time sign-in token (from the link `npm start` prints)
 * or an API key for a browser session. Success (200) sets the HttpOnly session cookie and the
 * readable `outpost_csrf` cookie; a bad token or key is a 401 problem.
 */
export const AuthSessionCreateRequest = z.union([
  z.strictObject({ token: z.string().min(1).max(4000) }),
  z.strictObject({ apiKey: z.string().min(1).max(500) }),
]);
export type AuthSessionCreateRequest = z.infer<typeof AuthSessionCreateRequest>;
export const AuthSessionCreateResponse = WhoAmIResponse;
export type AuthSessionCreateResponse = z.infer<typeof AuthSessionCreateResponse>;

/** `DELETE /api/v1/auth/session` — sign out: clears both cookies; 204. Needs the CSRF header like every mutation. */
export const AuthSessionDeleteResponse = z.null();

/**
 * `GET /api/v1/flow-runs/events` — Server-Sent Events (`text/event-stream`), readers' roles.
 * Each change of a flow run in the caller's workspace (created, state changed, updated) is one
 * unnamed event whose `data:` line is the run's full JSON, exactly as `GET /flow-runs/:id` returns it.
 * The server should send a comment line (`: ping`) every ~15 s so proxies keep the stream open.
 * Delivery is a hint, not a guarantee: clients re-read what they show after reconnecting.
 */
export const FlowRunEvent = FlowRun;
export type FlowRunEvent = z.infer<typeof FlowRunEvent>;

export const StatsWindow = z.enum(['1h', '24h', '7d']);
export type StatsWindow = z.infer<typeof StatsWindow>;

/** `GET /api/v1/stats/overview?window=24h` — readers' roles. */
export const StatsOverviewQuery = z.strictObject({ window: StatsWindow.default('24h') });
export type StatsOverviewQuery = z.input<typeof StatsOverviewQuery>;

/** Run counts by current state type; absent types count zero. */
export const StateCounts = z.partialRecord(StateType, z.number().int().min(0));
export type StateCounts = z.infer<typeof StateCounts>;

export const StatsOverviewResponse = z.strictObject({
  window: StatsWindow,
  /** Inclusive start and exclusive end of the window (database clock). */
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
