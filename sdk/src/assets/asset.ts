import { createHash } from 'node:crypto';
import * as z from 'zod';
import type { AssetDefinitionInput, CheckSeverity as CheckSeverityType } from '../contracts/assets.js';
import { assetSchemas } from '../contracts/assets-schemas.js';
import { commonSchemas } from '../contracts/common-schemas.js';
import type { PartitionsDefinition } from '../contracts/partitions.js';
import { partitionSchemas } from '../contracts/partitions-schemas.js';
import type { PartitionInfo } from '../partitions/index.js';
import type { RunContext } from '../runtime/context.js';
import { lazy } from '../runtime/lazy.js';
import type { Logger } from '../runtime/logger.js';
import { type RetryOptions, type RetrySettings, retryOptionFields, retrySettingsOf } from '../runtime/retry.js';
import { type AutomationCondition, automationPolicy, type FreshnessPolicy, freshnessPolicy } from './automation.js';
import { ensureAssetFlow } from './flow.js';
import type { IOManager, MetadataValue } from './io.js';
import { callSite, registerAsset } from './registry.js';

/** The inclusive range of partitions a run materialises at once (assets with `acceptsRange`). */
export interface PartitionRange {
  readonly start: string;
  readonly end: string;
  /** Every key from `start` to `end`, in definition order. */
  readonly keys: readonly string[];
}

/**
 * What an asset's function receives first: the run's context, the partition it materialises, a
 * logger and signal of the task run it runs as, and a place for metadata about what it made.
 * `P`: the asset is partitioned; `R`: it accepts ranges.
 */
export interface AssetContext<P extends boolean = boolean, R extends boolean = boolean> extends RunContext {
  readonly assetKey: string;
  readonly codeVersion: string;
  /**
   * The partition being materialised: its key, time window and dimensions. Null for an
   * unpartitioned asset, and for an asset that accepts ranges when the run covers more than one.
   */
  readonly partition: P extends true ? (R extends true ? PartitionInfo | null : PartitionInfo) : null;
  /** For an asset that accepts ranges: the partitions to materialise (one, for a single-partition run). */
  readonly partitionRange: P extends true ? (R extends true ? PartitionRange : null) : null;
  /** Lines belong to the asset's task run. */
  readonly log: Logger;
  /** Fires when the run is cancelled or the asset's `timeoutSeconds` passes. */
  readonly signal: AbortSignal;
  /**
   * Declared metadata of this materialisation (row counts, a model's metrics…), recorded with it
   * next to what the I/O manager reports. JSON values, at most 16 KiB in all. Never put data here.
   */
  addMetadata(values: Record<string, MetadataValue>): void;
}

/** What a check function receives next to the asset's value. */
export interface CheckContext {
  readonly assetKey: string;
  readonly checkName: string;
  /** The partition checked; null for an unpartitioned asset. */
  readonly partitionKey: string | null;
  /** True when the value is staged and is published only if the blocking checks pass (write-audit-publish). */
  readonly staged: boolean;
  readonly log: Logger;
  readonly signal: AbortSignal;
}

export interface CheckOutcome {
  passed: boolean;
  /** Declared metadata about the result (counts, thresholds), never the data. */
  metadata?: Record<string, MetadataValue>;
}

export type CheckFunction<T> = (value: T, ctx: CheckContext) => boolean | CheckOutcome | Promise<boolean | CheckOutcome>;

export interface CheckOptions {
  /**
   * A failed blocking check stops every downstream asset, in this run and every later one, until
   * a passing result or a waiver. @default false
   */
  blocking?: boolean;
  /** @default 'ERROR' */
  severity?: CheckSeverityType;
  /** @default undefined */
  description?: string;
}

/** A check declared with an asset (see `check`). */
// biome-ignore lint/suspicious/noExplicitAny: a check of any value unless its function says which.
export interface AssetCheck<T = any> {
  readonly name: string;
  readonly blocking: boolean;
  readonly severity: CheckSeverityType;
  readonly description: string | undefined;
  /** A method, so an asset of a narrower value still counts as an asset of a wider one. */
  fn(value: T, ctx: CheckContext): boolean | CheckOutcome | Promise<boolean | CheckOutcome>;
}

