import { randomUUID } from 'node:crypto';
import type { AssetEvent, AssetGateResponse } from '../contracts/assets.js';
import { ASSET_METADATA_MAX_BYTES } from '../contracts/limits.js';
import type { PartitionsDefinition } from '../contracts/partitions.js';
import { partitionInfo, partitionKeys, partitionKeysInRange, samePartitioning } from '../partitions/index.js';
import { canonicalJson, NotCacheableError, sha256Hex } from '../runtime/cache.js';
import { currentScope, runContext, taskContext } from '../runtime/context.js';
import { describeError, toError } from '../runtime/errors.js';
import { log } from '../runtime/logger.js';
import type { Reporter } from '../runtime/reporter.js';
import { TaskCache } from '../runtime/task-cache.js';
import { mapWithConcurrency } from '../runtime/task-map.js';
import { runTask, type TaskRunSettings } from '../runtime/task-run.js';
import {
  type AnyAsset,
  type AssetCheck,
  type AssetContext,
  type AssetImpl,
  assetImpl,
  type CheckContext,
  type CheckOutcome,
  type PartitionRange,
} from './asset.js';
import { AssetValueMissingError, defaultIO, type IOContext, type IOManager, type MetadataValue, type StoreResult } from './io.js';
import { assetRegistry } from './registry.js';

/** What one run of the assets flow does. */
export interface AssetRunPlan {
  /** In dependency order. */
  assets: readonly AnyAsset[];
  checksOnly: boolean;
  partition: string | null;
  partitionRange: { start: string; end: string } | null;
}

export interface AssetRunOutcome {
  /** Every event reported, in order. */
  events: AssetEvent[];
  /** What could not be materialised or checked, and why. */
  failures: { assetKey: string; partitionKey: string | null; message: string }[];
  /** The values materialised in this run, by asset key and partition key (null: unpartitioned). */
  values: Map<string, Map<string | null, unknown>>;
}

/** The run materialised or checked less than it was asked to: the assets flow ends FAILED. */
export class AssetRunError extends Error {
  override readonly name = 'AssetRunError';
  /** What the run did, values included: not enumerable, so printing the error never prints data. */
  declare readonly outcome: AssetRunOutcome;
  constructor(outcome: AssetRunOutcome, message: string) {
    super(message);
    Object.defineProperty(this, 'outcome', { value: outcome, enumerable: false });
    // The failures were reported one by one; a stack into the engine would say nothing more.
    this.stack = `${this.name}: ${message}`;
  }
}

/** One call of an asset's function: a partition, a range of them, or the unpartitioned asset. */
interface Slot {
  /** The partition, or null (unpartitioned, or a range of more than one). */
  key: string | null;
  range: PartitionRange | null;
  /** The partitions its events are about (`[null]` when unpartitioned). */
  keys: (string | null)[];
}

type SlotStatus = { ok: true } | { ok: false; downstream: string };

/** An error as a failure's message: a plain `Error` by its message alone, any other kind with its name. */
function reasonOf(thrown: unknown): string {
  const error = toError(thrown);
  return error.name === 'Error' ? error.message : describeError(error);
}

const suffix = (partitionKey: string | null) => (partitionKey === null ? '' : ` for partition ${partitionKey}`);

function metadataSize(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value), 'utf8');
}

/** Metadata as recorded: JSON, at most ASSET_METADATA_MAX_BYTES (else replaced by a note saying so). */
function fitMetadata(metadata: Record<string, unknown>, what: string): Record<string, MetadataValue> {
  let size: number;
  try {
    canonicalJson(metadata);
    size = metadataSize(metadata);
  } catch (error) {
    log.warning(`${what}: metadata dropped, it is not plain JSON: ${reasonOf(error)}`);
    return { metadataDropped: 'not plain JSON' };
  }
  if (size <= ASSET_METADATA_MAX_BYTES) return metadata as Record<string, MetadataValue>;
  log.warning(`${what}: metadata dropped, it is ${size} bytes (at most ${ASSET_METADATA_MAX_BYTES})`);
  return { metadataDropped: `${size} bytes, over ${ASSET_METADATA_MAX_BYTES}` };
}

