import type { AssetAutomationEvaluation, PartitionsDefinition } from '@outpost/sdk/contracts';
import { samePartitioning } from '@outpost/sdk/partitions';
import { latestTick } from '../assets/automation/cron.js';
import type { CatalogState } from '../assets/catalog.js';
import type { AssetNode } from '../assets/graph.js';
import { countPartitionKeys, pagePartitionKeys } from '../assets/partition-keys.js';
import { formatTime, type PartitionRow } from '../assets/status.js';
import { blockedMessage } from './materialize.js';

/*
 * What the automation asks for, derived from the catalog's facts (pure: the pass loads the facts
 * and acts). For each asset with a policy, and each of its partitions a condition may hold for,
 * the first condition that holds names its cause:
 *
 * - upstream_updated: an upstream materialisation newer than the asset's (the same partition for
 *   an upstream partitioned alike, else the upstream's latest); the cause is that materialisation;
 * - cron: the latest tick of the cron came after the asset's materialisation, and an upstream changed
 *   since then (an asset without deps: the tick alone); the cause is the tick;
 * - missing: the partition was never materialised nor attempted; the cause is its absence.
 *
 * The cause names the decision (`auto:<asset>:<partition>:<cause>`): it is the run's idempotency
 * key, so two passes that see the same facts — two replicas, or a pass redone after a crash —
 * request one run. A run that then fails is not requested again for the same cause.
 */

export type SkipReason = NonNullable<AssetAutomationEvaluation['skipReason']>;

export interface AutomationCandidate {
  assetKey: string;
  /** Null for an unpartitioned asset. */
  partitionKey: string | null;
  reason: AssetAutomationEvaluation['reason'];
  /** The run's idempotency key and the REQUESTED record's evaluation key. */
  causeKey: string;
  message: string;
  /** Set when the run must not be requested now. */
  skip: { reason: SkipReason; message: string; flowRunId: string | null } | null;
}

const UNPARTITIONED = '';

interface Upstream {
  node: AssetNode;
  aligned: boolean;
  /** A run is materialising some partition of it (for upstreams not partitioned alike). */
  anyActive: boolean;
}

function active(row: PartitionRow | undefined): boolean {
  return row?.status === 'MATERIALIZING' && row.active;
}

/** Every candidate of the workspace's assets with an automation policy, newest partitions first. */
export function planAutomation(state: CatalogState, now: Date): AutomationCandidate[] {
  const candidates: AutomationCandidate[] = [];
  for (const node of state.graph.nodes.values()) {
    // One by one: an asset's candidates can be thousands, too many to spread into push's arguments.
    if (node.automation) for (const candidate of planAsset(state, node, now)) candidates.push(candidate);
  }
  return candidates;
}

/**
 * Missing partitions one pass looks at per asset. A pass requests at most its `maxRequests` runs per
 * workspace anyway; the older missing ones come up in later passes, as the newer ones get rows.
 */
export const MAX_MISSING_PER_PASS = 1_000;

/**
 * The newest missing partitions (no stored row), at most MAX_MISSING_PER_PASS, walking back from the
 * latest key a page at a time: the walk skips only keys that have rows, so it costs what the rows
 * and the answer cost, never the definition's size.
 */
function newestMissing(
  def: PartitionsDefinition,
  state: CatalogState,
  rows: ReadonlyMap<string, PartitionRow>,
  now: Date,
  count: number,
): string[] {
  const missing: string[] = [];
  const step = 1_000;
  for (let end = count; end > 0 && missing.length < MAX_MISSING_PER_PASS; end -= step) {
    const page = pagePartitionKeys(def, state.dynamic, now, Math.max(0, end - step), Math.min(step, end));
    for (let i = page.length - 1; i >= 0 && missing.length < MAX_MISSING_PER_PASS; i--) {
      const key = page[i] as string;
      if (!rows.has(key)) missing.push(key);
    }
  }
  return missing;
}

