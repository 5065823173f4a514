import type { TaskRunBatchResponse, TaskRunEvent } from '@outpost/sdk/contracts';
import { DEFAULT_STATE_NAME, TERMINAL_STATES } from '@outpost/sdk/contracts';
import type { Db, Sql, TxSql } from '../../db/client.js';
import { lockRunTaskRuns } from './task-runs.js';

type CreateEvent = Extract<TaskRunEvent, { kind: 'create' }>;
type StateEvent = Extract<TaskRunEvent, { kind: 'state' }>;

/**
 * Applies a batch of task-run events of one flow run attempt in one transaction and two statements,
 * whatever its size: every creation in one INSERT … SELECT FROM jsonb_to_recordset, every state
 * change in one UPDATE … FROM. A 10,000-item map reports 20,000 events; sent 500 at a time they cost
 * 40 requests and 80 statements instead of 20,000 requests (test/bench/fan-out.ts measures both).
 *
 * Idempotent and order-proof: a creation whose id the run's task runs hold already is skipped (under
 * the run's lock, `lockRunTaskRuns`), and a state change applies only when its `seq` is past the task
 * run's `state_seq`, so a retried batch
 * changes nothing twice and a batch delivered after a later one cannot move a task run back. Of the
 * changes to one task run in a batch, the last (highest seq) becomes its state; its start time is
 * its first RUNNING, its end time the terminal state's. Times come from the events (the worker's
 * clock: observations for the run page), never later than the database's now.
 *
 * The caller checks the attempt first; the run's row is not locked, since task runs of a run are
 * only written by the process that holds its current attempt.
 *
 * Every statement bounds `created_at` from below by the run's `since` (getRunAttemptSince), at or
 * after which the creations here stamp every task run:
 * `task_runs` is partitioned by month of that column, so each lookup by id probes the months since
 * the run began, not every month kept.
 */
export async function applyTaskRunEvents(sql: Sql, input: TaskRunEventsInput): Promise<TaskRunBatchResponse> {
  return sql.begin((tx) => applyTaskRunEventsIn(tx, input));
}

export interface TaskRunEventsInput {
  workspaceId: string;
  flowRunId: string;
  since: Date;
  attempt: number;
  events: readonly TaskRunEvent[];
}

/** `applyTaskRunEvents` inside a caller's transaction: a state proposal that carries its run's last task-run events. */
export async function applyTaskRunEventsIn(tx: TxSql, input: TaskRunEventsInput): Promise<TaskRunBatchResponse> {
  const creates = new Map<string, { event: CreateEvent; index: number }>();
  const states: { event: StateEvent; index: number }[] = [];
  input.events.forEach((event, index) => {
    if (event.kind === 'create') {
      if (!creates.has(event.id)) creates.set(event.id, { event, index });
    } else states.push({ event, index });
  });
  if (creates.size > 0) await lockRunTaskRuns(tx, input.flowRunId);
  const created =
    creates.size > 0
      ? await insertCreated(
          tx,
          input,
          [...creates.values()].map((c) => c.event),
        )
      : new Set<string>();
  const notCreated = [...creates.keys()].filter((id) => !created.has(id));
  const foreign = notCreated.length > 0 ? await foreignIds(tx, input, notCreated) : new Set<string>();
  const refused: TaskRunBatchResponse['refused'] = [];
  for (const [id, { index }] of creates) {
    if (foreign.has(id)) refused.push({ index, id, detail: 'this task run id is already in use' });
  }
  let applied = created.size;
  let duplicates = creates.size - created.size - foreign.size;
  if (states.length > 0) {
    const previous = await updateStates(
      tx,
      input,
      states.map((s) => s.event).filter((e) => !foreign.has(e.id)),
    );
    for (const { event, index } of states) {
      if (foreign.has(event.id)) refused.push({ index, id: event.id, detail: 'this task run id is already in use' });
      else if (!previous.has(event.id)) refused.push({ index, id: event.id, detail: 'no such task run in this flow run' });
      else if (event.seq > (previous.get(event.id) ?? 0)) applied++;
      else duplicates++;
    }
  }
  refused.sort((a, b) => a.index - b.index);
  return { applied, duplicates, refused };
}

/** An event's state as the columns of the JSON rows the statements below read. */
function stateColumns(e: CreateEvent | StateEvent) {
  return {
    type: e.state.type,
    state_name: e.state.name ?? DEFAULT_STATE_NAME[e.state.type],
    message: e.state.message ?? null,
    data: e.state.data ?? null,
    at: e.at,
  };
}

