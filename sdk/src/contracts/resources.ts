import * as z from 'zod';

/**
 * What a run needs of the worker that takes it. A worker hands a run only devices and room it has
 * free: its advertised resources minus what the runs it holds were assigned. All fields optional;
 * a run without a request is claimed as before and assigned nothing.
 */
export const ResourceRequest = z.strictObject({
  /** GPU devices, each a whole device. */
  gpus: z.number().int().min(0).max(64).optional(),
  /** Memory each of those GPUs must have, in GB. */
  gpuMemoryGb: z.number().min(0).max(10_000).optional(),
  /** Host memory, in GB. */
  memoryGb: z.number().min(0).max(100_000).optional(),
  /** CPU slots. */
  cpus: z.number().min(0).max(10_000).optional(),
});
export type ResourceRequest = z.infer<typeof ResourceRequest>;

/** One GPU device of a worker: its id as CUDA numbers it (`nvidia-smi` index), model and memory. */
export const GpuDevice = z.strictObject({
  id: z.string().min(1).max(64),
  model: z.string().max(200).nullable(),
  memoryMb: z.number().int().min(0).nullable(),
});
export type GpuDevice = z.infer<typeof GpuDevice>;

/** What a worker offers, sent with each heartbeat. */
export const WorkerResources = z.strictObject({
  gpus: z.array(GpuDevice).max(64),
  memoryGb: z.number().min(0).nullable(),
  cpus: z.number().min(0).nullable(),
});
export type WorkerResources = z.infer<typeof WorkerResources>;

/** The concrete share of a worker an attempt was handed: device ids, memory and CPU slots. */
export const AssignedResources = z.strictObject({
  gpus: z.array(z.string()),
  memoryGb: z.number().nullable(),
  cpus: z.number().nullable(),
});
export type AssignedResources = z.infer<typeof AssignedResources>;

/** A GPU device of a worker and the run holding it, when one does. */
export const WorkerGpuUse = z.strictObject({
  id: z.string(),
  model: z.string().nullable(),
  memoryMb: z.number().int().nullable(),
  runId: z.string().nullable(),
  runName: z.string().nullable(),
});
export type WorkerGpuUse = z.infer<typeof WorkerGpuUse>;

/** A pool's backlog and GPU use, for autoscalers and the dashboard. */
export const WorkPoolMetrics = z.strictObject({
  /** Runs due and waiting to be claimed. */
  queueDepth: z.number().int(),
  /** Seconds the longest-waiting due run has waited; 0 with none. */
  oldestWaitingSeconds: z.number(),
  /** GPUs the due, waiting runs ask for. */
  gpusRequested: z.number().int(),
  /** GPU devices of the pool's online workers that no held run was assigned. */
  gpusFree: z.number().int(),
  /** GPU devices of the pool's online workers. */
  gpusTotal: z.number().int(),
  /** Runs PENDING, RUNNING or CANCELLING. */
  runsRunning: z.number().int(),
});
export type WorkPoolMetrics = z.infer<typeof WorkPoolMetrics>;
