import type postgres from 'postgres';
import type { Db, TxSql } from '../../db/client.js';
import type { MaterializationInputPartition } from '../../db/schema.js';

/*
 * The provenance of materialisations: what each one consumed from its upstream assets (written
 * when the materialisation is recorded), and what the lineage document reads back per level of
 * its walk upstream — the materialisations, their runs' pinned code, their inputs, their checks and
 * the waivers lifting them. Every read takes a list of ids bounded by the caller.
 */

/** Upstream partitions listed per input row; the rest are only counted. */
export const INPUT_PARTITIONS_LISTED = 50;
/** Upstream partitions counted per input row: a count past this says "more than 10,000". */
export const INPUT_PARTITIONS_COUNTED = 10_000;

/** What a materialisation consumed from one upstream, to derive as it is recorded. */
export interface InputSpec {
  materializationId: string;
  upstreamKey: string;
  partitioned: boolean;
  /** The upstream partition it maps to (partitioned alike); null reads the upstream whole. */
  partitionKey: string | null;
}

/**
 * Records, for each materialisation just written in this transaction, the upstream
 * materialisations current now: the latest successful write of each mapped upstream partition as
 * `asset_partitions` holds it (the same transaction sees upstreams reported in the same batch).
 * One statement for the whole batch; each row reads at most INPUT_PARTITIONS_COUNTED + 1 index
 * entries of the upstream, however many partitions it has.
 */
export async function insertMaterializationInputs(tx: TxSql, workspaceId: string, specs: readonly InputSpec[]): Promise<void> {
  if (specs.length === 0) return;
  const input = specs.map((s) => ({
    materialization_id: s.materializationId,
    upstream_key: s.upstreamKey,
    partitioned: s.partitioned,
    partition_key: s.partitionKey,
  }));
  await tx`
    INSERT INTO asset_materialization_inputs AS i (materialization_id, workspace_id, upstream_key, partition_key, partitioned,
                                                   partition_count, partitions)
    SELECT s.materialization_id, ${workspaceId}, s.upstream_key, s.partition_key, s.partitioned, c.n, coalesce(l.list, '[]'::jsonb)
    FROM jsonb_to_recordset(${tx.json(input as postgres.JSONValue)}::jsonb)
      AS s(materialization_id uuid, upstream_key text, partitioned boolean, partition_key text)
    CROSS JOIN LATERAL (
      SELECT count(*)::int AS n FROM (
        SELECT 1 FROM asset_partitions p
        WHERE p.workspace_id = ${workspaceId} AND p.asset_key = s.upstream_key AND p.materialization_id IS NOT NULL
          AND (NOT s.partitioned OR s.partition_key IS NULL OR p.partition_key = s.partition_key)
          AND (s.partitioned OR p.partition_key = '')
        LIMIT ${INPUT_PARTITIONS_COUNTED + 1}
      ) counted
    ) c
    CROSS JOIN LATERAL (
      SELECT jsonb_agg(jsonb_build_object(
               'partitionKey', nullif(p.partition_key, ''), 'materializationId', p.materialization_id,
               'codeVersion', p.code_version, 'dataVersion', p.data_version,
               'materializedAt', to_char(p.materialized_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
             ORDER BY p.materialized_at DESC, p.partition_key) AS list
      FROM (
        SELECT * FROM asset_partitions p
        WHERE p.workspace_id = ${workspaceId} AND p.asset_key = s.upstream_key AND p.materialization_id IS NOT NULL
          AND (NOT s.partitioned OR s.partition_key IS NULL OR p.partition_key = s.partition_key)
          AND (s.partitioned OR p.partition_key = '')
        ORDER BY p.materialized_at DESC, p.partition_key
        LIMIT ${INPUT_PARTITIONS_LISTED}
      ) p
    ) l
    ON CONFLICT (materialization_id, upstream_key) DO UPDATE SET
      partition_key = excluded.partition_key, partitioned = excluded.partitioned, partition_count = excluded.partition_count,
      partitions = excluded.partitions, created_at = now()`;
}

export interface LineageMaterializationRow {
  id: string;
  asset_key: string;
  partition_key: string | null;
  flow_run_id: string;
  attempt: number;
  code_version: string;
  data_version: string | null;
  metadata: Record<string, unknown>;
  inputs_recorded: boolean;
  created_at: Date;
  run_name: string | null;
  deployment_id: string | null;
  deployment_version_id: string | null;
  source: string | null;
  source_digest: string | null;
  entrypoint: string | null;
}

