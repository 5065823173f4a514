import type {
  AssetAutomationPolicy,
  AssetCheckDefinition,
  AssetFreshnessPolicy,
  PartitionsDefinition,
} from '@outpost/sdk/contracts';
import type { Db, TxSql } from '../../db/client.js';
import type { assetDefinitions, Row } from '../../db/schema.js';

/** One asset as its deployment registered it. */
export interface AssetNode {
  key: string;
  deploymentId: string;
  /** `flow/name` of the deployment that defines it. */
  deploymentName: string;
  deps: string[];
  partitions: PartitionsDefinition | null;
  codeVersion: string;
  checks: AssetCheckDefinition[];
  description: string | null;
  owners: string[];
  tags: string[];
  group: string | null;
  io: string | null;
  acceptsRange: boolean;
  definedAt: string | null;
  automation: AssetAutomationPolicy | null;
  freshness: AssetFreshnessPolicy | null;
  createdAt: Date;
  updatedAt: Date;
}

type DefinitionRow = Pick<
  Row<typeof assetDefinitions>,
  | 'key'
  | 'deployment_id'
  | 'code_version'
  | 'deps'
  | 'partitions'
  | 'checks'
  | 'owners'
  | 'tags'
  | 'group_name'
  | 'io'
  | 'accepts_range'
  | 'description'
  | 'defined_at'
  | 'automation'
  | 'freshness'
  | 'created_at'
  | 'updated_at'
> & { deployment_name: string };

