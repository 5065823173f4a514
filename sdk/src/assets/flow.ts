import { randomUUID } from 'node:crypto';
import type { AssetEvent, AssetRunParameters } from '../contracts/assets.js';
import { assetSchemas } from '../contracts/assets-schemas.js';
import { ASSET_FLOW_NAME } from '../contracts/limits.js';
import { currentScope, type FlowContext } from '../runtime/context.js';
import { type FlowDefinition, runFlowRun } from '../runtime/engine.js';
import { executeRun } from '../runtime/execute.js';
import { log } from '../runtime/logger.js';
import { type ParamsSchema, parameterJsonSchema } from '../runtime/params.js';
import { registerFlow } from '../runtime/registry.js';
import { localReporter } from '../runtime/reporter-local.js';
import { type AnyAsset, type Asset, assetImpl } from './asset.js';
import { topologicalOrder } from './graph.js';
import { assetRegistry } from './registry.js';
import { AssetRunError, type AssetRunOutcome, runAssets } from './run.js';

/** What a run of the assets flow returns (locally; under a worker results stay in the flow process). */
export interface AssetFlowResult {
  materialized: number;
  checked: number;
}

function summary(outcome: AssetRunOutcome): AssetFlowResult {
  return {
    materialized: outcome.events.filter((e) => e.kind === 'materialization').length,
    checked: outcome.events.filter((e) => e.kind === 'check').length,
  };
}

/** The assets this copy of the SDK can run, by key (another copy's assets are not runnable here). */
function registeredAssets(): Map<string, AnyAsset> {
  const found = new Map<string, AnyAsset>();
  for (const [key, entry] of assetRegistry()) if (assetImpl(entry.asset)) found.set(key, entry.asset as AnyAsset);
  return found;
}

/**
 * The body of the built-in `assets` flow: the run's parameters say which assets (in dependency
 * order; none means every asset the deployment's code defines), which partition or range, and
 * whether to check only.
 */
async function assetFlowBody(params: Record<string, unknown>, ctx: FlowContext): Promise<AssetFlowResult> {
  const p = params as AssetRunParameters;
  const defined = registeredAssets();
  let selected: AnyAsset[];
  const unknown: string[] = [];
  if (p.assets.length === 0) {
    const all = [...defined.values()];
    const order = topologicalOrder(all.map((a) => ({ key: a.key, deps: a.deps })));
    selected = order.map((key) => defined.get(key) as AnyAsset);
  } else {
    selected = [];
    for (const key of p.assets) {
      const found = defined.get(key);
      if (found) selected.push(found);
      else unknown.push(key);
    }
  }
  if (unknown.length > 0) {
    const definedKeys = [...defined.keys()].slice(0, 20).join(', ') || 'none';
    const message = `asset ${'{key}'} is not defined by this deployment's code (defined: ${definedKeys})`;
    log.error(`assets not defined here: ${unknown.join(', ')}`);
    if (!p.checksOnly) {
      const events: AssetEvent[] = unknown.map((key) => ({
        kind: 'failure',
        id: randomUUID(),
        assetKey: key,
        partitionKey: p.partition ?? ctx.partitionKey,
        message: message.replace('{key}', key),
      }));
      await currentScope().run?.reporter.reportAssetEvents(events);
    }
  }
  const plan = {
    assets: selected,
    checksOnly: p.checksOnly,
    partition: p.partition ?? ctx.partitionKey,
    partitionRange: p.partitionRange,
  };
  let outcome: AssetRunOutcome;
  try {
    outcome = await runAssets(plan);
  } catch (error) {
    if (error instanceof AssetRunError && unknown.length > 0) {
      throw new AssetRunError(error.outcome, `${error.message}; not defined here: ${unknown.join(', ')}`);
    }
    throw error;
  }
  if (unknown.length > 0) throw new AssetRunError(outcome, `assets not defined by this deployment's code: ${unknown.join(', ')}`);
  return summary(outcome);
}

export const assetFlowDefinition: FlowDefinition = {
  name: ASSET_FLOW_NAME,
  // Built when the definition is first read for its parameters, not when the SDK is imported.
  get params() {
    return assetSchemas().AssetRunParameters as unknown as ParamsSchema;
  },
  timeoutSeconds: undefined,
  fn: assetFlowBody,
  onCompletion: undefined,
  onFailure: undefined,
};

