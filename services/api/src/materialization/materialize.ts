import type {
  AssetMaterializeRequest,
  AssetMaterializeResponse,
  AssetRunParameters,
  PartitionsDefinition,
} from '@outpost/sdk/contracts';
import { dynamicPartitionNames, samePartitioning } from '@outpost/sdk/partitions';
import type { z } from 'zod';
import { loadAssetNodes } from '../assets/db/asset-definitions.js';
import { markMaterializing } from '../assets/db/asset-events.js';
import { loadBlockers } from '../assets/db/asset-status.js';
import { loadDynamicKeys } from '../assets/db/dynamic-partitions.js';
import { type AssetGraph, buildGraph, compareKeys, topologicalOrder, withDownstream, withUpstream } from '../assets/graph.js';
import { type DynamicKeys, describePartitions, resolvePartitionSelection } from '../assets/partition-keys.js';
import { type AssetFacts, AssetStatusBook, type Blocker } from '../assets/status.js';
import type { Db, Sql } from '../db/client.js';
import { DomainError, notFound } from '../domain-error.js';
import { workspaceQuotas } from '../quotas/quotas.js';
import { createFlowRun } from '../runs/create-flow-run.js';

/*
 * Materialising a selection of assets: which assets (expanded upstream or downstream, in
 * dependency order), which deployment runs them, which partitions, and whether a failed blocking
 * check upstream forbids it. `planAssetSelection` and `findBlockedAsset` are the pure parts that
 * backfills share; `materializeSelection` is the route's whole answer for one run.
 */

type MaterializeRequest = z.output<typeof AssetMaterializeRequest>;

/** What a selection of assets comes to, before any partition is chosen. */
export interface AssetSelectionPlan {
  /** The selected assets (with what `upstream`/`downstream` added), in dependency order. */
  assets: string[];
  /** The deployment whose `assets` flow materialises them (one deployment per selection). */
  deploymentId: string;
  /** `flow/name` of that deployment. */
  deploymentName: string;
  /** Selected assets that are partitioned, and those that are not (in `assets` order). */
  partitioned: string[];
  unpartitioned: string[];
  /** The partitions definition the partitioned ones share; null when none is partitioned. */
  partitions: PartitionsDefinition | null;
  /** Every selected asset can materialise a range of partitions in one run. */
  acceptsRange: boolean;
}

/**
 * Expands and orders a selection and names the deployment that runs it. Refused: an asset the
 * workspace does not define (404), assets of several deployments, partitioned assets with
 * different partitions definitions (both with field errors under `path`, `body.assets`).
 */
export function planAssetSelection(
  graph: AssetGraph,
  request: { assets: readonly string[]; upstream?: boolean; downstream?: boolean },
  path = 'body.assets',
): AssetSelectionPlan {
  for (const key of request.assets) if (!graph.nodes.has(key)) throw notFound(`asset "${key}"`);
  let selected = new Set(request.assets);
  if (request.upstream) selected = withUpstream(graph, selected);
  if (request.downstream) selected = new Set([...selected, ...withDownstream(graph, request.assets)]);
  const assets = topologicalOrder(graph, selected);
  const nodes = assets.map((key) => graph.nodes.get(key)).filter((n) => n !== undefined);

  const byDeployment = new Map<string, string[]>();
  for (const node of nodes) {
    const list = byDeployment.get(node.deploymentName);
    if (list) list.push(node.key);
    else byDeployment.set(node.deploymentName, [node.key]);
  }
  if (byDeployment.size > 1) {
    const parts = [...byDeployment].sort(([a], [b]) => compareKeys(a, b)).map(([name, keys]) => `${name} (${keys.join(', ')})`);
    throw new DomainError('validation_failed', `the selection spans deployments: ${parts.join('; ')}`, {
      errors: [{ path, message: `one run materialises the assets of one deployment: ${parts.join('; ')}` }],
    });
  }

  const partitioned = nodes.filter((n) => n.partitions !== null);
  const first = partitioned[0];
  const differing = partitioned.filter((n) => !samePartitioning(n.partitions, first?.partitions ?? null));
  if (first && differing.length > 0) {
    const names = [first, ...differing].map((n) => `${n.key} (${describePartitions(n.partitions as PartitionsDefinition)})`);
    throw new DomainError('validation_failed', `the selected assets are partitioned differently: ${names.join(', ')}`, {
      errors: [{ path, message: `one run materialises assets that share a partitions definition: ${names.join(', ')}` }],
    });
  }
  const owner = nodes[0];
  if (!owner) throw new DomainError('validation_failed', 'nothing selected', { errors: [{ path, message: 'select an asset' }] });
  return {
    assets,
    deploymentId: owner.deploymentId,
    deploymentName: owner.deploymentName,
    partitioned: partitioned.map((n) => n.key),
    unpartitioned: nodes.filter((n) => n.partitions === null).map((n) => n.key),
    partitions: first?.partitions ?? null,
    acceptsRange: nodes.every((n) => n.acceptsRange),
  };
}

