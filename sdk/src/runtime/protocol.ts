import * as z from 'zod';
import { ArtifactFields, checkArtifactData } from '../contracts/artifacts.js';
import { AssetEvent } from '../contracts/assets.js';
import { Id, JsonObject, Name } from '../contracts/common.js';
import { EventEmitRequest } from '../contracts/event-ledger.js';
import { LogLevel } from '../contracts/logs.js';
import { DeploymentRunCreateRequest } from '../contracts/manifests.js';
import { DynamicPartitions, PartitionKey } from '../contracts/partitions.js';
import { ProposedState } from '../contracts/states.js';
import { TaskRunEvent } from '../contracts/task-runs.js';
import { RecordedResult, WaitCreateRequest } from '../contracts/waits.js';

/*
 * The messages exchanged over Node's IPC channel between the worker and the flow process
 * (docs/runtime-protocol.md). Both directions are schemas, not just types: the worker must treat
 * whatever the child sends as untrusted (customer code can call `process.send` itself), and the
 * runtime checks what it receives before acting on it.
 */

export * from './worker-messages.js';

/**
 * `flowRunId` on a request names a subflow run the worker created for this run (`createChildRun`);
 * absent, the request is about the worker's own run. The worker refuses any other id.
 */
const ChildRunId = Id.optional();

export const SetStateBody = z.strictObject({ transitionId: Id, state: ProposedState, flowRunId: ChildRunId });
export type SetStateBody = z.infer<typeof SetStateBody>;

/**
 * A task run's creation or state change, sent without waiting for an answer: the worker batches
 * these (with the run's attempt and token) into `POST /flow-runs/:id/task-runs/batch`, so a task
 * never waits on the network to start. The IPC channel keeps them in order; the event's `seq` keeps
 * the server in order whatever happens to the batches.
 */
export const TaskEventMessage = z.strictObject({ t: z.literal('task'), event: TaskRunEvent, flowRunId: ChildRunId });
export type TaskEventMessage = z.infer<typeof TaskEventMessage>;

/**
 * Start a subflow run: the worker creates it (RUNNING, linked to its parent) with the run token and
 * replies with the created `FlowRun`. Parameters leave the network like any other text: redacted.
 */
export const CreateChildRunBody = z.strictObject({
  id: Id,
  /** The subflow's direct parent: the worker's run or one of its subflow runs. @default the worker's run */
  parentFlowRunId: ChildRunId,
  parentTaskRunId: Id.optional(),
  flowName: Name,
  parameters: JsonObject,
});
export type CreateChildRunBody = z.infer<typeof CreateChildRunBody>;

/** An artifact of the run (or of a subflow run); the worker adds `flowRunAttempt` and redacts its text. */
export const CreateArtifactBody = ArtifactFields.omit({ flowRunAttempt: true })
  .extend({ flowRunId: ChildRunId })
  .superRefine(checkArtifactData);
export type CreateArtifactBody = z.infer<typeof CreateArtifactBody>;

/**
 * What the run's assets flow materialised, failed to materialise and checked; the worker adds the
 * attempt, redacts the metadata's text and calls `POST /flow-runs/:id/asset-events`.
 */
export const ReportAssetEventsBody = z.strictObject({
  events: z.array(AssetEvent).min(1).max(1_000),
  flowRunId: ChildRunId,
});
export type ReportAssetEventsBody = z.input<typeof ReportAssetEventsBody>;

/** Asks which assets of the run are blocked upstream or were materialised by an earlier attempt (`GET /flow-runs/:id/asset-gate`). */
export const AssetGateBody = z.strictObject({ flowRunId: ChildRunId });
export type AssetGateBody = z.infer<typeof AssetGateBody>;

/** Adds keys to a dynamic partition set (`POST /dynamic-partitions/:name` with the run token). */
export const AddDynamicPartitionsBody = z.strictObject({
  name: DynamicPartitions.shape.name,
  keys: z.array(PartitionKey).min(1).max(10_000),
  flowRunId: ChildRunId,
});
export type AddDynamicPartitionsBody = z.infer<typeof AddDynamicPartitionsBody>;

/**
 * Begin (or find again, by key) one of the run's durable waits: the worker calls
 * `POST /flow-runs/:id/waits` with the run token. Waits belong to the worker's run itself, never to a
 * subflow run.
 */
export const CreateWaitBody = WaitCreateRequest;
export type CreateWaitBody = z.infer<typeof CreateWaitBody>;

/** Read a wait, holding up to `holdSeconds` for it to stop WAITING (`GET /waits/:id?holdSeconds=`). */
export const GetWaitBody = z.strictObject({ waitId: Id, holdSeconds: z.number().int().min(0).max(25) });
export type GetWaitBody = z.infer<typeof GetWaitBody>;