let registered = false;

/** Registers the built-in `assets` flow with this copy of the SDK, once. */
export function ensureAssetFlow(): void {
  if (registered) return;
  registered = true;
  registerFlow({
    name: ASSET_FLOW_NAME,
    parameterSchema: () => parameterJsonSchema(ASSET_FLOW_NAME, assetSchemas().AssetRunParameters as unknown as ParamsSchema),
    execute: (start, port) => executeRun(assetFlowDefinition, start, port),
    acceptsRunContext: true,
  });
}

export interface MaterializeOptions {
  /** The partition to materialise (required when a selected asset is partitioned, unless `partitionRange`). */
  partition?: string;
  /** An inclusive range: assets that accept ranges get it in one call, the others one call per partition. */
  partitionRange?: { start: string; end: string };
  /** Run only the assets' checks, against their stored values. @default false */
  checksOnly?: boolean;
  /** Throw an `AssetRunError` (with `.outcome`) when anything failed. @default true */
  throwOnFailure?: boolean;
}

export interface MaterializeResult {
  success: boolean;
  runId: string;
  /** Everything the run recorded: materialisations, failures, check results. */
  events: AssetEvent[];
  failures: AssetRunOutcome['failures'];
  /** The value an asset's function returned in this run (undefined when it did not run). */
  valueOf<T>(asset: Asset<T, boolean>, partitionKey?: string | null): T | undefined;
}

/**
 * Materialise assets here and now, in-process, with no server: in dependency order, upstream
 * values passed in memory (assets not given are read through their I/O managers), checks run,
 * every event printed. The same engine the `assets` flow runs on a worker.
 * @example
 * const result = await materialize([events, features], { partition: '2026-03-01' });
 * result.valueOf(features, '2026-03-01');
 */
export async function materialize(assets: readonly AnyAsset[], options: MaterializeOptions = {}): Promise<MaterializeResult> {
  if (!Array.isArray(assets) || assets.length === 0) throw new TypeError('materialize() needs a list of assets');
  const byKey = new Map<string, AnyAsset>();
  for (const [i, a] of assets.entries()) {
    if (!assetImpl(a)) throw new TypeError(`materialize(): item ${i} is not an asset (made with asset())`);
    const other = byKey.get(a.key);
    if (other && other !== a) throw new TypeError(`materialize(): two different assets have the key '${a.key}'`);
    byKey.set(a.key, a as AnyAsset);
  }
  const order = topologicalOrder([...byKey.values()].map((a) => ({ key: a.key, deps: a.deps })));
  const selected = order.map((key) => byKey.get(key) as AnyAsset);
  const id = randomUUID();
  const partition = options.partition ?? null;
  let outcome: AssetRunOutcome | null = null;
  const def: FlowDefinition = {
    ...assetFlowDefinition,
    fn: async () => {
      outcome = await runAssets({
        assets: selected,
        checksOnly: options.checksOnly ?? false,
        partition,
        partitionRange: options.partitionRange ?? null,
      });
      return summary(outcome);
    },
  };
  const result = await runFlowRun(
    def,
    {},
    {
      reporter: localReporter,
      run: {
        id,
        attempt: 1,
        name: `${ASSET_FLOW_NAME}-${id.slice(0, 8)}`,
        flowName: ASSET_FLOW_NAME,
        deploymentId: null,
        partitionKey: partition,
      },
    },
  );
  if (result.kind === 'failed') {
    if (!(result.thrown instanceof AssetRunError)) throw result.thrown;
    outcome = result.thrown.outcome;
    if (options.throwOnFailure ?? true) throw result.thrown;
  } else if (result.kind === 'not-run') {
    throw new Error(`the assets were not materialised: ${result.reason ?? result.stateType}`);
  }
  const final = outcome as AssetRunOutcome | null;
  if (!final) throw new Error('the assets run ended without an outcome');
  return {
    success: final.failures.length === 0,
    runId: id,
    events: final.events,
    failures: final.failures,
    valueOf: <T>(a: Asset<T, boolean>, partitionKey: string | null = partition) =>
      final.values.get(a.key)?.get(a.partitions === null ? null : partitionKey) as T | undefined,
  };
}