/**
 * The assets of `assets` (in that order) that must not be materialised for any of `partitionKeys`
 * (null: unpartitioned or as a whole), each with the first check that blocks it: a failed, unwaived
 * blocking check upstream — unless the asset that failed it comes earlier in `assets` (it is
 * materialised again first, and its checks run again).
 */
export function blockedAssets(
  book: AssetStatusBook,
  assets: readonly string[],
  partitionKeys: readonly (string | null)[],
): { assetKey: string; by: Blocker }[] {
  const position = new Map(assets.map((key, i) => [key, i]));
  const blocked: { assetKey: string; by: Blocker }[] = [];
  for (const [i, key] of assets.entries()) {
    const rematerialised = (upstream: string) => (position.get(upstream) ?? Number.POSITIVE_INFINITY) < i;
    for (const partitionKey of partitionKeys) {
      const by = book.blockedBy(key, partitionKey, { own: false, rematerialised });
      if (by) {
        blocked.push({ assetKey: key, by });
        break;
      }
    }
  }
  return blocked;
}

/** The first asset of `assets` that must not be materialised for `partitionKey` (see blockedAssets). */
export function findBlockedAsset(
  book: AssetStatusBook,
  assets: readonly string[],
  partitionKey: string | null,
): { assetKey: string; by: Blocker } | null {
  return blockedAssets(book, assets, [partitionKey])[0] ?? null;
}

/** A status book that knows only what blocks (no materialisation facts): all `findBlockedAsset` needs. */
export async function loadBlockingBook(
  db: Db,
  workspaceId: string,
  graph: AssetGraph,
  keys: readonly string[],
): Promise<AssetStatusBook> {
  const scope = [...withUpstream(graph, keys)];
  const facts = new Map<string, AssetFacts>();
  for (const key of scope) facts.set(key, { rows: new Map(), blockers: [] });
  for (const blocker of await loadBlockers(db, workspaceId, scope)) {
    (facts.get(blocker.assetKey)?.blockers as Blocker[] | undefined)?.push(blocker);
  }
  return new AssetStatusBook(graph, facts, keys);
}

export function blockedMessage(blocked: { assetKey: string; by: Blocker }): string {
  const partition = blocked.by.partitionKey === null ? '' : ` (partition ${blocked.by.partitionKey})`;
  return (
    `asset "${blocked.assetKey}" is blocked: the blocking check "${blocked.by.checkName}" of "${blocked.by.assetKey}"${partition} ` +
    'failed; materialise it again, or have an admin waive the failure'
  );
}

export async function dynamicKeysFor(db: Db, workspaceId: string, def: PartitionsDefinition | null): Promise<DynamicKeys> {
  return loadDynamicKeys(db, workspaceId, def ? dynamicPartitionNames(def) : []);
}

