import * as z from 'zod';
import { Id, Labels, Name, Timestamp } from './common.js';
import { BaseJobTemplate, WorkPoolType } from './kubernetes.js';
import { WorkerGpuUse, WorkerResources } from './resources.js';
import { StateType } from './states.js';

/**
 * What the API does when a worker of the pool stops renewing its leases. `retry`: its runs are CRASHED
 * after lease + grace and retried elsewhere; a worker that was only cut off may go on running its copy
 * (up to the disconnected tolerance) until it reconnects and is told to stop. `wait`: the API waits the
 * disconnected tolerance past the lease before it does, so an attempt never runs twice at once, and
 * the run of a worker that really died is retried that much later.
 */
export const WorkerSilencePolicy = z.enum(['retry', 'wait']);
export type WorkerSilencePolicy = z.infer<typeof WorkerSilencePolicy>;

/** The default disconnected tolerance of a pool: ten minutes. */
export const DEFAULT_DISCONNECTED_TOLERANCE_SECONDS = 600;
/** The longest finite disconnected tolerance (30 days); null means no limit. */
export const MAX_DISCONNECTED_TOLERANCE_SECONDS = 2_592_000;
const DisconnectedTolerance = z.number().int().min(0).max(MAX_DISCONNECTED_TOLERANCE_SECONDS).nullable();

export const WorkPool = z.strictObject({
  id: Id,
  name: Name,
  description: z.string().nullable(),
  paused: z.boolean(),
  concurrencyLimit: z.number().int().nullable(),
  /**
   * PAUSED when paused; READY when a worker of the pool sent a heartbeat or claim in the last 90 s;
   * NOT_READY otherwise. Absent from servers that predate it.
   */
  status: z.enum(['READY', 'NOT_READY', 'PAUSED']).optional(),
  /** Which executor the pool's workers run. Absent from servers that predate it (a process pool). */
  type: WorkPoolType.optional(),
  /**
   * Kubernetes pools: a batch/v1 Job shown with the pool (the dashboard edits it). Workers ignore it:
   * each builds its Jobs from its own `--base-job-template` (else DEFAULT_BASE_JOB_TEMPLATE), since a
   * pod template from the control plane could ask for the node (design invariant 8); a worker whose
   * template differs logs once that it ignores this one.
   */
  baseJobTemplate: BaseJobTemplate.nullable().optional(),
  /** Most GPUs the pool's held runs may be assigned at once; null means no quota (absent from older servers). */
  gpuQuota: z.number().int().nullable().optional(),
  /** Most GPUs held at once by the pool's runs carrying each tag. */
  gpuQuotaByTag: z.record(z.string(), z.number().int()).optional(),
  /** What happens to a silent worker's runs (absent from older servers: `retry`). */
  onWorkerSilence: WorkerSilencePolicy.optional(),
  /**
   * Seconds a worker that cannot reach the API keeps running the runs it holds, spooling their logs
   * and states; null: for as long as it takes. Absent from older servers.
   */
  disconnectedToleranceSeconds: z.number().int().nullable().optional(),
  createdAt: Timestamp,
});
export type WorkPool = z.infer<typeof WorkPool>;

export const WorkPoolCreateRequest = z.strictObject({
  name: Name,
  description: z.string().max(2000).optional(),
  concurrencyLimit: z.number().int().min(0).max(100_000).optional(),
  /** @default 'process' */
  type: WorkPoolType.optional(),
  /** Only for Kubernetes pools; validated against the Kubernetes schemas (422 with each problem's path). */
  baseJobTemplate: BaseJobTemplate.optional(),
  /** @default 'retry' */
  onWorkerSilence: WorkerSilencePolicy.optional(),
  /** Seconds, or null for no limit. @default 600 */
  disconnectedToleranceSeconds: DisconnectedTolerance.optional(),
});
export type WorkPoolCreateRequest = z.infer<typeof WorkPoolCreateRequest>;

