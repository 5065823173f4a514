import type { AssetFreshnessPolicy, AssetFreshnessState } from '@outpost/sdk/contracts';
import { latestTick } from './cron.js';

/*
 * Freshness, derived from the policy, the latest materialisation and the database's "now" (pure, so
 * the catalog's health and the loop's events agree). Without a cron the deadline slides:
 * now − maxLag. With one it steps at each tick: tick − maxLag, for the latest tick at or before now
 * ("by 09:00, data from after 06:00"). An asset never materialised counts from when it was first
 * deployed: it is not overdue before it could have been made.
 */

export interface FreshnessVerdict {
  violated: boolean;
  deadline: Date;
}

const MINUTE_MS = 60_000;

export function freshnessVerdict(
  policy: AssetFreshnessPolicy,
  lastMaterializedMs: number | null,
  definedAt: Date,
  now: Date,
): FreshnessVerdict {
  const reference = policy.cron ? latestTick(policy.cron, now) : now;
  if (reference === null) return { violated: false, deadline: new Date(now.getTime() - policy.maxLagMinutes * MINUTE_MS) };
  const deadline = new Date(reference.getTime() - policy.maxLagMinutes * MINUTE_MS);
  if (lastMaterializedMs === null) return { violated: definedAt < deadline, deadline };
  return { violated: lastMaterializedMs < deadline.getTime(), deadline };
}

export function freshnessState(
  policy: AssetFreshnessPolicy,
  lastMaterializedMs: number | null,
  definedAt: Date,
  now: Date,
): AssetFreshnessState {
  const { violated, deadline } = freshnessVerdict(policy, lastMaterializedMs, definedAt, now);
  const since = lastMaterializedMs ?? definedAt.getTime();
  return {
    status: violated ? 'VIOLATED' : 'OK',
    deadline: deadline.toISOString(),
    lastMaterializedAt: lastMaterializedMs === null ? null : new Date(lastMaterializedMs).toISOString(),
    overdueMinutes: violated ? Math.max(0, Math.floor((deadline.getTime() - since) / MINUTE_MS)) : 0,
  };
}
