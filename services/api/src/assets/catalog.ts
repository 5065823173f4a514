import type {
  Asset,
  AssetCheckStatus,
  AssetFreshnessPolicy,
  AssetHealth,
  AssetLineageResponse,
  PartitionCounts,
  PartitionsDefinition,
} from '@outpost/sdk/contracts';
import { CHECK_FAILURES_LISTED } from '@outpost/sdk/contracts';
import { dynamicPartitionNames } from '@outpost/sdk/partitions';
import type { Db } from '../db/client.js';
import { type Encoded, encoded } from '../http/encoded.js';
import { freshnessState, freshnessVerdict } from './automation/freshness.js';
import { loadAssetNodes } from './db/asset-definitions.js';
import {
  type CheckFailureRow,
  type CheckResultRow,
  getMaterializations,
  latestCheckFailures,
  latestCheckResults,
  latestWaivers,
  toCheckResult,
  toWaiver,
  type WaiverRow,
} from './db/asset-records.js';
import { loadBlockers, loadPartitionRows } from './db/asset-status.js';
import { loadDynamicKeys } from './db/dynamic-partitions.js';
import { lineageFactsStamp } from './db/lineage-changes.js';
import { type AssetGraph, type AssetNode, buildGraph, withUpstream } from './graph.js';
import { countPartitionKeys, type DynamicKeys, isPartitionKey } from './partition-keys.js';
import { type AssetFacts, AssetStatusBook, type Blocker, partitionStatus } from './status.js';

/*
 * The catalog's reads: an asset's definition with its latest materialisation, checks, health and
 * staleness, and the lineage graph. A read costs the same few statements however many assets it
 * covers (definitions, partition statuses, blocking checks, latest check results, waivers, the
 * latest materialisations), never one per asset.
 */

/** Everything the catalog derives its answers from, for some assets and everything upstream of them. */
export interface CatalogState {
  graph: AssetGraph;
  book: AssetStatusBook;
  blockers: ReadonlyMap<string, readonly Blocker[]>;
  dynamic: DynamicKeys;
  now: Date;
}

function dynamicNames(nodes: Iterable<AssetNode>): string[] {
  const names = new Set<string>();
  for (const node of nodes) if (node.partitions) for (const n of dynamicPartitionNames(node.partitions)) names.add(n);
  return [...names];
}

/**
 * Loads the state for the keys `pick` names (every asset when null; a function picks them from
 * the graph): definitions of the whole workspace (for lineage and dependents), and the facts of
 * the keys and their upstream.
 */
export async function loadCatalogState(
  db: Db,
  workspaceId: string,
  pick: readonly string[] | null | ((graph: AssetGraph) => readonly string[] | null),
): Promise<CatalogState> {
  const graph = buildGraph(await loadAssetNodes(db, workspaceId));
  const keys = typeof pick === 'function' ? pick(graph) : pick;
  const scope = keys === null ? null : [...withUpstream(graph, keys)];
  const scoped = scope === null ? [...graph.nodes.values()] : scope.map((k) => graph.nodes.get(k) as AssetNode);
  const [rows, blockerList, dynamic] = await Promise.all([
    loadPartitionRows(db, workspaceId, scope),
    loadBlockers(db, workspaceId, scope),
    loadDynamicKeys(db, workspaceId, dynamicNames(scoped)),
  ]);
  const blockers = new Map<string, Blocker[]>();
  for (const b of blockerList) {
    const list = blockers.get(b.assetKey);
    if (list) list.push(b);
    else blockers.set(b.assetKey, [b]);
  }
  const facts = new Map<string, AssetFacts>();
  for (const node of scoped) {
    facts.set(node.key, { rows: rows.get(node.key) ?? new Map(), blockers: blockers.get(node.key) ?? [] });
  }
  const book = new AssetStatusBook(graph, facts, keys ?? graph.nodes.keys());
  return { graph, book, blockers, dynamic, now: new Date() };
}

/**
 * An asset's health with its freshness policy applied: OVERDUE when the policy is violated, unless
 * something more pressing (a block, a failure) is already true of it.
 */
