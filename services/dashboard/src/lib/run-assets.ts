import type { StateType, TaskRunSummaryResponse } from '@outpost/sdk/contracts';

/*
 * The assets a run of the built-in `assets` flow works on, apart from React: each asset's task runs
 * (one per partition or range, named `key` or `key [partition]`) folded into one state, and the
 * edges between them from the workspace's lineage, for a small graph on the run page.
 */

/** The state an asset's task runs add up to, worst first: any failure fails it, anything left running keeps it running. */
const PRECEDENCE: readonly StateType[] = [
  'CRASHED',
  'FAILED',
  'CANCELLED',
  'RUNNING',
  'CANCELLING',
  'PAUSED',
  'PENDING',
  'SCHEDULED',
  'COMPLETED',
];

export interface RunAsset {
  key: string;
  state: StateType;
  /** Task runs (partitions or ranges) by state. */
  counts: Partial<Record<StateType, number>>;
  total: number;
}

/** `customers/features [2026-11-02]` → `customers/features`; a name without a bracket is the key. */
export function assetKeyOfTaskName(name: string): string {
  const bracket = name.indexOf(' [');
  return bracket === -1 ? name : name.slice(0, bracket);
}

/**
 * One entry per asset of the run, in the order its task runs first appear, plus the assets the run
 * was asked for (its `assets` parameter) that have no task run yet, as SCHEDULED.
 */
export function runAssets(summary: Pick<TaskRunSummaryResponse, 'byName'> | null, requested: readonly string[]): RunAsset[] {
  const byKey = new Map<string, RunAsset>();
  for (const row of summary?.byName ?? []) {
    const key = assetKeyOfTaskName(row.name);
    const entry = byKey.get(key) ?? { key, state: 'SCHEDULED', counts: {}, total: 0 };
    for (const [state, n] of Object.entries(row.byState) as [StateType, number][]) {
      entry.counts[state] = (entry.counts[state] ?? 0) + n;
    }
    entry.total += row.total;
    byKey.set(key, entry);
  }
  for (const key of requested) if (!byKey.has(key)) byKey.set(key, { key, state: 'SCHEDULED', counts: {}, total: 0 });
  for (const entry of byKey.values()) {
    entry.state = PRECEDENCE.find((s) => (entry.counts[s] ?? 0) > 0) ?? 'SCHEDULED';
  }
  return [...byKey.values()];
}

/** The asset keys a run of the `assets` flow was asked for; an empty list means every asset of its deployment. */
export function requestedAssets(parameters: Record<string, unknown>): string[] {
  const assets = parameters.assets;
  return Array.isArray(assets) ? assets.filter((a): a is string => typeof a === 'string') : [];
}

/** The lineage edges between the run's assets only, upstream → downstream. */
export function edgesAmong(keys: readonly string[], edges: readonly { from: string; to: string }[]): [string, string][] {
  const inRun = new Set(keys);
  return edges.filter((e) => inRun.has(e.from) && inRun.has(e.to)).map((e): [string, string] => [e.from, e.to]);
}

/**
 * "3 of 4 materialised, 1 failed" style words for an asset's task runs; an asset with none is "not
 * started" while the run goes on and "not run" once it has ended (an upstream failed, or it was cancelled).
 */
export function describeRunAsset(a: RunAsset, runEnded = false): string {
  if (a.total === 0) return runEnded ? 'not run' : 'not started';
  const done = a.counts.COMPLETED ?? 0;
  const failed = (a.counts.FAILED ?? 0) + (a.counts.CRASHED ?? 0);
  const running = (a.counts.RUNNING ?? 0) + (a.counts.PENDING ?? 0);
  const parts = [a.total === 1 ? (done === 1 ? 'materialised' : '') : `${done} of ${a.total} materialised`];
  if (failed > 0) parts.push(a.total === 1 ? 'failed' : `${failed} failed`);
  if (running > 0) parts.push(a.total === 1 ? 'running' : `${running} running`);
  const words = parts.filter((p) => p !== '').join(', ');
  return words === '' ? a.state.toLowerCase() : words;
}
