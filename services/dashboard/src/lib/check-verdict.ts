import type { Asset, AssetCheckStatus } from '@outpost/sdk/contracts';
import { pluralise } from './format.js';

export type CheckVerdictStatus = 'blocking' | 'failing' | 'waived' | 'passing' | 'not-run';

export interface CheckVerdict {
  status: CheckVerdictStatus;
  label: string;
  className: string;
}

/**
 * Where a check stands over all its partitions, in the same terms as the asset's health: a check
 * blocks while any partition's latest result fails it unwaived, whatever the newest result (of
 * another partition) says. `outpost assets get` words it the same way.
 */
export function checkVerdict(check: AssetCheckStatus): CheckVerdict {
  if (check.latest === null && check.failureCount === 0) return { status: 'not-run', label: 'not run yet', className: 'muted' };
  // The status lists the newest CHECK_FAILURES_LISTED failures; past that, a count is a lower bound.
  const more = check.failures.length < check.failureCount ? ' or more' : '';
  const partitions = (n: number) =>
    check.failures.some((f) => f.result.partitionKey !== null) ? ` on ${pluralise(n, 'partition')}${more}` : '';
  if (check.blocksDownstream) {
    const blocking = check.failures.filter((f) => f.blocks).length;
    return { status: 'blocking', label: `Failed${partitions(blocking)} · blocks downstream`, className: 'check-failed' };
  }
  const unwaived = check.failures.filter((f) => f.waiver === null).length;
  if (unwaived > 0) return { status: 'failing', label: `Failed${partitions(unwaived)}`, className: 'check-failed' };
  if (check.failureCount > 0)
    return { status: 'waived', label: `Failed${partitions(check.failureCount)} · waived`, className: 'check-waived' };
  return { status: 'passing', label: 'Passed', className: 'check-passed' };
}

/**
 * Why an asset is BLOCKED, naming the check and the partitions whose failure holds it (the same
 * words as `outpost assets get`); null when it is not blocked.
 */
export function blockedReason(asset: Pick<Asset, 'health' | 'checks'>): string | null {
  if (asset.health !== 'BLOCKED') return null;
  const check = asset.checks.find((c) => c.blocksDownstream);
  if (!check) return 'A blocking check upstream of this asset failed and is not waived.';
  const keys = check.failures
    .filter((f) => f.blocks)
    .flatMap((f) => (f.result.partitionKey === null ? [] : [f.result.partitionKey]));
  const where =
    keys.length === 0
      ? ''
      : ` on ${keys.length === 1 ? 'partition' : 'partitions'} ${keys.slice(0, 5).join(', ')}${keys.length > 5 ? ', …' : ''}`;
  return `The blocking check ${check.name} failed${where} and is not waived: downstream assets may not be materialised until it passes or an admin waives it.`;
}
