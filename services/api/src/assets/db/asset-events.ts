import type { CheckSeverity } from '@outpost/sdk/contracts';
import type postgres from 'postgres';
import type { Db, TxSql } from '../../db/client.js';

/*
 * Writing what a run reports about assets. Each kind of event is one statement for the whole
 * batch that also brings `asset_partitions` (the latest status per asset partition) up to date.
 * A run's later attempt that reports the same asset partition (or check) again replaces the row,
 * so a run leaves one row per asset partition however often it was retried.
 */

/** The run an asset report or gate question is about. */
export interface AssetRun {
  id: string;
  attempt: number;
  parameters: Record<string, unknown>;
  partitionKey: string | null;
  deploymentId: string | null;
}

type AssetRunRow = {
  id: string;
  attempt: number;
  parameters: Record<string, unknown>;
  partition_key: string | null;
  deployment_id: string | null;
};

function toAssetRun(row: AssetRunRow): AssetRun {
  return {
    id: row.id,
    attempt: row.attempt,
    parameters: row.parameters,
    partitionKey: row.partition_key,
    deploymentId: row.deployment_id,
  };
}

export async function getAssetRun(db: Db, workspaceId: string, id: string): Promise<AssetRun | null> {
  const [row] = await db<AssetRunRow[]>`
    SELECT id, attempt, parameters, partition_key, deployment_id FROM flow_runs WHERE id = ${id} AND workspace_id = ${workspaceId}`;
  return row ? toAssetRun(row) : null;
}

/**
 * The run, share-locked until the transaction ends so its attempt cannot move while its events are
 * written, and reports of the run are written one batch at a time (a repeated batch then finds the
 * first one's rows).
 */
export async function lockAssetRun(tx: TxSql, workspaceId: string, id: string): Promise<AssetRun | null> {
  const [row] = await tx<AssetRunRow[]>`
    SELECT id, attempt, parameters, partition_key, deployment_id FROM flow_runs
    WHERE id = ${id} AND workspace_id = ${workspaceId} FOR SHARE`;
  if (!row) return null;
  await tx`SELECT pg_advisory_xact_lock(hashtextextended(${`asset-events:${id}`}, 0))`;
  return toAssetRun(row);
}

/** Where event ids already recorded belong: a repeat of this run's own report, or someone else's id. */
export async function recordedEventIds(
  db: Db,
  ids: readonly string[],
): Promise<Map<string, { workspaceId: string; flowRunId: string }>> {
  if (ids.length === 0) return new Map();
  const list = db.array([...ids]);
  const rows = await db<{ id: string; workspace_id: string; flow_run_id: string }[]>`
    SELECT id, workspace_id, flow_run_id FROM asset_materializations WHERE id = ANY(${list}::uuid[])
    UNION ALL SELECT id, workspace_id, flow_run_id FROM asset_failures WHERE id = ANY(${list}::uuid[])
    UNION ALL SELECT id, workspace_id, flow_run_id FROM asset_check_results WHERE id = ANY(${list}::uuid[])`;
  return new Map(rows.map((r) => [r.id, { workspaceId: r.workspace_id, flowRunId: r.flow_run_id }]));
}

/** The run's materialisations of these assets (all of them when `ids` is null): id, asset and partition. */
export async function runMaterializations(
  db: Db,
  workspaceId: string,
  flowRunId: string,
  filter: { ids?: readonly string[]; beforeAttempt?: number } = {},
): Promise<{ id: string; assetKey: string; partitionKey: string | null }[]> {
  const rows = await db<{ id: string; asset_key: string; partition_key: string | null }[]>`
    SELECT id, asset_key, partition_key FROM asset_materializations
    WHERE workspace_id = ${workspaceId} AND flow_run_id = ${flowRunId}
      ${filter.ids ? db`AND id = ANY(${db.array([...filter.ids])}::uuid[])` : db``}
      ${filter.beforeAttempt !== undefined ? db`AND attempt < ${filter.beforeAttempt}` : db``}
    ORDER BY seq`;
  return rows.map((r) => ({ id: r.id, assetKey: r.asset_key, partitionKey: r.partition_key }));
}

