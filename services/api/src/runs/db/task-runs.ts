import type { ProposedState, StateType, TaskRun, TaskRunSummaryResponse } from '@outpost/sdk/contracts';
import { DEFAULT_STATE_NAME, isTerminal } from '@outpost/sdk/contracts';
import type { Db, Sql } from '../../db/client.js';
import type { Row, taskRuns } from '../../db/schema.js';
import { iso, isoOrNull, jsonb, textArray } from '../../db/values.js';
import { currentState, type StateColumns } from './run-states.js';

type TaskRunRow = Pick<
  Row<typeof taskRuns>,
  | 'id'
  | 'workspace_id'
  | 'flow_run_id'
  | 'flow_run_attempt'
  | 'name'
  | 'task_key'
  | 'dynamic_key'
  | 'run_count'
  | 'cache_key'
  | StateColumns
  | 'start_time'
  | 'end_time'
  | 'created_at'
>;

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
    state: currentState(row),
    startTime: isoOrNull(row.start_time),
    endTime: isoOrNull(row.end_time),
    createdAt: iso(row.created_at),
  };
}

export interface NewTaskRun {
  id: string;
  workspaceId: string;
  flowRunId: string;
  /** The least `created_at` of the flow run's task runs (getRunAttemptSince). */
  since: Date;
  flowRunAttempt: number;
  name: string;
  taskKey: string;
  dynamicKey: string;
  cacheKey: string | null;
  state: ProposedState;
}

/**
 * Serialises the writes of one flow run's task runs, for the transaction. A retried creation is
 * recognised by its id among the task runs since its run's `since` (getRunAttemptSince; the key, `(id, created_at)`, cannot
 * tell it, since a retry may stamp another `created_at`); holding this while checking and inserting
 * keeps a retry that races its original from storing the task run twice. Uncontended in the usual
 * case: a run's task runs are written by one process, one batch at a time.
 */
export async function lockRunTaskRuns(tx: Db, flowRunId: string): Promise<void> {
  await tx`SELECT pg_advisory_xact_lock(hashtextextended(${`task-runs:${flowRunId}`}, 0))`;
}

/**
 * Inserts the task run unless its id exists among the task runs since its flow run's `since`.
 * Returns the stored row and whether this call created it; the caller must check the row belongs to
 * the same workspace and flow run before using it.
 */
export async function insertTaskRun(
  sql: Sql,
  t: NewTaskRun,
): Promise<{ row: { workspaceId: string; flowRunId: string; taskRun: TaskRun }; created: boolean } | null> {
  const name = t.state.name ?? DEFAULT_STATE_NAME[t.state.type];
  return sql.begin(async (db) => {
    await lockRunTaskRuns(db, t.flowRunId);
    const [existing] = await db<TaskRunRow[]>`
      SELECT * FROM task_runs WHERE id = ${t.id} AND created_at >= ${t.since}::timestamptz
      ORDER BY (flow_run_id = ${t.flowRunId} AND workspace_id = ${t.workspaceId}) DESC LIMIT 1`;
    const [inserted] = existing
      ? []
      : await db<TaskRunRow[]>`
      INSERT INTO task_runs (id, workspace_id, flow_run_id, flow_run_attempt, name, task_key, dynamic_key, cache_key,
                             state_type, state_name, state_message, state_data, state_timestamp, start_time, end_time, created_at)
      VALUES (${t.id}, ${t.workspaceId}, ${t.flowRunId}, ${t.flowRunAttempt}, ${t.name}, ${t.taskKey}, ${t.dynamicKey}, ${t.cacheKey},
              ${t.state.type}, ${name}, ${t.state.message ?? null}, ${jsonb(db, t.state.data)}, now(),
              ${t.state.type === 'RUNNING' ? db`now()` : db`NULL`}, ${isTerminal(t.state.type) ? db`now()` : db`NULL`},
              greatest(now(), ${t.since}::timestamptz))
      ON CONFLICT (id, created_at) DO NOTHING
      RETURNING *`;
    const row = inserted ?? existing;
    if (!row) return null;
    return {
      row: { workspaceId: row.workspace_id, flowRunId: row.flow_run_id, taskRun: toTaskRun(row) },
      created: inserted !== undefined,
    };
  });
}

