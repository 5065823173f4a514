import { AnyPartitionKey, AssetKey, type AssetPartition, type PartitionCounts } from '@outpost/sdk/contracts';
import { partitionKeys } from '@outpost/sdk/partitions';
import { z } from 'zod';
import { assetHealth, describeAssets, lineage, loadCatalogState } from '../assets/catalog.js';
import type { AssetGraph, AssetNode } from '../assets/graph.js';
import { compareKeys } from '../assets/graph.js';
import { listPartitionKeys } from '../assets/partition-keys.js';
import { partitionStatus } from '../assets/status.js';
import { waiveCheck } from '../assets/waive.js';
import { materializeOrBackfill } from '../backfills/asset-backfill.js';
import { listEvaluations } from '../db/asset-automation.js';
import { loadAssetNodes } from '../db/asset-definitions.js';
import { assetHasHistory, listCheckResults, listMaterializations } from '../db/asset-records.js';
import type { Db } from '../db/client.js';
import { encodeCursor } from '../db/values.js';
import { ApiError, notFound } from '../errors.js';
import { auditActor } from '../http/audit.js';
import { decodeCursor } from './pagination.js';
import type { Handlers } from './types.js';

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

export const assetHandlers = {
  assetsList: async ({ query, principal, deps }) => {
    const after = decodeCursor(query.cursor, KeyCursor)?.[0] ?? null;
    const pick = (graph: AssetGraph) =>
      [...graph.nodes.values()]
        .filter((n) => (after === null || compareKeys(n.key, after) > 0) && matches(n, query.q, query.owner, query.group))
        .map((n) => n.key)
        .sort(compareKeys);
    const state = await loadCatalogState(deps.sql, principal.workspaceId, pick);
    const candidates = pick(state.graph).filter((key) => query.health === undefined || assetHealth(state, key) === query.health);
    const page = candidates.slice(0, query.limit);
    const items = await describeAssets(deps.sql, principal.workspaceId, state, page);
    const last = page.at(-1);
    return { items, nextCursor: candidates.length > query.limit && last ? encodeCursor([last]) : null };
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

  assetsLineage: async ({ principal, deps }) => lineage(deps.sql, principal.workspaceId),

  assetsMaterializations: async ({ query, principal, deps }) => {
    const before = decodeCursor(query.cursor, SeqCursor)?.[0] ?? null;
    await assetKnown(deps.sql, principal.workspaceId, query.key);
    const rows = await listMaterializations(
      deps.sql,
      principal.workspaceId,
      { assetKey: query.key, partitionKey: query.partition, before },
      query.limit + 1,
    );
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    return {
      items: page.map(({ seq: _seq, ...m }) => m),
      nextCursor: rows.length > query.limit && last ? encodeCursor([last.seq]) : null,
    };
  },

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
    const keys = listPartitionKeys(def, state.dynamic, state.now);
    const rows = state.book.rows(node.key);
    const staleAt = state.book.evaluation(node.key)?.staleAt ?? new Map();
    // Nothing blocks anywhere upstream (the usual case): no partition needs looking at one by one.
    const anyBlocker = state.book.blockedBy(node.key, null) !== null;
    const counts: PartitionCounts = { total: keys.length, MISSING: 0, MATERIALIZED: 0, FAILED: 0, STALE: 0, MATERIALIZING: 0 };
    const all: AssetPartition[] = keys.map((key) => {
      const row = rows.get(key);
      const reasons = staleAt.get(key);
      const status = partitionStatus(row, reasons !== undefined);
      counts[status]++;
      return {
        key,
        status,
        materializedAt: row?.materializedAt != null ? new Date(row.materializedAt).toISOString() : null,
        flowRunId: row?.flowRunId ?? null,
        dataVersion: row?.materializedAt != null ? (row.dataVersion ?? null) : null,
        staleReason: status === 'STALE' ? (reasons?.[0]?.message ?? null) : null,
        blocked: anyBlocker && state.book.blockedBy(node.key, key) !== null,
      };
    });
    let start = 0;
    if (after !== null) {
      const at = keys.indexOf(after);
      if (at < 0) {
        throw new ApiError('validation_failed', 'the cursor is not a partition key of the asset', {
          errors: [{ path: 'query.cursor', message: 'not a partition key of the asset' }],
        });
      }
      start = at + 1;
    }
    const wanted = all.slice(start).filter((p) => query.status === undefined || p.status === query.status);
    const page = wanted.slice(0, query.limit);
    const last = page.at(-1);
    const options = { now: state.now, dynamicKeys: (name: string) => state.dynamic.get(name) ?? [] };
    return {
      partitions: page,
      nextCursor: wanted.length > query.limit && last ? encodeCursor([last.key]) : null,
      counts,
      dimensions:
        def.kind === 'multi' ? def.dimensions.map((d) => ({ name: d.name, keys: partitionKeys(d.partitions, options) })) : null,
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
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    return {
      items: page.map(({ seq: _seq, ...r }) => r),
      nextCursor: rows.length > query.limit && last ? encodeCursor([last.seq]) : null,
    };
  },

  assetsEvaluations: async ({ query, principal, deps }) => {
    const before = decodeCursor(query.cursor, SeqCursor)?.[0] ?? null;
    await assetKnown(deps.sql, principal.workspaceId, query.key);
    const rows = await listEvaluations(deps.sql, principal.workspaceId, { assetKey: query.key, before }, query.limit + 1);
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    return {
      items: page.map(({ seq: _seq, ...e }) => e),
      nextCursor: rows.length > query.limit && last ? encodeCursor([last.seq]) : null,
    };
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
  | 'assetsPartitions'
  | 'assetsCheckResults'
  | 'assetsEvaluations'
  | 'assetsMaterialize'
  | 'assetsWaive'
>;
