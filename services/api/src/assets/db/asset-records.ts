import type { AssetCheckResult, AssetCheckWaiver, AssetMaterialization } from '@outpost/sdk/contracts';
import type { Db } from '../../db/client.js';
import type { assetCheckResults, assetCheckWaivers, assetMaterializations, Row } from '../../db/schema.js';
import { iso } from '../../db/values.js';

/*
 * What runs recorded about assets, read back: materialisations and check results newest first
 * (keyset on their write order, `seq`), the latest result of each declared check, and waivers.
 */

type MaterializationRow = Pick<
  Row<typeof assetMaterializations>,
  | 'id'
  | 'asset_key'
  | 'partition_key'
  | 'flow_run_id'
  | 'attempt'
  | 'code_version'
  | 'data_version'
  | 'metadata'
  | 'duration_ms'
  | 'seq'
  | 'created_at'
>;

export function toMaterialization(row: MaterializationRow): AssetMaterialization {
  return {
    id: row.id,
    assetKey: row.asset_key,
    partitionKey: row.partition_key,
    flowRunId: row.flow_run_id,
    attempt: row.attempt,
    codeVersion: row.code_version,
    dataVersion: row.data_version,
    metadata: row.metadata as AssetMaterialization['metadata'],
    durationMs: row.duration_ms,
    createdAt: iso(row.created_at),
  };
}

export type CheckResultRow = Pick<
  Row<typeof assetCheckResults>,
  | 'id'
  | 'asset_key'
  | 'check_name'
  | 'partition_key'
  | 'flow_run_id'
  | 'materialization_id'
  | 'passed'
  | 'severity'
  | 'blocking'
  | 'metadata'
  | 'seq'
  | 'created_at'
>;

export function toCheckResult(row: CheckResultRow): AssetCheckResult {
  return {
    id: row.id,
    assetKey: row.asset_key,
    checkName: row.check_name,
    partitionKey: row.partition_key,
    flowRunId: row.flow_run_id,
    materializationId: row.materialization_id,
    passed: row.passed,
    severity: row.severity,
    blocking: row.blocking,
    metadata: row.metadata as AssetCheckResult['metadata'],
    createdAt: iso(row.created_at),
  };
}

export type WaiverRow = Pick<
  Row<typeof assetCheckWaivers>,
  'id' | 'asset_key' | 'check_name' | 'partition_key' | 'check_result_id' | 'result_seq' | 'reason' | 'waived_by' | 'created_at'
>;

export function toWaiver(row: WaiverRow): AssetCheckWaiver {
  return {
    id: row.id,
    assetKey: row.asset_key,
    checkName: row.check_name,
    partitionKey: row.partition_key,
    checkResultId: row.check_result_id,
    reason: row.reason,
    waivedBy: row.waived_by,
    createdAt: iso(row.created_at),
  };
}

/** Newest first; `before` is the `seq` of the last row of the previous page. */
export async function listMaterializations(
  db: Db,
  workspaceId: string,
  filter: { assetKey: string; partitionKey?: string | undefined; before: string | null },
  limit: number,
): Promise<(AssetMaterialization & { seq: string })[]> {
  const rows = await db<MaterializationRow[]>`
    SELECT * FROM asset_materializations
    WHERE workspace_id = ${workspaceId} AND asset_key = ${filter.assetKey}
      ${filter.partitionKey !== undefined ? db`AND partition_key = ${filter.partitionKey}` : db``}
      ${filter.before !== null ? db`AND seq < ${filter.before}::bigint` : db``}
    ORDER BY seq DESC
    LIMIT ${limit}`;
  return rows.map((r) => ({ ...toMaterialization(r), seq: String(r.seq) }));
}

export async function getMaterializations(db: Db, workspaceId: string, ids: readonly string[]): Promise<AssetMaterialization[]> {
  if (ids.length === 0) return [];
  const rows = await db<MaterializationRow[]>`
    SELECT * FROM asset_materializations WHERE workspace_id = ${workspaceId} AND id = ANY(${db.array([...ids])}::uuid[])`;
  return rows.map(toMaterialization);
}

/** Whether anything was ever recorded about the key (an asset no deployment defines any more keeps its history). */
export async function assetHasHistory(db: Db, workspaceId: string, assetKey: string): Promise<boolean> {
  const [row] = await db<{ found: boolean }[]>`
    SELECT EXISTS (SELECT 1 FROM asset_materializations WHERE workspace_id = ${workspaceId} AND asset_key = ${assetKey})
        OR EXISTS (SELECT 1 FROM asset_check_results WHERE workspace_id = ${workspaceId} AND asset_key = ${assetKey}) AS found`;
  return row?.found ?? false;
}