// Built when first used, so importing the SDK builds none of it.
const CheckOptionsSchema = lazy(() =>
  z.strictObject({
    blocking: z.boolean().default(false),
    severity: assetSchemas().CheckSeverity.default('ERROR'),
    description: z.string().max(2000).optional(),
  }),
);

function invalid(what: string, error: z.ZodError): TypeError {
  const detail = error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
  return new TypeError(`invalid ${what}: ${detail}`);
}

/**
 * A data-quality check of an asset: runs on the worker right after the asset is materialised (on
 * the staged data when its I/O manager stages), or alone with `outpost assets check`. Return a
 * boolean or `{ passed, metadata }`; a check that throws has failed.
 * @example
 * check('no_null_ids', { blocking: true }, (df: Frame) => ({ passed: df.nullIds === 0, metadata: { nullIds: df.nullIds } }))
 */
// biome-ignore lint/suspicious/noExplicitAny: a check of any value unless its function says which.
export function check<T = any>(name: string, fn: CheckFunction<T>): AssetCheck<T>;
// biome-ignore lint/suspicious/noExplicitAny: as above.
export function check<T = any>(name: string, options: CheckOptions, fn: CheckFunction<T>): AssetCheck<T>;
export function check<T>(name: string, optionsOrFn: CheckOptions | CheckFunction<T>, maybeFn?: CheckFunction<T>): AssetCheck<T> {
  const fn = typeof optionsOrFn === 'function' ? optionsOrFn : maybeFn;
  const options = typeof optionsOrFn === 'function' ? {} : optionsOrFn;
  const checkedName = assetSchemas().CheckName.safeParse(name);
  if (!checkedName.success) throw invalid(`check name '${String(name)}'`, checkedName.error);
  if (typeof fn !== 'function') throw new TypeError(`check '${name}' needs a function`);
  const parsed = CheckOptionsSchema().safeParse(options ?? {});
  if (!parsed.success) throw invalid(`options of check '${name}'`, parsed.error);
  const { blocking, severity, description } = parsed.data;
  return Object.freeze({ name, blocking, severity, description, fn });
}

declare const VALUE: unique symbol;
/** Where an asset keeps its function and settings for the engine. */
export const ASSET_IMPL: unique symbol = Symbol.for('outpost.asset.impl') as never;

/** The engine's view of an asset. */
export interface AssetImpl {
  fn: (ctx: AssetContext, ...values: unknown[]) => unknown;
  /** The asset objects among `deps`, by key (keys given as strings are absent). */
  depAssets: ReadonlyMap<string, AnyAsset>;
  io: IOManager | null;
  checks: readonly AssetCheck[];
  retry: RetrySettings;
  cache: boolean;
  cacheKey: ((ctx: AssetContext) => string) | undefined;
  cacheExpirationSeconds: number | undefined;
  concurrency: number;
}

/**
 * An asset: data your code produces, named by a key. Give it as a dep of other assets, to
 * `materialize()`, or deploy the module that defines it (`assets: true` in the config).
 */
export interface Asset<T = unknown, P extends boolean = boolean> {
  readonly key: string;
  /** Upstream asset keys. */
  readonly deps: readonly string[];
  readonly partitions: PartitionsDefinition | null;
  readonly partitioned: P;
  readonly acceptsRange: boolean;
  readonly codeVersion: string;
  readonly description: string | undefined;
  readonly owners: readonly string[];
  readonly tags: readonly string[];
  readonly group: string | undefined;
  readonly checks: readonly AssetCheck<T>[];
  readonly definedAt: string | null;
  /** What `outpost deploy` registers for it. */
  definition(): AssetDefinitionInput;
  /** @internal */
  readonly [ASSET_IMPL]: AssetImpl;
  /** Only for typing: the value the asset's function returns. */
  readonly [VALUE]?: T;
}

// biome-ignore lint/suspicious/noExplicitAny: any asset, whatever it holds.
export type AnyAsset = Asset<any, boolean>;

/**
 * An upstream: an asset object, or the key of one defined elsewhere. For a key, the function gets
 * the value when an asset of that key is defined in the same code (loaded through its I/O
 * manager), else undefined: it is lineage only, and the function reads the data itself.
 */