export const WorkPoolUpdateRequest = z.strictObject({
  description: z.string().max(2000).optional(),
  paused: z.boolean().optional(),
  concurrencyLimit: z.number().int().min(0).max(100_000).nullable().optional(),
  /** Only for Kubernetes pools; null returns the pool to the default template. */
  baseJobTemplate: BaseJobTemplate.nullable().optional(),
  /** Most GPUs the pool's held runs may be assigned at once; null removes the quota. */
  gpuQuota: z.number().int().min(0).max(100_000).nullable().optional(),
  /** Per-tag GPU quotas of the pool, replacing the stored ones: `{ 'team:vision': 2 }`. */
  gpuQuotaByTag: z.record(z.string().min(1).max(100), z.number().int().min(0).max(100_000)).optional(),
  onWorkerSilence: WorkerSilencePolicy.optional(),
  /** Seconds, or null for no limit. */
  disconnectedToleranceSeconds: DisconnectedTolerance.optional(),
});
export type WorkPoolUpdateRequest = z.infer<typeof WorkPoolUpdateRequest>;

export const WorkPoolListResponse = z.strictObject({ items: z.array(WorkPool) });
export type WorkPoolListResponse = z.infer<typeof WorkPoolListResponse>;

export const WorkQueue = z.strictObject({
  id: Id,
  workPool: Name,
  name: Name,
  /** 1 is the highest priority. */
  priority: z.number().int(),
  paused: z.boolean(),
  concurrencyLimit: z.number().int().nullable(),
  createdAt: Timestamp,
});
export type WorkQueue = z.infer<typeof WorkQueue>;

export const WorkQueueCreateRequest = z.strictObject({
  name: Name,
  priority: z.number().int().min(1).max(1000).optional(),
  concurrencyLimit: z.number().int().min(0).max(100_000).optional(),
});
export type WorkQueueCreateRequest = z.infer<typeof WorkQueueCreateRequest>;

export const WorkQueueUpdateRequest = z.strictObject({
  priority: z.number().int().min(1).max(1000).optional(),
  paused: z.boolean().optional(),
  concurrencyLimit: z.number().int().min(0).max(100_000).nullable().optional(),
});
export type WorkQueueUpdateRequest = z.infer<typeof WorkQueueUpdateRequest>;

export const WorkQueueListResponse = z.strictObject({ items: z.array(WorkQueue) });
export type WorkQueueListResponse = z.infer<typeof WorkQueueListResponse>;

/** A run a worker holds now (PENDING, RUNNING or CANCELLING), as the worker list shows it. */
export const WorkerRunningRun = z.strictObject({
  id: Id,
  name: z.string(),
  attempt: z.number().int(),
  stateType: StateType,
});
export type WorkerRunningRun = z.infer<typeof WorkerRunningRun>;

export const Worker = z.strictObject({
  id: Id,
  workPool: Name,
  name: z.string(),
  labels: z.record(z.string(), z.string()),
  capacity: z.number().int(),
  /** What the worker advertised: GPU devices, memory, CPU slots (null from workers that predate resources). */
  resources: WorkerResources.nullable().optional(),
  /** Each GPU device and the run holding it, if any. */
  gpus: z.array(WorkerGpuUse).optional(),
  status: z.enum(['ONLINE', 'OFFLINE']),
  /** The version the worker last reported; null from workers that predate it (absent from older servers). */
  version: z.string().nullable().optional(),
  /** The runs the worker holds now, oldest claim first (absent from older servers). */
  runningRuns: z.array(WorkerRunningRun).optional(),
  lastHeartbeatAt: Timestamp,
  createdAt: Timestamp,
});
export type Worker = z.infer<typeof Worker>;
export const WorkerListResponse = z.strictObject({ items: z.array(Worker) });
export type WorkerListResponse = z.infer<typeof WorkerListResponse>;

export const HeldRun = z.strictObject({ id: Id, attempt: z.number().int().min(1) });
export type HeldRun = z.infer<typeof HeldRun>;

/** One call per interval: registers the worker, renews every lease it holds, and says what to stop. */
export const WorkerHeartbeatRequest = z.strictObject({
  /** Stable per worker process; the worker generates it at start. */
  workerId: Id,
  name: z.string().min(1).max(200),
  labels: Labels.optional(),
  capacity: z.number().int().min(1).max(1000),
  /** The worker's own version (`0.4.1`), shown with it in the dashboard. */
  version: z.string().min(1).max(100).optional(),
  /** GPU devices, memory and CPU slots the worker offers; the claim fits runs' requests into them. */
  resources: WorkerResources.optional(),
  runs: z.array(HeldRun).max(1000),
  /** The worker's last heartbeat as it stops gracefully: it is shown OFFLINE at once, not 90 s later. */
  stopping: z.boolean().optional(),
});
export type WorkerHeartbeatRequest = z.infer<typeof WorkerHeartbeatRequest>;

