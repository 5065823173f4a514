import {
  AnyPartitionKey,
  AssetKey,
  type AssetPartition,
  type PartitionStatus,
  type PartitionsDefinition,
  routes,
} from '@outpost/sdk/contracts';
import { z } from 'zod';
import { assetHealth, type CatalogState, describeAssets, lineage, loadCatalogState, partitionCounts } from '../assets/catalog.js';
import { listEvaluations } from '../assets/db/asset-automation.js';
import { loadAssetNodes } from '../assets/db/asset-definitions.js';
import { assetHasHistory, listCheckResults, listMaterializations } from '../assets/db/asset-records.js';
import type { AssetGraph, AssetNode } from '../assets/graph.js';
import { compareKeys } from '../assets/graph.js';
import { countPartitionKeys, MAX_PARTITION_KEYS, pagePartitionKeys, partitionKeyPosition } from '../assets/partition-keys.js';
import { materializationLineage } from '../assets/provenance.js';
import { type PartitionRow, partitionStatus } from '../assets/status.js';
import { waiveCheck } from '../assets/waive.js';
import { materializeOrBackfill } from '../backfills/asset-backfill.js';
import type { Db } from '../db/client.js';
import { ApiError, notFound } from '../errors.js';
import { auditActor } from '../http/audit.js';
import { negotiated } from '../http/encoded.js';
import { decodeCursor, pageOf } from '../http/pagination.js';
import type { Handlers } from '../http/route-types.js';

const KeyCursor = z.tuple([AssetKey]);
const SeqCursor = z.tuple([z.string().regex(/^\d{1,19}$/)]);
const PartitionCursor = z.tuple([AnyPartitionKey]);

function matches(node: AssetNode, q: string | undefined, owner: string | undefined, group: string | undefined): boolean {
  if (group !== undefined && node.group !== group) return false;
  if (owner !== undefined && !node.owners.some((o) => o.toLowerCase() === owner.toLowerCase())) return false;
  if (q === undefined || q === '') return true;
  const needle = q.toLowerCase();
  return [node.key, node.description ?? '', ...node.owners, ...node.tags].some((text) => text.toLowerCase().includes(needle));
}

/** An asset the workspace defines, or one it defined and still has history of; anything else is a 404. */
async function assetKnown(db: Db, workspaceId: string, key: string): Promise<void> {
  const defined = (await loadAssetNodes(db, workspaceId)).some((n) => n.key === key);
  if (!defined && !(await assetHasHistory(db, workspaceId, key))) throw notFound(`asset "${key}"`);
}

/** Keys looked at per step when paging the MISSING partitions (those without a stored row). */
const MISSING_SCAN_STEP = 1_000;

/**
 * Up to `want` partitions from key index `start` on, in definition order, with the status asked
 * for. Costs what the page and the stored rows cost, never the definition's size: without a
 * status, the page of keys; for a status a row records, the rows sorted by their keys' positions;
 * for MISSING, keys walked from `start`, skipping only keys whose rows give them another status.
 */
function pageByStatus(
  def: PartitionsDefinition,
  state: CatalogState,
  rows: ReadonlyMap<string, PartitionRow>,
  describe: (key: string) => AssetPartition,
  start: number,
  want: number,
  status: PartitionStatus | undefined,
): AssetPartition[] {
  if (status === undefined) return pagePartitionKeys(def, state.dynamic, state.now, start, want).map(describe);
  if (status !== 'MISSING') {
    const found: { at: number; partition: AssetPartition }[] = [];
    for (const key of rows.keys()) {
      const partition = describe(key);
      if (partition.status !== status) continue;
      const at = partitionKeyPosition(def, key, state.dynamic, state.now);
      if (at >= start) found.push({ at, partition });
    }
    return found
      .sort((x, y) => x.at - y.at)
      .slice(0, want)
      .map((f) => f.partition);
  }
  const total = countPartitionKeys(def, state.dynamic, state.now);
  const out: AssetPartition[] = [];
  for (let at = start; at < total && out.length < want; at += MISSING_SCAN_STEP) {
    for (const key of pagePartitionKeys(def, state.dynamic, state.now, at, MISSING_SCAN_STEP)) {
      // Only keys with a row can have another status, so the keys skipped are bounded by the rows.
      const partition = rows.has(key) ? describe(key) : null;
      if (partition !== null && partition.status !== 'MISSING') continue;
      out.push(partition ?? describe(key));
      if (out.length === want) break;
    }
  }
  return out;
}