/** The asset an upstream key names in this process, if any. */
function resolveDep(impl: AssetImpl, key: string): AnyAsset | null {
  const own = impl.depAssets.get(key);
  if (own) return own;
  const registered = assetRegistry().get(key)?.asset;
  return assetImpl(registered) ? (registered as AnyAsset) : null;
}

function ioOf(asset: AnyAsset): IOManager {
  return assetImpl(asset)?.io ?? defaultIO();
}

/**
 * Materialises (or, with `checksOnly`, checks) the plan's assets in order, inside the current flow
 * run: each asset's function runs as a task run of it; its value is written through its I/O
 * manager and its checks run right after — on the staged copy when the manager stages, publishing
 * only data whose blocking checks passed. Upstream values come from this run's memory when the
 * upstream was materialised here, else through the upstream's I/O manager. What the gate says is
 * blocked is not materialised; what it says an earlier attempt materialised is skipped. Downstream
 * of a failure or a failed blocking check is skipped too. Every outcome is reported as an asset
 * event; throws `AssetRunError` at the end when anything failed.
 */
export async function runAssets(plan: AssetRunPlan): Promise<AssetRunOutcome> {
  const scope = currentScope().run;
  if (!scope) throw new Error('assets are materialised inside a run of the assets flow');
  const reporter = scope.reporter;
  const outcome: AssetRunOutcome = { events: [], failures: [], values: new Map() };
  const gate: AssetGateResponse = await reporter.assetGate();
  const statuses = new Map<string, Map<string | null, SlotStatus>>();
  const runner = new AssetRunner(plan, reporter, gate, outcome, statuses);
  for (const asset of plan.assets) {
    if (scope.signal.aborted) throw scope.signal.reason;
    await runner.run(asset);
  }
  if (outcome.failures.length > 0) {
    const first = outcome.failures
      .slice(0, 5)
      .map((f) => `${f.assetKey}${f.partitionKey === null ? '' : ` [${f.partitionKey}]`}: ${f.message}`);
    const more = outcome.failures.length > 5 ? `; and ${outcome.failures.length - 5} more` : '';
    throw new AssetRunError(
      outcome,
      `${outcome.failures.length} asset(s) not ${plan.checksOnly ? 'checked' : 'materialised'}: ${first.join('; ')}${more}`,
    );
  }
  return outcome;
}

class AssetRunner {
  constructor(
    private readonly plan: AssetRunPlan,
    private readonly reporter: Reporter,
    private readonly gate: AssetGateResponse,
    private readonly outcome: AssetRunOutcome,
    private readonly statuses: Map<string, Map<string | null, SlotStatus>>,
  ) {}

  private async report(events: AssetEvent[]): Promise<void> {
    for (let i = 0; i < events.length; i += 1_000) {
      const batch = events.slice(i, i + 1_000);
      await this.reporter.reportAssetEvents(batch);
      this.outcome.events.push(...batch);
    }
  }

  private setStatus(asset: AnyAsset, keys: (string | null)[], status: SlotStatus): void {
    let map = this.statuses.get(asset.key);
    if (!map) {
      map = new Map();
      this.statuses.set(asset.key, map);
    }
    for (const key of keys) map.set(key, status);
  }

  private remember(asset: AnyAsset, key: string | null, value: unknown): void {
    let map = this.outcome.values.get(asset.key);
    if (!map) {
      map = new Map();
      this.outcome.values.set(asset.key, map);
    }
    map.set(key, value);
  }

