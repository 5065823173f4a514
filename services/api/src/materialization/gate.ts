import type { AssetGateResponse } from '@outpost/sdk/contracts';
import { dynamicPartitionNames, partitionKeysPage, partitionRangeBounds } from '@outpost/sdk/partitions';
import { loadAssetNodes } from '../assets/db/asset-definitions.js';
import { getAssetRun, runMaterializations } from '../assets/db/asset-events.js';
import { loadDynamicKeys } from '../assets/db/dynamic-partitions.js';
import { buildGraph } from '../assets/graph.js';
import { runSelection, selectedAssets } from '../assets/record-events.js';
import type { Db } from '../db/client.js';
import { notFound } from '../domain-error.js';
import { blockedAssets, loadBlockingBook } from './materialize.js';

/*
 * The gate a run of the assets flow asks before it materialises anything: so a run however it was
 * created (a schedule, an automation, by hand) cannot write an asset a failed blocking check
 * upstream forbids, and a retry skips what an earlier attempt already wrote.
 */

/** Most partitions of a range run the gate looks at one by one; beyond it, an asset blocked in any partition is blocked. */
const RANGE_PARTITIONS_CHECKED = 10_000;

export async function assetGate(db: Db, input: { workspaceId: string; flowRunId: string }): Promise<AssetGateResponse> {
  const { workspaceId, flowRunId } = input;
  const run = await getAssetRun(db, workspaceId, flowRunId);
  if (!run) throw notFound('flow run');
  const selection = runSelection(run);
  if (!selection) return { blocked: [], materialized: [] };
  const graph = buildGraph(await loadAssetNodes(db, workspaceId));
  const assets = selectedAssets(run, selection, graph).filter((key) => graph.nodes.has(key));
  const selected = new Set(assets);
  const materialized = (await runMaterializations(db, workspaceId, flowRunId, { beforeAttempt: run.attempt })).filter((m) =>
    selected.has(m.assetKey),
  );
  if (selection.checksOnly) return { blocked: [], materialized };

  let partitions: (string | null)[] = [run.partitionKey ?? selection.partition];
  const range = selection.partitionRange;
  if (run.partitionKey === null && range) {
    const def = assets.map((key) => graph.nodes.get(key)?.partitions).find((p) => p);
    if (def) {
      const dynamic = await loadDynamicKeys(db, workspaceId, dynamicPartitionNames(def));
      try {
        // Located by arithmetic first: a long range is never listed just to find it is too long to check.
        const o = { dynamicKeys: (name: string) => dynamic.get(name) ?? [] };
        const { offset, count } = partitionRangeBounds(def, range.start, range.end, o);
        partitions = count <= RANGE_PARTITIONS_CHECKED ? partitionKeysPage(def, offset, count, o) : [null];
      } catch {
        partitions = [null];
      }
    }
  }
  const book = await loadBlockingBook(db, workspaceId, graph, assets);
  return { blocked: blockedAssets(book, assets, partitions), materialized };
}
