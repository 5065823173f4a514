import * as z from 'zod';

/**
 * A workspace's quotas: how much of the shared control plane it may use. Each has a documented
 * default (docs/security.md, "Budgets and quotas") an operator may change for one workspace; at a
 * quota the API answers 429 `quota_exceeded`, naming the quota and its limit.
 */
export const QuotaName = z.enum([
  'eventsPerDay',
  'automations',
  'webhooks',
  'mailPerHour',
  'partitionsPerDefinition',
  'automationRunsPerMinute',
]);
export type QuotaName = z.infer<typeof QuotaName>;

/** One quota, its limit for this workspace and what is counted against it now. */
export const Quota = z.strictObject({
  name: QuotaName,
  limit: z.number().int().min(0),
  /** The limit every workspace starts with; `limit` differs when the operator changed it for this one. */
  default: z.number().int().min(0),
  /**
   * What counts against it now: today's events (UTC), this hour's mail, the last minute's runs, the
   * automations and webhooks there are. Null for a quota each object is checked against on its own
   * (`partitionsPerDefinition`).
   */
  used: z.number().int().min(0).nullable(),
  /** The window the count covers, when it starts over with time; null for a count of things the workspace has. */
  per: z.enum(['day', 'hour', 'minute']).nullable(),
  /** What the quota counts, in a sentence. */
  description: z.string(),
});
export type Quota = z.infer<typeof Quota>;

export const QuotaListResponse = z.strictObject({ items: z.array(Quota) });
export type QuotaListResponse = z.infer<typeof QuotaListResponse>;