/** How long a claim or heartbeat extends a lease when the server is not told otherwise. */
export const DEFAULT_LEASE_SECONDS = 30;

export const WorkerHeartbeatResponse = z.strictObject({
  /** Leases renewed, with their new expiry (database clock). */
  renewed: z.array(
    z.strictObject({
      id: Id,
      attempt: z.number().int(),
      leaseExpiresAt: Timestamp,
      /** A fresh run token, so a long run never outlives its credential. */
      token: z.string(),
    }),
  ),
  /** Runs the worker must cancel now (state CANCELLING). */
  cancel: z.array(HeldRun),
  /** Runs this worker no longer holds (lease expired, attempt superseded, attempt ended): stop them at once. */
  lost: z.array(HeldRun),
  /**
   * Of the `lost` runs, those whose attempt ended on the API (a terminal state), with that state: the
   * flow's final state was recorded though its answer may not have reached the worker yet, or someone
   * set the run's state. The worker proposes nothing for them and stops the flow process only if it
   * still runs. Listed in `lost` too, for workers that predate this list. Absent from older servers.
   */
  ended: z.array(z.strictObject({ id: Id, attempt: z.number().int().min(1), stateType: StateType })).optional(),
  /** Seconds the lease lasts from now; the worker heartbeats well within it. */
  leaseSeconds: z.number().int(),
  /**
   * How long past an unrenewed lease the API waits before a retry of the run can start elsewhere:
   * the worker keeps the run going that long through an outage, then stops it. Absent from older servers.
   */
  leaseGraceSeconds: z.number().int().min(0).optional(),
  /**
   * The pool's policy for a silent worker and its disconnected tolerance (null: no limit): while it
   * cannot reach the API, the worker keeps its runs going that long past the lease. Absent from older
   * servers, when the worker stops at lease + grace.
   */
  onWorkerSilence: WorkerSilencePolicy.optional(),
  disconnectedToleranceSeconds: z.number().int().min(0).nullable().optional(),
  serverTime: Timestamp,
});
export type WorkerHeartbeatResponse = z.infer<typeof WorkerHeartbeatResponse>;

/** The longest a claim may long-poll before it answers with no runs; a worker's poll wait is bounded by it. */
export const MAX_CLAIM_WAIT_MS = 30_000;

/** The furthest ahead of its due time a claim may take a run (`ClaimRequest.prefetchMs`). */
export const MAX_CLAIM_PREFETCH_MS = 60_000;

export const ClaimRequest = z.strictObject({
  workerId: Id,
  /** How many runs the worker can take now; 0 when it is full and only watches `held`. */
  limit: z.number().int().min(0).max(100),
  /** Only these queues of the pool; all when absent. */
  queues: z.array(Name).max(100).optional(),
  labels: Labels.optional(),
  /** Long-poll: wait up to this long for a run when none is due. */
  waitMs: z.number().int().min(0).max(MAX_CLAIM_WAIT_MS).default(0),
  /**
   * Attempts the worker runs and has not been asked to stop: the long-poll also answers as soon as
   * one of them is asked to cancel, so a cancel reaches the worker in about a second instead of at
   * its next heartbeat.
   */
  held: z.array(HeldRun).max(1000).optional(),
  /**
   * Also take runs due within this many milliseconds, and hold them until they are due (each claimed
   * run's `dueInMs`), so a burst of runs due at one moment is claimed before it rather than after it.
   * Only runs no concurrency limit counts are taken early: a run of a limited pool, queue, deployment
   * or tag, or of a capped backfill, is claimed when due, so no slot a limit counts is held ahead.
   */
  prefetchMs: z.number().int().min(0).max(MAX_CLAIM_PREFETCH_MS).optional(),
});
export type ClaimRequest = z.input<typeof ClaimRequest>;
