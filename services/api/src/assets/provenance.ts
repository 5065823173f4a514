import type {
  AssetMaterializationLineageResponse,
  JsonObject,
  LineageCheck,
  LineageMaterialization,
  LineageRegistration,
} from '@outpost/sdk/contracts';
import type { Db } from '../db/client.js';
import { notFound } from '../domain-error.js';
import { groupBy } from '../group-by.js';
import { loadAssetNodes } from './db/asset-definitions.js';
import {
  type LineageMaterializationRow,
  latestMaterializationId,
  lineageChecks,
  lineageInputs,
  lineageMaterializations,
  lineageWaivers,
} from './db/asset-lineage.js';
import { assetHasHistory } from './db/asset-records.js';

/*
 * The provenance document of one materialisation: a breadth-first walk upstream through the inputs
 * recorded with each materialisation. The graph is the tenant's, so its size is theirs: the walk
 * stops at `maxDepth` levels and `maxNodes` materialisations (both capped by the contract), costs
 * five indexed reads per level, and says when it left something out.
 */

const REGISTERED_PREFIX = 'registered.';

/** `registered.<registry>` metadata entries with an object value, in key order. */
export function registrationsOf(metadata: Record<string, unknown>): LineageRegistration[] {
  return Object.keys(metadata)
    .filter((k) => k.startsWith(REGISTERED_PREFIX) && k.length > REGISTERED_PREFIX.length)
    .sort()
    .flatMap((k) => {
      const value = metadata[k];
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return [];
      return [{ registry: k.slice(REGISTERED_PREFIX.length), details: value as JsonObject }];
    });
}

function describe(
  row: LineageMaterializationRow,
  depth: number,
  inputs: LineageMaterialization['inputs'] | undefined,
  checks: LineageCheck[],
): LineageMaterialization {
  return {
    id: row.id,
    assetKey: row.asset_key,
    partitionKey: row.partition_key,
    depth,
    attempt: row.attempt,
    codeVersion: row.code_version,
    dataVersion: row.data_version,
    metadata: row.metadata as JsonObject,
    createdAt: row.created_at.toISOString(),
    run: {
      id: row.flow_run_id,
      name: row.run_name,
      deploymentId: row.deployment_id,
      deploymentVersionId: row.deployment_version_id,
      source: row.source,
      sourceDigest: row.source_digest,
      entrypoint: row.entrypoint,
    },
    inputsRecorded: row.inputs_recorded,
    inputs: inputs ?? [],
    checks,
    registrations: registrationsOf(row.metadata),
  };
}

export async function materializationLineage(
  db: Db,
  workspaceId: string,
  query: { key: string; at?: string | undefined; partition?: string | undefined; maxDepth: number; maxNodes: number },
): Promise<AssetMaterializationLineageResponse> {
  const { key, maxDepth, maxNodes } = query;
  const defined = (await loadAssetNodes(db, workspaceId)).some((n) => n.key === key);
  if (!defined && !(await assetHasHistory(db, workspaceId, key))) throw notFound(`asset "${key}"`);
  const rootId = query.at ?? (await latestMaterializationId(db, workspaceId, key, query.partition));
  if (rootId === null) {
    throw notFound(
      `a materialisation of asset "${key}"${query.partition !== undefined ? ` (partition ${query.partition})` : ''}`,
    );
  }

  const out: LineageMaterialization[] = [];
  const seen = new Set<string>([rootId]);
  const referenced = new Set<string>();
  let frontier = [rootId];
  let truncated = false;
  for (let depth = 0; frontier.length > 0; depth++) {
    const rows = await lineageMaterializations(db, workspaceId, frontier);
    if (depth === 0) {
      const root = rows[0];
      // Another workspace's id, or another asset's, reads as missing.
      if (!root || root.asset_key !== key) throw notFound(`materialisation "${rootId}" of asset "${key}"`);
    }
    const ids = rows.map((r) => r.id);
    const [inputRows, checkRows] = await Promise.all([lineageInputs(db, workspaceId, ids), lineageChecks(db, workspaceId, ids)]);
    const failed = checkRows.filter((c) => !c.passed).map((c) => c.id);
    const waiverRows = await lineageWaivers(db, workspaceId, failed);

    const inputsOf = groupBy(
      inputRows,
      (i) => i.materialization_id,
      (i): LineageMaterialization['inputs'][number] => ({
        assetKey: i.upstream_key,
        partitioned: i.partitioned,
        partitionKey: i.partition_key,
        partitionCount: i.partition_count,
        partitions: i.partitions,
      }),
    );
    const waiversOf = groupBy(
      waiverRows,
      (w) => w.check_result_id,
      (w): LineageCheck['waivers'][number] => ({
        id: w.id,
        reason: w.reason,
        waivedBy: w.waived_by,
        partitionKey: w.partition_key,
        createdAt: w.created_at.toISOString(),
      }),
    );
    const checksOf = groupBy(
      checkRows,
      (c) => c.materialization_id,
      (c): LineageCheck => ({
        resultId: c.id,
        checkName: c.check_name,
        passed: c.passed,
        severity: c.severity,
        blocking: c.blocking,
        metadata: c.metadata as JsonObject,
        createdAt: c.created_at.toISOString(),
        waivers: waiversOf.get(c.id) ?? [],
      }),
    );

    // The frontier's order (nearest first, then as the inputs list them), not the database's.
    const byId = new Map(rows.map((r) => [r.id, r]));
    const next: string[] = [];
    for (const id of frontier) {
      const row = byId.get(id);
      if (!row) continue;
      const inputs = inputsOf.get(id);
      out.push(describe(row, depth, inputs, checksOf.get(id) ?? []));
      for (const input of inputs ?? []) {
        for (const p of input.partitions) {
          referenced.add(p.materializationId);
          if (input.partitionCount > input.partitions.length) truncated = true;
          if (seen.has(p.materializationId)) continue;
          if (depth + 1 > maxDepth || seen.size >= maxNodes) {
            truncated = true;
            continue;
          }
          seen.add(p.materializationId);
          next.push(p.materializationId);
        }
      }
    }
    frontier = next;
  }
  const described = new Set(out.map((m) => m.id));
  return {
    materializationId: rootId,
    materializations: out,
    limits: { maxDepth, maxNodes },
    truncated,
    omitted: [...referenced].filter((id) => !described.has(id)).length,
    generatedAt: new Date().toISOString(),
  };
}
