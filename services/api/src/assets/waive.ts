import type { AssetCheckWaiver, AssetWaiveRequest, AuditActorKind } from '@outpost/sdk/contracts';
import type { Sql } from '../db/client.js';
import { DomainError, notFound } from '../domain-error.js';
import { loadAssetNodes } from './db/asset-definitions.js';
import { type CheckResultRow, insertWaiver, latestCheckResult, newestLatestFailure, toWaiver } from './db/asset-records.js';

/**
 * Waives the failure of a check, so what it blocks may be materialised again: the latest result
 * of the check on the partition named, or — without one — every partition's failure up to the
 * newest. Refused (409) when there is no failure to waive: no result yet, or the latest passed.
 */
export async function waiveCheck(
  sql: Sql,
  input: { workspaceId: string; request: AssetWaiveRequest; actor: { kind: AuditActorKind; id: string | null } },
): Promise<AssetCheckWaiver> {
  const { workspaceId, request } = input;
  const node = (await loadAssetNodes(sql, workspaceId)).find((n) => n.key === request.assetKey);
  if (!node) throw notFound(`asset "${request.assetKey}"`);
  if (!node.checks.some((c) => c.name === request.checkName)) {
    throw notFound(`check "${request.checkName}" of asset "${request.assetKey}"`);
  }
  if (request.partitionKey !== undefined && node.partitions === null) {
    throw new DomainError('validation_failed', `asset "${request.assetKey}" is not partitioned`, {
      errors: [{ path: 'body.partitionKey', message: 'the asset has no partitions: leave the partition out' }],
    });
  }
  const what = `check "${request.checkName}" of "${request.assetKey}"${
    request.partitionKey === undefined ? '' : ` (partition ${request.partitionKey})`
  }`;
  const partitionKey = request.partitionKey ?? null;
  let result: CheckResultRow | null;
  if (partitionKey === null && node.partitions !== null) {
    result = await newestLatestFailure(sql, workspaceId, { assetKey: request.assetKey, checkName: request.checkName });
    if (!result) throw new DomainError('conflict', `nothing to waive: no partition's latest result of the ${what} failed`);
  } else {
    result = await latestCheckResult(sql, workspaceId, {
      assetKey: request.assetKey,
      checkName: request.checkName,
      partitionKey,
    });
    if (!result) throw new DomainError('conflict', `nothing to waive: the ${what} has no result yet`);
    if (result.passed) throw new DomainError('conflict', `nothing to waive: the latest result of the ${what} passed`);
  }
  const row = await insertWaiver(sql, {
    workspaceId,
    result,
    partitionKey,
    reason: request.reason,
    actorKind: input.actor.kind,
    actorId: input.actor.id,
  });
  return toWaiver(row);
}