export interface NewMaterialization {
  id: string;
  assetKey: string;
  partitionKey: string | null;
  codeVersion: string;
  dataVersion: string | null;
  metadata: Record<string, unknown>;
  durationMs: number | null;
}

export interface NewFailure {
  id: string;
  assetKey: string;
  partitionKey: string | null;
  message: string;
}

export interface NewCheckResult {
  id: string;
  assetKey: string;
  checkName: string;
  partitionKey: string | null;
  materializationId: string | null;
  passed: boolean;
  severity: CheckSeverity;
  blocking: boolean;
  metadata: Record<string, unknown>;
}

interface RunAttempt {
  workspaceId: string;
  flowRunId: string;
  attempt: number;
}

const json = (db: Db, value: unknown) => db.json(value as postgres.JSONValue);

/**
 * Records materialisations in the order given (each later one is written later: `clock_timestamp`
 * and `seq`), and makes each the latest of its asset partition unless a newer one is there already.
 */
export async function insertMaterializations(tx: TxSql, run: RunAttempt, events: readonly NewMaterialization[]): Promise<void> {
  if (events.length === 0) return;
  const input = events.map((e, n) => ({
    n,
    id: e.id,
    asset_key: e.assetKey,
    partition_key: e.partitionKey,
    code_version: e.codeVersion,
    data_version: e.dataVersion,
    metadata: e.metadata,
    duration_ms: e.durationMs,
  }));
  await tx`
    WITH written AS (
      INSERT INTO asset_materializations AS m (id, workspace_id, asset_key, partition_key, flow_run_id, attempt, code_version,
                                              data_version, metadata, duration_ms, created_at)
      SELECT e.id, ${run.workspaceId}, e.asset_key, e.partition_key, ${run.flowRunId}, ${run.attempt}, e.code_version,
             e.data_version, coalesce(e.metadata, '{}'::jsonb), e.duration_ms, clock_timestamp()
      FROM jsonb_to_recordset(${json(tx, input)}::jsonb) AS e(n int, id uuid, asset_key text, partition_key text, code_version text,
                                                           data_version text, metadata jsonb, duration_ms int)
      ORDER BY e.n
      ON CONFLICT (flow_run_id, asset_key, coalesce(partition_key, '')) DO UPDATE SET
        id = excluded.id, attempt = excluded.attempt, code_version = excluded.code_version, data_version = excluded.data_version,
        metadata = excluded.metadata, duration_ms = excluded.duration_ms, created_at = excluded.created_at,
        seq = nextval(pg_get_serial_sequence('asset_materializations', 'seq'))
      RETURNING m.id, m.asset_key, m.partition_key, m.code_version, m.data_version, m.created_at
    )
    INSERT INTO asset_partitions AS p (workspace_id, asset_key, partition_key, status, flow_run_id, materialization_id, code_version,
                                       data_version, materialized_at, updated_at)
    SELECT ${run.workspaceId}, w.asset_key, coalesce(w.partition_key, ''), 'MATERIALIZED', ${run.flowRunId}, w.id, w.code_version,
           w.data_version, w.created_at, now()
    FROM written w
    ON CONFLICT (workspace_id, asset_key, partition_key) DO UPDATE SET
      status = 'MATERIALIZED', flow_run_id = excluded.flow_run_id, materialization_id = excluded.materialization_id,
      code_version = excluded.code_version, data_version = excluded.data_version, materialized_at = excluded.materialized_at,
      updated_at = now()
    WHERE p.materialized_at IS NULL OR p.materialized_at <= excluded.materialized_at`;
}