export type AssetDep = AnyAsset | string;

type IsPartitioned<PD> = [PD] extends [undefined] ? false : [PD] extends [PartitionsDefinition] ? true : boolean;

/** What the function receives for one upstream. */
export type DepValue<D, P extends boolean, R extends boolean> = D extends string
  ? unknown
  : D extends Asset<infer T, infer UP>
    ? UP extends false
      ? T
      : P extends true
        ? R extends true
          ? Record<string, T>
          : T
        : Record<string, T>
    : never;

export type DepValues<D extends readonly AssetDep[], P extends boolean, R extends boolean> = {
  -readonly [K in keyof D]: DepValue<D[K], P, R>;
};

/**
 * What `asset()` takes. Its retry options (`RetryOptions`) cover the function and the write of its
 * value, and its timeout fires the context's `signal`.
 */
export interface AssetOptions<T, D extends readonly AssetDep[], PD extends PartitionsDefinition | undefined, R extends boolean>
  extends RetryOptions {
  /** `features`, `raw/events`: `/`-separated segments of letters, digits, `_`, `.` and `-`. Unique. */
  key: string;
  /**
   * The assets this one is made from. The function receives each one's value after `ctx`, in this
   * order: the value itself, or — for a partitioned upstream of an unpartitioned asset, or of one
   * that accepts ranges — a record of values by partition key. @default []
   */
  deps?: D;
  /** Which partitions exist (`partitions.daily({ start })`…); each is materialised on its own. @default unpartitioned */
  partitions?: PD;
  /** Where the value is stored and read back. @default files under OUTPOST_ASSET_DIR or ~/.local/share/outpost/assets */
  io?: IOManager<NoInfer<T>>;
  /** Checks run right after each materialisation. @default [] */
  checks?: AssetCheck<NoInfer<T>>[];
  /** @default undefined */
  description?: string;
  /** People or teams, e.g. `team:ml` or an email. @default [] */
  owners?: string[];
  /** @default [] */
  tags?: string[];
  /** @default undefined */
  group?: string;
  /** @default a sha256 of the function's source and its checks' sources */
  codeVersion?: string;
  /**
   * Reuse the value of an earlier materialisation with the same cache key from the result storage
   * (still written through the I/O manager). The key is a sha256 of the code version, the partition
   * and the upstream values, unless `cacheKey` is given. Only JSON values are cached.
   * @default false, or true when `cacheKey` is given
   */
  cache?: boolean;
  cacheKey?: (ctx: AssetContext<IsPartitioned<PD>, R>) => string;
  /** @default undefined (until removed from the storage) */
  cacheExpirationSeconds?: number;
  /** In a run over a range, partitions of this asset materialised at once (when it does not accept ranges). @default 1 */
  concurrency?: number;
  /**
   * The function materialises a range of partitions in one call (`ctx.partitionRange`) and returns
   * a record of values by partition key. @default false
   */
  acceptsRange?: R;
  /**
   * When the control plane materialises the asset by itself: `onUpstreamUpdate()`,
   * `onCron('0 * * * *', 'Europe/Berlin')`, `onMissing()`, or several in an array. It needs the
   * asset deployed (`assets: true`). @default none
   */
  automation?: AutomationCondition | readonly AutomationCondition[];
  /**
   * How old the asset may get: `{ maxLagMinutes: 60 }` (at every moment), or
   * `{ maxLagMinutes: 180, cron: { cron: '0 9 * * *', timezone: 'Europe/Berlin' } }` (by each tick).
   * A violation raises the event `asset.freshness.violated` and shows the asset OVERDUE. @default none
   */
  freshness?: FreshnessPolicy;
}

const isFunction = (value: unknown) => typeof value === 'function';

