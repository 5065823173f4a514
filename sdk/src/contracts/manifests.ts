import * as z from 'zod';
import { Id, JsonObject, Name, Timestamp } from './common.js';
import { StateType } from './states.js';
import { WaitKey } from './waits.js';

/*
 * Reproducible runs: a run's manifest is everything needed to run it again — the pinned code, its
 * entrypoint, parameters, job variables (secret names only: values never reach the control plane),
 * and where each attempt ran. "Reproduce" creates a new run from it.
 */

const Text = z.string().min(1).max(500);

/** `PUT /flow-runs/:id/attempts/:attempt/environment`: where an attempt runs, reported by the worker holding it. */
export const AttemptEnvironmentReport = z.strictObject({
  /** The `@outpost/worker` package version. */
  workerVersion: Text.nullable(),
  /** The executor's kind (`process`, `kubernetes`). */
  executor: z.string().min(1).max(100),
  /** The Node.js version the flow runs on (`v20.19.0`). */
  nodeVersion: Text.nullable(),
  /** The container image (Kubernetes). */
  image: z.string().min(1).max(1000).nullable(),
  /** The image's digest as pulled (`sha256:…`). */
  imageDigest: Text.nullable(),
});
export type AttemptEnvironmentReport = z.infer<typeof AttemptEnvironmentReport>;

/** `attempt` is the attempt number; one that names no attempt of the run (`0`, `x`) is a 404 like any missing attempt. */
export const AttemptParams = z.strictObject({ id: Id, attempt: z.string().min(1).max(100) });

export const AttemptEnvironmentResponse = z.strictObject({ recorded: z.boolean() });
export type AttemptEnvironmentResponse = z.infer<typeof AttemptEnvironmentResponse>;

/** One attempt as the manifest records it. */
export const ManifestAttempt = z.strictObject({
  attempt: z.number().int(),
  workerName: z.string().nullable(),
  workerVersion: z.string().nullable(),
  executor: z.string().nullable(),
  nodeVersion: z.string().nullable(),
  image: z.string().nullable(),
  imageDigest: z.string().nullable(),
  /** The `sha256:…` of the code the attempt was handed. */
  sourceDigest: z.string().nullable(),
  /** The resources the claim assigned (devices, memory); null where the control plane assigns none. */
  assigned: z.json().nullable(),
  claimedAt: Timestamp,
  state: z.strictObject({ type: StateType, name: z.string() }).nullable(),
});
export type ManifestAttempt = z.infer<typeof ManifestAttempt>;

/** The latest data version of an upstream asset when the run started. */
export const ManifestInputAsset = z.strictObject({
  assetKey: z.string(),
  partitionKey: z.string().nullable(),
  dataVersion: z.string().nullable(),
  codeVersion: z.string(),
  /** The run that materialised that version. */
  flowRunId: Id,
  materializedAt: Timestamp,
});
export type ManifestInputAsset = z.infer<typeof ManifestInputAsset>;

/** `GET /flow-runs/:id/manifest`. */
export const FlowRunManifest = z.strictObject({
  flowRunId: Id,
  flowRunName: z.string(),
  flowName: Name,
  /** `flow/deployment`; null for a run of no deployment. */
  deployment: z.string().nullable(),
  deploymentId: Id.nullable(),
  deploymentVersionId: Id.nullable(),
  /** The pinned source reference (`oci://…@sha256:…`). */
  source: z.string().nullable(),
  /** What the source is pinned to: `sha256:…`, a commit sha; null for a `dir:` source. */
  codeDigest: z.string().nullable(),
  entrypoint: z.string().nullable(),
  parameters: JsonObject,
  /** The version's job variables; secrets appear by reference (`{ "$secret": "NAME" }`), never by value. */
  jobVariables: JsonObject,
  /** The names of the secrets the job variables reference. */
  secretNames: z.array(z.string()),
  tags: z.array(z.string()),
  partitionKey: z.string().nullable(),
  workPool: Name.nullable(),
  workQueue: Name.nullable(),
  /** Worker labels the run required. */
  labels: z.record(z.string(), z.string()),
  attempts: z.array(ManifestAttempt),
  /** What the run read: the upstream assets of those it materialised, at their latest version as of its start. */
  inputAssets: z.array(ManifestInputAsset),
  reproducedFrom: z.strictObject({ id: Id, name: z.string() }).nullable(),
  reproducedBy: z.array(z.strictObject({ id: Id, name: z.string(), createdAt: Timestamp })),
});
export type FlowRunManifest = z.infer<typeof FlowRunManifest>;

/** `POST /flow-runs/:id/reproduce`. */
export const FlowRunReproduceRequest = z.strictObject({
  /** The new run's name. @default a fresh name */
  name: z.string().min(1).max(200).optional(),
});
export type FlowRunReproduceRequest = z.infer<typeof FlowRunReproduceRequest>;

/**
 * `POST /flow-runs/:id/deployment-runs`: a running flow starts a run of a deployment (any pool of the
 * workspace), linked to it as its parent. Idempotent by `key` within the parent run, so a replay after
 * a suspension gets the same child back.
 */
export const DeploymentRunCreateRequest = z.strictObject({
  /** `flow/deployment`. */
  deployment: z
    .string()
    .min(3)
    .max(401)
    .regex(/^[^/]+\/[^/]+$/, 'use "<flow>/<deployment>"'),
  parameters: JsonObject.optional(),
  /** The call's key in the parent run (`wait-3`, or one the flow gave). */
  key: WaitKey,
  tags: z.array(z.string().min(1).max(100)).max(50).optional(),
});
export type DeploymentRunCreateRequest = z.infer<typeof DeploymentRunCreateRequest>;