/** The materialisations with their runs and the code the runs were pinned to. */
export async function lineageMaterializations(
  db: Db,
  workspaceId: string,
  ids: readonly string[],
): Promise<LineageMaterializationRow[]> {
  if (ids.length === 0) return [];
  return db<LineageMaterializationRow[]>`
    SELECT m.id, m.asset_key, m.partition_key, m.flow_run_id, m.attempt, m.code_version, m.data_version, m.metadata, m.inputs_recorded,
           m.created_at,
           r.name AS run_name, r.deployment_id, r.deployment_version_id, v.source, v.source_digest, v.entrypoint
    FROM asset_materializations m
    LEFT JOIN flow_runs r ON r.id = m.flow_run_id AND r.workspace_id = m.workspace_id
    LEFT JOIN deployment_versions v ON v.id = r.deployment_version_id AND v.workspace_id = m.workspace_id
    WHERE m.workspace_id = ${workspaceId} AND m.id = ANY(${db.array([...ids])}::uuid[])`;
}

/** The latest materialisation of an asset (of one partition, when given), or null. */
export async function latestMaterializationId(
  db: Db,
  workspaceId: string,
  assetKey: string,
  partitionKey: string | undefined,
): Promise<string | null> {
  const [row] = await db<{ id: string }[]>`
    SELECT id FROM asset_materializations
    WHERE workspace_id = ${workspaceId} AND asset_key = ${assetKey}
      ${partitionKey !== undefined ? db`AND partition_key = ${partitionKey}` : db``}
    ORDER BY seq DESC LIMIT 1`;
  return row?.id ?? null;
}

export interface InputRow {
  materialization_id: string;
  upstream_key: string;
  partition_key: string | null;
  partitioned: boolean;
  partition_count: number;
  partitions: MaterializationInputPartition[];
}

export async function lineageInputs(db: Db, workspaceId: string, ids: readonly string[]): Promise<InputRow[]> {
  if (ids.length === 0) return [];
  return db<InputRow[]>`
    SELECT materialization_id, upstream_key, partition_key, partitioned, partition_count, partitions
    FROM asset_materialization_inputs
    WHERE workspace_id = ${workspaceId} AND materialization_id = ANY(${db.array([...ids])}::uuid[])
    ORDER BY materialization_id, upstream_key`;
}

export interface LineageCheckRow {
  id: string;
  materialization_id: string;
  check_name: string;
  passed: boolean;
  severity: 'ERROR' | 'WARN';
  blocking: boolean;
  metadata: Record<string, unknown>;
  created_at: Date;
}

/** The check results that name the materialisations. */
export async function lineageChecks(db: Db, workspaceId: string, ids: readonly string[]): Promise<LineageCheckRow[]> {
  if (ids.length === 0) return [];
  return db<LineageCheckRow[]>`
    SELECT id, materialization_id, check_name, passed, severity, blocking, metadata, created_at
    FROM asset_check_results
    WHERE workspace_id = ${workspaceId} AND materialization_id = ANY(${db.array([...ids])}::uuid[])
    ORDER BY check_name, seq`;
}

export interface LineageWaiverRow {
  check_result_id: string;
  id: string;
  partition_key: string | null;
  reason: string;
  waived_by: string;
  actor_kind: string;
  created_at: Date;
}

/**
 * The waivers lifting each of the failed results: one naming the result, or one without a
 * partition given for a later-or-same result of the same check (the rule `loadBlockers` applies).
 */
export async function lineageWaivers(db: Db, workspaceId: string, resultIds: readonly string[]): Promise<LineageWaiverRow[]> {
  if (resultIds.length === 0) return [];
  return db<LineageWaiverRow[]>`
    SELECT r.id AS check_result_id, w.id, w.partition_key, w.reason, w.waived_by, w.actor_kind, w.created_at
    FROM asset_check_results r
    JOIN asset_check_waivers w ON w.workspace_id = r.workspace_id AND w.asset_key = r.asset_key AND w.check_name = r.check_name
      AND (w.check_result_id = r.id OR (w.partition_key IS NULL AND w.result_seq >= r.seq))
    WHERE r.workspace_id = ${workspaceId} AND r.id = ANY(${db.array([...resultIds])}::uuid[])
    ORDER BY w.created_at, w.id`;
}
