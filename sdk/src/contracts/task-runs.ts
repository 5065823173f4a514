import * as z from 'zod';
import { Id, Timestamp } from './common.js';
import { ProposedState, State } from './states.js';

export const TaskRun = z.strictObject({
  id: Id,
  flowRunId: Id,
  /** The flow run attempt this task ran in. */
  flowRunAttempt: z.number().int(),
  name: z.string(),
  /** Identity of the task inside the flow (its name plus call index). */
  taskKey: z.string(),
  dynamicKey: z.string(),
  /** Attempts of the task itself (task-level retries). */
  runCount: z.number().int(),
  cacheKey: z.string().nullable(),
  state: State,
  startTime: Timestamp.nullable(),
  endTime: Timestamp.nullable(),
  createdAt: Timestamp,
});
export type TaskRun = z.infer<typeof TaskRun>;

/** Idempotent by `id` (client-generated). */
export const TaskRunCreateRequest = z.strictObject({
  id: Id,
  flowRunAttempt: z.number().int().min(1),
  name: z.string().min(1).max(200),
  taskKey: z.string().min(1).max(500),
  dynamicKey: z.string().max(200),
  cacheKey: z.string().max(500).optional(),
  state: ProposedState,
});
export type TaskRunCreateRequest = z.infer<typeof TaskRunCreateRequest>;

export const TaskRunSetStateRequest = z.strictObject({
  flowRunAttempt: z.number().int().min(1),
  runCount: z.number().int().min(1).optional(),
  state: ProposedState,
});
export type TaskRunSetStateRequest = z.infer<typeof TaskRunSetStateRequest>;

export const TaskRunResponse = z.strictObject({ taskRun: TaskRun });
export type TaskRunResponse = z.infer<typeof TaskRunResponse>;
export const TaskRunListResponse = z.strictObject({ items: z.array(TaskRun) });
export type TaskRunListResponse = z.infer<typeof TaskRunListResponse>;