export async function listCheckResults(
  db: Db,
  workspaceId: string,
  filter: { assetKey: string; checkName?: string | undefined; partitionKey?: string | undefined; before: string | null },
  limit: number,
): Promise<(AssetCheckResult & { seq: string })[]> {
  const rows = await db<CheckResultRow[]>`
    SELECT * FROM asset_check_results
    WHERE workspace_id = ${workspaceId} AND asset_key = ${filter.assetKey}
      ${filter.checkName !== undefined ? db`AND check_name = ${filter.checkName}` : db``}
      ${filter.partitionKey !== undefined ? db`AND partition_key = ${filter.partitionKey}` : db``}
      ${filter.before !== null ? db`AND seq < ${filter.before}::bigint` : db``}
    ORDER BY seq DESC
    LIMIT ${limit}`;
  return rows.map((r) => ({ ...toCheckResult(r), seq: String(r.seq) }));
}

/**
 * The latest result of each check the assets declare now, over all partitions: one probe of
 * (workspace_id, asset_key, check_name, seq) per declared check, however long the history.
 */
export async function latestCheckResults(db: Db, workspaceId: string, keys: readonly string[] | null): Promise<CheckResultRow[]> {
  return db<CheckResultRow[]>`
    SELECT l.* FROM asset_definitions a
    CROSS JOIN LATERAL jsonb_array_elements(a.checks) c
    CROSS JOIN LATERAL (
      SELECT * FROM asset_check_results r
      WHERE r.workspace_id = a.workspace_id AND r.asset_key = a.key AND r.check_name = c->>'name'
      ORDER BY r.seq DESC LIMIT 1
    ) l
    WHERE a.workspace_id = ${workspaceId} ${keys === null ? db`` : db`AND a.key = ANY(${db.array([...keys])}::text[])`}`;
}

/** A partition's latest result of a check that failed, with the newest waiver lifting it (null when none does). */
export interface CheckFailureRow {
  result: CheckResultRow;
  waiver: WaiverRow | null;
  /** How many partitions of this check have a failing latest result. */
  failureCount: number;
}

/**
 * For each check of the assets named (every asset when null): the partitions whose latest result
 * failed, newest first, at most `limit` per check, each with the newest waiver lifting it. A waiver
 * lifts a result it names, or (without a partition) every result up to the one it was given for;
 * `loadBlockers` applies the same rule, so a failure listed here without a waiver is a blocker.
 */
export async function latestCheckFailures(
  db: Db,
  workspaceId: string,
  keys: readonly string[] | null,
  limit: number,
): Promise<CheckFailureRow[]> {
  const rows = await db<
    (CheckResultRow & {
      failure_count: string;
      w_id: string | null;
      w_partition_key: string | null;
      w_check_result_id: string | null;
      w_result_seq: string | null;
      w_reason: string | null;
      w_waived_by: string | null;
      w_created_at: Date | null;
    })[]
  >`
    SELECT * FROM (
      SELECT l.id, l.asset_key, l.check_name, l.partition_key, l.flow_run_id, l.materialization_id, l.passed, l.severity,
             l.blocking, l.metadata, l.seq, l.created_at,
             w.id AS w_id, w.partition_key AS w_partition_key, w.check_result_id AS w_check_result_id,
             w.result_seq AS w_result_seq, w.reason AS w_reason, w.waived_by AS w_waived_by, w.created_at AS w_created_at,
             row_number() OVER (PARTITION BY l.asset_key, l.check_name ORDER BY l.seq DESC) AS n,
             count(*) OVER (PARTITION BY l.asset_key, l.check_name) AS failure_count
      FROM asset_definitions a
      CROSS JOIN LATERAL jsonb_array_elements(a.checks) c
      CROSS JOIN LATERAL (
        SELECT DISTINCT ON (r.partition_key) r.* FROM asset_check_results r
        WHERE r.workspace_id = a.workspace_id AND r.asset_key = a.key AND r.check_name = c->>'name'
        ORDER BY r.partition_key, r.seq DESC
      ) l
      LEFT JOIN LATERAL (
        SELECT * FROM asset_check_waivers w
        WHERE w.workspace_id = a.workspace_id AND w.asset_key = l.asset_key AND w.check_name = l.check_name
          AND (w.check_result_id = l.id OR (w.partition_key IS NULL AND l.seq <= w.result_seq))
        ORDER BY w.created_at DESC, w.id DESC LIMIT 1
      ) w ON true
      WHERE a.workspace_id = ${workspaceId} AND NOT l.passed
        ${keys === null ? db`` : db`AND a.key = ANY(${db.array([...keys])}::text[])`}
    ) f
    WHERE f.n <= ${limit}
    ORDER BY f.asset_key, f.check_name, f.seq DESC`;
  return rows.map((r) => ({
    result: {
      id: r.id,
      asset_key: r.asset_key,
      check_name: r.check_name,
      partition_key: r.partition_key,
      flow_run_id: r.flow_run_id,
      materialization_id: r.materialization_id,
      passed: r.passed,
      severity: r.severity,
      blocking: r.blocking,
      metadata: r.metadata,
      seq: r.seq,
      created_at: r.created_at,
    },
    waiver:
      r.w_id === null
        ? null
        : {
            id: r.w_id,
            asset_key: r.asset_key,
            check_name: r.check_name,
            partition_key: r.w_partition_key,
            check_result_id: r.w_check_result_id as string,
            result_seq: r.w_result_seq as string,
            reason: r.w_reason as string,
            waived_by: r.w_waived_by as string,
            created_at: r.w_created_at as Date,
          },
    failureCount: Number(r.failure_count),
  }));
}

