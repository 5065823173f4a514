import * as z from 'zod';
import { Id, Timestamp } from './common.js';
import { ProposedState, State, StateType, StateTypeList } from './states.js';

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

/** Events a task-run batch carries at most. */
export const MAX_TASK_RUN_EVENTS = 1000;

/**
 * One thing that happened to a task run, as the runtime saw it. `seq` numbers a task run's events
 * from 0 (its creation): the server applies an event only when its `seq` is past the last one it
 * applied, so a retried or reordered batch changes nothing twice and never moves a task run back.
 * `at` is when it happened on the worker's clock: task timings are observations for the run page,
 * never inputs to scheduling, which only the database clock decides.
 */
export const TaskRunEvent = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('create'),
    id: Id,
    name: z.string().min(1).max(200),
    taskKey: z.string().min(1).max(500),
    dynamicKey: z.string().max(200),
    cacheKey: z.string().max(500).optional(),
    state: ProposedState,
    at: Timestamp,
    /**
     * A creation the worker merged with the task run's later changes before sending (a task that
     * finished within one batch interval arrives as one event): the sequence number and run count
     * of the last change merged, and when its first attempt started. Absent: a plain creation (seq 0).
     */
    seq: z.number().int().min(0).max(1_000_000).optional(),
    runCount: z.number().int().min(1).optional(),
    startedAt: Timestamp.optional(),
  }),
  z.strictObject({
    kind: z.literal('state'),
    id: Id,
    seq: z.number().int().min(1).max(1_000_000),
    runCount: z.number().int().min(1).optional(),
    state: ProposedState,
    at: Timestamp,
  }),
]);
export type TaskRunEvent = z.infer<typeof TaskRunEvent>;

/** Many task-run events of one flow run attempt, in the order they happened. */
export const TaskRunBatchRequest = z.strictObject({
  flowRunAttempt: z.number().int().min(1),
  events: z.array(TaskRunEvent).min(1).max(MAX_TASK_RUN_EVENTS),
});
export type TaskRunBatchRequest = z.infer<typeof TaskRunBatchRequest>;

export const TaskRunBatchResponse = z.strictObject({
  /** Events that changed something. */
  applied: z.number().int(),
  /** Events already applied (a retried batch) or overtaken by a later one of the same task run. */
  duplicates: z.number().int(),
  /** Events refused, by their index in the request: a task-run id used by another run, a state for a task run never created. */
  refused: z.array(z.strictObject({ index: z.number().int(), id: Id, detail: z.string() })),
});
export type TaskRunBatchResponse = z.infer<typeof TaskRunBatchResponse>;

/** A page of a run's task runs, oldest first, optionally of one state type or one task name. */
export const TaskRunListQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1000).default(500),
  cursor: z.string().max(500).optional(),
  /** Comma-separated state types. */
  state: StateTypeList.optional(),
  name: z.string().min(1).max(200).optional(),
});
export type TaskRunListQuery = z.infer<typeof TaskRunListQuery>;

export const TaskRunPageResponse = z.strictObject({
  items: z.array(TaskRun),
  /** Pass as `cursor` for the next page; null on the last one. */
  nextCursor: z.string().nullable(),
});
export type TaskRunPageResponse = z.infer<typeof TaskRunPageResponse>;

const StateTypeCounts = z.partialRecord(StateType, z.number().int());

/**
 * What a run page needs to draw a run of any size at once: counts by state, one row per task name
 * (its span and counts), and how many task runs were running in each slice of the run's time.
 */
export const TaskRunSummaryResponse = z.strictObject({
  total: z.number().int(),
  byState: StateTypeCounts,
  byName: z.array(
    z.strictObject({
      name: z.string(),
      total: z.number().int(),
      byState: StateTypeCounts,
      firstStart: Timestamp.nullable(),
      lastEnd: Timestamp.nullable(),
      /** Mean duration of the finished ones, in milliseconds; null when none finished. */
      meanMs: z.number().nullable(),
      maxMs: z.number().nullable(),
    }),
  ),
  /** Equal slices from the first start to the last end (or now); each counts task runs active in it. */
  timeline: z.strictObject({
    start: Timestamp.nullable(),
    end: Timestamp.nullable(),
    sliceMs: z.number(),
    active: z.array(z.number().int()),
  }),
});
export type TaskRunSummaryResponse = z.infer<typeof TaskRunSummaryResponse>;