  /** Records that `keys` of `asset` were not materialised: a failure event each, and a reason for downstream. */
  private async fail(asset: AnyAsset, keys: (string | null)[], message: string, downstream?: string): Promise<void> {
    const text = message.slice(0, 4000);
    for (const partitionKey of keys) this.outcome.failures.push({ assetKey: asset.key, partitionKey, message: text });
    this.setStatus(asset, keys, { ok: false, downstream: downstream ?? `upstream ${asset.key} was not materialised` });
    if (this.plan.checksOnly) {
      for (const key of keys) log.error(`${asset.key}${suffix(key)}: ${text}`);
      return;
    }
    await this.report(
      keys.map((partitionKey) => ({ kind: 'failure', id: randomUUID(), assetKey: asset.key, partitionKey, message: text })),
    );
  }

  /** The calls of `asset`'s function this run makes. Throws with a message for the failure event. */
  private slotsOf(asset: AnyAsset): Slot[] {
    const def = asset.partitions;
    if (def === null) return [{ key: null, range: null, keys: [null] }];
    const { partition, partitionRange } = this.plan;
    if (partitionRange) {
      if (def.kind === 'dynamic' || (def.kind === 'multi' && def.dimensions.some((d) => d.partitions.kind === 'dynamic'))) {
        throw new Error('a run over a range cannot list the keys of dynamic partitions; run one partition at a time');
      }
      const keys = partitionKeysInRange(def, partitionRange.start, partitionRange.end);
      if (asset.acceptsRange) {
        const range = { start: partitionRange.start, end: partitionRange.end, keys: Object.freeze([...keys]) };
        return [{ key: keys.length === 1 ? (keys[0] as string) : null, range, keys }];
      }
      return keys.map((key) => ({ key, range: null, keys: [key] }));
    }
    if (partition === null) throw new Error(`${asset.key} is partitioned: materialise it with a partition (or a range)`);
    partitionInfo(def, partition);
    const range = asset.acceptsRange ? { start: partition, end: partition, keys: Object.freeze([partition]) } : null;
    return [{ key: partition, range, keys: [partition] }];
  }

  async run(asset: AnyAsset): Promise<void> {
    const impl = assetImpl(asset) as AssetImpl;
    let slots: Slot[];
    try {
      slots = this.slotsOf(asset);
    } catch (error) {
      await this.fail(asset, [asset.partitions === null ? null : this.plan.partition], reasonOf(error));
      return;
    }
    const blocked = this.gate.blocked.find((b) => b.assetKey === asset.key);
    if (blocked && !this.plan.checksOnly) {
      const by = `${blocked.by.assetKey}:${blocked.by.checkName}`;
      const message = `blocked: blocking check ${by} failed${suffix(blocked.by.partitionKey)} and is not waived`;
      await this.fail(
        asset,
        slots.flatMap((s) => s.keys),
        message,
        `blocking check ${by} failed${suffix(blocked.by.partitionKey)}`,
      );
      return;
    }
    await mapWithConcurrency(slots, impl.concurrency, (slot) => this.runSlot(asset, impl, slot));
  }

  private async runSlot(asset: AnyAsset, impl: AssetImpl, slot: Slot): Promise<void> {
    const done = this.gate.materialized.filter((m) => m.assetKey === asset.key);
    if (!this.plan.checksOnly && slot.keys.every((k) => done.some((m) => m.partitionKey === k))) {
      log.info(`${asset.key}${suffix(slot.key)}: already materialised by an earlier attempt of this run; skipped`);
      this.setStatus(asset, slot.keys, { ok: true });
      return;
    }
    // Checks of stored data need nothing from upstream; a materialisation needs its upstream to have succeeded.
    const problem = this.plan.checksOnly ? null : this.upstreamProblem(asset, slot);
    if (problem) {
      await this.fail(asset, slot.keys, `skipped: ${problem}`, problem);
      return;
    }
    if (this.plan.checksOnly) await this.checkOnly(asset, impl, slot);
    else await this.materialize(asset, impl, slot);
  }

