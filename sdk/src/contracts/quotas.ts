import * as z from 'zod';
import { WorkspaceSlug } from './workspaces.js';

/**
 * A workspace's quotas: how much of the shared control plane it may use. Each has a documented
 * default (docs/security.md, "Budgets and quotas") an operator may change for one workspace, and the
 * workspace's organisation may lower (never raise) for it; at a quota the API answers 429
 * `quota_exceeded`, naming the quota and its limit.
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
  /**
   * What the workspace is held to: the operator's limit, or the organisation's where it set a lower
   * one (GET /organisations/:org/workspaces/:workspace/quotas tells the two apart).
   */
  limit: z.number().int().min(0),
  /** The limit every workspace starts with; `limit` differs when the operator or the organisation changed it for this one. */
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

/** The largest limit a quota can have (a Postgres integer). */
export const QUOTA_LIMIT_MAX = 2_147_483_647;

/**
 * One quota of a workspace as its organisation's owners, admins and auditors read it: both limits it
 * is held to, the operator's and the organisation's own, and the lower of the two.
 */
export const OrganisationQuota = z.strictObject({
  name: QuotaName,
  /** What the workspace is held to: the lower of `operatorLimit` and `organisationLimit`. */
  limit: z.number().int().min(0),
  /**
   * The operator's limit for the workspace: their override (`outpost server quota set`), or the
   * default. The organisation's limit may not be set above it.
   */
  operatorLimit: z.number().int().min(0),
  /**
   * The organisation's own limit for the workspace, set by its owners and admins; null when it set
   * none. Above `operatorLimit` only when the operator lowered theirs since, and then without effect.
   */
  organisationLimit: z.number().int().min(0).nullable(),
  /** The limit every workspace starts with. */
  default: z.number().int().min(0),
  /** What counts against it now, as in GET /quotas; null for `partitionsPerDefinition`. */
  used: z.number().int().min(0).nullable(),
  /** The window the count covers, when it starts over with time; null for a count of things the workspace has. */
  per: z.enum(['day', 'hour', 'minute']).nullable(),
  /** What the quota counts, in a sentence. */
  description: z.string(),
});
export type OrganisationQuota = z.infer<typeof OrganisationQuota>;

export const OrganisationQuotaListResponse = z.strictObject({ items: z.array(OrganisationQuota) });
export type OrganisationQuotaListResponse = z.infer<typeof OrganisationQuotaListResponse>;

/**
 * One quota of a workspace of the organisation. `name` is one of QuotaName's; any other is a 404
 * naming the quotas there are.
 */
export const OrganisationQuotaParams = z.strictObject({
  org: WorkspaceSlug,
  workspace: WorkspaceSlug,
  name: z.string().min(1).max(100),
});

/** The organisation's limit of one quota of one of its workspaces. */
export const OrganisationQuotaPutRequest = z.strictObject({
  /**
   * At most the operator's limit for the workspace (`operatorLimit`): an organisation lowers its
   * workspaces' quotas, never raises them. Null takes the organisation's limit away, leaving the operator's.
   */
  limit: z.number().int().min(0).max(QUOTA_LIMIT_MAX).nullable(),
});
export type OrganisationQuotaPutRequest = z.infer<typeof OrganisationQuotaPutRequest>;
