import {
  ASSET_METADATA_MAX_BYTES,
  type AssetEventBatchRequest,
  AssetRunParameters,
  type FieldError,
  type PartitionsDefinition,
} from '@outpost/sdk/contracts';
import { dynamicPartitionNames, partitionKeyIndex, partitionRangeBounds, samePartitioning } from '@outpost/sdk/partitions';
import type { z } from 'zod';
import type { Sql } from '../db/client.js';
import { DomainError, notFound } from '../domain-error.js';
import { loadAssetNodes } from './db/asset-definitions.js';
import {
  type AssetRun,
  getAssetRun,
  insertCheckResults,
  insertFailures,
  insertMaterializations,
  lockAssetRun,
  type NewCheckResult,
  type NewFailure,
  type NewMaterialization,
  recordedEventIds,
  runMaterializations,
} from './db/asset-events.js';
import { type InputSpec, insertMaterializationInputs } from './db/asset-lineage.js';
import { loadDynamicKeys } from './db/dynamic-partitions.js';
import { type AssetGraph, type AssetNode, buildGraph, topologicalOrder } from './graph.js';
import { type DynamicKeys, isPartitionKey } from './partition-keys.js';

type Batch = z.output<typeof AssetEventBatchRequest>;
type Event = Batch['events'][number];

const MAX_ERRORS = 50;

/** A run's parameters as the assets flow reads them; null for a run whose parameters are not an asset selection. */
export function runSelection(run: AssetRun): z.output<typeof AssetRunParameters> | null {
  const parsed = AssetRunParameters.safeParse(run.parameters);
  return parsed.success ? parsed.data : null;
}

/**
 * The assets a run works on: the ones its parameters list, or — none listed (a scheduled run, say) —
 * every asset its deployment defines, in dependency order.
 */
export function selectedAssets(run: AssetRun, selection: z.output<typeof AssetRunParameters>, graph: AssetGraph): string[] {
  if (selection.assets.length > 0) return selection.assets;
  const own = [...graph.nodes.values()].filter((n) => n.deploymentId === run.deploymentId).map((n) => n.key);
  return topologicalOrder(graph, own);
}

/** Which partition keys of `def` the run may report on: its own, its range's, or (a run without either) any key. */
function partitionAllowed(
  run: AssetRun,
  selection: z.output<typeof AssetRunParameters>,
  def: PartitionsDefinition,
  dynamic: DynamicKeys,
  rangeKeys: Map<PartitionsDefinition, { offset: number; count: number } | null>,
): (key: string) => boolean {
  if (run.partitionKey !== null) return (key) => key === run.partitionKey;
  const range = selection.partitionRange;
  if (range) {
    const o = { dynamicKeys: (name: string) => dynamic.get(name) ?? [] };
    let bounds = rangeKeys.get(def);
    if (bounds === undefined) {
      // The range's place among the keys, not its list: a key is in it when its index falls inside.
      try {
        bounds = partitionRangeBounds(def, range.start, range.end, o);
      } catch {
        bounds = null;
      }
      rangeKeys.set(def, bounds);
    }
    const allowed = bounds;
    return (key) => {
      if (allowed === null) return false;
      const at = partitionKeyIndex(def, key, o);
      return at >= allowed.offset && at < allowed.offset + allowed.count;
    };
  }
  return (key) => isPartitionKey(def, key, dynamic);
}

function byteLength(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value), 'utf8');
}

/**
 * Checks every event of a batch against the run and the asset definitions; all problems at once,
 * each naming its field (`body.events.3.partitionKey`).
 */
function validate(run: AssetRun, events: readonly Event[], graph: AssetGraph, dynamic: DynamicKeys): FieldError[] {
  const errors: FieldError[] = [];
  const nodes: ReadonlyMap<string, AssetNode> = graph.nodes;
  const selection = runSelection(run);
  const selected = new Set(selection ? selectedAssets(run, selection, graph) : []);
  const rangeKeys = new Map<PartitionsDefinition, { offset: number; count: number } | null>();
  const ids = new Set<string>();
  const targets = new Set<string>();
  for (const [i, event] of events.entries()) {
    const at = `body.events.${i}`;
    if (ids.has(event.id)) errors.push({ path: `${at}.id`, message: 'this event id is repeated in the batch' });
    ids.add(event.id);
    if (!selection || !selected.has(event.assetKey)) {
      errors.push({ path: `${at}.assetKey`, message: `the run's parameters do not select "${event.assetKey}"` });
      continue;
    }
    const node = nodes.get(event.assetKey);
    if (!node) {
      errors.push({ path: `${at}.assetKey`, message: `"${event.assetKey}" is not defined in the workspace` });
      continue;
    }
    if (node.partitions === null) {
      if (event.partitionKey !== null) {
        errors.push({ path: `${at}.partitionKey`, message: `"${event.assetKey}" is not partitioned: the key must be null` });
      }
    } else if (event.partitionKey === null) {
      errors.push({ path: `${at}.partitionKey`, message: `"${event.assetKey}" is partitioned: name the partition` });
    } else if (!partitionAllowed(run, selection, node.partitions, dynamic, rangeKeys)(event.partitionKey)) {
      errors.push({
        path: `${at}.partitionKey`,
        message: `"${event.partitionKey}" is not a partition of "${event.assetKey}" this run works on`,
      });
    }
    const target = `${event.kind === 'check' ? `check:${event.checkName}` : event.kind}\u0000${event.assetKey}\u0000${event.partitionKey ?? ''}`;
    if (targets.has(target)) {
      errors.push({ path: at, message: 'the batch reports this more than once for the same asset partition' });
    }
    targets.add(target);
    if ((event.kind === 'materialization' || event.kind === 'check') && byteLength(event.metadata) > ASSET_METADATA_MAX_BYTES) {
      errors.push({ path: `${at}.metadata`, message: `metadata is limited to ${ASSET_METADATA_MAX_BYTES} bytes of JSON` });
    }
    if (event.kind === 'check' && !node.checks.some((c) => c.name === event.checkName)) {
      errors.push({ path: `${at}.checkName`, message: `"${event.assetKey}" declares no check "${event.checkName}"` });
    }
    if (errors.length >= MAX_ERRORS) break;
  }
  return errors;
}

