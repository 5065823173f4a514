import type { AssetHealth, PartitionStatus, StaleReason } from '@outpost/sdk/contracts';
import { samePartitioning } from '@outpost/sdk/partitions';
import type { Blocker, PartitionRow } from './db/asset-status.js';
import { type AssetGraph, type AssetNode, topologicalOrder } from './graph.js';

/*
 * Staleness, health and blocking, derived when read from what the database holds (pure: the
 * caller loads the facts). One pass in dependency order evaluates every materialised partition
 * of every asset asked about, after its upstream ones:
 *
 * - code_version: its latest materialisation ran other code than the definition has now;
 * - upstream_newer: an upstream was materialised after it — the same partition when both share a
 *   partitions definition, else the upstream's latest materialisation of any partition;
 * - upstream_stale: that upstream (partition) is itself stale, so this one is too, transitively.
 *
 * Blocking: the latest result of a blocking check failed and no waiver covers it. Every asset
 * downstream of it is blocked for that partition (for an unpartitioned or differently partitioned
 * downstream, for all partitions).
 */

export type { Blocker, PartitionRow } from './db/asset-status.js';

export interface AssetFacts {
  /** By partition key ('' for an unpartitioned asset). */
  rows: ReadonlyMap<string, PartitionRow>;
  blockers: readonly Blocker[];
}

export interface AssetEvaluation {
  health: AssetHealth;
  /** Deduplicated by kind and upstream: the first partition's message for each. */
  stale: StaleReason[];
  blocked: boolean;
  /** The newest materialised row (null when never materialised). */
  latest: PartitionRow | null;
  /** Partitions (keys) that are stale, with why. */
  staleAt: ReadonlyMap<string, readonly StaleReason[]>;
}

const UNPARTITIONED = '';
const NO_ROWS: ReadonlyMap<string, PartitionRow> = new Map();
const NO_STALE: ReadonlyMap<string, readonly StaleReason[]> = new Map();

/** An upstream asset while its downstream is evaluated, with the reasons it gives (made once when they are the same). */
interface Upstream {
  key: string;
  evaluation: AssetEvaluation;
  aligned: boolean;
  /** Its rows when aligned (partition to partition), else none. */
  rows: ReadonlyMap<string, PartitionRow>;
  /** Unaligned: the one upstream_newer reason (against its latest materialisation). */
  newer: StaleReason | null;
  stale: StaleReason | null;
  listedNewer: boolean;
  listedStale: boolean;
}

/*
 * samePartitioning parses and canonicalises both definitions; a graph of thousands of assets asks
 * it once per edge per read. Definitions are kept with their cached graph (db/asset-definitions.ts),
 * so the answer is kept per pair of definition objects for as long as they live.
 */
const alignedPairs = new WeakMap<object, WeakMap<object, boolean>>();

/** Both partitioned, and alike: partition maps to the same partition. */
function partitionedAlike(a: AssetNode, b: AssetNode): boolean {
  if (a.partitions === null || b.partitions === null) return false;
  let known = alignedPairs.get(a.partitions);
  if (!known) {
    known = new WeakMap();
    alignedPairs.set(a.partitions, known);
  }
  let same = known.get(b.partitions);
  if (same === undefined) {
    same = samePartitioning(a.partitions, b.partitions);
    known.set(b.partitions, same);
  }
  return same;
}

/** `3f2a1b9c` from a long version; short ones as they are. */
function short(version: string): string {
  return version.length > 12 ? `${version.slice(0, 8)}…` : version;
}

/** `2026-03-02 10:00 UTC`. */
export function formatTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** The partition status a grid shows for a row (or for no row), given its staleness. */
export function partitionStatus(row: PartitionRow | undefined, stale: boolean): PartitionStatus {
  if (!row) return 'MISSING';
  if (row.status === 'MATERIALIZING' && row.active) return 'MATERIALIZING';
  if (row.status === 'FAILED') return 'FAILED';
  if (row.materializedAt === null) return 'MISSING';
  return stale ? 'STALE' : 'MATERIALIZED';
}

/**
 * Evaluates the assets asked about (and, as it must, everything upstream of them) in one pass in
 * dependency order. Facts missing for an asset count as "never materialised, nothing blocks".
 */
export class AssetStatusBook {
  readonly #graph: AssetGraph;
  readonly #facts: ReadonlyMap<string, AssetFacts>;
  readonly #evaluations = new Map<string, AssetEvaluation>();

  constructor(graph: AssetGraph, facts: ReadonlyMap<string, AssetFacts>, keys: Iterable<string>) {
    this.#graph = graph;
    this.#facts = facts;
    const wanted = new Set<string>();
    // Everything upstream is evaluated too: staleness and blocking flow down from it.
    const stack = [...keys];
    while (stack.length > 0) {
      const key = stack.pop() as string;
      if (wanted.has(key) || !graph.nodes.has(key)) continue;
      wanted.add(key);
      stack.push(...(graph.nodes.get(key)?.deps ?? []));
    }
    for (const key of topologicalOrder(graph, wanted)) this.#evaluate(graph.nodes.get(key) as AssetNode);
  }

  evaluation(key: string): AssetEvaluation | undefined {
    return this.#evaluations.get(key);
  }

  rows(key: string): ReadonlyMap<string, PartitionRow> {
    return this.#facts.get(key)?.rows ?? NO_ROWS;
  }

