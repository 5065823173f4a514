import type { ProposedState, StateType, TaskRun } from '@outpost/sdk/contracts';
import { DEFAULT_STATE_NAME, isTerminal } from '@outpost/sdk/contracts';
import type { Db } from './client.js';
import { iso, isoOrNull, jsonb } from './values.js';

interface TaskRunRow {
  id: string;
  workspace_id: string;
  flow_run_id: string;
  flow_run_attempt: number;
  name: string;
  task_key: string;
  dynamic_key: string;
  run_count: number;
  cache_key: string | null;
  state_type: StateType;
  state_name: string;
  state_message: string | null;
  state_timestamp: Date;
  state_data: unknown;
  start_time: Date | null;
  end_time: Date | null;
  created_at: Date;
}

function toTaskRun(row: TaskRunRow): TaskRun {
  return {
    id: row.id,
    flowRunId: row.flow_run_id,
    flowRunAttempt: row.flow_run_attempt,
    name: row.name,
    taskKey: row.task_key,
    dynamicKey: row.dynamic_key,
    runCount: row.run_count,
    cacheKey: row.cache_key,
    state: {
      type: row.state_type,
      name: row.state_name,
      message: row.state_message,
      timestamp: iso(row.state_timestamp),
      data: row.state_data ?? null,
    },
    startTime: isoOrNull(row.start_time),
    endTime: isoOrNull(row.end_time),
    createdAt: iso(row.created_at),
  };
}

export interface NewTaskRun {
  id: string;
  workspaceId: string;
  flowRunId: string;
  flowRunAttempt: number;
  name: string;
  taskKey: string;
  dynamicKey: string;
  cacheKey: string | null;
  state: ProposedState;
}

/**
 * Inserts the task run unless its id exists. Returns the stored row and whether this call created
 * it; the caller must check the row belongs to the same workspace and flow run before using it.
 */
export async function insertTaskRun(
  db: Db,
  t: NewTaskRun,
): Promise<{ row: { workspaceId: string; flowRunId: string; taskRun: TaskRun }; created: boolean } | null> {
  const name = t.state.name ?? DEFAULT_STATE_NAME[t.state.type];
  const [inserted] = await db<TaskRunRow[]>`
    INSERT INTO task_runs (id, workspace_id, flow_run_id, flow_run_attempt, name, task_key, dynamic_key, cache_key,
                           state_type, state_name, state_message, state_data, state_timestamp, start_time, end_time)
    VALUES (${t.id}, ${t.workspaceId}, ${t.flowRunId}, ${t.flowRunAttempt}, ${t.name}, ${t.taskKey}, ${t.dynamicKey}, ${t.cacheKey},
            ${t.state.type}, ${name}, ${t.state.message ?? null}, ${jsonb(db, t.state.data)}, now(),
            ${t.state.type === 'RUNNING' ? db`now()` : db`NULL`}, ${isTerminal(t.state.type) ? db`now()` : db`NULL`})
    ON CONFLICT (id) DO NOTHING
    RETURNING *`;
  if (inserted)
    return {
      row: { workspaceId: inserted.workspace_id, flowRunId: inserted.flow_run_id, taskRun: toTaskRun(inserted) },
      created: true,
    };
  const [existing] = await db<TaskRunRow[]>`SELECT * FROM task_runs WHERE id = ${t.id}`;
  if (!existing) return null;
  return {
    row: { workspaceId: existing.workspace_id, flowRunId: existing.flow_run_id, taskRun: toTaskRun(existing) },
    created: false,
  };
}

export async function listTaskRuns(db: Db, workspaceId: string, flowRunId: string): Promise<TaskRun[]> {
  const rows = await db<TaskRunRow[]>`
    SELECT * FROM task_runs WHERE workspace_id = ${workspaceId} AND flow_run_id = ${flowRunId} ORDER BY created_at, id`;
  return rows.map(toTaskRun);
}

/** Moves a task run of this flow run to a new state; null when no such task run exists in it. */
export async function setTaskRunState(
  db: Db,
  input: { workspaceId: string; flowRunId: string; id: string; state: ProposedState; runCount: number | null },
): Promise<TaskRun | null> {
  const { state } = input;
  const [row] = await db<TaskRunRow[]>`
    UPDATE task_runs SET
      state_type = ${state.type}, state_name = ${state.name ?? DEFAULT_STATE_NAME[state.type]},
      state_message = ${state.message ?? null}, state_data = ${jsonb(db, state.data)}, state_timestamp = now(),
      run_count = coalesce(${input.runCount}::int, run_count),
      start_time = ${state.type === 'RUNNING' ? db`coalesce(start_time, now())` : db`start_time`},
      end_time = ${isTerminal(state.type) ? db`now()` : db`NULL`},
      updated_at = now()
    WHERE id = ${input.id} AND flow_run_id = ${input.flowRunId} AND workspace_id = ${input.workspaceId}
    RETURNING *`;
  return row ? toTaskRun(row) : null;
}