function planAsset(state: CatalogState, node: AssetNode, now: Date): AutomationCandidate[] {
  const policy = node.automation;
  if (!policy) return [];
  const { book, graph } = state;
  const rows = book.rows(node.key);
  const upstreams: Upstream[] = node.deps.flatMap((dep) => {
    const up = graph.nodes.get(dep);
    if (!up) return [];
    const aligned = node.partitions !== null && up.partitions !== null && samePartitioning(node.partitions, up.partitions);
    let anyActive = false;
    if (!aligned) for (const row of book.rows(dep).values()) if (active(row)) anyActive = true;
    return [{ node: up, aligned, anyActive }];
  });
  const tick = policy.cron ? latestTick(policy.cron, now) : null;

  // Which partitions to look at: those an upstream wrote (or, unaligned, those this asset has), the
  // latest one for a cron, and the missing ones. Never every key for nothing.
  const keys = new Set<string>();
  let latestKey: string | null = null;
  if (node.partitions === null) keys.add(UNPARTITIONED);
  else {
    const count = countPartitionKeys(node.partitions, state.dynamic, now);
    latestKey = count > 0 ? (pagePartitionKeys(node.partitions, state.dynamic, now, count - 1, 1)[0] ?? null) : null;
    if (policy.onMissing) for (const key of newestMissing(node.partitions, state, rows, now, count)) keys.add(key);
    if (tick !== null && upstreams.length === 0 && latestKey !== null) keys.add(latestKey);
    if (policy.onUpstreamUpdate || tick !== null) {
      for (const u of upstreams) {
        if (u.aligned) for (const key of book.rows(u.node.key).keys()) keys.add(key);
        else for (const key of rows.keys()) keys.add(key);
      }
    }
  }

  const out: AutomationCandidate[] = [];
  for (const key of [...keys].sort().reverse()) {
    const partitionKey = key === UNPARTITIONED ? null : key;
    const own = rows.get(key);
    const ownAt = own?.materializedAt ?? null;
    // The newest upstream materialisation after this one.
    let newest: { key: string; at: number; id: string } | null = null;
    let upstreamActive: string | null = null;
    for (const u of upstreams) {
      const theirs = u.aligned ? book.rows(u.node.key).get(key) : (book.evaluation(u.node.key)?.latest ?? null);
      if (u.aligned ? active(theirs ?? undefined) : u.anyActive) upstreamActive ??= u.node.key;
      const at = theirs?.materializedAt ?? null;
      if (at === null || (ownAt !== null && at <= ownAt) || !theirs?.materializationId) continue;
      if (newest === null || at > newest.at) newest = { key: u.node.key, at, id: theirs.materializationId };
    }
    const base = `auto:${node.key}:${key}`;
    let candidate: Omit<AutomationCandidate, 'skip'> | null = null;
    if (policy.onUpstreamUpdate && newest) {
      candidate = {
        assetKey: node.key,
        partitionKey,
        reason: 'upstream_updated',
        causeKey: `${base}:upstream:${newest.id}`,
        message:
          ownAt === null
            ? `upstream ${newest.key} was materialised ${formatTime(newest.at)} and this never was`
            : `upstream ${newest.key} materialised ${formatTime(newest.at)} after this`,
      };
    } else if (tick !== null && tick > node.createdAt && (ownAt === null || tick.getTime() > ownAt)) {
      const changed = upstreams.length === 0 ? 'no upstream to wait for' : newest ? `upstream ${newest.key} changed since` : null;
      // A partitioned asset without deps: the tick asks for its latest partition only.
      if (changed !== null && (upstreams.length > 0 || partitionKey === null || key === latestKey)) {
        candidate = {
          assetKey: node.key,
          partitionKey,
          reason: 'cron',
          causeKey: `${base}:cron:${tick.toISOString()}`,
          message: `cron tick ${formatTime(tick.getTime())} (${policy.cron?.cron} ${policy.cron?.timezone}): ${changed}`,
        };
      }
    }
    if (candidate === null && policy.onMissing && own === undefined) {
      candidate = {
        assetKey: node.key,
        partitionKey,
        reason: 'missing',
        causeKey: `${base}:missing`,
        message: 'never materialised',
      };
    }
    if (candidate === null) continue;

    let skip: AutomationCandidate['skip'] = null;
    if (active(own)) {
      skip = { reason: 'in_flight', message: `run ${own?.flowRunId} is materialising it`, flowRunId: own?.flowRunId ?? null };
    } else if (upstreamActive !== null) {
      skip = {
        reason: 'upstream_in_flight',
        message: `waiting for upstream ${upstreamActive}, which a run is materialising`,
        flowRunId: null,
      };
    } else {
      const by = book.blockedBy(node.key, partitionKey, { own: false });
      if (by) skip = { reason: 'blocked', message: blockedMessage({ assetKey: node.key, by }), flowRunId: null };
    }
    out.push({ ...candidate, skip });
  }
  return out;
}

/** The record key of a decision: the cause for a request, the cause and the reason for a skip. */
export function evaluationKey(candidate: { causeKey: string }, skip: SkipReason | null): string {
  return skip === null ? candidate.causeKey : `${candidate.causeKey}:skip:${skip}`;
}
