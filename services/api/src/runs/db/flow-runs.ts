import type { FlowRun, ResourceRequest, RunWaitingFor, StateType } from '@outpost/sdk/contracts';
import type postgres from 'postgres';
import { type AttemptFence, claimedByOther } from '../../auth/db/run-access.js';
import { RUNS_CHANNEL } from '../../db/channels.js';
import type { Db } from '../../db/client.js';
import type { flowRuns, Row } from '../../db/schema.js';
import { iso, isoOrNull, jsonb, textArray } from '../../db/values.js';
import { auditInsertFrom, type PendingAuditEntry } from '../../identity/db/audit.js';
import { workerOnline } from '../../pools/db/pool-status.js';
import { currentState, type StateColumns } from './run-states.js';

export interface RunRow
  extends Pick<
    Row<typeof flowRuns>,
    | 'id'
    | 'workspace_id'
    | 'name'
    | 'flow_id'
    | 'deployment_id'
    | 'work_pool_id'
    | 'parameters'
    | 'tags'
    | StateColumns
    | 'attempt'
    | 'max_retries'
    | 'idempotency_key'
    | 'worker_id'
    | 'lease_expires_at'
    | 'expected_start_time'
    | 'start_time'
    | 'end_time'
    | 'created_at'
    | 'updated_at'
    | 'scheduled_time'
    | 'schedule_id'
    | 'deployment_version_id'
  > {
  /** Absent from queries that do not select it. */
  partition_key?: string | null;
  /** Absent from queries that do not select it (the claim's). */
  resumes?: number;
  /** Absent from queries that do not select it. */
  resources?: ResourceRequest | null;
  flow_name: string;
  deployment_name: string | null;
  pool_name: string | null;
  queue_name: string | null;
  /** Absent from queries that never return subflow runs (the claim's). */
  parent_flow_run_id?: string | null;
  parent_task_run_id?: string | null;
  /** Absent from queries that do not select it (the claim's). */
  backfill_id?: string | null;
  /** Absent from queries that do not select it (the claim's). */
  reproduced_from_id?: string | null;
  /** Absent from queries that do not select it (the claim's). */
  waiting_for?: RunWaitingFor | null;
  source_digest: string | null;
}

/**
 * Why a run that waits to be claimed cannot be: its pool is paused, or no worker of its pool is
 * online (the same 90-second window as the pool's status). Computed when read, from facts the
 * database holds, so it is never stale; only runs in SCHEDULED with a pool pay the EXISTS, on
 * `workers_pool_idx`.
 */
function waitingForColumn(db: Db): postgres.PendingQuery<postgres.Row[]> {
  return db`
    CASE WHEN r.state_type = 'SCHEDULED' AND r.work_pool_id IS NOT NULL THEN
      CASE WHEN p.paused THEN 'pool_paused'
           WHEN NOT EXISTS (SELECT 1 FROM workers w WHERE w.work_pool_id = r.work_pool_id AND ${workerOnline(db)}) THEN 'no_worker'
      END
    END AS waiting_for`;
}

/** A run with the names of what it belongs to, in the shape every run-returning query selects. */
export function runSelect(db: Db, source: 'flow_runs' | 'run' = 'flow_runs'): postgres.PendingQuery<postgres.Row[]> {
  return db`
    SELECT r.id, r.workspace_id, r.name, r.flow_id, f.name AS flow_name, r.deployment_id, d.name AS deployment_name,
           r.work_pool_id, p.name AS pool_name, q.name AS queue_name, r.parameters, r.tags,
           r.state_type, r.state_name, r.state_message, r.state_timestamp, r.state_data,
           r.attempt, r.max_retries, r.resumes, r.idempotency_key, r.worker_id, r.lease_expires_at,
           r.expected_start_time, r.start_time, r.end_time, r.created_at, r.updated_at,
           r.parent_flow_run_id, r.parent_task_run_id, r.backfill_id, ${waitingForColumn(db)},
           r.scheduled_time, r.schedule_id, r.deployment_version_id, v.source_digest, r.partition_key, r.resources,
           r.reproduced_from_id
    FROM ${db(source)} r
    JOIN flows f ON f.id = r.flow_id
    LEFT JOIN deployments d ON d.id = r.deployment_id
    LEFT JOIN deployment_versions v ON v.id = r.deployment_version_id
    LEFT JOIN work_pools p ON p.id = r.work_pool_id
    LEFT JOIN work_queues q ON q.id = r.work_queue_id`;
}