  /** Why `slot` must not run: an upstream of this run failed or failed a blocking check; null if none did. */
  private upstreamProblem(asset: AnyAsset, slot: Slot): string | null {
    for (const depKey of asset.deps) {
      const status = this.statuses.get(depKey);
      if (!status) continue;
      const dep = resolveDep(assetImpl(asset) as AssetImpl, depKey);
      const lined = dep?.partitions && asset.partitions && samePartitioning(dep.partitions, asset.partitions);
      const keys = dep && dep.partitions === null ? [null] : lined ? slot.keys : [...status.keys()];
      for (const key of keys) {
        const s = status.get(key);
        if (s && !s.ok) return s.downstream;
      }
    }
    return null;
  }

  private ioContext(asset: AnyAsset, partitionKey: string | null): IOContext {
    const run = runContext();
    return Object.freeze({
      assetKey: asset.key,
      partitionKey,
      partitions: asset.partitions,
      runId: run.runId,
      attempt: run.attempt,
      signal: currentScope().task?.signal ?? currentScope().run?.signal ?? new AbortController().signal,
      log,
    });
  }

  /** One upstream value, from this run's memory or through the upstream's I/O manager. */
  private async loadOne(dep: AnyAsset, key: string | null): Promise<unknown> {
    const memory = this.outcome.values.get(dep.key);
    if (memory?.has(key)) return memory.get(key);
    return ioOf(dep).load(this.ioContext(dep, key));
  }

  /** What the function receives for each dep, in order. */
  private async inputsFor(asset: AnyAsset, impl: AssetImpl, slot: Slot): Promise<unknown[]> {
    const inputs: unknown[] = [];
    for (const depKey of asset.deps) {
      const dep = resolveDep(impl, depKey);
      if (!dep) {
        inputs.push(undefined);
        continue;
      }
      try {
        inputs.push(await this.inputFrom(dep, asset, slot));
      } catch (error) {
        if (error instanceof AssetValueMissingError) {
          throw new Error(`${error.message}: materialise ${dep.key} first`);
        }
        throw new Error(`reading upstream ${dep.key} failed: ${reasonOf(error)}`);
      }
    }
    return inputs;
  }

  private async inputFrom(dep: AnyAsset, asset: AnyAsset, slot: Slot): Promise<unknown> {
    if (dep.partitions === null) return this.loadOne(dep, null);
    const lined = asset.partitions !== null && samePartitioning(dep.partitions, asset.partitions);
    if (asset.partitions !== null && !asset.acceptsRange) {
      const key = slot.key as string;
      try {
        partitionInfo(dep.partitions, key);
      } catch {
        throw new Error(`partition ${key} of ${asset.key} is no partition of its upstream ${dep.key}`);
      }
      return this.loadOne(dep, key);
    }
    // A record by partition key: the range's partitions, or every partition the upstream has.
    const keys = lined && slot.range ? [...slot.range.keys] : this.knownKeys(dep);
    const record: Record<string, unknown> = {};
    for (const key of keys) {
      try {
        record[key] = await this.loadOne(dep, key);
      } catch (error) {
        if (!(error instanceof AssetValueMissingError) || lined) throw error;
      }
    }
    return record;
  }

  /** Every key of a partitioned upstream (the ones this run materialised, for dynamic partitions). */
  private knownKeys(dep: AnyAsset): string[] {
    const def = dep.partitions as PartitionsDefinition;
    const inMemory = [...(this.outcome.values.get(dep.key)?.keys() ?? [])].filter((k): k is string => k !== null);
    const dynamic =
      def.kind === 'dynamic' || (def.kind === 'multi' && def.dimensions.some((d) => d.partitions.kind === 'dynamic'));
    if (dynamic) return inMemory;
    const keys = partitionKeys(def);
    for (const k of inMemory) if (!keys.includes(k)) keys.push(k);
    return keys;
  }

