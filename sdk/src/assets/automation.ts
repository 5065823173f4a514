import type { AssetAutomationPolicy, AssetFreshnessPolicy } from '../contracts/assets.js';

/*
 * Declarative automation: an asset says when it should be materialised, and the control plane's
 * automation loop requests the runs (partition by partition for a partitioned asset). Combine
 * conditions in an array: `automation: [onUpstreamUpdate(), onMissing()]`.
 */

/** One condition of an asset's automation (see onUpstreamUpdate, onCron, onMissing). */
export interface AutomationCondition {
  readonly onUpstreamUpdate?: true;
  readonly cron?: { readonly cron: string; readonly timezone: string };
  readonly onMissing?: true;
}

/**
 * Materialise the asset (the partition) when an upstream asset (the same partition, for upstreams
 * partitioned alike) was materialised after it and no run is already materialising it or that
 * upstream.
 */
export function onUpstreamUpdate(): AutomationCondition {
  return Object.freeze({ onUpstreamUpdate: true as const });
}

/**
 * At each tick of `cron` (read in `timezone`, DST-correct), materialise the asset if an upstream
 * changed since its last materialisation; nothing happens at a tick when nothing upstream changed.
 * @param timezone an IANA zone. @default 'UTC'
 */
export function onCron(cron: string, timezone = 'UTC'): AutomationCondition {
  return Object.freeze({ cron: Object.freeze({ cron, timezone }) });
}

/** Materialise the asset (each partition of it) that was never materialised nor attempted. */
export function onMissing(): AutomationCondition {
  return Object.freeze({ onMissing: true as const });
}

/** How old an asset may get: `{ maxLagMinutes }`, or by each tick of `cron`: `{ maxLagMinutes, cron: { cron, timezone } }`. */
export type FreshnessPolicy = {
  maxLagMinutes: number;
  cron?: { cron: string; timezone?: string };
};

/** The conditions as the contract's one policy object, or undefined for none. */
export function automationPolicy(
  conditions: AutomationCondition | readonly AutomationCondition[] | undefined,
): AssetAutomationPolicy | undefined {
  if (conditions === undefined) return undefined;
  const list = Array.isArray(conditions) ? conditions : [conditions as AutomationCondition];
  if (list.length === 0) return undefined;
  const crons = list.filter((c) => c.cron !== undefined);
  if (crons.length > 1) throw new TypeError('an asset takes one onCron() condition');
  const cron = crons[0]?.cron;
  return {
    onUpstreamUpdate: list.some((c) => c.onUpstreamUpdate === true),
    onMissing: list.some((c) => c.onMissing === true),
    ...(cron ? { cron: { cron: cron.cron, timezone: cron.timezone } } : {}),
  };
}

export function freshnessPolicy(policy: FreshnessPolicy | undefined): AssetFreshnessPolicy | undefined {
  if (policy === undefined) return undefined;
  return {
    maxLagMinutes: policy.maxLagMinutes,
    ...(policy.cron ? { cron: { cron: policy.cron.cron, timezone: policy.cron.timezone ?? 'UTC' } } : {}),
  };
}