function toNode(row: DefinitionRow): AssetNode {
  return {
    key: row.key,
    deploymentId: row.deployment_id,
    deploymentName: row.deployment_name,
    deps: row.deps,
    partitions: row.partitions,
    codeVersion: row.code_version,
    checks: row.checks,
    description: row.description,
    owners: row.owners,
    tags: row.tags,
    group: row.group_name,
    io: row.io,
    acceptsRange: row.accepts_range,
    definedAt: row.defined_at,
    automation: row.automation,
    freshness: row.freshness,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/**
 * Every asset of the workspace with the name of the deployment that defines it: one indexed read,
 * however many assets (the graph's reads all start here).
 */
export async function loadAssetNodes(db: Db, workspaceId: string): Promise<readonly AssetNode[]> {
  const cached = graphCache.get(workspaceId);
  if (cached) {
    const [row] = await db<{ stamp: string }[]>`
      SELECT count(*)::text || ':' || coalesce(bit_xor(${versionHash(db)}), 0)::text AS stamp
      FROM asset_definitions a WHERE a.workspace_id = ${workspaceId}`;
    if (row?.stamp === cached.stamp) {
      graphCache.delete(workspaceId);
      graphCache.set(workspaceId, cached);
      return cached.nodes;
    }
  }
  const rows = await db<(DefinitionRow & { stamp: string })[]>`
    SELECT a.key, a.deployment_id, a.code_version, a.deps, a.partitions, a.checks, a.owners, a.tags, a.group_name, a.io,
           a.accepts_range, a.description, a.defined_at, a.automation, a.freshness, a.created_at, a.updated_at, f.name || '/' || d.name AS deployment_name,
           count(*) OVER ()::text || ':' || coalesce(bit_xor(${versionHash(db)}) OVER (), 0)::text AS stamp
    FROM asset_definitions a
    JOIN deployments d ON d.id = a.deployment_id
    JOIN flows f ON f.id = d.flow_id
    WHERE a.workspace_id = ${workspaceId}
    ORDER BY a.key COLLATE "C"`;
  const nodes = rows.map(toNode);
  graphCache.delete(workspaceId);
  if (nodes.length >= CACHED_FROM_NODES && rows[0]) {
    graphCache.set(workspaceId, { stamp: rows[0].stamp, nodes });
    if (graphCache.size > CACHED_WORKSPACES) graphCache.delete(graphCache.keys().next().value as string);
  }
  return nodes;
}

/*
 * Large asset graphs are kept, per workspace, with a stamp of the rows they were read from: their
 * count and the xor of a hash of each row's key and version (xmin, which every insert and update
 * sets anew). A load first reads the stamp (one index scan, no row decoded) and decodes the rows only
 * when it differs, in the caller's own snapshot, so a transaction never sees a graph its snapshot
 * would not. At 10,000 assets decoding the rows costs 80–300 ms, the stamp a few.
 * The nodes, and the array, are shared between the calls that get them: they are read-only, and
 * what is derived from the array alone (buildGraph) is kept with it.
 */
const graphCache = new Map<string, { stamp: string; nodes: readonly AssetNode[] }>();
/** Below this many assets decoding them costs about what the stamp does: they are not kept. */
const CACHED_FROM_NODES = 500;
/** Workspaces whose graph is kept at most; the least recently read go first. */
const CACHED_WORKSPACES = 32;

function versionHash(db: Db) {
  return db`hashtextextended(a.key || ':' || a.xmin::text, 0)`;
}

/**
 * Serialises changes of one workspace's asset graph until the transaction ends: two deploys at once
 * could each see no conflict and no cycle, and together make both.
 */
export async function lockAssetGraph(tx: TxSql, workspaceId: string): Promise<void> {
  await tx`SELECT pg_advisory_xact_lock(hashtextextended(${`asset-graph:${workspaceId}`}, 0))`;
}

export interface AssetDefinitionRecord {
  key: string;
  codeVersion: string;
  deps: string[];
  partitions: PartitionsDefinition | null;
  checks: AssetCheckDefinition[];
  owners: string[];
  tags: string[];
  group: string | null;
  io: string | null;
  acceptsRange: boolean;
  description: string | null;
  definedAt: string | null;
  automation: AssetAutomationPolicy | null;
  freshness: AssetFreshnessPolicy | null;
}

/**
 * Makes `assets` the deployment's asset set: keys it no longer defines are deleted (what was
 * recorded about them stays), the rest are inserted or updated. `updated_at` moves only for a
 * definition that changed. A key another deployment defines is left alone; the caller has refused
 * the deploy before (under lockAssetGraph).
 */
export async function replaceDeploymentAssets(
  tx: TxSql,
  input: { workspaceId: string; deploymentId: string; assets: readonly AssetDefinitionRecord[] },
): Promise<void> {
  const keys = input.assets.map((a) => a.key);
  await tx`
    DELETE FROM asset_definitions
    WHERE workspace_id = ${input.workspaceId} AND deployment_id = ${input.deploymentId} AND NOT (key = ANY(${tx.array(keys)}::text[]))`;
  if (input.assets.length === 0) return;
  const records = input.assets.map((a) => ({
    key: a.key,
    code_version: a.codeVersion,
    deps: a.deps,
    partitions: a.partitions,
    checks: a.checks,
    owners: a.owners,
    tags: a.tags,
    group_name: a.group,
    io: a.io,
    accepts_range: a.acceptsRange,
    description: a.description,
    defined_at: a.definedAt,
    automation: a.automation,
    freshness: a.freshness,
  }));
  await tx`
    INSERT INTO asset_definitions AS a (workspace_id, key, deployment_id, code_version, deps, partitions, checks, owners, tags,
                                        group_name, io, accepts_range, description, defined_at, automation, freshness)
    SELECT ${input.workspaceId}, r.key, ${input.deploymentId}, r.code_version,
           ARRAY(SELECT jsonb_array_elements_text(r.deps)), r.partitions, r.checks,
           ARRAY(SELECT jsonb_array_elements_text(r.owners)), ARRAY(SELECT jsonb_array_elements_text(r.tags)),
           r.group_name, r.io, r.accepts_range, r.description, r.defined_at, r.automation, r.freshness
    FROM jsonb_to_recordset(${tx.json(records)}::jsonb) AS r(key text, code_version text, deps jsonb, partitions jsonb, checks jsonb,
                                                           owners jsonb, tags jsonb, group_name text, io text, accepts_range boolean,
                                                           description text, defined_at text, automation jsonb, freshness jsonb)
    ON CONFLICT (workspace_id, key) DO UPDATE SET
      code_version = excluded.code_version, deps = excluded.deps, partitions = excluded.partitions, checks = excluded.checks,
      owners = excluded.owners, tags = excluded.tags, group_name = excluded.group_name, io = excluded.io,
      accepts_range = excluded.accepts_range, description = excluded.description, defined_at = excluded.defined_at,
      automation = excluded.automation, freshness = excluded.freshness,
      updated_at = CASE
        WHEN (a.code_version, a.deps, a.partitions, a.checks, a.owners, a.tags, a.group_name, a.io, a.accepts_range, a.description,
              a.automation, a.freshness)
             IS DISTINCT FROM (excluded.code_version, excluded.deps, excluded.partitions, excluded.checks, excluded.owners,
                               excluded.tags, excluded.group_name, excluded.io, excluded.accepts_range, excluded.description,
                               excluded.automation, excluded.freshness)
        THEN now() ELSE a.updated_at END
    WHERE a.deployment_id = excluded.deployment_id`;
}

/** True when an asset of the workspace reads keys from the dynamic partition set `name` (alone or as a dimension). */
export async function dynamicSetDeclared(db: Db, workspaceId: string, name: string): Promise<boolean> {
  const [row] = await db<{ found: boolean }[]>`
    SELECT EXISTS (
      SELECT 1 FROM asset_definitions
      WHERE workspace_id = ${workspaceId}
        AND (partitions @> ${db.json({ kind: 'dynamic', name })}::jsonb
             OR partitions @> ${db.json({ dimensions: [{ partitions: { kind: 'dynamic', name } }] })}::jsonb)
    ) AS found`;
  return row?.found ?? false;
}
