import type { AssetHealth } from '@outpost/sdk/contracts';

export const HEALTH_LABEL: Record<AssetHealth, string> = {
  MISSING: 'Missing',
  FRESH: 'Fresh',
  STALE: 'Stale',
  FAILED: 'Failed',
  BLOCKED: 'Blocked',
  OVERDUE: 'Overdue',
};

/** What a health means, for a tooltip when no stale reason says more. */
const HEALTH_MEANING: Record<AssetHealth, string> = {
  MISSING: 'Never materialised',
  FRESH: 'Materialised and up to date',
  STALE: 'Materialised but out of date',
  FAILED: 'The latest attempt to materialise it failed',
  BLOCKED: 'A blocking check of it or upstream of it failed and is not waived',
  OVERDUE: 'Older than its freshness policy allows',
};

export function healthClass(health: AssetHealth): string {
  return `health-${health.toLowerCase()}`;
}

/** An asset's health: colour and word, with the stale reason (or what the health means) on hover. */
export function HealthBadge({
  health,
  reason,
  testId = 'asset-health',
}: {
  health: AssetHealth;
  reason?: string | null;
  testId?: string;
}) {
  return (
    <span
      className={`badge ${healthClass(health)}`}
      data-testid={testId}
      data-health={health}
      title={reason ?? HEALTH_MEANING[health]}
    >
      {HEALTH_LABEL[health]}
    </span>
  );
}