export function toFlowRun(row: RunRow): FlowRun {
  return {
    id: row.id,
    name: row.name,
    flowId: row.flow_id,
    flowName: row.flow_name,
    deploymentId: row.deployment_id,
    deploymentName: row.deployment_name,
    workPool: row.pool_name,
    workQueue: row.queue_name,
    parameters: row.parameters as FlowRun['parameters'],
    tags: row.tags,
    state: currentState(row),
    attempt: row.attempt,
    maxRetries: row.max_retries,
    ...(row.resumes === undefined ? {} : { resumes: row.resumes }),
    idempotencyKey: row.idempotency_key,
    workerId: row.worker_id,
    leaseExpiresAt: isoOrNull(row.lease_expires_at),
    expectedStartTime: iso(row.expected_start_time),
    startTime: isoOrNull(row.start_time),
    endTime: isoOrNull(row.end_time),
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
    parentFlowRunId: row.parent_flow_run_id ?? null,
    parentTaskRunId: row.parent_task_run_id ?? null,
    // The claim selects no backfill column: say nothing rather than "none".
    ...(row.backfill_id === undefined ? {} : { backfillId: row.backfill_id }),
    ...(row.waiting_for === undefined ? {} : { waitingFor: row.waiting_for }),
    scheduledTime: isoOrNull(row.scheduled_time),
    scheduleId: row.schedule_id,
    deploymentVersionId: row.deployment_version_id,
    sourceDigest: row.source_digest,
    ...(row.partition_key === undefined ? {} : { partitionKey: row.partition_key }),
    ...(row.resources === undefined ? {} : { resources: row.resources }),
    ...(row.reproduced_from_id === undefined ? {} : { reproducedFromId: row.reproduced_from_id }),
  };
}

export async function getFlowRun(db: Db, workspaceId: string, id: string): Promise<FlowRun | null> {
  const [row] = await db<RunRow[]>`${runSelect(db)} WHERE r.id = ${id} AND r.workspace_id = ${workspaceId}`;
  return row ? toFlowRun(row) : null;
}

export interface RunListFilter {
  states?: StateType[];
  deploymentId?: string;
  flow?: string;
  tag?: string;
  name?: string;
  workPool?: string;
  createdAfter?: Date;
  createdBefore?: Date;
  /** Rows strictly older than this (created_at, id). */
  before?: { createdAt: Date; id: string };
  /** Soonest expected start first instead of newest first. @default false */
  soonestFirst?: boolean;
  /** With `soonestFirst`: rows strictly after this (expected_start_time, id). */
  after?: { expectedStartTime: Date; id: string };
}

/**
 * Newest first. The keyset `(created_at, id) < (…)` walks the (workspace_id, created_at, id) index
 * backwards, so a page costs the same however deep it is, and rows created while a client pages
 * are never returned twice. With `soonestFirst`, by expected start time instead (the keyset
 * `(expected_start_time, id) > (…)`, served by the (workspace_id, expected_start_time, …) index):
 * upcoming runs in the order they are due, which creation order does not give, since a schedule's
 * runs are created in batches.
 */
export async function listFlowRuns(db: Db, workspaceId: string, filter: RunListFilter, limit: number): Promise<FlowRun[]> {
  const rows = await db<RunRow[]>`
    ${runSelect(db)}
    WHERE r.workspace_id = ${workspaceId}
      ${filter.states?.length ? db`AND r.state_type = ANY(${textArray(db, filter.states)}::text[])` : db``}
      ${filter.deploymentId ? db`AND r.deployment_id = ${filter.deploymentId}` : db``}
      ${filter.flow ? db`AND f.name = ${filter.flow}` : db``}
      ${filter.tag ? db`AND r.tags @> ARRAY[${filter.tag}]::text[]` : db``}
      ${filter.name ? db`AND r.name = ${filter.name}` : db``}
      ${filter.workPool ? db`AND p.name = ${filter.workPool}` : db``}
      ${filter.createdAfter ? db`AND r.created_at > ${filter.createdAfter}` : db``}
      ${filter.createdBefore ? db`AND r.created_at < ${filter.createdBefore}` : db``}
      ${filter.before ? db`AND (r.created_at, r.id) < (${filter.before.createdAt}::timestamptz, ${filter.before.id}::uuid)` : db``}
      ${filter.after ? db`AND (r.expected_start_time, r.id) > (${filter.after.expectedStartTime}::timestamptz, ${filter.after.id}::uuid)` : db``}
    ORDER BY ${filter.soonestFirst ? db`r.expected_start_time ASC, r.id ASC` : db`r.created_at DESC, r.id DESC`}
    LIMIT ${limit}`;
  return rows.map(toFlowRun);
}