export const assetHandlers = {
  assetsList: async ({ query, principal, deps }) => {
    const after = decodeCursor(query.cursor, KeyCursor)?.[0] ?? null;
    const pick = (graph: AssetGraph) => {
      const keys = [...graph.nodes.values()]
        .filter((n) => (after === null || compareKeys(n.key, after) > 0) && matches(n, query.q, query.owner, query.group))
        .map((n) => n.key)
        .sort(compareKeys);
      // Without a health filter the page is known before any status: only it (and one more key, to
      // know whether a next page exists) is evaluated, not every asset after the cursor.
      return query.health === undefined ? keys.slice(0, query.limit + 1) : keys;
    };
    const state = await loadCatalogState(deps.sql, principal.workspaceId, pick);
    const candidates = pick(state.graph).filter((key) => query.health === undefined || assetHealth(state, key) === query.health);
    const { page, nextCursor } = pageOf(candidates, query.limit, (last) => [last]);
    return { items: await describeAssets(deps.sql, principal.workspaceId, state, page), nextCursor };
  },

  assetsGet: async ({ query, principal, deps }) => {
    const state = await loadCatalogState(deps.sql, principal.workspaceId, (graph) =>
      graph.nodes.has(query.key) ? [query.key] : [],
    );
    if (!state.graph.nodes.has(query.key)) throw notFound(`asset "${query.key}"`);
    const [asset] = await describeAssets(deps.sql, principal.workspaceId, state, [query.key]);
    if (!asset) throw notFound(`asset "${query.key}"`);
    return asset;
  },

  assetsLineage: async ({ principal, deps, logger, header }) => {
    const view = await lineage(deps.sql, principal.workspaceId);
    // Sent as the JSON kept with a large lineage, so checked here as the pipeline checks an answer.
    if (deps.validateResponses) {
      const checked = routes.assetsLineage.response.safeParse(view.answer);
      if (!checked.success) {
        logger.error({ route: 'assetsLineage', issues: checked.error.issues }, 'response does not match its contract');
        throw new Error('response of assetsLineage does not match its contract');
      }
    }
    // With an ETag, so a client that holds this lineage is answered 304, and gzipped for one that takes it.
    return negotiated(view.json(), header, {
      'content-type': 'application/json',
      'cache-control': 'private, no-cache',
    }) as never;
  },

  assetsMaterializations: async ({ query, principal, deps }) => {
    const before = decodeCursor(query.cursor, SeqCursor)?.[0] ?? null;
    await assetKnown(deps.sql, principal.workspaceId, query.key);
    const rows = await listMaterializations(
      deps.sql,
      principal.workspaceId,
      { assetKey: query.key, partitionKey: query.partition, before },
      query.limit + 1,
    );
    const { page, nextCursor } = pageOf(rows, query.limit, (last) => [last.seq]);
    return { items: page.map(({ seq: _seq, ...m }) => m), nextCursor };
  },

  assetsMaterializationLineage: async ({ query, principal, deps }) =>
    materializationLineage(deps.sql, principal.workspaceId, query),

  assetsPartitions: async ({ query, principal, deps }) => {
    const after = decodeCursor(query.cursor, PartitionCursor)?.[0] ?? null;
    const state = await loadCatalogState(deps.sql, principal.workspaceId, (graph) =>
      graph.nodes.has(query.key) ? [query.key] : [],
    );
    const node = state.graph.nodes.get(query.key);
    if (!node) throw notFound(`asset "${query.key}"`);
    const def = node.partitions;
    if (def === null) {
      throw new ApiError('validation_failed', `asset "${query.key}" is not partitioned`, {
        errors: [{ path: 'query.key', message: 'the asset has no partitions' }],
      });
    }
    const counts = partitionCounts(state, node as AssetNode & { partitions: typeof def });
    let start = 0;
    if (after !== null) {
      const at = partitionKeyPosition(def, after, state.dynamic, state.now);
      if (at < 0) {
        throw new ApiError('validation_failed', 'the cursor is not a partition key of the asset', {
          errors: [{ path: 'query.cursor', message: 'not a partition key of the asset' }],
        });
      }
      start = at + 1;
    }
    const rows = state.book.rows(node.key);
    const staleAt = state.book.evaluation(node.key)?.staleAt ?? new Map();
    // Nothing blocks anywhere upstream (the usual case): no partition needs looking at one by one.
    const anyBlocker = state.book.blockedBy(node.key, null) !== null;
    const describe = (key: string): AssetPartition => {
      const row = rows.get(key);
      const reasons = staleAt.get(key);
      const status = partitionStatus(row, reasons !== undefined);
      return {
        key,
        status,
        materializedAt: row?.materializedAt != null ? new Date(row.materializedAt).toISOString() : null,
        flowRunId: row?.flowRunId ?? null,
        dataVersion: row?.materializedAt != null ? (row.dataVersion ?? null) : null,
        staleReason: status === 'STALE' ? (reasons?.[0]?.message ?? null) : null,
        blocked: anyBlocker && state.book.blockedBy(node.key, key) !== null,
      };
    };
    const wanted = pageByStatus(def, state, rows, describe, start, query.limit + 1, query.status);
    const { page, nextCursor } = pageOf(wanted, query.limit, (last) => [last.key]);
    return {
      partitions: page,
      nextCursor,
      counts,
      dimensions:
        def.kind === 'multi'
          ? def.dimensions.map((d) => ({
              name: d.name,
              keys: pagePartitionKeys(d.partitions, state.dynamic, state.now, 0, MAX_PARTITION_KEYS),
            }))
          : null,
    };
  },

  assetsCheckResults: async ({ query, principal, deps }) => {
    const before = decodeCursor(query.cursor, SeqCursor)?.[0] ?? null;
    await assetKnown(deps.sql, principal.workspaceId, query.key);
    const rows = await listCheckResults(
      deps.sql,
      principal.workspaceId,
      { assetKey: query.key, checkName: query.check, partitionKey: query.partition, before },
      query.limit + 1,
    );
    const { page, nextCursor } = pageOf(rows, query.limit, (last) => [last.seq]);
    return { items: page.map(({ seq: _seq, ...r }) => r), nextCursor };
  },

  assetsEvaluations: async ({ query, principal, deps }) => {
    const before = decodeCursor(query.cursor, SeqCursor)?.[0] ?? null;
    await assetKnown(deps.sql, principal.workspaceId, query.key);
    const rows = await listEvaluations(deps.sql, principal.workspaceId, { assetKey: query.key, before }, query.limit + 1);
    const { page, nextCursor } = pageOf(rows, query.limit, (last) => [last.seq]);
    return { items: page.map(({ seq: _seq, ...e }) => e), nextCursor };
  },

  assetsMaterialize: async ({ body, principal, deps }) =>
    materializeOrBackfill(deps.sql, { workspaceId: principal.workspaceId, request: body }),

  assetsWaive: async ({ body, principal, deps, audit }) => {
    const actor = auditActor(principal);
    const waiver = await waiveCheck(deps.sql, {
      workspaceId: principal.workspaceId,
      request: body,
      actor: { kind: actor.actorKind, id: actor.actorId },
    });
    // The pipeline's entry records the call (refusals too); this one records the waiver as the asset's event, findable by the asset's key.
    audit({
      workspaceId: principal.workspaceId,
      ...actor,
      action: 'asset.waive',
      targetIds: {
        assetKey: waiver.assetKey,
        checkName: waiver.checkName,
        checkResultId: waiver.checkResultId,
        ...(waiver.partitionKey !== null ? { partitionKey: waiver.partitionKey } : {}),
      },
      resultIds: { waiverId: waiver.id },
      summary: { reason: waiver.reason },
    });
    return waiver;
  },
} satisfies Pick<
  Handlers,
  | 'assetsList'
  | 'assetsGet'
  | 'assetsLineage'
  | 'assetsMaterializations'
  | 'assetsMaterializationLineage'
  | 'assetsPartitions'
  | 'assetsCheckResults'
  | 'assetsEvaluations'
  | 'assetsMaterialize'
  | 'assetsWaive'
>;