  /**
   * A slot's task run is named for the asset and the partitions it covers, so a run over several
   * partitions shows one row per partition (`raw/events [2026-01-03]`), not several identical rows.
   */
  private taskSettings(asset: AnyAsset, impl: AssetImpl, slot: Slot): TaskRunSettings {
    const first = slot.range?.keys[0];
    const last = slot.range?.keys.at(-1);
    const covers =
      slot.key !== null
        ? slot.key
        : first !== undefined && last !== undefined
          ? first === last
            ? first
            : `${first}..${last}`
          : null;
    return {
      // The contract bounds a task run's name at 200 characters; a long multi-partition key is cut.
      name: (covers === null ? asset.key : `${asset.key} [${covers}]`).slice(0, 200),
      ...impl.retry,
    };
  }

  private async materialize(asset: AnyAsset, impl: AssetImpl, slot: Slot): Promise<void> {
    const started = Date.now();
    const io = ioOf(asset);
    // Write-audit-publish when a blocking check could stop the data and the manager can stage it.
    const wap = impl.checks.some((c) => c.blocking) && typeof io.stage === 'function' && typeof io.publish === 'function';
    const metadata: Record<string, MetadataValue> = {};
    let written: { key: string | null; value: unknown; stored: StoreResult | null }[];
    try {
      const inputs = await this.inputsFor(asset, impl, slot);
      written = await runTask(
        this.taskSettings(asset, impl, slot),
        async () => {
          const ctx = this.assetContext(asset, slot, metadata);
          const value = await this.compute(asset, impl, ctx, inputs);
          const units = this.unitsOf(asset, slot, value);
          const out: { key: string | null; value: unknown; stored: StoreResult | null }[] = [];
          for (const unit of units) {
            const ioCtx = this.ioContext(asset, unit.key);
            // An asset whose function returns nothing wrote its data itself: nothing to store.
            const stored =
              unit.value === undefined ? null : wap ? await io.stage!(ioCtx, unit.value) : await io.store(ioCtx, unit.value);
            out.push({ ...unit, stored });
          }
          return out;
        },
        [],
        undefined,
        null,
      );
    } catch (error) {
      await this.fail(asset, slot.keys, reasonOf(error));
      return;
    }
    const durationMs = Math.max(0, Math.round(Date.now() - started));
    for (const unit of written) {
      const staged = wap && unit.stored !== null;
      let checked: unknown = unit.value;
      if (staged && io.loadStaged) {
        try {
          checked = await io.loadStaged(this.ioContext(asset, unit.key));
        } catch (error) {
          await io.discardStaged?.(this.ioContext(asset, unit.key)).catch(() => undefined);
          await this.fail(asset, [unit.key], `reading the staged value back failed: ${reasonOf(error)}`);
          continue;
        }
      }
      const materializationId = randomUUID();
      const results = await this.runChecks(asset, impl, unit.key, checked, staged);
      const blocking = results.find((r) => r.check.blocking && !r.outcome.passed);
      const materialization: AssetEvent = {
        kind: 'materialization',
        id: materializationId,
        assetKey: asset.key,
        partitionKey: unit.key,
        codeVersion: asset.codeVersion,
        dataVersion: unit.stored?.dataVersion ?? null,
        metadata: fitMetadata({ ...(unit.stored?.metadata ?? {}), ...metadata }, `${asset.key}${suffix(unit.key)}`),
        durationMs,
      };
      if (staged && blocking) {
        // Write-audit-publish: failed data never reaches where downstream reads.
        await io.discardStaged?.(this.ioContext(asset, unit.key)).catch((error: unknown) => {
          log.warning(`${asset.key}${suffix(unit.key)}: removing the staged value failed: ${reasonOf(error)}`);
        });
        await this.report(this.checkEvents(asset, unit.key, results, null));
        const reason = `blocking check ${asset.key}:${blocking.check.name} failed${suffix(unit.key)}`;
        await this.fail(asset, [unit.key], `staged data not published: ${reason}`, reason);
        continue;
      }
      if (staged) {
        try {
          await io.publish!(this.ioContext(asset, unit.key));
        } catch (error) {
          await this.fail(asset, [unit.key], `publishing the staged value failed: ${reasonOf(error)}`);
          continue;
        }
      }
      await this.report([materialization, ...this.checkEvents(asset, unit.key, results, materializationId)]);
      this.remember(asset, unit.key, unit.value);
      if (blocking) {
        const reason = `blocking check ${asset.key}:${blocking.check.name} failed${suffix(unit.key)}`;
        this.outcome.failures.push({ assetKey: asset.key, partitionKey: unit.key, message: reason });
        this.setStatus(asset, [unit.key], { ok: false, downstream: reason });
      } else {
        this.setStatus(asset, [unit.key], { ok: true });
      }
    }
  }