/**
 * Park the run on a waiting wait (`POST /flow-runs/:id/suspend`), naming where the results of its
 * completed tasks were written. With `suspended: true` the worker ends the flow process.
 */
export const SuspendBody = z.strictObject({ waitId: Id, results: z.array(RecordedResult).max(100_000) });
export type SuspendBody = z.infer<typeof SuspendBody>;

/** The recorded results of the run's earlier attempts (`GET /flow-runs/:id/replay`). */
export const ReplayBody = z.strictObject({});
export type ReplayBody = z.infer<typeof ReplayBody>;
/**
 * Start a run of a deployment as the worker's run's child (`runDeployment`): the worker redacts the
 * parameters and calls `POST /flow-runs/:id/deployment-runs` with the run token. Idempotent by `key`
 * in the run, so a replay or a retried attempt gets the same child back. Belongs to the worker's run itself.
 */
export const CreateDeploymentRunBody = DeploymentRunCreateRequest;
export type CreateDeploymentRunBody = z.infer<typeof CreateDeploymentRunBody>;

/** A custom event from the flow (`emit()`); the worker redacts its text and posts it with the run token (`POST /events`). */
export const EmitEventBody = z.strictObject({ event: EventEmitRequest, flowRunId: ChildRunId });
export type EmitEventBody = z.infer<typeof EmitEventBody>;

export const RpcRequest = z.discriminatedUnion('method', [
  z.strictObject({ t: z.literal('rpc'), id: z.number().int(), method: z.literal('setState'), body: SetStateBody }),
  z.strictObject({ t: z.literal('rpc'), id: z.number().int(), method: z.literal('createChildRun'), body: CreateChildRunBody }),
  z.strictObject({ t: z.literal('rpc'), id: z.number().int(), method: z.literal('createArtifact'), body: CreateArtifactBody }),
  z.strictObject({
    t: z.literal('rpc'),
    id: z.number().int(),
    method: z.literal('reportAssetEvents'),
    body: ReportAssetEventsBody,
  }),
  z.strictObject({ t: z.literal('rpc'), id: z.number().int(), method: z.literal('assetGate'), body: AssetGateBody }),
  z.strictObject({
    t: z.literal('rpc'),
    id: z.number().int(),
    method: z.literal('addDynamicPartitions'),
    body: AddDynamicPartitionsBody,
  }),
  z.strictObject({ t: z.literal('rpc'), id: z.number().int(), method: z.literal('createWait'), body: CreateWaitBody }),
  z.strictObject({ t: z.literal('rpc'), id: z.number().int(), method: z.literal('getWait'), body: GetWaitBody }),
  z.strictObject({ t: z.literal('rpc'), id: z.number().int(), method: z.literal('suspend'), body: SuspendBody }),
  z.strictObject({ t: z.literal('rpc'), id: z.number().int(), method: z.literal('replay'), body: ReplayBody }),
  z.strictObject({ t: z.literal('rpc'), id: z.number().int(), method: z.literal('emitEvent'), body: EmitEventBody }),
  z.strictObject({
    t: z.literal('rpc'),
    id: z.number().int(),
    method: z.literal('createDeploymentRun'),
    body: CreateDeploymentRunBody,
  }),
]);
export type RpcRequest = z.infer<typeof RpcRequest>;
export type RpcMethod = RpcRequest['method'];
export type RpcBody<M extends RpcMethod> = Extract<RpcRequest, { method: M }>['body'];

export const LogMessage = z.strictObject({
  t: z.literal('log'),
  level: LogLevel,
  message: z.string(),
  timestamp: z.iso.datetime({ offset: true }),
  taskRunId: Id.optional(),
  /** A subflow run's line; the worker's run when absent. */
  flowRunId: ChildRunId,
});
export type LogMessage = z.infer<typeof LogMessage>;

export const ReadyMessage = z.strictObject({ t: z.literal('ready') });
export const DoneMessage = z.strictObject({ t: z.literal('done'), stateType: ProposedState.shape.type });
export type DoneMessage = z.infer<typeof DoneMessage>;

/**
 * The answer to `preload`: whether the bundle imported, and which variables its import read (only
 * names, never values), so the worker can tell whether the run's own variables would have changed
 * what the import saw. `envListed`: the import listed the whole environment (`{ ...process.env }`).
 */
export const PreloadedMessage = z.strictObject({
  t: z.literal('preloaded'),
  ok: z.boolean(),
  envReads: z.array(z.string()),
  envListed: z.boolean(),
  error: z.string().optional(),
});
export type PreloadedMessage = z.infer<typeof PreloadedMessage>;

/** Flow process → worker. */
export const RunnerToWorkerMessage = z.union([
  ReadyMessage,
  LogMessage,
  TaskEventMessage,
  RpcRequest,
  DoneMessage,
  PreloadedMessage,
]);
export type RunnerToWorkerMessage = z.infer<typeof RunnerToWorkerMessage>;