export function assetHealth(state: CatalogState, key: string): AssetHealth {
  const evaluation = state.book.evaluation(key);
  const health = evaluation?.health ?? 'MISSING';
  const node = state.graph.nodes.get(key);
  if (!node?.freshness || health === 'BLOCKED' || health === 'FAILED') return health;
  const { violated } = freshnessVerdict(node.freshness, evaluation?.latest?.materializedAt ?? null, node.createdAt, state.now);
  return violated ? 'OVERDUE' : health;
}

/**
 * A partitioned asset's partitions counted by status, over the keys its definition has now: the total
 * by arithmetic, the statuses from the stored rows (each checked to still be a key, which costs O(1)),
 * and MISSING as the rest. Never a list of the keys.
 */
export function partitionCounts(state: CatalogState, node: AssetNode & { partitions: PartitionsDefinition }): PartitionCounts {
  const total = countPartitionKeys(node.partitions, state.dynamic, state.now);
  const counts: PartitionCounts = { total, MISSING: 0, MATERIALIZED: 0, FAILED: 0, STALE: 0, MATERIALIZING: 0 };
  const staleAt = state.book.evaluation(node.key)?.staleAt;
  for (const row of state.book.rows(node.key).values()) {
    if (!isPartitionKey(node.partitions, row.key, state.dynamic, state.now)) continue;
    counts[partitionStatus(row, staleAt?.has(row.key) ?? false)]++;
  }
  counts.MISSING = Math.max(0, total - counts.MATERIALIZED - counts.FAILED - counts.STALE - counts.MATERIALIZING);
  return counts;
}

function checkStatuses(
  node: AssetNode,
  latest: ReadonlyMap<string, CheckResultRow>,
  waivers: ReadonlyMap<string, WaiverRow>,
  failures: ReadonlyMap<string, readonly CheckFailureRow[]>,
  blockers: readonly Blocker[],
): AssetCheckStatus[] {
  return node.checks.map((check) => {
    const result = latest.get(check.name) ?? null;
    const waiver = waivers.get(check.name);
    const failing = failures.get(check.name) ?? [];
    const coversLatest =
      result !== null &&
      !result.passed &&
      waiver !== undefined &&
      (waiver.check_result_id === result.id ||
        (waiver.partition_key === null && BigInt(result.seq) <= BigInt(waiver.result_seq)));
    // The newest result may pass while an older partition's failure is what a waiver lifts; the
    // waiver shown is then the newest one lifting a listed failure.
    const liftingFailure = failing
      .flatMap((f) => (f.waiver ? [f.waiver] : []))
      .sort((a, b) => b.created_at.getTime() - a.created_at.getTime() || b.id.localeCompare(a.id))[0];
    const shown = coversLatest && waiver ? waiver : (liftingFailure ?? null);
    return {
      ...check,
      latest: result ? toCheckResult(result) : null,
      waiver: shown ? toWaiver(shown) : null,
      blocksDownstream: check.blocking && blockers.some((b) => b.checkName === check.name),
      failures: failing.map((f) => ({
        result: toCheckResult(f.result),
        waiver: f.waiver ? toWaiver(f.waiver) : null,
        blocks: check.blocking && f.waiver === null,
      })),
      failureCount: failing[0]?.failureCount ?? 0,
    };
  });
}

