import { QuotaName } from '@outpost/sdk/contracts';
import type { Db } from '../db/client.js';
import { DomainError } from '../domain-error.js';

/*
 * Per-workspace quotas: how much of the shared control plane one workspace may use. Each has a
 * documented default (docs/security.md, "Budgets and quotas"); an answer at a quota is a 429
 * `quota_exceeded` problem naming the quota and its limit, with Retry-After when it frees up with time.
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

/** The workspace's quotas now: the defaults, with the operator's overrides (`workspace_quotas`) over them. */
export async function workspaceQuotas(db: Db, workspaceId: string): Promise<Quotas> {
  const overrides = await db<{ name: string; limit: number }[]>`
    SELECT name, "limit" FROM workspace_quotas WHERE workspace_id = ${workspaceId}`;
  const quotas = { ...QUOTA_DEFAULTS };
  // A name no release knows any more (a quota retired) is left in the table and ignored.
  for (const { name, limit } of overrides) if (isQuotaName(name)) quotas[name] = limit;
  return quotas;
}

/** Sets the workspace's quota `name` to `limit`, or back to its default with null. */
export async function setQuotaOverride(db: Db, workspaceId: string, name: QuotaName, limit: number | null): Promise<void> {
  if (limit === null) {
    await db`DELETE FROM workspace_quotas WHERE workspace_id = ${workspaceId} AND name = ${name}`;
    return;
  }
  await db`
    INSERT INTO workspace_quotas (workspace_id, name, "limit") VALUES (${workspaceId}, ${name}, ${limit})
    ON CONFLICT (workspace_id, name) DO UPDATE SET "limit" = EXCLUDED."limit", updated_at = now()`;
}

/** The 429 of a reached quota: `the workspace's quota "automations" (500) is reached`. */
export function quotaExceeded(name: QuotaName, limit: number, detail?: string, retryAfterSeconds?: number): DomainError {
  const base = `the workspace's quota "${name}" (${limit}) is reached`;
  return new DomainError('quota_exceeded', detail ? `${base}: ${detail}` : base, {
    ...(retryAfterSeconds !== undefined ? { retryAfterSeconds: Math.max(1, Math.ceil(retryAfterSeconds)) } : {}),
  });
}