// Built when first used, so importing the SDK builds none of it.
const AssetOptionsSchema = lazy(() =>
  z.strictObject({
    key: assetSchemas().AssetKey,
    deps: z.array(z.unknown()).max(500).default([]),
    partitions: partitionSchemas().PartitionsDefinition.optional(),
    io: z
      .custom<IOManager>(
        (v) => isFunction((v as IOManager | null)?.store) && isFunction((v as IOManager | null)?.load),
        'expected an I/O manager (store and load functions)',
      )
      .optional(),
    checks: z
      .array(
        z.custom<AssetCheck>(
          (v) => typeof (v as AssetCheck | null)?.name === 'string' && isFunction((v as AssetCheck | null)?.fn),
          'expected a check made with check()',
        ),
      )
      .max(100)
      .default([]),
    description: z.string().max(4000).optional(),
    owners: z.array(z.string().min(1).max(200)).max(50).default([]),
    tags: commonSchemas().Tags.default([]),
    group: commonSchemas().Name.optional(),
    codeVersion: z.string().min(1).max(200).optional(),
    ...retryOptionFields(),
    cache: z.boolean().optional(),
    cacheKey: z.custom<(ctx: AssetContext) => string>(isFunction, 'expected a function').optional(),
    cacheExpirationSeconds: z.number().positive().optional(),
    concurrency: z.number().int().min(1).default(1),
    acceptsRange: z.boolean().default(false),
    automation: z.unknown().optional(),
    freshness: z.unknown().optional(),
  }),
);

/**
 * Identifies an asset's code: its function's source and its checks' (names, settings and
 * sources), so changing one asset's code changes that asset's version only.
 */
export function assetCodeVersion(fn: (...args: never[]) => unknown, checks: readonly AssetCheck[]): string {
  const hash = createHash('sha256').update(`asset\u0000${fn.toString()}`, 'utf8');
  for (const c of checks) hash.update(`\u0000check\u0000${c.name}\u0000${c.blocking}\u0000${c.severity}\u0000${c.fn.toString()}`);
  return hash.digest('hex');
}

function isAsset(value: unknown): value is AnyAsset {
  return typeof value === 'object' && value !== null && ASSET_IMPL in value;
}

/**
 * Define an asset: the data `fn` produces, under `key`. `fn` receives the run's context for this
 * asset, then the value of each dep in order (typed as each upstream returns it); what it returns
 * is stored by the I/O manager. Defining any asset also defines the built-in `assets` flow, which
 * materialises them on a worker.
 * @example
 * const daily = partitions.daily({ start: '2026-01-01', timezone: 'Europe/Berlin' });
 * export const events = asset({ key: 'raw/events', partitions: daily }, async (ctx) => load(ctx.partition.key));
 * export const features = asset({ key: 'features', deps: [events], partitions: daily }, async (ctx, events) => build(events));
 */
export function asset<
  const D extends readonly AssetDep[] = [],
  T = unknown,
  PD extends PartitionsDefinition | undefined = undefined,
>(
  options: AssetOptions<T, D, PD, false> & { acceptsRange?: false },
  fn: (ctx: AssetContext<IsPartitioned<PD>, false>, ...values: DepValues<D, IsPartitioned<PD>, false>) => T | Promise<T>,
): Asset<T, IsPartitioned<PD>>;
export function asset<
  const D extends readonly AssetDep[] = [],
  T = unknown,
  PD extends PartitionsDefinition | undefined = undefined,
