import { countRows, type Db, type TxSql } from '../db/client.js';
import { quotaExceeded, workspaceQuotas } from './quotas.js';

/*
 * The quotas on how many of a kind the workspace may have at once: `automations` (its own and those
 * its deployments declare) and `webhooks` (inbound event webhooks). A write that adds some takes the
 * workspace's lock for the kind first, so two concurrent creates cannot both take the last one.
 */

export type CountedKind = 'automations' | 'webhooks';

const TABLES: Record<CountedKind, string> = { automations: 'automations', webhooks: 'event_webhooks' };

/** How many of the kind the workspace has now. Bounded by the quota itself, so cheap to count. */
export async function countOf(db: Db, workspaceId: string, kind: CountedKind): Promise<number> {
  return countRows(db, db`${db(TABLES[kind])} WHERE workspace_id = ${workspaceId}`);
}

/** Holds the workspace's lock for the kind to the end of the transaction. */
export async function lockCount(tx: TxSql, workspaceId: string, kind: CountedKind): Promise<void> {
  await tx`SELECT pg_advisory_xact_lock(hashtextextended(${`quota:${kind}:${workspaceId}`}, 0))`;
}

/** Refuses, before it is written, one more of the kind past the workspace's quota. Takes the lock. */
export async function assertRoomForOne(tx: TxSql, workspaceId: string, kind: CountedKind): Promise<void> {
  await lockCount(tx, workspaceId, kind);
  const limit = (await workspaceQuotas(tx, workspaceId))[kind];
  const count = await countOf(tx, workspaceId, kind);
  if (count + 1 > limit) throw quotaExceeded(kind, limit, `the workspace has ${count}; delete one to make another`);
}

/**
 * Refuses writes (made under lockCount) that added some of the kind and left the workspace with more
 * than its quota; `before` is the count when the lock was taken. Writes that add none pass, so a
 * workspace whose quota was lowered below what it has may still change what it has.
 */
export async function assertAddedWithinQuota(tx: TxSql, workspaceId: string, kind: CountedKind, before: number): Promise<void> {
  const limit = (await workspaceQuotas(tx, workspaceId))[kind];
  const count = await countOf(tx, workspaceId, kind);
  if (count > limit && count > before) {
    throw quotaExceeded(kind, limit, `this would leave the workspace with ${count} (it has ${before})`);
  }
}
