import type { Db } from '../db/client.js';
import { DomainError } from '../domain-error.js';

/*
 * Per-workspace quotas: how much of the shared control plane one workspace may use. Each has a
 * documented default (docs/security.md, "Budgets and quotas"); an answer at a quota is a 429
 * `quota_exceeded` problem naming the quota and its limit, with Retry-After when it frees up with time.
 */

export const QUOTA_NAMES = [
  'eventsPerDay',
  'automations',
  'webhooks',
  'mailPerHour',
  'partitionsPerDefinition',
  'automationRunsPerMinute',
] as const;
export type QuotaName = (typeof QUOTA_NAMES)[number];
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

/** The workspace's quotas now. */
export async function workspaceQuotas(_db: Db, _workspaceId: string): Promise<Quotas> {
  return { ...QUOTA_DEFAULTS };
}

/** The 429 of a reached quota: `the workspace's quota "automations" (500) is reached`. */
export function quotaExceeded(name: QuotaName, limit: number, detail?: string, retryAfterSeconds?: number): DomainError {
  const base = `the workspace's quota "${name}" (${limit}) is reached`;
  return new DomainError('quota_exceeded', detail ? `${base}: ${detail}` : base, {
    ...(retryAfterSeconds !== undefined ? { retryAfterSeconds: Math.max(1, Math.ceil(retryAfterSeconds)) } : {}),
  });
}