/**
 * A page of a run's task runs in creation order, optionally of some state types or one task name.
 * The keyset `(created_at, id) > (…)` walks `task_runs_flow_run_idx`, so page 200 of a 100,000-task
 * run costs what page 1 does.
 */
export async function listTaskRuns(
  db: Db,
  workspaceId: string,
  run: { id: string; since: Date },
  page: { limit: number; after?: { createdAt: Date; id: string }; states?: StateType[]; name?: string },
): Promise<TaskRun[]> {
  const rows = await db<TaskRunRow[]>`
    SELECT * FROM task_runs
    WHERE workspace_id = ${workspaceId} AND flow_run_id = ${run.id} AND created_at >= ${run.since}::timestamptz
      ${page.states?.length ? db`AND state_type = ANY(${textArray(db, page.states)}::text[])` : db``}
      ${page.name ? db`AND name = ${page.name}` : db``}
      ${page.after ? db`AND (created_at, id) > (${page.after.createdAt}::timestamptz, ${page.after.id}::uuid)` : db``}
    ORDER BY created_at, id
    LIMIT ${page.limit}`;
  return rows.map(toTaskRun);
}

/** Slices of a run's timeline in a summary: enough to draw its activity, few enough to send at once. */
const TIMELINE_SLICES = 120;

/**
 * Counts by state and by task name, and task runs active per slice of the run's time, in two
 * statements over `task_runs_flow_run_idx` — what a run page draws for 100,000 task runs instead
 * of the rows themselves. `date_part` (float8) rather than `extract` (numeric): at 100,000 rows the
 * numeric arithmetic was most of the cost (activity query 101 → 42 ms, per-name query 58 → 50 ms).
 */
export async function summarizeTaskRuns(
  db: Db,
  workspaceId: string,
  run: { id: string; since: Date },
): Promise<TaskRunSummaryResponse> {
  const groups = await db<
    {
      name: string;
      state_type: StateType;
      n: number;
      first_start: Date | null;
      last_end: Date | null;
      mean_ms: number | null;
      max_ms: number | null;
    }[]
  >`
    SELECT name, state_type, count(*)::int AS n, min(start_time) AS first_start, max(end_time) AS last_end,
           avg(date_part('epoch', end_time - start_time) * 1000)::float8 AS mean_ms,
           max(date_part('epoch', end_time - start_time) * 1000)::float8 AS max_ms
    FROM task_runs WHERE workspace_id = ${workspaceId} AND flow_run_id = ${run.id} AND created_at >= ${run.since}::timestamptz
    GROUP BY name, state_type`;
  const byState: Partial<Record<StateType, number>> = {};
  const names = new Map<string, TaskRunSummaryResponse['byName'][number] & { finished: number; sumMs: number }>();
  let total = 0;
  let start: Date | null = null;
  let end: Date | null = null;
  for (const g of groups) {
    total += g.n;
    byState[g.state_type] = (byState[g.state_type] ?? 0) + g.n;
    const row = names.get(g.name) ?? {
      name: g.name,
      total: 0,
      byState: {},
      firstStart: null,
      lastEnd: null,
      meanMs: null,
      maxMs: null,
      finished: 0,
      sumMs: 0,
    };
    row.total += g.n;
    row.byState[g.state_type] = (row.byState[g.state_type] ?? 0) + g.n;
    if (g.first_start && (!row.firstStart || g.first_start.toISOString() < row.firstStart)) row.firstStart = iso(g.first_start);
    if (g.last_end && (!row.lastEnd || g.last_end.toISOString() > row.lastEnd)) row.lastEnd = iso(g.last_end);
    if (g.mean_ms !== null) {
      row.sumMs += g.mean_ms * g.n;
      row.finished += g.n;
      row.maxMs = Math.max(row.maxMs ?? 0, g.max_ms ?? 0);
    }
    if (g.first_start && (!start || g.first_start < start)) start = g.first_start;
    if (g.last_end && (!end || g.last_end > end)) end = g.last_end;
    names.set(g.name, row);
  }
  const byName = [...names.values()]
    .map(({ finished, sumMs, ...row }) => ({ ...row, meanMs: finished > 0 ? sumMs / finished : null }))
    .sort((a, b) => (a.firstStart ?? '').localeCompare(b.firstStart ?? '') || a.name.localeCompare(b.name));
  const timeline = start ? await activity(db, workspaceId, run, start, end) : { start: null, end: null, sliceMs: 0, active: [] };
  return { total, byState, byName, timeline };
}