/** The latest result of one check, on one partition or (null) on any. */
export async function latestCheckResult(
  db: Db,
  workspaceId: string,
  input: { assetKey: string; checkName: string; partitionKey: string | null },
): Promise<CheckResultRow | null> {
  const [row] = await db<CheckResultRow[]>`
    SELECT * FROM asset_check_results
    WHERE workspace_id = ${workspaceId} AND asset_key = ${input.assetKey} AND check_name = ${input.checkName}
      ${input.partitionKey !== null ? db`AND partition_key = ${input.partitionKey}` : db``}
    ORDER BY seq DESC LIMIT 1`;
  return row ?? null;
}

/** The newest failed result among the latest result of each partition of a check (what a waiver without a partition lifts). */
export async function newestLatestFailure(
  db: Db,
  workspaceId: string,
  input: { assetKey: string; checkName: string },
): Promise<CheckResultRow | null> {
  const [row] = await db<CheckResultRow[]>`
    SELECT * FROM (
      SELECT DISTINCT ON (partition_key) * FROM asset_check_results
      WHERE workspace_id = ${workspaceId} AND asset_key = ${input.assetKey} AND check_name = ${input.checkName}
      ORDER BY partition_key, seq DESC
    ) l
    WHERE NOT l.passed
    ORDER BY l.seq DESC LIMIT 1`;
  return row ?? null;
}

/** The newest waiver of each check of the assets. */
export async function latestWaivers(db: Db, workspaceId: string, keys: readonly string[] | null): Promise<WaiverRow[]> {
  return db<WaiverRow[]>`
    SELECT DISTINCT ON (asset_key, check_name) * FROM asset_check_waivers
    WHERE workspace_id = ${workspaceId} ${keys === null ? db`` : db`AND asset_key = ANY(${db.array([...keys])}::text[])`}
    ORDER BY asset_key, check_name, created_at DESC, id DESC`;
}

/** Records a waiver; `waived_by` is the actor as people know it (the person's email, the key's name). */
export async function insertWaiver(
  db: Db,
  w: {
    workspaceId: string;
    result: CheckResultRow;
    partitionKey: string | null;
    reason: string;
    actorKind: string;
    actorId: string | null;
  },
): Promise<WaiverRow> {
  const [row] = await db<WaiverRow[]>`
    INSERT INTO asset_check_waivers (workspace_id, asset_key, check_name, partition_key, check_result_id, result_seq, reason,
                                     waived_by, actor_kind, actor_id)
    VALUES (${w.workspaceId}, ${w.result.asset_key}, ${w.result.check_name}, ${w.partitionKey}, ${w.result.id},
            ${w.result.seq}::bigint, ${w.reason},
            coalesce((SELECT email FROM users WHERE ${w.actorKind} = 'user' AND id = ${w.actorId}::uuid),
                     (SELECT name FROM api_keys WHERE ${w.actorKind} = 'api_key' AND id = ${w.actorId}::uuid),
                     ${w.actorKind}),
            ${w.actorKind}, ${w.actorId}::uuid)
    RETURNING *`;
  if (!row) throw new Error('waiver insert returned no row');
  return row;
}