async function insertCreated(
  tx: Db,
  input: { workspaceId: string; flowRunId: string; since: Date; attempt: number },
  events: readonly CreateEvent[],
): Promise<Set<string>> {
  const rows = events.map((e) => ({
    id: e.id,
    name: e.name,
    task_key: e.taskKey,
    dynamic_key: e.dynamicKey,
    cache_key: e.cacheKey ?? null,
    ...stateColumns(e),
    seq: e.seq ?? 0,
    run_count: e.runCount ?? 1,
    started_at: e.startedAt ?? (e.state.type === 'RUNNING' ? e.at : null),
  }));
  const inserted = await tx<{ id: string }[]>`
    INSERT INTO task_runs (id, workspace_id, flow_run_id, flow_run_attempt, name, task_key, dynamic_key, cache_key,
                           state_type, state_name, state_message, state_data, state_timestamp, state_seq,
                           start_time, end_time, created_at, updated_at, run_count)
    SELECT e.id, ${input.workspaceId}::uuid, ${input.flowRunId}::uuid, ${input.attempt}::int, e.name, e.task_key, e.dynamic_key,
           e.cache_key, e.type, e.state_name, e.message, e.data, least(e.at, now()), e.seq,
           least(e.started_at, now()),
           CASE WHEN e.type = ANY(${tx.array([...TERMINAL_STATES])}::text[]) THEN least(e.at, now()) END,
           -- At or after the run's \`since\`, and in a month still kept: a run older than the task-run
           -- retention stores its new task runs in the oldest month there is.
           greatest(least(coalesce(e.started_at, e.at), now()), ${input.since}::timestamptz,
                    (SELECT min(starts) FROM table_partitions WHERE parent = 'task_runs' AND NOT detached)),
           now(), e.run_count
    FROM jsonb_to_recordset(${tx.json(rows as never)}::jsonb)
      AS e(id uuid, name text, task_key text, dynamic_key text, cache_key text, type text, state_name text,
           message text, data jsonb, at timestamptz, seq int, run_count int, started_at timestamptz)
    -- Already created (a retried batch, whatever \`created_at\` it would stamp now), here or elsewhere:
    -- one key lookup a row. Written as NOT EXISTS, the planner made it an anti join, which, with
    -- statistics that lag a month's partition growing by thousands of rows a second, it planned as a
    -- hash of the whole month read every batch (45–60 ms a 500-row batch at 100,000 task runs).
    LEFT JOIN LATERAL (
      SELECT true AS held FROM task_runs t WHERE t.id = e.id AND t.created_at >= ${input.since}::timestamptz LIMIT 1
    ) h ON true
    WHERE h.held IS NULL
    ON CONFLICT (id, created_at) DO NOTHING
    RETURNING id`;
  return new Set(inserted.map((r) => r.id));
}

/** Of ids that were not inserted, those that belong to another flow run or workspace. */
async function foreignIds(
  tx: Db,
  input: { workspaceId: string; flowRunId: string; since: Date },
  ids: string[],
): Promise<Set<string>> {
  const rows = await tx<{ id: string }[]>`
    SELECT id FROM task_runs
    WHERE id = ANY(${tx.array(ids)}::uuid[]) AND created_at >= ${input.since}::timestamptz
      AND (flow_run_id <> ${input.flowRunId} OR workspace_id <> ${input.workspaceId})
    EXCEPT
    SELECT id FROM task_runs
    WHERE id = ANY(${tx.array(ids)}::uuid[]) AND created_at >= ${input.since}::timestamptz
      AND flow_run_id = ${input.flowRunId} AND workspace_id = ${input.workspaceId}`;
  return new Set(rows.map((r) => r.id));
}

/**
 * Moves each named task run of this flow run to its latest event, when that is past its `state_seq`.
 * Returns the `state_seq` each had before (absent: no such task run in this flow run).
 */
async function updateStates(
  tx: Db,
  input: { workspaceId: string; flowRunId: string; since: Date },
  events: readonly StateEvent[],
): Promise<Map<string, number>> {
  if (events.length === 0) return new Map();
  const rows = events.map((e) => ({
    id: e.id,
    seq: e.seq,
    run_count: e.runCount ?? null,
    ...stateColumns(e),
  }));
  const before = await tx<{ id: string; state_seq: number }[]>`
    WITH e AS (
      SELECT * FROM jsonb_to_recordset(${tx.json(rows as never)}::jsonb)
        AS e(id uuid, seq int, run_count int, type text, state_name text, message text, data jsonb, at timestamptz)
    ), latest AS (
      -- The last change of each task run, with the time of its first RUNNING in the batch.
      SELECT DISTINCT ON (id) *, min(at) FILTER (WHERE type = 'RUNNING') OVER (PARTITION BY id) AS first_running
      FROM e ORDER BY id, seq DESC
    ), old AS (
      -- Each task run by its primary key, one lookup per event. Written as \`t.id IN (…) AND
      -- t.flow_run_id = …\`, the planner, with statistics that lag a table growing by thousands of
      -- rows a second, read every task run of the flow run through its index for each batch: 2.8 s
      -- a batch at 30,000 task runs, against 28 ms this way (EXPLAIN ANALYZE, 500 events).
      SELECT t.id, t.created_at, t.state_seq, l.seq, l.run_count, l.type, l.state_name, l.message, l.data, l.at, l.first_running
      FROM latest l
      CROSS JOIN LATERAL (
        SELECT t.id, t.created_at, t.state_seq, t.flow_run_id, t.workspace_id FROM task_runs t
        WHERE t.id = l.id AND t.created_at >= ${input.since}::timestamptz
        -- This run's, should another run hold the same id in a later month.
        ORDER BY (t.flow_run_id = ${input.flowRunId} AND t.workspace_id = ${input.workspaceId}) DESC
        LIMIT 1 FOR UPDATE
      ) t
      WHERE t.flow_run_id = ${input.flowRunId} AND t.workspace_id = ${input.workspaceId}
    ), moved AS (
      -- Joined to \`old\` alone, which carries each change: a generic plan takes a CTE for one row, and
      -- a join to a second one became a nested loop that read it once a row (106 ms a 500-event batch).
      UPDATE task_runs t SET
        state_type = o.type, state_name = o.state_name, state_message = o.message, state_data = o.data,
        state_timestamp = least(o.at, now()), state_seq = o.seq,
        run_count = coalesce(o.run_count, t.run_count),
        start_time = coalesce(t.start_time, least(o.first_running, now())),
        end_time = CASE WHEN o.type = ANY(${tx.array([...TERMINAL_STATES])}::text[]) THEN least(o.at, now()) END,
        updated_at = now()
      FROM old o
      WHERE t.id = o.id AND t.created_at = o.created_at AND t.created_at >= ${input.since}::timestamptz
        AND o.seq > t.state_seq
      RETURNING t.id
    )
    SELECT id, state_seq FROM old`;
  return new Map(before.map((r) => [r.id, r.state_seq]));
}
