import * as z from 'zod';
import { AssetDefinitionInput } from './assets.js';
import { TriggerInputs } from './automations.js';
import { Id, JsonObject, Name, PageLimit, page, Tags, Timestamp } from './common.js';
import { CollisionStrategy } from './concurrency.js';
import { startupVariableMessage, startupVariablesIn } from './job-variables.js';
import { ResourceRequest } from './resources.js';
import { ScheduleInputs } from './schedules.js';
import { SensorDefinitionInput } from './sensors.js';

export const Flow = z.strictObject({
  id: Id,
  name: Name,
  createdAt: Timestamp,
});
export type Flow = z.infer<typeof Flow>;
export const FlowListResponse = page(Flow);
export type FlowListResponse = z.infer<typeof FlowListResponse>;

/**
 * Where the worker gets the flow's code. Always pinned:
 * `oci://host[:port]/repo@sha256:<64 hex>`, `oci-layout:///abs/dir@sha256:<64 hex>`,
 * `git+https://…#<40 hex>`, or `dir:///abs/path` (development only).
 */
export const Source = z
  .string()
  .max(2000)
  .refine(
    (s) =>
      /^oci:\/\/[^\s@]+@sha256:[a-f0-9]{64}$/.test(s) ||
      /^oci-layout:\/\/\/[^\s@]+@sha256:[a-f0-9]{64}$/.test(s) ||
      /^git\+(https|ssh|file):\/\/[^\s#]+#[a-f0-9]{40}$/.test(s) ||
      /^dir:\/\/\/[^\s]+$/.test(s),
    'must be pinned: oci://…@sha256:<digest>, oci-layout:///…@sha256:<digest>, git+https://…#<commit sha> or dir:///…',
  );

/** A deployment signature (`outpost deploy --sign-key`): a JWS in compact form, kept by the API as it came. */
export const DeploymentSignature = z
  .string()
  .max(262_144)
  .regex(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/, 'must be a JWS in compact form (header.payload.signature)');

export const DeploymentUpsertRequest = z.strictObject({
  flowName: Name,
  name: Name,
  description: z.string().max(2000).optional(),
  source: Source,
  /** Path of the module inside the source that defines the flow, e.g. `flows/train.js`. */
  entrypoint: z.string().min(1).max(500),
  /** JSON Schema (draft 2020-12) of the flow's parameters. */
  parameterSchema: JsonObject.optional(),
  /** Default parameters, merged under each run's parameters. */
  parameters: JsonObject.optional(),
  workPool: Name,
  workQueue: Name.optional(),
  tags: Tags.optional(),
  /** Worker labels a run of this deployment needs, e.g. `{ gpu: "true" }`. */
  labels: z.record(z.string().max(100), z.string().max(200)).optional(),
  /**
   * Secret references and other settings resolved by the worker; never secret values. Start-up
   * variables (`NODE_OPTIONS`, `LD_PRELOAD`, `PATH`, `PYTHONPATH`…) are refused in `env`.
   */
  jobVariables: JsonObject.optional().superRefine((jobVariables, ctx) => {
    for (const name of startupVariablesIn(jobVariables)) {
      ctx.addIssue({ code: 'custom', path: ['env', name], message: startupVariableMessage(name) });
    }
  }),
  /** What each run needs of its worker: `{ gpus: 1, gpuMemoryGb: 40, memoryGb: 16, cpus: 2 }`. */
  resources: ResourceRequest.optional(),
  /**
   * The customer's signature of what runs (`outpost deploy --sign-key`): workers started with
   * `--trust-key` run nothing else. Checked here only against the request it came with; the API
   * holds no key that could verify or make one.
   */
  signature: DeploymentSignature.optional(),
  retries: z.number().int().min(0).max(100).optional(),
  retryDelaySeconds: z.number().int().min(0).max(86_400).optional(),
  /** Exponential backoff: retry n waits `retryDelaySeconds × retryBackoff^(n-1)` (capped at a day). @default 1 */
  retryBackoff: z.number().min(1).max(10).optional(),
  /** Each retry delay is stretched by up to this fraction of itself (a factor in [1, 1 + jitter], fixed per run and attempt), as a task's `jitter` is; never shortened. @default 0 */
  retryJitter: z.number().min(0).max(1).optional(),
  /** At most this many runs of the deployment PENDING, RUNNING or CANCELLING at once; none when absent. */
  concurrencyLimit: z.number().int().min(0).max(100_000).optional(),
  /** At the limit, a due run waits (ENQUEUE, shown as AwaitingConcurrencySlot) or is cancelled (CANCEL_NEW). @default 'ENQUEUE' */
  collisionStrategy: CollisionStrategy.optional(),
  /**
   * Replaces the deployment's schedules, matched by slug: existing slugs are updated in place, missing
   * ones removed (with their runs not yet started), new ones added. Omitted: schedules stay as they are.
   */
  schedules: ScheduleInputs.optional(),
  /**
   * The asset graph the deployment's code defines (a deployment of the `assets` flow). Replaces the
   * deployment's assets: keys no longer sent stop being defined (their history stays). A key another
   * deployment defines is refused, naming it. Omitted: the deployment's assets stay as they are.
   */
  assets: z.array(AssetDefinitionInput).max(5_000).optional(),
  /**
   * Event triggers that run this deployment (automations it owns, each with one run-deployment
   * action). Replaces the deployment's triggers, matched by name: names no longer sent are removed.
   * Expressions are compiled here: a mistake is a 422 naming the field, line and column. Omitted:
   * the triggers stay as they are.
   */
  triggers: TriggerInputs.optional(),
  /**
   * The sensors the deployment's code defines; their run requests create runs of this deployment.
   * Replaces the deployment's sensors by name (a kept sensor keeps its cursor and pause); omitted:
   * they stay as they are.
   */
  sensors: z.array(SensorDefinitionInput).max(200).optional(),
});
export type DeploymentUpsertRequest = z.infer<typeof DeploymentUpsertRequest>;

export const Deployment = z.strictObject({
  id: Id,
  flowId: Id,
  flowName: Name,
  name: Name,
  description: z.string().nullable(),
  source: z.string(),
  entrypoint: z.string(),
  parameterSchema: JsonObject.nullable(),
  parameters: JsonObject,
  workPool: Name,
  workQueue: Name,
  tags: Tags,
  labels: z.record(z.string(), z.string()),
  jobVariables: JsonObject,
  /** What each run asks of its worker; null for nothing (absent from older servers). */
  resources: ResourceRequest.nullable().optional(),
  retries: z.number().int(),
  retryDelaySeconds: z.number().int(),
  /** Absent from servers that predate retry backoff and deployment concurrency limits. */
  retryBackoff: z.number().optional(),
  retryJitter: z.number().optional(),
  concurrencyLimit: z.number().int().nullable().optional(),
  collisionStrategy: CollisionStrategy.optional(),
  paused: z.boolean(),
  /** The version new runs get (absent from older servers). */
  versionId: Id.optional(),
  /** The signature of that version (`outpost deploy --sign-key`); null when unsigned (absent from older servers). */
  signature: z.string().nullable().optional(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type Deployment = z.infer<typeof Deployment>;

/**
 * Changes a deployment's run limits without a redeploy. `concurrencyLimit: null` removes the limit.
 * A redeploy replaces them with what the deployment's config declares.
 */
export const DeploymentUpdateRequest = z
  .strictObject({
    concurrencyLimit: z.number().int().min(0).max(100_000).nullable().optional(),
    collisionStrategy: CollisionStrategy.optional(),
  })
  .refine((b) => b.concurrencyLimit !== undefined || b.collisionStrategy !== undefined, {
    message: 'give concurrencyLimit or collisionStrategy',
    path: [],
  });
export type DeploymentUpdateRequest = z.infer<typeof DeploymentUpdateRequest>;

export const DeploymentUpsertResponse = z.strictObject({ deployment: Deployment, created: z.boolean() });
export type DeploymentUpsertResponse = z.infer<typeof DeploymentUpsertResponse>;

export const DeploymentListQuery = z.strictObject({
  limit: PageLimit,
  cursor: z.string().max(500).optional(),
  flow: Name.optional(),
});
export const DeploymentListResponse = page(Deployment);
export type DeploymentListResponse = z.infer<typeof DeploymentListResponse>;
