import { randomUUID } from 'node:crypto';
import type { AssetEvent } from '@outpost/sdk/contracts';

type CheckEvent = Extract<AssetEvent, { kind: 'check' }>;

/**
 * A run's report that check `checkName` of `assetKey` (of one partition, or none) passed or failed:
 * an ERROR-severity, blocking check, with `metadata` counting null ids (0 when it passed, 3 when it
 * failed) unless `extra` says otherwise.
 */
export function assetCheckEvent(
  assetKey: string,
  checkName: string,
  passed: boolean,
  partitionKey: string | null = null,
  extra: Partial<Omit<CheckEvent, 'kind'>> = {},
): CheckEvent {
  return {
    kind: 'check',
    id: randomUUID(),
    assetKey,
    checkName,
    partitionKey,
    materializationId: null,
    passed,
    severity: 'ERROR',
    blocking: true,
    metadata: { nullIds: passed ? 0 : 3 },
    ...extra,
  };
}