/**
 * What each materialisation consumed, by the definitions as they are now: every upstream its asset
 * depends on, partition to partition when both are partitioned alike (the rule staleness uses),
 * else the upstream as a whole.
 */
function inputSpecs(graph: AssetGraph, materializations: readonly NewMaterialization[]): InputSpec[] {
  const specs: InputSpec[] = [];
  for (const m of materializations) {
    const node = graph.nodes.get(m.assetKey);
    if (!node) continue;
    for (const depKey of node.deps) {
      const up = graph.nodes.get(depKey);
      const partitioned = up?.partitions != null;
      const aligned =
        partitioned &&
        node.partitions !== null &&
        m.partitionKey !== null &&
        samePartitioning(node.partitions, up?.partitions ?? null);
      specs.push({ materializationId: m.id, upstreamKey: depKey, partitioned, partitionKey: aligned ? m.partitionKey : null });
    }
  }
  return specs;
}

/**
 * Records a run's report on its assets: materialisations, failures and check results, each once by
 * its event id (a repeated report, or one of its events, records nothing again). Only the run's
 * current attempt reports; a run reports only on the assets (and partitions) its parameters select.
 * Returns how many events were new.
 */
export async function recordAssetEvents(
  sql: Sql,
  input: { workspaceId: string; flowRunId: string; batch: Batch },
): Promise<number> {
  const { workspaceId, flowRunId, batch } = input;
  const run = await getAssetRun(sql, workspaceId, flowRunId);
  if (!run) throw notFound('flow run');
  if (batch.attempt !== run.attempt) throw new DomainError('stale_attempt', `the flow run is at attempt ${run.attempt}`);
  const graph = buildGraph(await loadAssetNodes(sql, workspaceId));
  const names = new Set<string>();
  for (const event of batch.events) {
    const def = graph.nodes.get(event.assetKey)?.partitions;
    if (def) for (const name of dynamicPartitionNames(def)) names.add(name);
  }
  const dynamic = await loadDynamicKeys(sql, workspaceId, [...names]);
  const errors = validate(run, batch.events, graph, dynamic);
  if (errors.length > 0) throw new DomainError('validation_failed', 'the asset events are invalid', { errors });

  return sql.begin(async (tx) => {
    const locked = await lockAssetRun(tx, workspaceId, flowRunId);
    if (!locked) throw notFound('flow run');
    if (locked.attempt !== batch.attempt) throw new DomainError('stale_attempt', `the flow run is at attempt ${locked.attempt}`);
    const recorded = await recordedEventIds(
      tx,
      batch.events.map((e) => e.id),
    );
    for (const owner of recorded.values()) {
      // Someone else's id is refused alike whoever owns it, so the answer reveals nothing about the owner.
      if (owner.workspaceId !== workspaceId || owner.flowRunId !== flowRunId) {
        throw new DomainError('conflict', 'an asset event id of this batch is already in use');
      }
    }
    const fresh = batch.events.filter((e) => !recorded.has(e.id));

    const materializations: NewMaterialization[] = [];
    const failures: NewFailure[] = [];
    const checks: NewCheckResult[] = [];
    for (const e of fresh) {
      if (e.kind === 'materialization') {
        materializations.push({
          id: e.id,
          assetKey: e.assetKey,
          partitionKey: e.partitionKey,
          codeVersion: e.codeVersion,
          dataVersion: e.dataVersion,
          metadata: e.metadata,
          durationMs: e.durationMs,
        });
      } else if (e.kind === 'failure') {
        failures.push({ id: e.id, assetKey: e.assetKey, partitionKey: e.partitionKey, message: e.message });
      } else {
        checks.push({
          id: e.id,
          assetKey: e.assetKey,
          checkName: e.checkName,
          partitionKey: e.partitionKey,
          materializationId: e.materializationId,
          passed: e.passed,
          severity: e.severity,
          blocking: e.blocking,
          metadata: e.metadata,
        });
      }
    }
    const attempt = { workspaceId, flowRunId, attempt: batch.attempt };
    await insertMaterializations(tx, attempt, materializations);
    await insertMaterializationInputs(tx, workspaceId, inputSpecs(graph, materializations));
    await insertFailures(tx, attempt, failures);

    // A check names the materialisation it checked: one of this run's, of the same asset.
    const named = checks.flatMap((c) => (c.materializationId ? [c.materializationId] : []));
    if (named.length > 0) {
      const own = new Map((await runMaterializations(tx, workspaceId, flowRunId, { ids: named })).map((m) => [m.id, m]));
      const bad: FieldError[] = [];
      for (const [i, event] of batch.events.entries()) {
        if (event.kind !== 'check' || event.materializationId === null || recorded.has(event.id)) continue;
        const m = own.get(event.materializationId);
        if (!m || m.assetKey !== event.assetKey || m.partitionKey !== event.partitionKey) {
          bad.push({
            path: `body.events.${i}.materializationId`,
            message: 'not a materialisation of this asset partition by this run',
          });
        }
      }
      if (bad.length > 0) throw new DomainError('validation_failed', 'the asset events are invalid', { errors: bad });
    }
    await insertCheckResults(tx, attempt, checks);
    return fresh.length;
  });
}