>(
  options: AssetOptions<T, D, PD, true> & { acceptsRange: true },
  fn: (
    ctx: AssetContext<IsPartitioned<PD>, true>,
    ...values: DepValues<D, IsPartitioned<PD>, true>
  ) => Record<string, T> | Promise<Record<string, T>>,
): Asset<T, IsPartitioned<PD>>;
export function asset<T, PD extends PartitionsDefinition | undefined>(
  options: AssetOptions<T, readonly AssetDep[], PD, boolean>,
  fn: (ctx: AssetContext, ...values: unknown[]) => unknown,
): Asset<T, IsPartitioned<PD>> {
  const definedAt = callSite(asset as (...args: never[]) => unknown);
  const parsed = AssetOptionsSchema().safeParse(options);
  if (!parsed.success) {
    const key = typeof (options as { key?: unknown } | null)?.key === 'string' ? ` '${(options as { key: string }).key}'` : '';
    throw invalid(`options of asset${key}${definedAt ? ` (${definedAt})` : ''}`, parsed.error);
  }
  if (typeof fn !== 'function') throw new TypeError(`asset '${parsed.data.key}' needs a function`);
  const settings = parsed.data;
  const depAssets = new Map<string, AnyAsset>();
  const depKeys: string[] = [];
  for (const [i, dep] of settings.deps.entries()) {
    let key: string;
    if (isAsset(dep)) {
      key = dep.key;
      depAssets.set(key, dep);
    } else if (typeof dep === 'string' && assetSchemas().AssetKey.safeParse(dep).success) {
      key = dep;
    } else {
      const why =
        dep === undefined
          ? 'undefined (an asset used before it is defined? define upstream assets first, or name it by key)'
          : 'neither an asset nor an asset key';
      throw new TypeError(`asset '${settings.key}': deps.${i} is ${why}`);
    }
    if (key === settings.key) throw new TypeError(`asset '${settings.key}' lists itself in its deps`);
    if (depKeys.includes(key)) throw new TypeError(`asset '${settings.key}' lists '${key}' twice in its deps`);
    depKeys.push(key);
  }
  const checks = settings.checks as AssetCheck[];
  const names = new Set<string>();
  for (const c of checks) {
    if (names.has(c.name)) throw new TypeError(`asset '${settings.key}' has two checks named '${c.name}'`);
    names.add(c.name);
  }
  const codeVersion = settings.codeVersion ?? assetCodeVersion(fn as (...args: never[]) => unknown, checks);
  const partitionsDef = (settings.partitions ?? null) as PartitionsDefinition | null;
  const io = (settings.io ?? null) as IOManager | null;
  const automation = automationPolicy(settings.automation as AutomationCondition | AutomationCondition[] | undefined);
  const freshness = freshnessPolicy(settings.freshness as FreshnessPolicy | undefined);
  // Checked now, so a wrong policy fails where it is written, not at deploy.
  const policies = assetSchemas()
    .AssetDefinitionInput.pick({ automation: true, freshness: true })
    .safeParse({ automation, freshness });
  if (!policies.success) throw invalid(`options of asset '${settings.key}'${definedAt ? ` (${definedAt})` : ''}`, policies.error);

  const definition = (): AssetDefinitionInput =>
    assetSchemas().AssetDefinitionInput.parse({
      key: settings.key,
      deps: depKeys,
      ...(partitionsDef ? { partitions: partitionsDef } : {}),
      codeVersion,
      ...(settings.description !== undefined ? { description: settings.description } : {}),
      owners: settings.owners,
      tags: settings.tags,
      ...(settings.group !== undefined ? { group: settings.group } : {}),
      checks: checks.map((c) => ({
        name: c.name,
        blocking: c.blocking,
        severity: c.severity,
        ...(c.description !== undefined ? { description: c.description } : {}),
      })),
      io: (io?.kind ?? (io ? 'custom' : 'fs')).slice(0, 100),
      acceptsRange: settings.acceptsRange,
      ...(definedAt ? { definedAt: definedAt.slice(0, 500) } : {}),
      ...(automation ? { automation } : {}),
      ...(freshness ? { freshness } : {}),
    });

  const impl: AssetImpl = {
    fn: fn as AssetImpl['fn'],
    depAssets,
    io,
    checks,
    retry: retrySettingsOf(settings),
    cache: settings.cache ?? settings.cacheKey !== undefined,
    cacheKey: settings.cacheKey,
    cacheExpirationSeconds: settings.cacheExpirationSeconds,
    concurrency: settings.concurrency,
  };
  const created = Object.freeze({
    key: settings.key,
    deps: Object.freeze([...depKeys]),
    partitions: partitionsDef,
    partitioned: (partitionsDef !== null) as IsPartitioned<PD>,
    acceptsRange: settings.acceptsRange,
    codeVersion,
    description: settings.description,
    owners: Object.freeze([...settings.owners]),
    tags: Object.freeze([...settings.tags]),
    group: settings.group,
    checks: Object.freeze([...checks]),
    definedAt,
    definition,
    [ASSET_IMPL]: impl,
  }) as Asset<T, IsPartitioned<PD>>;
  registerAsset({ key: settings.key, definedAt, definition, asset: created });
  ensureAssetFlow();
  return created;
}

/** The engine's view of an asset object, or null for something else. */
export function assetImpl(value: unknown): AssetImpl | null {
  return isAsset(value) ? value[ASSET_IMPL] : null;
}

export { isAsset };
