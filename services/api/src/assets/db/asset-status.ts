import { TERMINAL_STATES } from '@outpost/sdk/contracts';
import type postgres from 'postgres';
import type { Db } from '../../db/client.js';
import type { assetPartitions, Row } from '../../db/schema.js';
import { stateList } from '../../db/values.js';

/*
 * The facts staleness, health and blocking are derived from (assets/status.ts): the latest status
 * of each asset partition, and the failed, unwaived results of blocking checks. Each read is one
 * statement for any number of assets; `keys` null reads the whole workspace.
 */

/** `AND <column> = ANY(keys)`, or nothing for the whole workspace; `column` is a constant of this module. */
/** Where an asset partition stands, as `asset_partitions` keeps it. `key` is '' for an unpartitioned asset. */
export interface PartitionRow {
  key: string;
  status: 'MATERIALIZED' | 'FAILED' | 'MATERIALIZING';
  /** For MATERIALIZING: its run has not ended (a run that ended without a word materialises nothing). */
  active: boolean;
  flowRunId: string | null;
  materializationId: string | null;
  codeVersion: string | null;
  dataVersion: string | null;
  /** Milliseconds since the epoch of the latest successful materialisation; null when there is none. */
  materializedAt: number | null;
}

/** A failed, unwaived result of a blocking check: what blocks downstream materialisation. */
export interface Blocker {
  assetKey: string;
  checkName: string;
  partitionKey: string | null;
}

function keyFilter(
  db: Db,
  column: 'ap.asset_key' | 'a.key',
  keys: readonly string[] | null,
): postgres.PendingQuery<postgres.Row[]> {
  return keys === null ? db`` : db`AND ${db.unsafe(column)} = ANY(${db.array([...keys])}::text[])`;
}

type StatusRow = Pick<
  Row<typeof assetPartitions>,
  'asset_key' | 'partition_key' | 'status' | 'flow_run_id' | 'materialization_id' | 'code_version' | 'data_version'
> & { materialized_ms: number | null; active: boolean };

/** By asset, then partition key ('' for an unpartitioned asset). MATERIALIZING rows say whether their run is still going. */
export async function loadPartitionRows(
  db: Db,
  workspaceId: string,
  keys: readonly string[] | null,
): Promise<Map<string, Map<string, PartitionRow>>> {
  const rows = await db<StatusRow[]>`
    SELECT ap.asset_key, ap.partition_key, ap.status, ap.flow_run_id, ap.materialization_id, ap.code_version, ap.data_version,
           (extract(epoch FROM ap.materialized_at) * 1000)::float8 AS materialized_ms,
           coalesce(r.state_type NOT IN ${stateList(db, TERMINAL_STATES)}, false) AS active
    FROM asset_partitions ap
    LEFT JOIN flow_runs r ON ap.status = 'MATERIALIZING' AND r.id = ap.flow_run_id
    WHERE ap.workspace_id = ${workspaceId} ${keyFilter(db, 'ap.asset_key', keys)}`;
  const byAsset = new Map<string, Map<string, PartitionRow>>();
  for (const row of rows) {
    let partitions = byAsset.get(row.asset_key);
    if (!partitions) {
      partitions = new Map();
      byAsset.set(row.asset_key, partitions);
    }
    partitions.set(row.partition_key, {
      key: row.partition_key,
      status: row.status,
      active: row.active,
      flowRunId: row.flow_run_id,
      materializationId: row.materialization_id,
      codeVersion: row.code_version,
      dataVersion: row.data_version,
      materializedAt: row.materialized_ms === null ? null : Math.round(row.materialized_ms),
    });
  }
  return byAsset;
}

/**
 * The latest result of each blocking check (as the asset's definition declares it now) on each
 * partition, where it failed and no waiver covers it: the result itself waived, or — by a waiver
 * without a partition — any result of the check up to the one that waiver names.
 */
export async function loadBlockers(db: Db, workspaceId: string, keys: readonly string[] | null): Promise<Blocker[]> {
  const rows = await db<{ asset_key: string; check_name: string; partition_key: string | null }[]>`
    WITH blocking AS (
      SELECT a.key AS asset_key, c->>'name' AS check_name
      FROM asset_definitions a, jsonb_array_elements(a.checks) c
      WHERE a.workspace_id = ${workspaceId} AND (c->>'blocking')::boolean ${keyFilter(db, 'a.key', keys)}
    )
    SELECT l.asset_key, l.check_name, l.partition_key
    FROM blocking b
    CROSS JOIN LATERAL (
      SELECT DISTINCT ON (r.partition_key) r.id, r.asset_key, r.check_name, r.partition_key, r.passed, r.seq
      FROM asset_check_results r
      WHERE r.workspace_id = ${workspaceId} AND r.asset_key = b.asset_key AND r.check_name = b.check_name
      ORDER BY r.partition_key, r.seq DESC
    ) l
    WHERE NOT l.passed
      AND NOT EXISTS (
        SELECT 1 FROM asset_check_waivers w
        WHERE w.workspace_id = ${workspaceId} AND w.asset_key = l.asset_key AND w.check_name = l.check_name
          AND (w.check_result_id = l.id OR (w.partition_key IS NULL AND l.seq <= w.result_seq))
      )
    ORDER BY l.asset_key, l.check_name, l.partition_key`;
  return rows.map((r) => ({ assetKey: r.asset_key, checkName: r.check_name, partitionKey: r.partition_key }));
}