/** The partition keys a request selects for a plan (none for an unpartitioned selection), checked against the definition. */
export async function selectedPartitionKeys(
  db: Db,
  workspaceId: string,
  plan: AssetSelectionPlan,
  selection: MaterializeRequest['partitions'],
): Promise<string[]> {
  if (plan.partitions === null) {
    if (selection !== undefined) {
      throw new DomainError('validation_failed', `not partitioned: ${plan.unpartitioned.join(', ')}`, {
        errors: [{ path: 'body.partitions', message: `${plan.unpartitioned.join(', ')} have no partitions` }],
      });
    }
    return [];
  }
  if (selection === undefined) {
    throw new DomainError('validation_failed', `partitioned assets need partitions: ${plan.partitioned.join(', ')}`, {
      errors: [{ path: 'body.partitions', message: `select partitions of ${plan.partitioned.join(', ')}` }],
    });
  }
  if (plan.unpartitioned.length > 0) {
    throw new DomainError(
      'validation_failed',
      `partitioned and unpartitioned assets cannot share a run: ${plan.unpartitioned.join(', ')} have no partitions`,
      { errors: [{ path: 'body.assets', message: `materialise ${plan.unpartitioned.join(', ')} in a run without partitions` }] },
    );
  }
  const keys = resolvePartitionSelection(
    plan.partitions,
    selection,
    await dynamicKeysFor(db, workspaceId, plan.partitions),
    'body.partitions',
    new Date(),
    (await workspaceQuotas(db, workspaceId)).partitionsPerDefinition,
  );
  if (keys.length === 0) {
    throw new DomainError('validation_failed', 'the selection has no partitions', {
      errors: [{ path: 'body.partitions', message: 'no partition key is selected' }],
    });
  }
  return keys;
}

/**
 * Creates the run of the owning deployment's `assets` flow that materialises the plan's assets (in
 * that order) for one partition, for none, or — for assets that accept ranges — for an inclusive
 * range of partitions (`keys`: every key of it), and marks them MATERIALIZING. An idempotency key
 * (a backfill's `backfill:<id>:<partition>`) makes a repeated create return the first run.
 */
export async function createAssetRun(
  sql: Db,
  input: {
    workspaceId: string;
    plan: AssetSelectionPlan;
    checksOnly: boolean;
    partitionKey: string | null;
    partitionRange?: { start: string; end: string; keys: readonly string[] };
    idempotencyKey?: string | null;
  },
): Promise<{ flowRunId: string; created: boolean }> {
  const range = input.partitionRange ?? null;
  const parameters: AssetRunParameters = {
    assets: input.plan.assets,
    checksOnly: input.checksOnly,
    partition: input.partitionKey,
    partitionRange: range ? { start: range.start, end: range.end } : null,
  };
  const { flowRun, created } = await createFlowRun(sql, {
    workspaceId: input.workspaceId,
    deploymentId: input.plan.deploymentId,
    request: { parameters, ...(input.partitionKey !== null ? { partitionKey: input.partitionKey } : {}) },
    idempotencyKey: input.idempotencyKey ?? null,
  });
  if (created && !input.checksOnly) {
    await markMaterializing(sql, {
      workspaceId: input.workspaceId,
      flowRunId: flowRun.id,
      assets: input.plan.assets,
      partitionKeys: range ? range.keys : [input.partitionKey],
    });
  }
  return { flowRunId: flowRun.id, created };
}

/**
 * The materialise route: plans the selection, checks its partitions and what blocks it, and makes
 * one run for one partition (or none). A selection of several partitions is a backfill's.
 */
export async function materializeSelection(
  sql: Sql,
  input: { workspaceId: string; request: MaterializeRequest },
): Promise<AssetMaterializeResponse> {
  const { workspaceId, request } = input;
  const graph = buildGraph(await loadAssetNodes(sql, workspaceId));
  const plan = planAssetSelection(graph, request);
  const keys = await selectedPartitionKeys(sql, workspaceId, plan, request.partitions);
  if (keys.length > 1) {
    throw new DomainError('validation_failed', `a selection of several partitions (${keys.length}) needs a backfill`, {
      errors: [{ path: 'body.partitions', message: 'select one partition: several partitions are materialised by a backfill' }],
    });
  }
  const partitionKey = keys[0] ?? null;
  if (!request.checksOnly) {
    const blocked = findBlockedAsset(await loadBlockingBook(sql, workspaceId, graph, plan.assets), plan.assets, partitionKey);
    if (blocked) throw new DomainError('conflict', blockedMessage(blocked));
  }
  const { flowRunId } = await createAssetRun(sql, { workspaceId, plan, partitionKey, checksOnly: request.checksOnly });
  return { assets: plan.assets, flowRunId, backfillId: null };
}