export interface NewFlowRun {
  workspaceId: string;
  flowId: string;
  deploymentId: string;
  workPoolId: string;
  workQueueId: string;
  name: string;
  parameters: Record<string, unknown>;
  tags: string[];
  labels: Record<string, string>;
  maxRetries: number;
  retryDelaySeconds: number;
  scheduledTime: Date | null;
  idempotencyKey: string | null;
  /** @default null */
  partitionKey?: string | null;
  /** The run's own resource request, over its deployment's (a trigger copies the deployment's otherwise). @default null */
  resources?: ResourceRequest | null;
  /** `resources` is the whole request (a reproduction's), not merged over the deployment's current one. */
  resourcesExact?: boolean;
  /** The backfill creating it, and the schedule that backfill fills. @default null */
  backfillId?: string | null;
  scheduleId?: string | null;
  /** The code to run; the deployment's current version when null. @default null */
  deploymentVersionId?: string | null;
  /** The run this one reproduces. @default null */
  reproducedFromId?: string | null;
  /** The running flow that started it (`runDeployment`). @default null */
  parentFlowRunId?: string | null;
  /** The automations whose actions created it, oldest first; its events carry the chain. @default null */
  causation?: { chain: string[] } | null;
}

/**
 * The run's insert, its first history entry (CTEs `run`, returning the whole row, and `history`) and
 * the pool nudge: the WITH list every insert of a run starts with. With an idempotency key already
 * used for this deployment, `run` is empty and so is everything that reads it.
 */
function insertRunCtes(db: Db, run: NewFlowRun) {
  return db`
    WITH run AS (
      INSERT INTO flow_runs (workspace_id, flow_id, deployment_id, work_pool_id, work_queue_id, name, parameters, tags, labels,
                             state_type, state_name, state_timestamp, attempt, max_retries, retry_delay_seconds,
                             retry_backoff, retry_jitter, expected_start_time, idempotency_key, partition_key, backfill_id,
                             schedule_id, resources, deployment_version_id, reproduced_from_id, parent_flow_run_id,
                             causation, created_at, updated_at)
      VALUES (${run.workspaceId}, ${run.flowId}, ${run.deploymentId}, ${run.workPoolId}, ${run.workQueueId}, ${run.name},
              ${jsonb(db, run.parameters)}, ${textArray(db, run.tags)}::text[], ${jsonb(db, run.labels)},
              'SCHEDULED', 'Scheduled', now(), 1, ${run.maxRetries}, ${run.retryDelaySeconds},
              -- Every creator (manual, API, schedule) gets the deployment's backoff and jitter without passing them.
              (SELECT retry_backoff FROM deployments WHERE id = ${run.deploymentId}),
              (SELECT retry_jitter FROM deployments WHERE id = ${run.deploymentId}),
              coalesce(${run.scheduledTime}::timestamptz, now()), ${run.idempotencyKey}, ${run.partitionKey ?? null},
              ${run.backfillId ?? null}, ${run.scheduleId ?? null},
              ${run.resources ? (run.resourcesExact ? jsonb(db, run.resources) : db`(SELECT coalesce(resources, '{}'::jsonb) FROM deployments WHERE id = ${run.deploymentId}) || ${jsonb(db, run.resources)}`) : null},
              -- Null takes the deployment's current version (the flow_runs_pin_version trigger); a reproduction names its original's.
              ${run.deploymentVersionId ?? null}::uuid, ${run.reproducedFromId ?? null}::uuid, ${run.parentFlowRunId ?? null}::uuid,
              ${run.causation ? jsonb(db, run.causation) : null}, now(), now())
      ON CONFLICT (workspace_id, deployment_id, idempotency_key) DO NOTHING
      RETURNING *
    ), history AS (
      INSERT INTO flow_run_states (workspace_id, flow_run_id, attempt, type, name, timestamp)
      SELECT workspace_id, id, attempt, 'SCHEDULED', 'Scheduled', state_timestamp FROM run
    ), nudge AS (
      SELECT pg_notify(${RUNS_CHANNEL}, work_pool_id::text) FROM run
    )`;
}

/**
 * Inserts a SCHEDULED run, its first history entry and the pool nudge in one statement. With an
 * idempotency key already used for this deployment it inserts nothing and returns null.
 */
export async function insertFlowRun(db: Db, run: NewFlowRun): Promise<string | null> {
  const [row] = await db<{ id: string }[]>`
    ${insertRunCtes(db, run)}
    SELECT run.id FROM run, nudge`;
  return row?.id ?? null;
}

/**
 * The id fields of a run as toFlowRun names them, with their columns, in the order it gives them:
 * the ids collectIds (http/audit.ts) finds in an answer holding the run.
 */
const RUN_ID_FIELDS: readonly (readonly [string, string])[] = [
  ['id', 'id'],
  ['flowId', 'flow_id'],
  ['deploymentId', 'deployment_id'],
  ['workerId', 'worker_id'],
  ['parentFlowRunId', 'parent_flow_run_id'],
  ['parentTaskRunId', 'parent_task_run_id'],
  ['backfillId', 'backfill_id'],
  ['scheduleId', 'schedule_id'],
  ['deploymentVersionId', 'deployment_version_id'],
  ['reproducedFromId', 'reproduced_from_id'],
];

