import { randomUUID } from 'node:crypto';
import {
  type AssetBackfillCreateRequest,
  type AssetMaterializeRequest,
  type AssetMaterializeResponse,
  MAX_BACKFILL_PARTITIONS,
} from '@outpost/sdk/contracts';
import { dynamicPartitionNames } from '@outpost/sdk/partitions';
import type { z } from 'zod';
import { loadAssetNodes } from '../assets/db/asset-definitions.js';
import { markMaterializing } from '../assets/db/asset-events.js';
import { type AssetGraph, buildGraph } from '../assets/graph.js';
import type { Sql, TxSql } from '../db/client.js';
import { DomainError } from '../domain-error.js';
import {
  type AssetSelectionPlan,
  blockedMessage,
  findBlockedAsset,
  loadBlockingBook,
  materializeSelection,
  planAssetSelection,
  selectedPartitionKeys,
} from '../materialization/materialize.js';
import type { PassContext } from './advance-backfill.js';
import { startBackfill } from './create-backfill.js';
import type { BackfillRecord, StoredSelection } from './db/backfills.js';

/*
 * Backfills of assets: the owning deployment's `assets` flow, one run per partition (or one over the
 * whole range for assets that accept ranges), the selection planned and its partitions checked
 * exactly as `POST /assets/materialize` does (materialization/materialize.ts). A partition whose assets a
 * failed, unwaived blocking check upstream forbids is recorded BLOCKED and not run; the check is made
 * when the partition is reached, so a waiver or a fix before then lets it run.
 */

export type AssetBackfillRequest = z.output<typeof AssetBackfillCreateRequest>;

/** The selection planned and its partitions resolved, as `POST /assets/materialize` does. */
async function planBackfill(sql: Sql, workspaceId: string, request: AssetBackfillRequest) {
  const graph = buildGraph(await loadAssetNodes(sql, workspaceId));
  const plan = planAssetSelection(graph, request);
  const keys = await selectedPartitionKeys(sql, workspaceId, plan, request.partitions);
  return { graph, plan, keys };
}

/**
 * Plans the selection, checks its partitions, and starts the backfill (its first runs are created
 * at once). `POST /backfills` ends here, and so can `POST /assets/materialize` with more than one
 * partition (see materializeOrBackfill).
 */
export async function createAssetBackfill(
  sql: Sql,
  input: { workspaceId: string; request: AssetBackfillRequest },
): Promise<{ id: string; plan: AssetSelectionPlan }> {
  const { workspaceId, request } = input;
  const { graph, plan, keys } = await planBackfill(sql, workspaceId, request);
  return { id: await startAssetBackfill(sql, workspaceId, request, graph, plan, keys), plan };
}

/**
 * `POST /assets/materialize` as a whole: one run for one partition (or none), and a backfill
 * (`backfillId`, runs created a few at a time) when the selection holds several partitions.
 */
export async function materializeOrBackfill(
  sql: Sql,
  input: { workspaceId: string; request: z.output<typeof AssetMaterializeRequest> },
): Promise<AssetMaterializeResponse> {
  const { workspaceId, request } = input;
  const partitions = request.partitions;
  if (partitions === undefined || ('keys' in partitions && partitions.keys.length === 1)) {
    return materializeSelection(sql, input);
  }
  const backfillRequest: AssetBackfillRequest = {
    assets: request.assets,
    upstream: request.upstream,
    downstream: request.downstream,
    partitions,
    maxConcurrent: request.maxConcurrent ?? 1,
    singleRun: request.singleRun ?? false,
    checksOnly: request.checksOnly,
  };
  const { graph, plan, keys } = await planBackfill(sql, workspaceId, backfillRequest);
  if (keys.length <= 1) return materializeSelection(sql, input);
  const id = await startAssetBackfill(sql, workspaceId, backfillRequest, graph, plan, keys);
  return { assets: plan.assets, flowRunId: null, backfillId: id };
}

async function startAssetBackfill(
  sql: Sql,
  workspaceId: string,
  request: AssetBackfillRequest,
  graph: AssetGraph,
  plan: AssetSelectionPlan,
  keys: string[],
): Promise<string> {
  const def = plan.partitions;
  if (def === null) throw new Error('a planned selection with partitions has no partitions definition');
  if (keys.length > MAX_BACKFILL_PARTITIONS) {
    throw new DomainError('validation_failed', 'the selection has too many partitions', {
      errors: [
        { path: 'body.partitions', message: `${keys.length} partitions; a backfill covers at most ${MAX_BACKFILL_PARTITIONS}` },
      ],
    });
  }
  if (request.singleRun && !plan.acceptsRange) {
    const refusing = plan.assets.filter((key) => !graph.nodes.get(key)?.acceptsRange);
    throw new DomainError('validation_failed', `not every asset accepts a range: ${refusing.join(', ')}`, {
      errors: [{ path: 'body.singleRun', message: `${refusing.join(', ')} cannot materialise a range of partitions in one run` }],
    });
  }
  // A range or "all" of a definition without dynamic sets stays a range: its keys are stable once both ends exist.
  const first = keys[0] as string;
  const last = keys.at(-1) as string;
  const stable = dynamicPartitionNames(def).length === 0 && !('keys' in request.partitions);
  const selection: StoredSelection = stable ? { range: { start: first, end: last } } : { keys };
  return startBackfill(
    sql,
    {
      id: randomUUID(),
      workspaceId,
      deploymentId: plan.deploymentId,
      target: 'assets',
      assetKeys: plan.assets,
      scheduleSlug: null,
      start: null,
      end: null,
      partitions: def,
      selection,
      singleRun: request.singleRun,
      checksOnly: request.checksOnly,
      maxConcurrent: request.maxConcurrent,
      parameters: {},
      partitionCount: keys.length,
    },
    keys,
    assetPassContext,
  );
}

/**
 * What an asset backfill's pass needs beyond its keys: which partitions are blocked (the blocking
 * checks of the selection's upstream, read once per pass) and, for each run created, its assets
 * marked MATERIALIZING for its partitions on the partition grid.
 */
export const assetPassContext: Pick<PassContext, 'blockedCheck' | 'runCreated'> = {
  blockedCheck: async (tx: TxSql, b: BackfillRecord) => {
    // Checks read data as it is: a block upstream does not stop them.
    if (b.checks_only) return () => null;
    const assets = b.asset_keys ?? [];
    const graph = buildGraph(await loadAssetNodes(tx, b.workspace_id));
    const book = await loadBlockingBook(tx, b.workspace_id, graph, assets);
    const known = assets.filter((key) => graph.nodes.has(key));
    return (partitionKey: string | null) => {
      const blocked = findBlockedAsset(book, known, partitionKey);
      return blocked ? blockedMessage(blocked) : null;
    };
  },
  runCreated: async (tx: TxSql, b: BackfillRecord, flowRunId: string, partitionKeys: readonly string[]) => {
    if (b.checks_only) return;
    await markMaterializing(tx, { workspaceId: b.workspace_id, flowRunId, assets: b.asset_keys ?? [], partitionKeys });
  },
};
