import * as z from 'zod';
import { Id, JsonObject } from '../contracts/common.js';

/*
 * The messages the worker sends a flow process (docs/runtime-protocol.md), apart from the rest of
 * the protocol: a run's start checks these and nothing else of it, so a flow process builds only
 * these schemas on its way to the flow. `protocol.ts` exports them with the messages the other way.
 */

/** The run the worker hands to the flow process. Carries no credential of any kind. */
export const RunDescriptor = z.strictObject({
  id: Id,
  attempt: z.number().int().min(1),
  name: z.string(),
  flowName: z.string().min(1),
  deploymentId: Id.nullable(),
  parameters: JsonObject,
  /** The run's context (see `RunContext`); absent from older workers, when the local defaults apply. */
  deploymentName: z.string().nullable().optional(),
  scheduledTime: z.iso.datetime({ offset: true }).nullable().optional(),
  scheduleId: Id.nullable().optional(),
  tags: z.array(z.string()).optional(),
  partitionKey: z.string().nullable().optional(),
});
export type RunDescriptor = z.infer<typeof RunDescriptor>;

export { RUN_DESCRIPTOR_BASE_FIELDS } from './start-fields.js';

export const StartMessage = z.strictObject({
  t: z.literal('start'),
  run: RunDescriptor,
  /** Absolute path of the bundle module to import. */
  entry: z.string().min(1),
  /**
   * For a flow process the worker started ahead of its run: the run's own variables (job env with
   * secrets resolved, `OUTPOST_RUN_ID`…), set in `process.env` before the bundle is imported.
   */
  env: z.record(z.string(), z.string()).optional(),
  /** For a flow process started ahead of its run: the directory to change to (the bundle's) before importing. */
  cwd: z.string().min(1).optional(),
});
export type StartMessage = z.infer<typeof StartMessage>;

export const RpcError = z.strictObject({
  message: z.string(),
  status: z.number().int().optional(),
  code: z.string().optional(),
});
export type RpcError = z.infer<typeof RpcError>;

export const ReplyMessage = z.union([
  z.strictObject({ t: z.literal('reply'), id: z.number().int(), ok: z.literal(true), result: z.unknown() }),
  z.strictObject({ t: z.literal('reply'), id: z.number().int(), ok: z.literal(false), error: RpcError }),
]);
export type ReplyMessage = z.infer<typeof ReplyMessage>;

export const CancelMessage = z.strictObject({ t: z.literal('cancel'), reason: z.string() });
export type CancelMessage = z.infer<typeof CancelMessage>;

/**
 * How many of the process's task-run events the worker has settled (delivered or given up on). A
 * runtime that has heard one keeps at most `TASK_EVENT_WINDOW` events unsettled; one that never
 * hears one (an older worker) sends without a window.
 */
export const TaskAckMessage = z.strictObject({ t: z.literal('taskAck'), settled: z.number().int().min(0) });
export type TaskAckMessage = z.infer<typeof TaskAckMessage>;

export { TASK_EVENT_WINDOW } from './ipc-window.js';

/**
 * The worker is still serving rpc `id` (the API is away and it keeps retrying): the runtime waits
 * another full rpc timeout for its reply. Sent every `RPC_PENDING_INTERVAL_MS` while an rpc is served.
 */
export const RpcPendingMessage = z.strictObject({ t: z.literal('rpcPending'), id: z.number().int() });
export type RpcPendingMessage = z.infer<typeof RpcPendingMessage>;
export const RPC_PENDING_INTERVAL_MS = 30_000;

/**
 * Warm start: import the bundle's `entry` now, from `cwd`, before any run is handed over. The process
 * has only the variables every run of the worker shares; the run's own arrive later with `start`,
 * whose `entry` must be this one (docs/runtime-protocol.md, "Warm starts").
 */
export const PreloadMessage = z.strictObject({
  t: z.literal('preload'),
  entry: z.string().min(1),
  cwd: z.string().min(1),
  /** Variables every run of this version will have with the same value (`OUTPOST_BUNDLE_DIR`), set before the import. */
  env: z.record(z.string(), z.string()).optional(),
});
export type PreloadMessage = z.infer<typeof PreloadMessage>;

export const WorkerToRunnerMessage = z.union([
  StartMessage,
  ReplyMessage,
  CancelMessage,
  TaskAckMessage,
  RpcPendingMessage,
  PreloadMessage,
]);
export type WorkerToRunnerMessage = z.infer<typeof WorkerToRunnerMessage>;
