import * as z from 'zod';
import { AssetKey, PartitionSelection } from './assets.js';
import { Id, JsonObject, Name, PageLimit, page, Timestamp } from './common.js';
import { MAX_BACKFILL_IN_FLIGHT } from './limits.js';
import { AnyPartitionKey, PartitionsDefinition } from './partitions.js';
import { StateType } from './states.js';

export { MAX_BACKFILL_IN_FLIGHT };

/*
 * Backfills are lazy: a backfill stores what it covers (a deployment's schedule times or partitions,
 * or assets' partitions) and how far it got; the control plane creates its runs a few at a time,
 * at most `maxConcurrent` in flight, and records one row per partition only when that partition's
 * run is created. Nothing proportional to the selection is written up front.
 */

/** The most partitions (or scheduled times) one backfill may cover. */
export const MAX_BACKFILL_PARTITIONS = 1_000_000;

/** @deprecated Backfills are lazy and no longer capped at 1,000 runs; see MAX_BACKFILL_PARTITIONS. */
export const MAX_BACKFILL_RUNS = MAX_BACKFILL_PARTITIONS;

/**
 * A backfill of a deployment: either every scheduled time of one of its schedules in [start, end)
 * (each run due at its time), or partitions of the schedule's partitions definition (`partitions`:
 * explicit keys, an inclusive range, or all of them), one run per partition carrying its key.
 */
export const BackfillCreateRequest = z
  .strictObject({
    /** The schedule whose times or partitions to use. @default the deployment's first schedule (with partitions, when `partitions` is given) */
    schedule: Name.optional(),
    /** With `end`: the first scheduled time covered (included). */
    start: Timestamp.optional(),
    /** With `start`: the end of the range (excluded). */
    end: Timestamp.optional(),
    /** Instead of a time range: the partitions of the schedule's partitions definition to run. */
    partitions: PartitionSelection.optional(),
    /** At most this many of the backfill's runs are in flight (created and not finished) at once. @default 1 */
    maxConcurrent: z.number().int().min(1).max(MAX_BACKFILL_IN_FLIGHT).default(1),
    /** Merged over the deployment's and the schedule's parameters. @default {} */
    parameters: JsonObject.optional(),
  })
  .superRefine((b, ctx) => {
    const timed = b.start !== undefined || b.end !== undefined;
    if (timed && b.partitions !== undefined) {
      ctx.addIssue({ code: 'custom', message: 'give either start and end, or partitions, not both', path: ['partitions'] });
      return;
    }
    if (!timed && b.partitions === undefined) {
      ctx.addIssue({ code: 'custom', message: 'give start and end, or partitions', path: ['start'] });
      return;
    }
    if (timed && b.start === undefined) ctx.addIssue({ code: 'custom', message: 'required with end', path: ['start'] });
    if (timed && b.end === undefined) ctx.addIssue({ code: 'custom', message: 'required with start', path: ['end'] });
    if (b.start !== undefined && b.end !== undefined && Date.parse(b.start) >= Date.parse(b.end))
      ctx.addIssue({ code: 'custom', message: 'must be after start', path: ['end'] });
  });
export type BackfillCreateRequest = z.input<typeof BackfillCreateRequest>;

/**
 * A backfill of assets over partitions: one run of the owning deployment's `assets` flow per
 * partition, materialising the selection in dependency order (or, with `singleRun` and assets that
 * accept ranges, one run over the whole range). `POST /assets/materialize` with a partition
 * selection makes the same backfill.
 */
export const AssetBackfillCreateRequest = z.strictObject({
  assets: z.array(AssetKey).min(1).max(2_000),
  /** Also materialise every upstream asset of the selection. @default false */
  upstream: z.boolean().default(false),
  /** Also materialise every downstream asset of the selection. @default false */
  downstream: z.boolean().default(false),
  partitions: PartitionSelection,
  /** @default 1 */
  maxConcurrent: z.number().int().min(1).max(MAX_BACKFILL_IN_FLIGHT).default(1),
  /** One run over the whole range, for assets that accept ranges (`acceptsRange`). @default false */
  singleRun: z.boolean().default(false),
  /** Run only the assets' checks, against their stored data, partition by partition. @default false */
  checksOnly: z.boolean().default(false),
});
export type AssetBackfillCreateRequest = z.input<typeof AssetBackfillCreateRequest>;

/**
 * - RUNNING: creating runs as earlier ones finish;
 * - PAUSED: creates no new run; runs already in flight go on;
 * - COMPLETED: every partition's run completed;
 * - FAILED: every partition finished and at least one did not complete (failed, blocked, cancelled),
 *   or the backfill could not create a run (`message` says why);
 * - CANCELLED: cancelled; runs not yet started were cancelled, and none is created any more.
 */
export const BackfillStatus = z.enum(['RUNNING', 'PAUSED', 'COMPLETED', 'FAILED', 'CANCELLED']);
export type BackfillStatus = z.infer<typeof BackfillStatus>;

