import { QuotaName } from '@outpost/sdk/contracts';
import type { Db } from '../db/client.js';
import { DomainError } from '../domain-error.js';

/*
 * Per-workspace quotas: how much of the shared control plane one workspace may use. Each has a
 * documented default (docs/security.md, "Budgets and quotas"); an answer at a quota is a 429
 * `quota_exceeded` problem naming the quota and its limit, with Retry-After when it frees up with time.
 * The operator sets a workspace's limits (`outpost server quota set`); the workspace's organisation
 * may set its own below them (`PUT /organisations/:org/workspaces/:workspace/quotas/:name`), and
 * every check reads the lower of the two, so a tenant that owns its organisation cannot raise its quotas.
 */

/** Every quota's name, in the contract's order (the API's answers name them). */
export const QUOTA_NAMES = QuotaName.options;
export type { QuotaName };
export type Quotas = Record<QuotaName, number>;

/** The defaults every workspace starts with. */
export const QUOTA_DEFAULTS: Quotas = {
  /** Events stored per UTC day (ledger rows the workspace's calls, webhooks and flows emit). */
  eventsPerDay: 1_000_000,
  /** Automations the workspace may have at once. */
  automations: 500,
  /** Inbound event webhooks the workspace may have at once. */
  webhooks: 100,
  /** Mail messages the workspace's channels and invitations may send per hour. */
  mailPerHour: 200,
  /** Partitions one partitions definition may have. */
  partitionsPerDefinition: 100_000,
  /** Runs the workspace's automations may create per minute, all together. */
  automationRunsPerMinute: 600,
};

export function isQuotaName(name: string): name is QuotaName {
  return (QUOTA_NAMES as readonly string[]).includes(name);
}

/**
 * One quota's limits for a workspace: the operator's (their override in `workspace_quotas`, else the
 * default), the organisation's own (`organisation_quota_limits`, null when it set none), and the one
 * the workspace is held to, the lower of the two. An organisation may only lower a quota: whatever it
 * stored, `limit` never passes `operator`.
 */
export interface QuotaLimit {
  operator: number;
  organisation: number | null;
  limit: number;
}

/** Every quota's limits for the workspace now, in one round trip. */
export async function quotaLimits(db: Db, workspaceId: string): Promise<Record<QuotaName, QuotaLimit>> {
  const rows = await db<{ source: 'operator' | 'organisation'; name: string; limit: number }[]>`
    SELECT 'operator' AS source, name, "limit" FROM workspace_quotas WHERE workspace_id = ${workspaceId}
    UNION ALL
    SELECT 'organisation' AS source, name, "limit" FROM organisation_quota_limits WHERE workspace_id = ${workspaceId}`;
  const operator: Quotas = { ...QUOTA_DEFAULTS };
  const organisation: Partial<Quotas> = {};
  // A name no release knows any more (a quota retired) is left in the tables and ignored.
  for (const { source, name, limit } of rows) {
    if (!isQuotaName(name)) continue;
    if (source === 'operator') operator[name] = limit;
    else organisation[name] = limit;
  }
  const limits = {} as Record<QuotaName, QuotaLimit>;
  for (const name of QUOTA_NAMES) {
    const own = organisation[name] ?? null;
    limits[name] = { operator: operator[name], organisation: own, limit: Math.min(operator[name], own ?? operator[name]) };
  }
  return limits;
}

/** The workspace's quotas now: what it is held to, the lower of the operator's and the organisation's limits. */
export async function workspaceQuotas(db: Db, workspaceId: string): Promise<Quotas> {
  const limits = await quotaLimits(db, workspaceId);
  const quotas = { ...QUOTA_DEFAULTS };
  for (const name of QUOTA_NAMES) quotas[name] = limits[name].limit;
  return quotas;
}

/**
 * The limit of quota `name` the workspace is held to, as a SQL expression, for a statement that
 * checks it where it counts (events-per-day.ts): the operator's override or the default, lowered by
 * the organisation's limit when it set one (`least` passes over the NULL of none). It must agree
 * with quotaLimits, which tells the same in TypeScript.
 */
export function effectiveLimitSql(db: Db, workspaceId: string, name: QuotaName) {
  return db`least(
    coalesce((SELECT "limit" FROM workspace_quotas WHERE workspace_id = ${workspaceId} AND name = ${name}),
             ${QUOTA_DEFAULTS[name]}::int),
    (SELECT "limit" FROM organisation_quota_limits WHERE workspace_id = ${workspaceId} AND name = ${name}))`;
}

/** Sets the operator's limit of the workspace's quota `name` to `limit`, or back to its default with null. */
export async function setQuotaOverride(db: Db, workspaceId: string, name: QuotaName, limit: number | null): Promise<void> {
  if (limit === null) {
    await db`DELETE FROM workspace_quotas WHERE workspace_id = ${workspaceId} AND name = ${name}`;
    return;
  }
  await db`
    INSERT INTO workspace_quotas (workspace_id, name, "limit") VALUES (${workspaceId}, ${name}, ${limit})
    ON CONFLICT (workspace_id, name) DO UPDATE SET "limit" = EXCLUDED."limit", updated_at = now()`;
}

/**
 * Sets the organisation's limit of the workspace's quota `name`, or takes it away with null. The
 * caller refuses a limit above the operator's first (identity/organisation-quota-handlers.ts); one that passes
 * it anyway (the operator lowered theirs meanwhile) lets nothing more through, since every check takes the lower.
 */
export async function setOrganisationQuotaLimit(
  db: Db,
  workspaceId: string,
  name: QuotaName,
  limit: number | null,
): Promise<void> {
  if (limit === null) {
    await db`DELETE FROM organisation_quota_limits WHERE workspace_id = ${workspaceId} AND name = ${name}`;
    return;
  }
  await db`
    INSERT INTO organisation_quota_limits (workspace_id, name, "limit") VALUES (${workspaceId}, ${name}, ${limit})
    ON CONFLICT (workspace_id, name) DO UPDATE SET "limit" = EXCLUDED."limit", updated_at = now()`;
}

/** The 429 of a reached quota: `the workspace's quota "automations" (500) is reached`. */
export function quotaExceeded(name: QuotaName, limit: number, detail?: string, retryAfterSeconds?: number): DomainError {
  const base = `the workspace's quota "${name}" (${limit}) is reached`;
  return new DomainError('quota_exceeded', detail ? `${base}: ${detail}` : base, {
    ...(retryAfterSeconds !== undefined ? { retryAfterSeconds: Math.max(1, Math.ceil(retryAfterSeconds)) } : {}),
  });
}