  /** The function's value, or an earlier one from the result storage when caching is on and the key matches. */
  private async compute(asset: AnyAsset, impl: AssetImpl, ctx: AssetContext, inputs: unknown[]): Promise<unknown> {
    if (!impl.cache) return impl.fn(ctx, ...inputs);
    let material: string;
    try {
      material = impl.cacheKey
        ? impl.cacheKey(ctx)
        : sha256Hex(
            canonicalJson({
              codeVersion: asset.codeVersion,
              partition: ctx.partition?.key ?? null,
              range: ctx.partitionRange?.keys ?? null,
              inputs,
            }),
          );
      if (typeof material !== 'string') throw new TypeError('cacheKey must return a string');
    } catch (error) {
      const why = error instanceof NotCacheableError ? error.message : reasonOf(error);
      log.warning(`not cached: no cache key (${why}); pass cacheKey to choose one`);
      return impl.fn(ctx, ...inputs);
    }
    const cache = new TaskCache<[string]>(
      { name: `asset:${asset.key}`, cacheKey: (key) => key, cacheExpirationSeconds: impl.cacheExpirationSeconds },
      impl.fn as unknown as (...args: [string]) => unknown,
    );
    const inScope = (fn: () => void) => fn();
    const lookup = await cache.lookup([material], inScope);
    if (lookup?.hit) return lookup.hit.value;
    const value = await impl.fn(ctx, ...inputs);
    if (lookup) await cache.store(lookup.key, value, inScope);
    return value;
  }

