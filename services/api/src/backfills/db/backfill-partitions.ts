import type { BackfillPartition, BackfillPartitionStatus } from '@outpost/sdk/contracts';
import type { Db, TxSql } from '../../db/client.js';
import type { backfillPartitions, Row } from '../../db/schema.js';
import { iso } from '../../db/values.js';

/*
 * One row per partition a backfill reached: written with its first run (or when found BLOCKED),
 * never up front. Its status follows its run through the trigger of migration 0018.
 */

type PartitionRow = Pick<
  Row<typeof backfillPartitions>,
  'ordinal' | 'partition_key' | 'status' | 'flow_run_id' | 'runs' | 'requeued' | 'message' | 'updated_at'
>;

function toPartition(row: PartitionRow): BackfillPartition {
  return {
    key: row.partition_key,
    status: row.status,
    flowRunId: row.flow_run_id,
    runs: row.runs,
    requeued: row.requeued,
    message: row.message,
    updatedAt: iso(row.updated_at),
  };
}

/**
 * Runs in flight: runs of the backfill's partitions that are not finished (a run over a range
 * stands for many partitions, so runs are counted, not rows). Read under the backfill's lock; a run
 * that finishes meanwhile is still counted, which can only make a pass create fewer runs, never more.
 */
export async function countRunsInFlight(tx: TxSql, backfillId: string): Promise<number> {
  const [row] = await tx<{ n: number }[]>`
    SELECT count(DISTINCT flow_run_id)::int AS n FROM backfill_partitions
    WHERE backfill_id = ${backfillId} AND status IN ('PENDING', 'RUNNING')`;
  return row?.n ?? 0;
}

/** Partitions retry-failed re-queued, in order, for the loop to give a new run. */
export async function requeuedPartitions(
  tx: TxSql,
  backfillId: string,
  limit: number,
): Promise<{ ordinal: number; partition_key: string; runs: number }[]> {
  return tx<{ ordinal: number; partition_key: string; runs: number }[]>`
    SELECT ordinal, partition_key, runs FROM backfill_partitions
    WHERE backfill_id = ${backfillId} AND requeued
    ORDER BY ordinal
    LIMIT ${limit}`;
}

export interface ReachedPartition {
  ordinal: number;
  key: string;
  /** Null for a partition found BLOCKED. */
  flowRunId: string | null;
  status: BackfillPartitionStatus;
  message: string | null;
}

/** Records partitions as the loop reaches them (a run created, or BLOCKED), in one statement. */
export async function insertPartitions(
  tx: TxSql,
  workspaceId: string,
  backfillId: string,
  rows: readonly ReachedPartition[],
): Promise<void> {
  if (rows.length === 0) return;
  // postgres.js sends NULL inside an array as the string "NULL": absent values travel as '' instead.
  await tx`
    INSERT INTO backfill_partitions (workspace_id, backfill_id, ordinal, partition_key, status, flow_run_id, runs, message)
    SELECT ${workspaceId}, ${backfillId}, t.ordinal, t.key, t.status, nullif(t.run, '')::uuid,
           CASE WHEN t.run = '' THEN 0 ELSE 1 END, nullif(t.message, '')
    FROM unnest(${tx.array(rows.map((r) => r.ordinal))}::int[], ${tx.array(rows.map((r) => r.key))}::text[],
                ${tx.array(rows.map((r) => r.status))}::text[], ${tx.array(rows.map((r) => r.flowRunId ?? ''))}::text[],
                ${tx.array(rows.map((r) => r.message ?? ''))}::text[]) AS t(ordinal, key, status, run, message)`;
}

/** A re-queued partition reached again: its new run (or BLOCKED once more). */
export async function updateRequeuedPartition(tx: TxSql, backfillId: string, row: ReachedPartition): Promise<void> {
  await tx`
    UPDATE backfill_partitions SET
      status = ${row.status}, requeued = false, message = ${row.message}, updated_at = now(),
      flow_run_id = ${row.flowRunId === null ? tx`flow_run_id` : tx`${row.flowRunId}::uuid`},
      runs = runs + ${row.flowRunId === null ? 0 : 1}
    WHERE backfill_id = ${backfillId} AND ordinal = ${row.ordinal}`;
}

/** Whether any partition is still waiting for a retry run. */
export async function hasRequeued(tx: TxSql, backfillId: string): Promise<boolean> {
  const [row] = await tx<{ any: boolean }[]>`
    SELECT EXISTS (SELECT 1 FROM backfill_partitions WHERE backfill_id = ${backfillId} AND requeued) AS any`;
  return row?.any ?? false;
}

/** Whether every partition reached completed (for the backfill's final status). */
export async function allCompleted(tx: TxSql, backfillId: string): Promise<boolean> {
  const [row] = await tx<{ other: boolean }[]>`
    SELECT EXISTS (SELECT 1 FROM backfill_partitions WHERE backfill_id = ${backfillId} AND status <> 'COMPLETED') AS other`;
  return !(row?.other ?? false);
}

/** retry-failed: marks the FAILED and BLOCKED partitions for a new run; returns how many. */
export async function requeueFailed(tx: TxSql, backfillId: string): Promise<number> {
  const rows = await tx`
    UPDATE backfill_partitions SET requeued = true, updated_at = now()
    WHERE backfill_id = ${backfillId} AND status IN ('FAILED', 'BLOCKED') AND NOT requeued
    RETURNING ordinal`;
  return rows.length;
}

/** A cancelled backfill gives no partition a new run. */
export async function clearRequeued(tx: TxSql, backfillId: string): Promise<void> {
  await tx`UPDATE backfill_partitions SET requeued = false WHERE backfill_id = ${backfillId} AND requeued`;
}

/** One page of the partitions reached, in the backfill's order, after `afterOrdinal`. */
export async function listPartitions(
  db: Db,
  workspaceId: string,
  backfillId: string,
  filter: { status?: BackfillPartitionStatus; afterOrdinal: number | null },
  limit: number,
): Promise<(BackfillPartition & { ordinal: number })[]> {
  const rows = await db<PartitionRow[]>`
    SELECT ordinal, partition_key, status, flow_run_id, runs, requeued, message, updated_at
    FROM backfill_partitions
    WHERE backfill_id = ${backfillId} AND workspace_id = ${workspaceId}
      ${filter.status ? db`AND status = ${filter.status}` : db``}
      ${filter.afterOrdinal === null ? db`` : db`AND ordinal > ${filter.afterOrdinal}`}
    ORDER BY ordinal
    LIMIT ${limit}`;
  return rows.map((r) => ({ ...toPartition(r), ordinal: r.ordinal }));
}