/** The assets named, in the order given, as the contract describes them. */
export async function describeAssets(
  db: Db,
  workspaceId: string,
  state: CatalogState,
  keys: readonly string[],
): Promise<Asset[]> {
  const evaluations = keys.map((key) => state.book.evaluation(key));
  const latestIds = evaluations.flatMap((e) => (e?.latest?.materializationId ? [e.latest.materializationId] : []));
  const [materializations, checkRows, waiverRows, failureRows] = await Promise.all([
    getMaterializations(db, workspaceId, latestIds),
    latestCheckResults(db, workspaceId, keys),
    latestWaivers(db, workspaceId, keys),
    latestCheckFailures(db, workspaceId, keys, CHECK_FAILURES_LISTED),
  ]);
  const byId = new Map(materializations.map((m) => [m.id, m]));
  const checks = new Map<string, Map<string, CheckResultRow>>();
  for (const row of checkRows) {
    if (!checks.has(row.asset_key)) checks.set(row.asset_key, new Map());
    checks.get(row.asset_key)?.set(row.check_name, row);
  }
  const waivers = new Map<string, Map<string, WaiverRow>>();
  for (const row of waiverRows) {
    if (!waivers.has(row.asset_key)) waivers.set(row.asset_key, new Map());
    waivers.get(row.asset_key)?.set(row.check_name, row);
  }
  const failures = new Map<string, Map<string, CheckFailureRow[]>>();
  for (const row of failureRows) {
    const byCheck = failures.get(row.result.asset_key) ?? new Map<string, CheckFailureRow[]>();
    failures.set(row.result.asset_key, byCheck);
    const list = byCheck.get(row.result.check_name);
    if (list) list.push(row);
    else byCheck.set(row.result.check_name, [row]);
  }
  return keys.map((key, i) => {
    const node = state.graph.nodes.get(key) as AssetNode;
    const evaluation = evaluations[i];
    const latestId = evaluation?.latest?.materializationId;
    return {
      key,
      deploymentId: node.deploymentId,
      deploymentName: node.deploymentName,
      deps: node.deps,
      dependents: [...(state.graph.dependents.get(key) ?? [])],
      partitions: node.partitions,
      codeVersion: node.codeVersion,
      description: node.description,
      owners: node.owners,
      tags: node.tags,
      group: node.group,
      io: node.io,
      acceptsRange: node.acceptsRange,
      checks: checkStatuses(
        node,
        checks.get(key) ?? new Map(),
        waivers.get(key) ?? new Map(),
        failures.get(key) ?? new Map(),
        state.blockers.get(key) ?? [],
      ),
      latest: latestId ? (byId.get(latestId) ?? null) : null,
      health: assetHealth(state, key),
      stale: evaluation?.health === 'STALE' ? evaluation.stale : [],
      partitionCounts: node.partitions ? partitionCounts(state, node as AssetNode & { partitions: PartitionsDefinition }) : null,
      automation: node.automation,
      freshness: node.freshness,
      freshnessState: node.freshness
        ? freshnessState(node.freshness, evaluation?.latest?.materializedAt ?? null, node.createdAt, state.now)
        : null,
      updatedAt: node.updatedAt.toISOString(),
    };
  });
}

/** A lineage node whose health moves with the clock: its freshness policy, and its health without it. */
interface ClockedNode {
  node: AssetLineageResponse['nodes'][number];
  freshness: AssetFreshnessPolicy;
  health: AssetHealth;
  latestMs: number | null;
  createdAt: Date;
}

/** What the lineage of a workspace was computed as, from the facts `stamp` describes. */
interface LineageEntry {
  /** Null: the workspace is large, but the facts were read without a stamp first, so nothing is kept yet. */
  stamp: string | null;
  answer: AssetLineageResponse;
  clocked: readonly ClockedNode[];
  /** The answer as JSON with its ETag and gzip, made when first sent and again after a clocked health changed. */
  json: Encoded | null;
}

/**
 * A workspace's lineage, and the same as the JSON a response carries (2–3 MB at 10,000 assets, kept
 * with it, with its ETag and gzip, about a tenth the size).
 */
export interface LineageView {
  answer: AssetLineageResponse;
  json(): Encoded;
}

/** Gzip level of a kept lineage: made once per change, on the call that asks for it first. */
const LINEAGE_GZIP_LEVEL = 4;

const encoder = new TextEncoder();

function viewOf(entry: LineageEntry): LineageView {
  return {
    answer: entry.answer,
    json: () => {
      entry.json ??= encoded(encoder.encode(JSON.stringify(entry.answer)), LINEAGE_GZIP_LEVEL);
      return entry.json;
    },
  };
}

/*
 * The lineage of a large workspace is kept with a stamp of every fact it is derived from
 * (lineageFactsStamp: how many changes of definitions, partition statuses, check results, waivers and
 * dynamic keys have committed, counted from a log the writers' triggers append to). A call reads the
 * stamp first, in its own snapshot, and answers what is kept when it is the same; only the health of
 * assets with a freshness policy is worked out again, against the clock. Otherwise it reads and
 * evaluates everything, after the stamp: a change committed in between is then in the answer and not
 * in the stamp, which costs the next call another read, never a stale answer. The stamp reads one
 * row and the changes since the retention loop last folded the log, however many facts there are,
 * where reading and evaluating 10,000 assets takes hundreds of milliseconds.
 * The answer kept, and its JSON, are shared by the calls that get them: they are read-only (but for
 * the clocked health, which drops the JSON when it changes). Serialising 10,000 nodes costs about
 * as much as reading the stamp, so a large lineage is sent from its kept JSON.
 */