/**
 * Task runs active in each of TIMELINE_SLICES equal slices from `start` to `end` (now while some still
 * run). One scan: task runs are grouped by their first and last slice (at most 120 × 120 groups),
 * and a running sum over those spans gives each slice's count — not one scan per slice.
 */
async function activity(
  db: Db,
  workspaceId: string,
  run: { id: string; since: Date },
  start: Date,
  lastEnd: Date | null,
): Promise<TaskRunSummaryResponse['timeline']> {
  const [bounds] = await db<{ stop: Date }[]>`
    SELECT greatest(${lastEnd}::timestamptz, ${start}::timestamptz + interval '1 millisecond',
                    CASE WHEN EXISTS (SELECT 1 FROM task_runs
                                      WHERE workspace_id = ${workspaceId} AND flow_run_id = ${run.id}
                                        AND created_at >= ${run.since}::timestamptz
                                        AND start_time IS NOT NULL AND end_time IS NULL) THEN now() END) AS stop`;
  const stop = bounds?.stop ?? new Date(start.getTime() + 1);
  const sliceMs = (stop.getTime() - start.getTime()) / TIMELINE_SLICES;
  const spans = await db<{ first: number; last: number; n: number }[]>`
    SELECT least(${TIMELINE_SLICES - 1}, floor(date_part('epoch', start_time - ${start}::timestamptz) * 1000 / ${sliceMs}))::int AS first,
           least(${TIMELINE_SLICES - 1}, floor(date_part('epoch', coalesce(end_time, ${stop}::timestamptz) - ${start}::timestamptz) * 1000 / ${sliceMs}))::int AS last,
           count(*)::int AS n
    FROM task_runs
    WHERE workspace_id = ${workspaceId} AND flow_run_id = ${run.id} AND created_at >= ${run.since}::timestamptz
      AND start_time IS NOT NULL
    GROUP BY 1, 2`;
  const delta = new Array<number>(TIMELINE_SLICES + 1).fill(0);
  for (const { first, last, n } of spans) {
    delta[Math.max(0, first)]! += n;
    delta[Math.max(first, last) + 1]! -= n;
  }
  const active: number[] = [];
  let running = 0;
  for (let i = 0; i < TIMELINE_SLICES; i++) {
    running += delta[i]!;
    active.push(running);
  }
  return { start: iso(start), end: iso(stop), sliceMs, active };
}
/** Moves a task run of this flow run to a new state; null when no such task run exists in it. */
export async function setTaskRunState(
  db: Db,
  input: {
    workspaceId: string;
    flowRunId: string;
    since: Date;
    id: string;
    state: ProposedState;
    runCount: number | null;
  },
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
    WHERE id = ${input.id} AND created_at >= ${input.since}::timestamptz
      AND flow_run_id = ${input.flowRunId} AND workspace_id = ${input.workspaceId}
    RETURNING *`;
  return row ? toTaskRun(row) : null;
}