/**
 * insertFlowRun answering with the run as getFlowRun reads it, from the insert's own RETURNING (no
 * read-back), and, with `audit`, writing the call's audit entry in the same statement: the run, its
 * history, its nudge and its entry commit at once. The entry's result ids are the run's id fields
 * under `audit.resultKey` (the answer's field holding the run), as collectIds names them. Null,
 * with nothing written, when the idempotency key is already used for this deployment.
 */
export async function insertFlowRunAnswered(
  db: Db,
  run: NewFlowRun,
  audit: { entry: PendingAuditEntry; resultKey: string } | null,
): Promise<{ flowRun: FlowRun; auditResultIds: Record<string, string> | null } | null> {
  const ids = audit
    ? RUN_ID_FIELDS.map(([field, column]) => ({
        name: field === 'id' ? audit.resultKey : `${audit.resultKey}.${field}`,
        value: db`r.${db(column)}::text`,
      }))
    : [];
  const [row] = await db<(RunRow & { audit_result_ids: Record<string, string> | null })[]>`
    ${insertRunCtes(db, run)}${audit ? db`, audit AS (${auditInsertFrom(db, audit.entry, db`run r`, ids)})` : db``}
    SELECT s.*, ${audit ? db`(SELECT result_ids FROM audit)` : db`NULL::jsonb`} AS audit_result_ids
    FROM (${runSelect(db, 'run')}) s, nudge`;
  if (!row) return null;
  return { flowRun: toFlowRun(row), auditResultIds: row.audit_result_ids };
}

/** The run created with this Idempotency-Key for this deployment, as getFlowRun reads it. */
export async function getFlowRunByIdempotencyKey(
  db: Db,
  workspaceId: string,
  deploymentId: string,
  key: string,
): Promise<FlowRun | null> {
  const [row] = await db<RunRow[]>`
    ${runSelect(db)}
    WHERE r.workspace_id = ${workspaceId} AND r.deployment_id = ${deploymentId} AND r.idempotency_key = ${key}`;
  return row ? toFlowRun(row) : null;
}

export async function findRunByIdempotencyKey(
  db: Db,
  workspaceId: string,
  deploymentId: string,
  key: string,
): Promise<string | null> {
  const [row] = await db<{ id: string }[]>`
    SELECT id FROM flow_runs WHERE workspace_id = ${workspaceId} AND deployment_id = ${deploymentId} AND idempotency_key = ${key}`;
  return row?.id ?? null;
}

/** The run's current attempt, or null when the workspace has no such run. */
/** The run's current attempt and whether a worker holds it now (claimed or running, with a lease). */
export async function getRunAttemptHeld(
  db: Db,
  workspaceId: string,
  id: string,
  fence: AttemptFence | null = null,
): Promise<{ attempt: number; held: boolean; claimedByOther: boolean } | null> {
  const [row] = await db<{ attempt: number; held: boolean; claimed_by_other: boolean }[]>`
    SELECT r.attempt, r.state_type IN ('PENDING', 'RUNNING', 'CANCELLING') AS held,
           ${fence ? claimedByOther(db, fence) : db`false`} AS claimed_by_other
    FROM flow_runs r WHERE r.id = ${id} AND r.workspace_id = ${workspaceId}`;
  return row ? { attempt: row.attempt, held: row.held, claimedByOther: row.claimed_by_other } : null;
}

/**
 * The run's current attempt, and `since`: `task_runs_since` of its creation (migration 0045), the
 * first instant of the month of the day before the run was created, at or after which every task run
 * of it is created (the statements that insert them see to it). It is the lower bound of
 * `task_runs.created_at` that lets a statement over the run's task runs skip the months before
 * (task_runs is partitioned by month of that column). A month, not the creation itself, and from the
 * day before, so that task runs stamped before partitioning by a worker whose clock ran behind the
 * database are still found.
 */
export async function getRunAttemptSince(
  db: Db,
  workspaceId: string,
  id: string,
): Promise<{ attempt: number; since: Date } | null> {
  const [row] = await db<{ attempt: number; since: Date }[]>`
    SELECT attempt, task_runs_since(created_at) AS since FROM flow_runs WHERE id = ${id} AND workspace_id = ${workspaceId}`;
  return row ? { attempt: row.attempt, since: row.since } : null;
}

export async function getRunAttempt(db: Db, workspaceId: string, id: string): Promise<number | null> {
  const [row] = await db<{ attempt: number }[]>`SELECT attempt FROM flow_runs WHERE id = ${id} AND workspace_id = ${workspaceId}`;
  return row?.attempt ?? null;
}