/**
 * One partition's progress, from the moment its run is created:
 * PENDING (created, not started), RUNNING, COMPLETED, FAILED (failed or crashed for good),
 * CANCELLED, or BLOCKED (not run: a failed blocking check upstream is not waived).
 */
export const BackfillPartitionStatus = z.enum(['PENDING', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED', 'BLOCKED']);
export type BackfillPartitionStatus = z.infer<typeof BackfillPartitionStatus>;

export const BackfillPartitionCounts = z.strictObject({
  /** Partitions (or scheduled times) the backfill covers. */
  total: z.number().int(),
  /** Not reached yet: no run created (a partition re-queued by retry-failed counts under its last status). */
  notStarted: z.number().int(),
  PENDING: z.number().int(),
  RUNNING: z.number().int(),
  COMPLETED: z.number().int(),
  FAILED: z.number().int(),
  CANCELLED: z.number().int(),
  BLOCKED: z.number().int(),
});
export type BackfillPartitionCounts = z.infer<typeof BackfillPartitionCounts>;

/** What a backfill covers, as stored when it was created. */
export const BackfillSelection = z.union([
  /** Every scheduled time of the schedule in [start, end). */
  z.strictObject({ times: z.strictObject({ start: Timestamp, end: Timestamp }) }),
  /** These keys, in definition order. */
  z.strictObject({ keys: z.array(AnyPartitionKey) }),
  /** The keys from start to end inclusive, in definition order. */
  z.strictObject({ range: z.strictObject({ start: AnyPartitionKey, end: AnyPartitionKey }) }),
]);
export type BackfillSelection = z.infer<typeof BackfillSelection>;

export const Backfill = z.strictObject({
  id: Id,
  /** The deployment whose runs it creates (for assets: the deployment that defines them). */
  deploymentId: Id,
  target: z.enum(['deployment', 'assets']),
  /** For an asset backfill: the assets each run materialises, in dependency order. */
  assets: z.array(AssetKey).nullable(),
  /** The schedule it fills (a deployment backfill). */
  scheduleSlug: Name.nullable(),
  /** The time range of a backfill over scheduled times; null for one over partitions. */
  start: Timestamp.nullable(),
  end: Timestamp.nullable(),
  /** The partitions definition its keys come from, as it was when the backfill was created. */
  partitionsDefinition: PartitionsDefinition.nullable(),
  /** For a backfill over many keys, `keys` lists only the first 100. */
  selection: BackfillSelection,
  singleRun: z.boolean(),
  /** An asset backfill that runs its assets' checks only (absent from older servers). */
  checksOnly: z.boolean().optional(),
  maxConcurrent: z.number().int(),
  parameters: JsonObject,
  status: BackfillStatus,
  /** Why it FAILED without finishing (its deployment is gone, its parameters no longer pass the schema). */
  message: z.string().nullable(),
  /** Runs created so far. */
  runCount: z.number().int(),
  /** The backfill's runs by current state type; every type is present. */
  counts: z.record(StateType, z.number().int()),
  /** Its partitions by status (scheduled times count as partitions). */
  partitions: BackfillPartitionCounts,
  createdAt: Timestamp,
  cancelledAt: Timestamp.nullable(),
  pausedAt: Timestamp.nullable(),
  finishedAt: Timestamp.nullable(),
});
export type Backfill = z.infer<typeof Backfill>;

export const BackfillListQuery = z.strictObject({
  limit: PageLimit,
  cursor: z.string().max(500).optional(),
});
export const BackfillListResponse = page(Backfill);
export type BackfillListResponse = z.infer<typeof BackfillListResponse>;

/** The workspace's backfills, newest first. */
export const BackfillWorkspaceListQuery = z.strictObject({
  status: BackfillStatus.optional(),
  deploymentId: Id.optional(),
  limit: PageLimit,
  cursor: z.string().max(500).optional(),
});

export const BackfillPartition = z.strictObject({
  /** The partition key (for a backfill over scheduled times: the time, ISO 8601). */
  key: z.string(),
  status: BackfillPartitionStatus,
  /** Its latest run; null when BLOCKED before any run. */
  flowRunId: Id.nullable(),
  /** Runs created for it: 1, plus one per retry-failed that re-queued it. */
  runs: z.number().int(),
  /** Waiting for a run again (retry-failed). */
  requeued: z.boolean(),
  /** Why it is BLOCKED. */
  message: z.string().nullable(),
  updatedAt: Timestamp,
});
export type BackfillPartition = z.infer<typeof BackfillPartition>;

export const BackfillPartitionsQuery = z.strictObject({
  status: BackfillPartitionStatus.optional(),
  limit: z.coerce.number().int().min(1).max(1_000).default(200),
  /** Partitions after this one, in the backfill's order. */
  cursor: z.string().max(500).optional(),
});
export const BackfillPartitionsResponse = page(BackfillPartition);
export type BackfillPartitionsResponse = z.infer<typeof BackfillPartitionsResponse>;
