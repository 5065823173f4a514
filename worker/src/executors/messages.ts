import { Id, LogLevel, ProposedState, StateType, TaskRunCreateRequest } from '@outpost/sdk/contracts';
import { z } from 'zod';

/*
 * What a flow process may send the worker (docs/runtime-protocol.md). Customer code can call
 * `process.send` itself, so every message is parsed before the worker acts on it; anything else
 * is ignored with a warning.
 */

const SetState = z.strictObject({ transitionId: Id, state: ProposedState });
const CreateTaskRun = TaskRunCreateRequest.omit({ flowRunAttempt: true });
const SetTaskRunState = z.strictObject({
  taskRunId: Id,
  runCount: z.number().int().min(1).optional(),
  state: ProposedState,
});

export const RpcRequest = z.discriminatedUnion('method', [
  z.strictObject({ t: z.literal('rpc'), id: z.number().int(), method: z.literal('setState'), body: SetState }),
  z.strictObject({ t: z.literal('rpc'), id: z.number().int(), method: z.literal('createTaskRun'), body: CreateTaskRun }),
  z.strictObject({ t: z.literal('rpc'), id: z.number().int(), method: z.literal('setTaskRunState'), body: SetTaskRunState }),
]);
export type RpcRequest = z.infer<typeof RpcRequest>;

export const ChildMessage = z.union([
  z.strictObject({ t: z.literal('ready') }),
  z.strictObject({
    t: z.literal('log'),
    level: LogLevel,
    message: z.string(),
    timestamp: z.string(),
    taskRunId: Id.optional(),
  }),
  RpcRequest,
  z.strictObject({ t: z.literal('done'), stateType: StateType }),
]);
export type ChildMessage = z.infer<typeof ChildMessage>;

export interface RpcErrorBody {
  message: string;
  status?: number;
  code?: string;
}

/** Worker → flow process. */
export type ParentMessage =
  | {
      t: 'start';
      run: {
        id: string;
        attempt: number;
        name: string;
        flowName: string;
        deploymentId: string | null;
        parameters: Record<string, unknown>;
      };
      entry: string;
    }
  | { t: 'reply'; id: number; ok: true; result: unknown }
  | { t: 'reply'; id: number; ok: false; error: RpcErrorBody }
  | { t: 'cancel'; reason: string };

/** An rpc id from a message that failed validation, so the child still gets an answer instead of waiting. */
export function rpcIdOf(message: unknown): number | null {
  if (message && typeof message === 'object' && (message as { t?: unknown }).t === 'rpc') {
    const id = (message as { id?: unknown }).id;
    if (typeof id === 'number' && Number.isInteger(id)) return id;
  }
  return null;
}