const lineageCache = new Map<string, LineageEntry>();
/** Below this many assets a lineage costs little more than its stamp: it is not kept. */
const LINEAGE_CACHED_FROM = 500;
/** Workspaces whose lineage is kept at most; the least recently read go first. */
const LINEAGE_CACHED_WORKSPACES = 32;

/** Every asset of the workspace as a graph: few fields per node, so thousands of them stay a small answer. */
export async function lineage(db: Db, workspaceId: string): Promise<LineageView> {
  const cached = lineageCache.get(workspaceId);
  // A workspace not known to be large is read without a stamp: a small one never needs it.
  const stamp = cached ? await lineageFactsStamp(db, workspaceId) : null;
  if (cached && cached.stamp !== null && cached.stamp === stamp) {
    lineageCache.delete(workspaceId);
    lineageCache.set(workspaceId, cached);
    const now = new Date();
    for (const c of cached.clocked) {
      const health = clockedHealth(c, now);
      if (health === c.node.health) continue;
      c.node.health = health;
      cached.json = null;
    }
    return viewOf(cached);
  }
  const entry = await computeLineage(db, workspaceId, stamp);
  lineageCache.delete(workspaceId);
  if (entry.answer.nodes.length >= LINEAGE_CACHED_FROM) {
    lineageCache.set(workspaceId, entry);
    if (lineageCache.size > LINEAGE_CACHED_WORKSPACES) lineageCache.delete(lineageCache.keys().next().value as string);
  }
  return viewOf(entry);
}

function clockedHealth(c: ClockedNode, now: Date): AssetHealth {
  return freshnessVerdict(c.freshness, c.latestMs, c.createdAt, now).violated ? 'OVERDUE' : c.health;
}

async function computeLineage(db: Db, workspaceId: string, stamp: string | null): Promise<LineageEntry> {
  const state = await loadCatalogState(db, workspaceId, null);
  const checkRows = await latestCheckResults(db, workspaceId, null);
  const checks = new Map<string, { passed: number; failed: number }>();
  for (const row of checkRows) {
    const tally = checks.get(row.asset_key) ?? { passed: 0, failed: 0 };
    if (row.passed) tally.passed++;
    else tally.failed++;
    checks.set(row.asset_key, tally);
  }
  const nodes: AssetLineageResponse['nodes'] = [];
  const edges: AssetLineageResponse['edges'] = [];
  const clocked: ClockedNode[] = [];
  for (const node of state.graph.nodes.values()) {
    const evaluation = state.book.evaluation(node.key);
    const at = evaluation?.latest?.materializedAt ?? null;
    const blockers = state.blockers.get(node.key) ?? [];
    const health = evaluation?.health ?? 'MISSING';
    const item: AssetLineageResponse['nodes'][number] = {
      key: node.key,
      group: node.group,
      deploymentName: node.deploymentName,
      partitioned: node.partitions !== null,
      // Kept with a large lineage like the rest: a time definition without an end gains its newest
      // partition (as MISSING) on the next change of any fact, not at midnight.
      partitionCounts: node.partitions ? partitionCounts(state, node as AssetNode & { partitions: PartitionsDefinition }) : null,
      health,
      staleReason: health === 'STALE' ? (evaluation?.stale[0]?.message ?? null) : null,
      lastMaterializedAt: at === null ? null : new Date(at).toISOString(),
      checks: {
        ...(checks.get(node.key) ?? { passed: 0, failed: 0 }),
        blocking: node.checks.some((c) => c.blocking && blockers.some((b) => b.checkName === c.name)),
      },
    };
    // As assetHealth: a freshness policy makes it OVERDUE unless it is blocked or failed.
    if (node.freshness && health !== 'BLOCKED' && health !== 'FAILED') {
      const c: ClockedNode = { node: item, freshness: node.freshness, health, latestMs: at, createdAt: node.createdAt };
      item.health = clockedHealth(c, state.now);
      clocked.push(c);
    }
    nodes.push(item);
    for (const dep of new Set(node.deps)) if (state.graph.nodes.has(dep)) edges.push({ from: dep, to: node.key });
  }
  return { stamp, answer: { nodes, edges }, clocked, json: null };
}
