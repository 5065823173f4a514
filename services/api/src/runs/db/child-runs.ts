import type { FlowRun, StateType } from '@outpost/sdk/contracts';
import type { Db, TxSql } from '../../db/client.js';
import { jsonb } from '../../db/values.js';
import { type RunRow, runSelect, toFlowRun } from './flow-runs.js';

/** The parent as a child-run create sees it, locked against state changes until the child exists. */
export interface LockedParent {
  id: string;
  attempt: number;
  stateType: StateType;
  /** The claimed run at the top of the parent's tree (the parent itself when it was claimed). */
  rootId: string;
}

export async function lockParentRun(tx: TxSql, workspaceId: string, id: string): Promise<LockedParent | null> {
  const [row] = await tx<{ id: string; attempt: number; state_type: StateType; root_id: string }[]>`
    SELECT id, attempt, state_type, coalesce(root_flow_run_id, id) AS root_id
    FROM flow_runs WHERE id = ${id} AND workspace_id = ${workspaceId}
    FOR SHARE`;
  return row ? { id: row.id, attempt: row.attempt, stateType: row.state_type, rootId: row.root_id } : null;
}

/** Where an id already in use belongs, so a retried create can tell its own run from someone else's. */
export async function findRunOwner(db: Db, id: string): Promise<{ workspaceId: string; parentFlowRunId: string | null } | null> {
  const [row] = await db<{ workspace_id: string; parent_flow_run_id: string | null }[]>`
    SELECT workspace_id, parent_flow_run_id FROM flow_runs WHERE id = ${id}`;
  return row ? { workspaceId: row.workspace_id, parentFlowRunId: row.parent_flow_run_id } : null;
}

export async function taskRunBelongsTo(db: Db, workspaceId: string, flowRunId: string, taskRunId: string): Promise<boolean> {
  const [row] = await db<{ found: boolean }[]>`
    SELECT EXISTS (
      SELECT 1 FROM task_runs WHERE id = ${taskRunId} AND flow_run_id = ${flowRunId} AND workspace_id = ${workspaceId}
        -- The months since the run began (task_runs is partitioned by created_at), not every month kept.
        AND created_at >= (SELECT task_runs_since(created_at) FROM flow_runs WHERE id = ${flowRunId})
    ) AS found`;
  return row?.found ?? false;
}

export interface NewChildRun {
  id: string;
  workspaceId: string;
  parent: LockedParent;
  flowId: string;
  name: string;
  parameters: Record<string, unknown>;
  parentTaskRunId: string | null;
}

/**
 * Inserts a subflow run already RUNNING, with its first history entry, in one statement. It takes
 * the parent's attempt, worker and lease: it runs inside the parent's process and is never queued,
 * so it has no pool, queue, deployment, tags or retries, and no claim will ever see it. Its lease
 * is renewed with its root's (see renewLeases), so when the parent's worker dies the child is
 * crashed by the lease loop like the parent. Returns null when the id is already taken.
 */
export async function insertChildRun(tx: TxSql, run: NewChildRun): Promise<string | null> {
  const [row] = await tx<{ id: string }[]>`
    WITH parent AS (
      SELECT worker_id, lease_expires_at, deployment_version_id, scheduled_time, schedule_id, partition_key
      FROM flow_runs WHERE id = ${run.parent.id}
    ), child AS (
      -- It runs in its parent's process: the parent's code, first due time, schedule and partition are its own.
      INSERT INTO flow_runs (id, workspace_id, flow_id, name, parameters, tags, labels,
                             state_type, state_name, state_timestamp, attempt, max_retries, retry_delay_seconds,
                             expected_start_time, start_time, worker_id, lease_expires_at,
                             parent_flow_run_id, parent_task_run_id, root_flow_run_id, created_at, updated_at,
                             deployment_version_id, scheduled_time, schedule_id, partition_key)
      SELECT ${run.id}, ${run.workspaceId}, ${run.flowId}, ${run.name}, ${jsonb(tx, run.parameters)}, '{}'::text[], '{}'::jsonb,
             'RUNNING', 'Running', now(), ${run.parent.attempt}, 0, 0,
             now(), now(), parent.worker_id, parent.lease_expires_at,
             ${run.parent.id}, ${run.parentTaskRunId}, ${run.parent.rootId}, now(), now(),
             parent.deployment_version_id, parent.scheduled_time, parent.schedule_id, parent.partition_key
      FROM parent
      ON CONFLICT (id) DO NOTHING
      RETURNING id, workspace_id, attempt, state_timestamp
    ), history AS (
      INSERT INTO flow_run_states (workspace_id, flow_run_id, attempt, type, name, timestamp)
      SELECT workspace_id, id, attempt, 'RUNNING', 'Running', state_timestamp FROM child
    )
    SELECT id FROM child`;
  return row?.id ?? null;
}

/** The run's direct subflow runs, oldest first. */
export async function listChildRuns(db: Db, workspaceId: string, parentId: string, limit: number): Promise<FlowRun[]> {
  const rows = await db<RunRow[]>`
    ${runSelect(db)}
    WHERE r.workspace_id = ${workspaceId} AND r.parent_flow_run_id = ${parentId}
    ORDER BY r.created_at, r.id
    LIMIT ${limit}`;
  return rows.map(toFlowRun);
}