/** Records failures; each asset partition's status becomes FAILED (its last good materialisation stays on the row). */
export async function insertFailures(tx: TxSql, run: RunAttempt, events: readonly NewFailure[]): Promise<void> {
  if (events.length === 0) return;
  const input = events.map((e) => ({ id: e.id, asset_key: e.assetKey, partition_key: e.partitionKey, message: e.message }));
  await tx`
    WITH written AS (
      INSERT INTO asset_failures AS f (id, workspace_id, asset_key, partition_key, flow_run_id, attempt, message, created_at)
      SELECT e.id, ${run.workspaceId}, e.asset_key, e.partition_key, ${run.flowRunId}, ${run.attempt}, e.message, clock_timestamp()
      FROM jsonb_to_recordset(${json(tx, input)}::jsonb) AS e(id uuid, asset_key text, partition_key text, message text)
      ON CONFLICT (flow_run_id, asset_key, coalesce(partition_key, '')) DO UPDATE SET
        id = excluded.id, attempt = excluded.attempt, message = excluded.message, created_at = excluded.created_at
      RETURNING f.asset_key, f.partition_key
    )
    INSERT INTO asset_partitions AS p (workspace_id, asset_key, partition_key, status, flow_run_id, updated_at)
    SELECT ${run.workspaceId}, w.asset_key, coalesce(w.partition_key, ''), 'FAILED', ${run.flowRunId}, now() FROM written w
    ON CONFLICT (workspace_id, asset_key, partition_key) DO UPDATE SET
      status = 'FAILED', flow_run_id = excluded.flow_run_id, updated_at = now()`;
}

export async function insertCheckResults(tx: TxSql, run: RunAttempt, events: readonly NewCheckResult[]): Promise<void> {
  if (events.length === 0) return;
  const input = events.map((e, n) => ({
    n,
    id: e.id,
    asset_key: e.assetKey,
    check_name: e.checkName,
    partition_key: e.partitionKey,
    materialization_id: e.materializationId,
    passed: e.passed,
    severity: e.severity,
    blocking: e.blocking,
    metadata: e.metadata,
  }));
  await tx`
    INSERT INTO asset_check_results AS r (id, workspace_id, asset_key, check_name, partition_key, flow_run_id, attempt,
                                          materialization_id, passed, severity, blocking, metadata, created_at)
    SELECT e.id, ${run.workspaceId}, e.asset_key, e.check_name, e.partition_key, ${run.flowRunId}, ${run.attempt},
           e.materialization_id, e.passed, e.severity, e.blocking, coalesce(e.metadata, '{}'::jsonb), clock_timestamp()
    FROM jsonb_to_recordset(${json(tx, input)}::jsonb) AS e(n int, id uuid, asset_key text, check_name text, partition_key text,
                                                         materialization_id uuid, passed boolean, severity text, blocking boolean,
                                                         metadata jsonb)
    ORDER BY e.n
    ON CONFLICT (flow_run_id, asset_key, check_name, coalesce(partition_key, '')) DO UPDATE SET
      id = excluded.id, attempt = excluded.attempt, materialization_id = excluded.materialization_id, passed = excluded.passed,
      severity = excluded.severity, blocking = excluded.blocking, metadata = excluded.metadata, created_at = excluded.created_at,
      seq = nextval(pg_get_serial_sequence('asset_check_results', 'seq'))`;
}

/**
 * Marks the assets MATERIALIZING for each partition (null: unpartitioned) on behalf of a run just
 * created. Readers believe the mark only while the run is active; a row the run already reported
 * on is left alone (a fast worker may report before the mark is written).
 */
export async function markMaterializing(
  db: Db,
  input: { workspaceId: string; flowRunId: string; assets: readonly string[]; partitionKeys: readonly (string | null)[] },
): Promise<void> {
  if (input.assets.length === 0 || input.partitionKeys.length === 0) return;
  await db`
    INSERT INTO asset_partitions AS p (workspace_id, asset_key, partition_key, status, flow_run_id, updated_at)
    SELECT ${input.workspaceId}, a.key, k.key, 'MATERIALIZING', ${input.flowRunId}, now()
    FROM unnest(${db.array([...input.assets])}::text[]) AS a(key)
    CROSS JOIN unnest(${db.array(input.partitionKeys.map((k) => k ?? ''))}::text[]) AS k(key)
    ON CONFLICT (workspace_id, asset_key, partition_key) DO UPDATE SET
      status = 'MATERIALIZING', flow_run_id = excluded.flow_run_id, updated_at = now()
    WHERE p.flow_run_id IS DISTINCT FROM excluded.flow_run_id`;
}
