import type { OrganisationQuota, Quota, QuotaListResponse } from '@outpost/sdk/contracts';
import type { Db } from '../db/client.js';
import { eventsStoredToday } from './events-per-day.js';
import { countOf } from './object-counts.js';
import { QUOTA_DEFAULTS, QUOTA_NAMES, type QuotaName, type Quotas, quotaLimits } from './quotas.js';

/** What each quota counts, and over which window: what `GET /quotas` and `outpost quotas` tell. */
const DESCRIBED: Record<QuotaName, { per: Quota['per']; description: string }> = {
  eventsPerDay: { per: 'day', description: 'events stored through POST /events and inbound webhooks per UTC day' },
  automations: { per: null, description: "automations, the workspace's own and its deployments' triggers" },
  webhooks: { per: null, description: 'inbound event webhooks' },
  mailPerHour: { per: 'hour', description: 'mail sent by email channels and invitations per UTC hour, one per recipient' },
  partitionsPerDefinition: { per: null, description: 'partitions of one partitions definition (checked per definition)' },
  automationRunsPerMinute: { per: 'minute', description: "runs the workspace's automations created in the last minute" },
};

async function mailThisHour(db: Db, workspaceId: string): Promise<number> {
  const [row] = await db<{ sent: number }[]>`
    SELECT sent FROM mail_usage WHERE workspace_id = ${workspaceId} AND hour = date_trunc('hour', now())`;
  return row?.sent ?? 0;
}

/**
 * Runs the workspace's automations created in the last minute, counted up to `limit`: what the
 * `automationRunsPerMinute` quota's check and `GET /quotas` both count.
 */
export async function automationRunsLastMinute(db: Db, workspaceId: string, limit: number): Promise<number> {
  const [row] = await db<{ n: number }[]>`
    SELECT count(*)::int AS n FROM (
      SELECT 1 FROM flow_runs
      WHERE workspace_id = ${workspaceId} AND causation IS NOT NULL AND created_at > now() - interval '1 minute'
      LIMIT ${limit}) recent`;
  return row?.n ?? 0;
}

async function usage(db: Db, workspaceId: string, quotas: Quotas): Promise<Record<QuotaName, number | null>> {
  const [events, automations, webhooks, mail, runs] = await Promise.all([
    eventsStoredToday(db, workspaceId),
    countOf(db, workspaceId, 'automations'),
    countOf(db, workspaceId, 'webhooks'),
    mailThisHour(db, workspaceId),
    automationRunsLastMinute(db, workspaceId, quotas.automationRunsPerMinute),
  ]);
  return {
    eventsPerDay: events,
    automations,
    webhooks,
    mailPerHour: mail,
    partitionsPerDefinition: null,
    automationRunsPerMinute: runs,
  };
}

/**
 * The workspace's quotas, each with the limit it is held to, the operator's and the organisation's
 * limits it comes from, its default, and what counts against it now: what the organisation's
 * owners, admins and auditors read, and `outpost server quota ls` prints.
 */
export async function quotaDetails(db: Db, workspaceId: string): Promise<OrganisationQuota[]> {
  const limits = await quotaLimits(db, workspaceId);
  const held = Object.fromEntries(QUOTA_NAMES.map((name) => [name, limits[name].limit])) as Quotas;
  const used = await usage(db, workspaceId, held);
  return QUOTA_NAMES.map((name) => ({
    name,
    limit: limits[name].limit,
    operatorLimit: limits[name].operator,
    organisationLimit: limits[name].organisation,
    default: QUOTA_DEFAULTS[name],
    used: used[name],
    ...DESCRIBED[name],
  }));
}

/**
 * The workspace's quotas as its members read them (`GET /quotas`): each with the limit it is held
 * to, its default and what counts against it now. Which of the two limits it comes from is the
 * organisation's and the operator's business; the answer's shape is the one older clients parse.
 */
export async function listQuotas(db: Db, workspaceId: string): Promise<QuotaListResponse> {
  const details = await quotaDetails(db, workspaceId);
  return {
    items: details.map(({ operatorLimit: _operator, organisationLimit: _organisation, ...quota }): Quota => quota),
  };
}
