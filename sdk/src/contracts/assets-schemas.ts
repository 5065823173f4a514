import * as z from 'zod';
import { commonSchemas, page } from './common-schemas.js';
import { lazy } from './lazy.js';
import { MAX_BACKFILL_IN_FLIGHT } from './limits.js';
import { partitionSchemas } from './partitions-schemas.js';

/*
 * Assets are the data a deployment's code produces, named by keys. The control plane keeps
 * metadata about them (definitions, materialisation events, check results, partition status,
 * waivers), never the data: reading and writing data is the worker's I/O managers' job.
 */

/** How many failing partitions a check's status lists; `failureCount` says how many there are. */
export const CHECK_FAILURES_LISTED = 20;

/** Most levels the lineage document walks upstream, and most materialisations it describes. */
export const LINEAGE_MAX_DEPTH = 20;
export const LINEAGE_MAX_NODES = 500;

/**
 * The schemas of `./assets.js`, built on the first call and kept: the flow runtime reaches them
 * through this, so importing a flow bundle builds none of them. `./assets.js` exports each one.
 */
export const assetSchemas = lazy(() => {
  const { Id, JsonObject, Name, Tags, Timestamp } = commonSchemas();
  const { AnyPartitionKey, PartitionKey, PartitionsDefinition } = partitionSchemas();
  /** `features`, `raw/events`, `model/churn`: path segments of letters, digits, `_`, `.` and `-`. */
  const AssetKey = z
    .string()
    .min(1)
    .max(200)
    .regex(
      /^[A-Za-z0-9_][A-Za-z0-9_.-]*(\/[A-Za-z0-9_][A-Za-z0-9_.-]*)*$/,
      'use "/"-separated segments of letters, digits, "_", "." or "-"',
    );

  const CheckName = z
    .string()
    .min(1)
    .max(100)
    .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/, 'use letters, digits, "_", "." or "-"');

  const CheckSeverity = z.enum(['ERROR', 'WARN']);

  const AssetCheckDefinition = z.strictObject({
    name: CheckName,
    description: z.string().max(2000).optional(),
    /** A failed blocking check stops downstream materialisation until fixed or waived. @default false */
    blocking: z.boolean().default(false),
    /** @default 'ERROR' */
    severity: CheckSeverity.default('ERROR'),
  });

  /** A cron expression read in an IANA zone (DST-correct), as schedules take it. */
  const AssetCron = z.strictObject({
    cron: z
      .string()
      .trim()
      .min(1)
      .max(200)
      .regex(/^\S+(\s+\S+){4,5}$/, 'a cron expression has 5 fields (minute hour day month weekday), or 6 with seconds first'),
    /** @default "UTC" */
    timezone: z.string().min(1).max(64).default('UTC'),
  });

  /**
   * When the control plane materialises an asset by itself (each partition on its own for a
   * partitioned asset); any combination:
   * - onUpstreamUpdate: an upstream (the same partition, for upstreams partitioned alike) was
   *   materialised after it, and no run is materialising it or that upstream;
   * - cron: at each tick of the cron, if an upstream changed since its last materialisation;
   * - onMissing: it (the partition) was never materialised nor attempted.
   */
  const AssetAutomationPolicy = z
    .strictObject({
      /** @default false */
      onUpstreamUpdate: z.boolean().default(false),
      cron: AssetCron.optional(),
      /** @default false */
      onMissing: z.boolean().default(false),
    })
    .refine((p) => p.onUpstreamUpdate || p.onMissing || p.cron !== undefined, {
      message: 'an automation policy needs onUpstreamUpdate, cron or onMissing',
    });

  /**
   * How old an asset may get. Without `cron`: its latest materialisation (of any partition) must be
   * at most `maxLagMinutes` old at every moment. With `cron`: at each tick of the cron, it must hold
   * data materialised at most `maxLagMinutes` before the tick ("by 09:00, data from after 06:00").
   * A violation raises `asset.freshness.violated` (and `asset.freshness.restored` when it is written
   * again) and shows as health OVERDUE.
   */
  const AssetFreshnessPolicy = z.strictObject({
    /** Fractions are allowed (0.5 is thirty seconds). */
    maxLagMinutes: z
      .number()
      .positive()
      .max(366 * 24 * 60),
    cron: AssetCron.optional(),
  });

  /** What `outpost deploy` registers for one asset. */
  const AssetDefinitionInput = z.strictObject({
    key: AssetKey,
    /** Upstream asset keys; each must be defined by this deployment or already registered. */
    deps: z.array(AssetKey).max(500).default([]),
    partitions: PartitionsDefinition.optional(),
    /** Changes whenever the asset's code changes (a hash of its function by default). */
    codeVersion: z.string().min(1).max(200),
    description: z.string().max(4000).optional(),
    owners: z.array(z.string().min(1).max(200)).max(50).default([]),
    tags: Tags.default([]),
    group: Name.optional(),
    checks: z.array(AssetCheckDefinition).max(100).default([]),
    /** The I/O manager's kind, for display (`fs`, `s3`, or a custom name). */
    io: z.string().max(100).optional(),
    /** The asset's function can materialise a range of partitions in one run. @default false */
    acceptsRange: z.boolean().default(false),
    /** Where it is defined (`assets.ts:12`), for error messages. */
    definedAt: z.string().max(500).optional(),
    /** When the control plane materialises it by itself. @default none */
    automation: AssetAutomationPolicy.optional(),
    /** How old it may get before it is OVERDUE. @default none */
    freshness: AssetFreshnessPolicy.optional(),
  });

  /** Why an asset (or one partition of it) is stale. */
  const StaleReason = z.strictObject({
    kind: z.enum(['code_version', 'upstream_newer', 'upstream_stale']),
    /** The upstream asset concerned (for `upstream_*`). */
    upstream: AssetKey.optional(),
    message: z.string(),
  });

  /**
   * - OVERDUE: its freshness policy is violated (older than its bound allows);
   * - MISSING: never materialised (for a partitioned asset: no partition is);
   * - FRESH: materialised and up to date;
   * - STALE: materialised but `stale` says why it is out of date;
   * - FAILED: the latest attempt to materialise it failed;
   * - BLOCKED: a blocking check of it (or upstream of it) failed and is not waived.
   */
  const AssetHealth = z.enum(['MISSING', 'FRESH', 'STALE', 'FAILED', 'BLOCKED', 'OVERDUE']);

  const AssetMaterialization = z.strictObject({
    id: Id,
    assetKey: AssetKey,
    partitionKey: AnyPartitionKey.nullable(),
    flowRunId: Id,
    attempt: z.number().int(),
    codeVersion: z.string(),
    /** The I/O manager's hash of the data written. */
    dataVersion: z.string().nullable(),
    /** Declared metadata only: rows, bytes, schema, custom values. */
    metadata: JsonObject,
    durationMs: z.number().int().nullable(),
    createdAt: Timestamp,
  });

  const AssetCheckResult = z.strictObject({
    id: Id,
    assetKey: AssetKey,
    checkName: CheckName,
    partitionKey: AnyPartitionKey.nullable(),
    flowRunId: Id,
    materializationId: Id.nullable(),
    passed: z.boolean(),
    severity: CheckSeverity,
    blocking: z.boolean(),
    metadata: JsonObject,
    createdAt: Timestamp,
  });

  const AssetCheckWaiver = z.strictObject({
    id: Id,
    assetKey: AssetKey,
    checkName: CheckName,
    /** The partition waived; null waives the check's failure for every partition. */
    partitionKey: AnyPartitionKey.nullable(),
    /** The failed result this waiver lifts. */
    checkResultId: Id,
    reason: z.string(),
    waivedBy: z.string(),
    createdAt: Timestamp,
  });

  /** A partition whose latest result of a check failed, and the waiver that lifts it, if one does. */
  const AssetCheckFailure = z.strictObject({
    result: AssetCheckResult,
    waiver: AssetCheckWaiver.nullable(),
    /** The check is blocking and no waiver lifts this failure: it blocks downstream now. */
    blocks: z.boolean(),
  });

  /**
   * One declared check: its newest result (of whichever partition ran last), the partitions whose
   * own latest result failed, and whether it blocks now. A partitioned check passes or fails per
   * partition, so the newest result can pass while an older partition's failure still blocks.
   */
  const AssetCheckStatus = AssetCheckDefinition.extend({
    latest: AssetCheckResult.nullable(),
    /** The waiver lifting the newest result, or else the newest waiver lifting one of `failures`. */
    waiver: AssetCheckWaiver.nullable(),
    /** Failed, blocking and not waived, on at least one partition. */
    blocksDownstream: z.boolean(),
    /** Partitions whose latest result failed, newest first (at most CHECK_FAILURES_LISTED). */
    failures: z.array(AssetCheckFailure),
    /** How many partitions' latest result failed, listed or not. */
    failureCount: z.number().int(),
  });

  const PartitionStatus = z.enum(['MISSING', 'MATERIALIZED', 'FAILED', 'STALE', 'MATERIALIZING']);

  const PartitionCounts = z.strictObject({
    total: z.number().int(),
    MISSING: z.number().int(),
    MATERIALIZED: z.number().int(),
    FAILED: z.number().int(),
    STALE: z.number().int(),
    MATERIALIZING: z.number().int(),
  });

  const AssetFreshnessState = z.strictObject({
    /** VIOLATED: the latest materialisation is older than the bound allows now. */
    status: z.enum(['OK', 'VIOLATED']),
    /** Data materialised before this instant is too old now. */
    deadline: Timestamp,
    /** When the latest materialisation (of any partition) was written; null when never. */
    lastMaterializedAt: Timestamp.nullable(),
    /** How many minutes past the deadline the asset is (0 when OK). */
    overdueMinutes: z.number().int(),
  });

  const Asset = z.strictObject({
    key: AssetKey,
    deploymentId: Id,
    /** `flow/name` of the deployment that defines it. */
    deploymentName: z.string(),
    deps: z.array(AssetKey),
    /** Assets that list this one in their deps. */
    dependents: z.array(AssetKey),
    partitions: PartitionsDefinition.nullable(),
    codeVersion: z.string(),
    description: z.string().nullable(),
    owners: z.array(z.string()),
    tags: Tags,
    group: z.string().nullable(),
    io: z.string().nullable(),
    acceptsRange: z.boolean(),
    checks: z.array(AssetCheckStatus),
    /** The latest materialisation of any partition. */
    latest: AssetMaterialization.nullable(),
    health: AssetHealth,
    /** Empty unless STALE (for a partitioned asset: the reasons of its stale partitions, deduplicated). */
    stale: z.array(StaleReason),
    /** For a partitioned asset. */
    partitionCounts: PartitionCounts.nullable(),
    automation: AssetAutomationPolicy.nullable(),
    freshness: AssetFreshnessPolicy.nullable(),
    /** Where the freshness policy stands now; null without one. */
    freshnessState: AssetFreshnessState.nullable(),
    updatedAt: Timestamp,
  });

  const AssetListQuery = z.strictObject({
    /** Matches keys, descriptions, owners and tags (case-insensitive substring). */
    q: z.string().max(200).optional(),
    owner: z.string().max(200).optional(),
    group: Name.optional(),
    health: AssetHealth.optional(),
    limit: z.coerce.number().int().min(1).max(2_000).default(200),
    cursor: z.string().max(500).optional(),
  });
  const AssetListResponse = page(Asset);

  const AssetKeyQuery = z.strictObject({ key: AssetKey });

  /** The whole graph of the workspace's assets, small enough per node for 1,000s of nodes. */
  const AssetLineageResponse = z.strictObject({
    nodes: z.array(
      z.strictObject({
        key: AssetKey,
        group: z.string().nullable(),
        deploymentName: z.string(),
        partitioned: z.boolean(),
        /** How many partitions are in each status, for a partitioned asset's health bar; null when unpartitioned. */
        partitionCounts: PartitionCounts.nullable(),
        health: AssetHealth,
        /** The first stale reason, for the node's tooltip. */
        staleReason: z.string().nullable(),
        lastMaterializedAt: Timestamp.nullable(),
        checks: z.strictObject({ passed: z.number().int(), failed: z.number().int(), blocking: z.boolean() }),
      }),
    ),
    /** Upstream → downstream. */
    edges: z.array(z.strictObject({ from: AssetKey, to: AssetKey })),
  });

  const AssetMaterializationListQuery = z.strictObject({
    key: AssetKey,
    partition: AnyPartitionKey.optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
    cursor: z.string().max(500).optional(),
  });
  const AssetMaterializationListResponse = page(AssetMaterialization);

  const AssetPartitionsQuery = z.strictObject({
    key: AssetKey,
    status: PartitionStatus.optional(),
    /** Pages of up to 10,000 keys: a grid asks for the whole range it shows in one or two calls. */
    limit: z.coerce.number().int().min(1).max(10_000).default(10_000),
    /** The previous page's `nextCursor` (opaque, like every cursor): the partitions after its last key, in definition order. */
    cursor: z.string().max(500).optional(),
  });

  const AssetPartition = z.strictObject({
    key: AnyPartitionKey,
    status: PartitionStatus,
    materializedAt: Timestamp.nullable(),
    flowRunId: Id.nullable(),
    dataVersion: z.string().nullable(),
    /** Set when STALE. */
    staleReason: z.string().nullable(),
    /** A failed blocking check not waived on this partition. */
    blocked: z.boolean(),
  });

  const AssetPartitionsResponse = z.strictObject({
    partitions: z.array(AssetPartition),
    nextCursor: z.string().nullable(),
    counts: PartitionCounts,
    /** For a two-dimensional definition: the dimensions' names and keys, to lay out a grid. */
    dimensions: z.array(z.strictObject({ name: z.string(), keys: z.array(z.string()) })).nullable(),
  });

  const AssetCheckResultListQuery = z.strictObject({
    key: AssetKey,
    check: CheckName.optional(),
    partition: AnyPartitionKey.optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
    cursor: z.string().max(500).optional(),
  });
  const AssetCheckResultListResponse = page(AssetCheckResult);

  /** A partition selection: explicit keys, an inclusive range in definition order, or all of them. */
  const PartitionSelection = z.union([
    z.strictObject({ keys: z.array(AnyPartitionKey).min(1).max(100_000) }),
    z.strictObject({ range: z.strictObject({ start: AnyPartitionKey, end: AnyPartitionKey }) }),
    z.strictObject({ all: z.literal(true) }),
  ]);

  const AssetMaterializeRequest = z.strictObject({
    assets: z.array(AssetKey).min(1).max(2_000),
    /** Also materialise every upstream asset of the selection (in dependency order). @default false */
    upstream: z.boolean().default(false),
    /** Also materialise every downstream asset of the selection. @default false */
    downstream: z.boolean().default(false),
    /** Run only the selection's checks, against the data as it is. @default false */
    checksOnly: z.boolean().default(false),
    /** Required for partitioned assets: one key makes one run; more make a backfill. */
    partitions: PartitionSelection.optional(),
    /** For a backfill: at most this many runs in flight. @default 1 */
    maxConcurrent: z.number().int().min(1).max(MAX_BACKFILL_IN_FLIGHT).optional(),
    /** For a backfill of assets that accept ranges: one run over the whole range. @default false */
    singleRun: z.boolean().optional(),
  });

  const AssetMaterializeResponse = z.strictObject({
    /** The assets the run(s) will materialise, in dependency order. */
    assets: z.array(AssetKey),
    /** Set when one run was created. */
    flowRunId: Id.nullable(),
    /** Set when a partition selection made a backfill. */
    backfillId: Id.nullable(),
  });

  /**
   * The parameters of a run of the `assets` flow. The control plane writes them (materialise,
   * backfills, schedules); the SDK's asset flow reads them.
   */
  const AssetRunParameters = z.strictObject({
    /**
     * The assets to materialise, in dependency order. Empty (a scheduled run of an asset deployment,
     * say) means every asset the deployment defines. @default []
     */
    assets: z.array(AssetKey).default([]),
    checksOnly: z.boolean().default(false),
    /** One partition; the run's partition key says the same. */
    partition: AnyPartitionKey.nullable().default(null),
    /** An inclusive range, for a single run over many partitions (assets that accept ranges). */
    partitionRange: z.strictObject({ start: AnyPartitionKey, end: AnyPartitionKey }).nullable().default(null),
  });

  const AssetWaiveRequest = z.strictObject({
    assetKey: AssetKey,
    checkName: CheckName,
    /** Waive one partition's failure; absent waives the check's latest failure for every partition. */
    partitionKey: AnyPartitionKey.optional(),
    reason: z.string().trim().min(3).max(2000),
  });

  /** What a run reports about the assets it materialises (through its worker, with the run token). */
  const AssetEvent = z.discriminatedUnion('kind', [
    z.strictObject({
      kind: z.literal('materialization'),
      /** Client-generated: a retried report records nothing twice. */
      id: Id,
      assetKey: AssetKey,
      partitionKey: AnyPartitionKey.nullable(),
      codeVersion: z.string().min(1).max(200),
      dataVersion: z.string().max(200).nullable(),
      metadata: JsonObject.default({}),
      durationMs: z.number().int().min(0).nullable(),
    }),
    z.strictObject({
      kind: z.literal('failure'),
      id: Id,
      assetKey: AssetKey,
      partitionKey: AnyPartitionKey.nullable(),
      message: z.string().max(4000),
    }),
    z.strictObject({
      kind: z.literal('check'),
      id: Id,
      assetKey: AssetKey,
      checkName: CheckName,
      partitionKey: AnyPartitionKey.nullable(),
      materializationId: Id.nullable(),
      passed: z.boolean(),
      severity: CheckSeverity,
      blocking: z.boolean(),
      metadata: JsonObject.default({}),
    }),
  ]);

  const AssetEventBatchRequest = z.strictObject({
    attempt: z.number().int().min(1),
    events: z.array(AssetEvent).min(1).max(1_000),
  });
  const AssetEventBatchResponse = z.strictObject({ recorded: z.number().int() });

  /**
   * What a run must not materialise: assets of its selection with a failed, unwaived blocking check
   * upstream (outside the selection, or in it but not being re-materialised first).
   */
  const AssetGateResponse = z.strictObject({
    blocked: z.array(
      z.strictObject({
        assetKey: AssetKey,
        /** The upstream asset and check that block it. */
        by: z.strictObject({ assetKey: AssetKey, checkName: CheckName, partitionKey: AnyPartitionKey.nullable() }),
      }),
    ),
    /** Assets of the selection an earlier attempt of this run already materialised (a retry skips them). */
    materialized: z.array(z.strictObject({ assetKey: AssetKey, partitionKey: AnyPartitionKey.nullable(), id: Id })),
  });

  const DynamicPartitionKeysRequest = z.strictObject({ keys: z.array(PartitionKey).min(1).max(10_000) });
  const DynamicPartitionsParams = z.strictObject({ name: z.string().min(1).max(100) });
  const DynamicPartitionKeyParams = z.strictObject({ name: z.string().min(1).max(100), key: PartitionKey });
  const DynamicPartitionKeysResponse = z.strictObject({
    name: z.string(),
    keys: z.array(PartitionKey),
    /** How many keys the request added (ones already present are not counted). */
    added: z.number().int().optional(),
  });

  /**
   * What the asset automation loop decided for an asset (partition) and why: a run requested, or a
   * reason it did not request one although a condition held.
   */
  const AssetAutomationEvaluation = z.strictObject({
    id: Id,
    assetKey: AssetKey,
    partitionKey: AnyPartitionKey.nullable(),
    /** The condition that held. */
    reason: z.enum(['upstream_updated', 'cron', 'missing']),
    outcome: z.enum(['REQUESTED', 'SKIPPED']),
    /** For SKIPPED. */
    skipReason: z.enum(['in_flight', 'upstream_in_flight', 'blocked', 'already_requested', 'failed']).nullable(),
    /** In words: "upstream raw/events materialised 2026-03-02 10:00 UTC after this". */
    message: z.string(),
    /** The run requested (or, for already_requested, the run requested before). */
    flowRunId: Id.nullable(),
    createdAt: Timestamp,
  });

  const AssetEvaluationListQuery = z.strictObject({
    key: AssetKey,
    limit: z.coerce.number().int().min(1).max(200).default(20),
    cursor: z.string().max(500).optional(),
  });
  const AssetEvaluationListResponse = page(AssetAutomationEvaluation);

  const AssetMaterializationLineageQuery = z.strictObject({
    key: AssetKey,
    /** The materialisation; absent means the asset's latest (of `partition`, when given). */
    at: Id.optional(),
    partition: AnyPartitionKey.optional(),
    /** Levels upstream to walk (0: the materialisation alone). @default 10 */
    maxDepth: z.coerce.number().int().min(0).max(LINEAGE_MAX_DEPTH).default(10),
    /** Materialisations to describe, the one asked for included. @default 100 */
    maxNodes: z.coerce.number().int().min(1).max(LINEAGE_MAX_NODES).default(100),
  });

  /** One upstream partition a materialisation consumed: the upstream's materialisation current when it was recorded. */
  const LineageInputPartition = z.strictObject({
    partitionKey: AnyPartitionKey.nullable(),
    materializationId: Id,
    codeVersion: z.string().nullable(),
    dataVersion: z.string().nullable(),
    materializedAt: Timestamp,
  });

  /** What a materialisation consumed from one upstream asset. */
  const LineageInput = z.strictObject({
    assetKey: AssetKey,
    partitioned: z.boolean(),
    /** The upstream partition it maps to (partitioned alike); null when it reads the upstream whole. */
    partitionKey: AnyPartitionKey.nullable(),
    /** How many upstream partitions it consumed (0: the upstream, or the partition, was never materialised). */
    partitionCount: z.number().int(),
    /** The newest of them (at most 50); `partitionCount` says how many there were (counted up to 10,001). */
    partitions: z.array(LineageInputPartition),
  });

  const LineageWaiver = z.strictObject({
    id: Id,
    reason: z.string(),
    /** The person's email or the key's name. */
    waivedBy: z.string(),
    /** Null when the waiver lifted every partition's failure of the check. */
    partitionKey: AnyPartitionKey.nullable(),
    createdAt: Timestamp,
  });

  const LineageCheck = z.strictObject({
    resultId: Id,
    checkName: CheckName,
    passed: z.boolean(),
    severity: CheckSeverity,
    blocking: z.boolean(),
    metadata: JsonObject,
    createdAt: Timestamp,
    /** Waivers lifting this failed result (empty when it passed or none did). */
    waivers: z.array(LineageWaiver),
  });

  /**
   * Where a model was registered, from the materialisation's `registered.<registry>` metadata entry
   * (`registered.mlflow`: { name, version, uri }; `registered.sagemaker`: { modelPackageArn }).
   */
  const LineageRegistration = z.strictObject({
    registry: z.string(),
    details: JsonObject,
  });

  /** The run that wrote a materialisation and the code it was pinned to. */
  const LineageRun = z.strictObject({
    id: Id,
    name: z.string().nullable(),
    deploymentId: Id.nullable(),
    deploymentVersionId: Id.nullable(),
    /** Where the code came from (`oci://…@sha256:…`, `git+https://…#<sha>`). */
    source: z.string().nullable(),
    /** The bundle digest or commit the source is pinned to. */
    sourceDigest: z.string().nullable(),
    entrypoint: z.string().nullable(),
  });

  const LineageMaterialization = z.strictObject({
    id: Id,
    assetKey: AssetKey,
    partitionKey: AnyPartitionKey.nullable(),
    /** Levels upstream of the materialisation asked for (0: that one). */
    depth: z.number().int(),
    attempt: z.number().int(),
    codeVersion: z.string(),
    dataVersion: z.string().nullable(),
    metadata: JsonObject,
    createdAt: Timestamp,
    run: LineageRun,
    /** False for a materialisation recorded before inputs were recorded: its inputs are unknown, not none. */
    inputsRecorded: z.boolean(),
    inputs: z.array(LineageInput),
    checks: z.array(LineageCheck),
    registrations: z.array(LineageRegistration),
  });

  /**
   * The provenance of one materialisation: it and the upstream materialisations it consumed,
   * recursively (each once, nearest first), bounded by depth and count.
   */
  const AssetMaterializationLineageResponse = z.strictObject({
    /** The materialisation asked for (the first of `materializations`). */
    materializationId: Id,
    materializations: z.array(LineageMaterialization),
    limits: z.strictObject({ maxDepth: z.number().int(), maxNodes: z.number().int() }),
    /** Some upstream materialisation was left out: deeper than `maxDepth`, or past `maxNodes`. */
    truncated: z.boolean(),
    /** How many materialisations the inputs name that are not described here. */
    omitted: z.number().int(),
    generatedAt: Timestamp,
  });
  return {
    AssetKey,
    CheckName,
    CheckSeverity,
    AssetCheckDefinition,
    AssetCron,
    AssetAutomationPolicy,
    AssetFreshnessPolicy,
    AssetDefinitionInput,
    StaleReason,
    AssetHealth,
    AssetMaterialization,
    AssetCheckResult,
    AssetCheckWaiver,
    AssetCheckFailure,
    AssetCheckStatus,
    PartitionStatus,
    PartitionCounts,
    AssetFreshnessState,
    Asset,
    AssetListQuery,
    AssetListResponse,
    AssetKeyQuery,
    AssetLineageResponse,
    AssetMaterializationListQuery,
    AssetMaterializationListResponse,
    AssetPartitionsQuery,
    AssetPartition,
    AssetPartitionsResponse,
    AssetCheckResultListQuery,
    AssetCheckResultListResponse,
    PartitionSelection,
    AssetMaterializeRequest,
    AssetMaterializeResponse,
    AssetRunParameters,
    AssetWaiveRequest,
    AssetEvent,
    AssetEventBatchRequest,
    AssetEventBatchResponse,
    AssetGateResponse,
    DynamicPartitionKeysRequest,
    DynamicPartitionsParams,
    DynamicPartitionKeyParams,
    DynamicPartitionKeysResponse,
    AssetAutomationEvaluation,
    AssetEvaluationListQuery,
    AssetEvaluationListResponse,
    AssetMaterializationLineageQuery,
    LineageInputPartition,
    LineageInput,
    LineageWaiver,
    LineageCheck,
    LineageRegistration,
    LineageRun,
    LineageMaterialization,
    AssetMaterializationLineageResponse,
  };
});