  /*
   * Allocation-lean: a graph of thousands of assets is evaluated on every read of the whole
   * workspace. A partition that is not stale costs no array; the reasons that are the same for many
   * partitions (code version, an upstream as a whole) are made once per asset; the deduplicated list
   * is built as the partitions are walked, in the same order.
   */
  #evaluate(node: AssetNode): void {
    const rows = this.rows(node.key);
    let staleAt: Map<string, StaleReason[]> | null = null;
    let latest: PartitionRow | null = null;
    let failed = false;
    let blocked = (this.#facts.get(node.key)?.blockers.length ?? 0) > 0;
    const upstream: Upstream[] = [];
    for (const dep of node.deps) {
      const up = this.#graph.nodes.get(dep);
      const evaluation = this.#evaluations.get(dep);
      // Partition to partition only when both are partitioned alike; otherwise against the upstream as a whole.
      if (!up || !evaluation || upstream.some((u) => u.key === dep)) continue;
      if (evaluation.blocked) blocked = true;
      const aligned = partitionedAlike(node, up);
      upstream.push({
        key: dep,
        evaluation,
        aligned,
        rows: aligned ? this.rows(dep) : NO_ROWS,
        newer: null,
        stale: null,
        listedNewer: false,
        listedStale: false,
      });
    }
    const stale: StaleReason[] = [];
    let codeReason: StaleReason | null = null;
    let codeFrom: string | null = null;
    let codeListed = false;
    for (const row of rows.values()) {
      if (row.status === 'FAILED') failed = true;
      const at = row.materializedAt;
      if (at === null) continue;
      if (latest === null || (latest.materializedAt as number) < at) latest = row;
      let reasons: StaleReason[] | null = null;
      if (row.codeVersion !== null && row.codeVersion !== node.codeVersion) {
        if (codeReason === null || codeFrom !== row.codeVersion) {
          codeFrom = row.codeVersion;
          codeReason = {
            kind: 'code_version',
            message: `code version changed: ${short(row.codeVersion)} → ${short(node.codeVersion)}`,
          };
        }
        reasons = [codeReason];
        if (!codeListed) {
          codeListed = true;
          stale.push(codeReason);
        }
      }
      for (const u of upstream) {
        let reason: StaleReason | null = null;
        const theirs = u.aligned ? u.rows.get(row.key) : u.evaluation.latest;
        const upAt = theirs?.materializedAt ?? null;
        if (upAt !== null && upAt > at) {
          if (u.aligned || u.newer === null) {
            reason = {
              kind: 'upstream_newer',
              upstream: u.key,
              message: `upstream ${u.key} materialised ${formatTime(upAt)} after this`,
            };
            if (!u.aligned) u.newer = reason;
          } else reason = u.newer;
          if (!u.listedNewer) {
            u.listedNewer = true;
            stale.push(reason);
          }
        } else if (u.aligned ? u.evaluation.staleAt.has(row.key) : u.evaluation.staleAt.size > 0) {
          u.stale ??= { kind: 'upstream_stale', upstream: u.key, message: `upstream ${u.key} is stale` };
          reason = u.stale;
          if (!u.listedStale) {
            u.listedStale = true;
            stale.push(reason);
          }
        }
        if (reason === null) continue;
        if (reasons === null) reasons = [reason];
        else reasons.push(reason);
      }
      if (reasons !== null) {
        staleAt ??= new Map();
        staleAt.set(row.key, reasons);
      }
    }
    const health: AssetHealth = blocked
      ? 'BLOCKED'
      : failed
        ? 'FAILED'
        : latest === null
          ? 'MISSING'
          : staleAt !== null
            ? 'STALE'
            : 'FRESH';
    this.#evaluations.set(node.key, { health, stale, blocked, latest, staleAt: staleAt ?? NO_STALE });
  }

  /**
   * What blocks materialising `key` for `partitionKey` (null: the asset as a whole, or any
   * partition of it): the first failed, unwaived blocking check found on it or upstream of it.
   * `rematerialised(upstreamKey)` names upstream assets that will be materialised again first,
   * whose own checks then run again and so do not block (what is upstream of them still does).
   * The asset's own checks count only with `own`: they block its downstream, not itself.
   */
  blockedBy(
    key: string,
    partitionKey: string | null,
    options: { own?: boolean; rematerialised?: (key: string) => boolean } = {},
  ): Blocker | null {
    const memo = new Map<string, Blocker | null>();
    const rematerialised = options.rematerialised ?? (() => false);
    const visit = (asset: string, partition: string | null, own: boolean): Blocker | null => {
      const id = `${asset}\u0000${partition ?? '\u0001'}\u0000${own}`;
      if (memo.has(id)) return memo.get(id) ?? null;
      memo.set(id, null);
      const node = this.#graph.nodes.get(asset);
      let found: Blocker | null = null;
      if (node) {
        if (own && !rematerialised(asset)) {
          const blockers = this.#facts.get(asset)?.blockers ?? [];
          found =
            blockers.find(
              (b) => node.partitions === null || partition === null || b.partitionKey === null || b.partitionKey === partition,
            ) ?? null;
        }
        for (const dep of node.deps) {
          if (found) break;
          const up = this.#graph.nodes.get(dep);
          if (!up) continue;
          const aligned = partition !== null && partitionedAlike(node, up);
          found = visit(dep, aligned ? partition : null, true);
        }
      }
      memo.set(id, found);
      return found;
    };
    const partition = partitionKey === UNPARTITIONED ? null : partitionKey;
    return visit(key, partition, options.own ?? true);
  }
}