  /** The values to write, one per partition: a range-accepting function returns a record by key. */
  private unitsOf(asset: AnyAsset, slot: Slot, value: unknown): { key: string | null; value: unknown }[] {
    if (!slot.range) return [{ key: slot.key, value }];
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new TypeError(`${asset.key} accepts ranges: its function must return a record of values by partition key`);
    }
    const record = value as Record<string, unknown>;
    const missing = slot.range.keys.filter((k) => !(k in record));
    if (missing.length > 0) {
      throw new TypeError(`${asset.key} returned no value for partition(s) ${missing.slice(0, 5).join(', ')} of its range`);
    }
    return slot.range.keys.map((key) => ({ key, value: record[key] }));
  }

  private assetContext(asset: AnyAsset, slot: Slot, metadata: Record<string, MetadataValue>): AssetContext {
    const def = asset.partitions;
    const addMetadata = (values: Record<string, MetadataValue>) => {
      if (values === null || typeof values !== 'object' || Array.isArray(values)) {
        throw new TypeError('addMetadata takes an object of JSON values');
      }
      const next = { ...metadata, ...values };
      try {
        canonicalJson(next);
      } catch (error) {
        throw new TypeError(`addMetadata: ${reasonOf(error)}`);
      }
      const size = metadataSize(next);
      if (size > ASSET_METADATA_MAX_BYTES) {
        throw new RangeError(
          `addMetadata: metadata would be ${size} bytes, more than ${ASSET_METADATA_MAX_BYTES}; record data, not metadata, through the I/O manager`,
        );
      }
      Object.assign(metadata, values);
    };
    return Object.freeze({
      ...runContext(),
      assetKey: asset.key,
      codeVersion: asset.codeVersion,
      partition: def !== null && slot.key !== null ? partitionInfo(def, slot.key) : null,
      partitionRange: slot.range,
      log,
      signal: taskContext().signal,
      addMetadata,
    }) as AssetContext;
  }

  private async runChecks(
    asset: AnyAsset,
    impl: AssetImpl,
    partitionKey: string | null,
    value: unknown,
    staged: boolean,
  ): Promise<{ check: AssetCheck; outcome: { passed: boolean; metadata: Record<string, MetadataValue> } }[]> {
    const results = [];
    for (const c of impl.checks) {
      const outcome = await runTask(
        {
          name: `${asset.key}:${c.name}${partitionKey === null ? '' : ` [${partitionKey}]`}`.slice(0, 200),
          retries: 0,
          retryDelaySeconds: 0,
          backoff: 1,
          jitter: 0,
        },
        async () => {
          const ctx: CheckContext = Object.freeze({
            assetKey: asset.key,
            checkName: c.name,
            partitionKey,
            staged,
            log,
            signal: taskContext().signal,
          });
          try {
            const result: boolean | CheckOutcome = await c.fn(value, ctx);
            if (typeof result === 'boolean') return { passed: result, metadata: {} };
            if (result === null || typeof result !== 'object' || typeof result.passed !== 'boolean') {
              throw new TypeError('a check must return a boolean or { passed, metadata }');
            }
            return { passed: result.passed, metadata: result.metadata ?? {} };
          } catch (error) {
            const message = reasonOf(error);
            log.error(`check ${asset.key}:${c.name} failed with an error: ${message}`);
            return { passed: false, metadata: { error: message.slice(0, 2000) } };
          }
        },
        [],
        undefined,
        null,
      );
      if (!outcome.passed) {
        log.warning(`check ${asset.key}:${c.name}${suffix(partitionKey)} failed${c.blocking ? ' (blocking)' : ''}`);
      }
      results.push({ check: c, outcome: { passed: outcome.passed, metadata: fitMetadata(outcome.metadata, `check ${c.name}`) } });
    }
    return results;
  }

  private checkEvents(
    asset: AnyAsset,
    partitionKey: string | null,
    results: { check: AssetCheck; outcome: { passed: boolean; metadata: Record<string, MetadataValue> } }[],
    materializationId: string | null,
  ): AssetEvent[] {
    return results.map(({ check: c, outcome }) => ({
      kind: 'check',
      id: randomUUID(),
      assetKey: asset.key,
      checkName: c.name,
      partitionKey,
      materializationId,
      passed: outcome.passed,
      severity: c.severity,
      blocking: c.blocking,
      metadata: outcome.metadata,
    }));
  }

  /** `checksOnly`: the stored value of each partition, checked. */
  private async checkOnly(asset: AnyAsset, impl: AssetImpl, slot: Slot): Promise<void> {
    for (const key of slot.keys) {
      let value: unknown;
      try {
        value = await ioOf(asset).load(this.ioContext(asset, key));
      } catch (error) {
        await this.fail(asset, [key], `cannot check: ${reasonOf(error)}`);
        continue;
      }
      const results = await this.runChecks(asset, impl, key, value, false);
      await this.report(this.checkEvents(asset, key, results, null));
      const blocking = results.find((r) => r.check.blocking && !r.outcome.passed);
      if (blocking) {
        const reason = `blocking check ${asset.key}:${blocking.check.name} failed${suffix(key)}`;
        this.outcome.failures.push({ assetKey: asset.key, partitionKey: key, message: reason });
        this.setStatus(asset, [key], { ok: false, downstream: reason });
      } else {
        this.setStatus(asset, [key], { ok: true });
      }
    }
  }
}
