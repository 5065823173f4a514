import { randomUUID } from 'node:crypto';
import type { PartitionsDefinition, Schedule } from '@outpost/sdk/contracts';
import type postgres from 'postgres';
import { RUNS_CHANNEL } from '../../db/channels.js';
import type { Db, TxSql } from '../../db/client.js';
import type { deploymentSchedules, Row } from '../../db/schema.js';
import { iso, isoOrNull, jsonb } from '../../db/values.js';
import { canonicalJson, definitionKey, type NormalizedSchedule } from '../../scheduling/schedule-input.js';
import type { ScheduleDefinition } from '../../scheduling/timeline.js';
import { proposeInTransaction } from './propose-state.js';

type ScheduleRow = Pick<
  Row<typeof deploymentSchedules>,
  | 'id'
  | 'deployment_id'
  | 'slug'
  | 'cron'
  | 'timezone'
  | 'interval_seconds'
  | 'anchor_date'
  | 'active'
  | 'parameters'
  | 'catchup'
  | 'filled_until'
  | 'created_at'
  | 'updated_at'
  | 'partitions'
>;

function toSchedule(row: ScheduleRow): Schedule {
  return {
    id: row.id,
    deploymentId: row.deployment_id,
    slug: row.slug,
    cron: row.cron,
    timezone: row.timezone,
    intervalSeconds: row.interval_seconds,
    anchorDate: isoOrNull(row.anchor_date),
    active: row.active,
    parameters: row.parameters as Schedule['parameters'],
    catchup: row.catchup,
    partitions: row.partitions ?? null,
    filledUntil: isoOrNull(row.filled_until),
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  };
}

/** The stored definition, in the shape the schedule math uses. */
export function definitionOf(row: {
  cron: string | null;
  timezone: string | null;
  interval_seconds: number | null;
  anchor_date: Date | null;
  partitions?: PartitionsDefinition | null;
}): ScheduleDefinition {
  if (row.cron !== null) return { kind: 'cron', cron: row.cron, timezone: row.timezone ?? 'UTC' };
  // Neither cron nor interval: a schedule firing at the windows' ends of its time-window partitions.
  if (row.interval_seconds === null && row.partitions?.kind === 'time') return { kind: 'windows', partitions: row.partitions };
  return { kind: 'interval', intervalSeconds: row.interval_seconds ?? 0, anchorDate: row.anchor_date ?? new Date(0) };
}

export async function listSchedules(db: Db, workspaceId: string, deploymentId: string): Promise<Schedule[]> {
  const rows = await db<ScheduleRow[]>`
    SELECT * FROM deployment_schedules WHERE workspace_id = ${workspaceId} AND deployment_id = ${deploymentId}
    ORDER BY position, slug`;
  return rows.map(toSchedule);
}

export async function getSchedule(db: Db, workspaceId: string, deploymentId: string, slug: string): Promise<Schedule | null> {
  const [row] = await db<ScheduleRow[]>`
    SELECT * FROM deployment_schedules WHERE workspace_id = ${workspaceId} AND deployment_id = ${deploymentId} AND slug = ${slug}`;
  return row ? toSchedule(row) : null;
}

/** The message of a run claimed ahead of its due time and cancelled because its schedule changed. */
export const WITHDRAWN_MESSAGE = 'cancelled before its due time: its schedule was changed, paused or removed';

/**
 * Withdraws the runs a schedule created that have not started, in the caller's transaction. `slugs`
 * null means every schedule of the deployment.
 * - Runs nobody has claimed (SCHEDULED on attempt 1: a retry moves the attempt on) are deleted, with
 *   their history. Rows a claim holds are waited for and then re-checked, so a run claimed meanwhile
 *   is kept.
 * - Runs a worker claimed ahead of their due time (`--prefetch`: PENDING, not yet due) are cancelled
 *   as a user's cancel would, through the state rules, so the worker hears it (its claim's held-run
 *   watch) and ends them CANCELLED, unstarted. A run already due is starting, as any claimed run,
 *   and is left to run.
 * Returns how many runs were withdrawn.
 */
export async function withdrawUnstartedScheduledRuns(tx: TxSql, deploymentId: string, slugs: string[] | null): Promise<number> {
  if (slugs !== null && slugs.length === 0) return 0;
  const ofSchedules = slugs === null ? tx`` : tx`AND split_part(r.idempotency_key, ':', 2) = ANY(${tx.array(slugs)}::text[])`;
  const deleted = await tx<{ id: string }[]>`
    WITH doomed AS (
      SELECT r.id FROM flow_runs r
      WHERE r.deployment_id = ${deploymentId} AND r.state_type = 'SCHEDULED' AND r.attempt = 1 AND r.start_time IS NULL
        AND split_part(r.idempotency_key, ':', 1) = 'scheduled' ${ofSchedules}
      FOR UPDATE
    ), history AS (
      DELETE FROM flow_run_states st USING doomed WHERE st.flow_run_id = doomed.id
    )
    DELETE FROM flow_runs r USING doomed WHERE r.id = doomed.id
    RETURNING r.id`;
  const prefetched = await tx<{ id: string; workspace_id: string }[]>`
    SELECT r.id, r.workspace_id FROM flow_runs r
    WHERE r.deployment_id = ${deploymentId} AND r.state_type = 'PENDING' AND r.attempt = 1 AND r.start_time IS NULL
      AND r.expected_start_time > now() AND split_part(r.idempotency_key, ':', 1) = 'scheduled' ${ofSchedules}
    ORDER BY r.id`;
  for (const run of prefetched) {
    await proposeInTransaction(tx, {
      workspaceId: run.workspace_id,
      runId: run.id,
      transitionId: randomUUID(),
      state: { type: 'CANCELLED', message: WITHDRAWN_MESSAGE },
      attempt: null,
      actor: 'user',
    });
  }
  return deleted.length + prefetched.length;
}

/**
 * A workspace's schedules as its archive or restore leaves them, in the archive's transaction. They
 * go as a paused deployment's do: archiving drops the runs they made that nobody started and stops
 * their filling; restoring fills them again from now, so a month archived is not a month of runs to
 * catch up.
 */
export async function setWorkspaceSchedulesArchived(tx: TxSql, workspaceId: string, archived: boolean): Promise<void> {
  if (archived) {
    await tx`
      UPDATE deployment_schedules SET filled_until = NULL, next_fill_at = 'infinity', updated_at = now()
      WHERE workspace_id = ${workspaceId}`;
    const deployments = await tx<{ id: string }[]>`SELECT id FROM deployments WHERE workspace_id = ${workspaceId}`;
    for (const d of deployments) await withdrawUnstartedScheduledRuns(tx, d.id, null);
  } else {
    await tx`
      UPDATE deployment_schedules s SET filled_until = greatest(s.filled_until, now()), next_fill_at = now(), updated_at = now()
      FROM deployments d
      WHERE d.id = s.deployment_id AND s.workspace_id = ${workspaceId} AND NOT d.paused`;
  }
}

/**
 * Brings the runs schedules created but nobody claimed yet in line with the deployment as it is now
 * (parameters merged with the schedule's, tags, labels, pool, queue, retry policy, code version), in place, so a
 * redeploy neither loses nor duplicates them. Runs already equal are not touched.
 */
export async function refreshUnstartedScheduledRuns(tx: TxSql, deploymentId: string): Promise<void> {
  await tx`
    WITH changed AS (
      UPDATE flow_runs r
      SET parameters = d.parameters || s.parameters, tags = d.tags, labels = d.labels,
          work_pool_id = d.work_pool_id, work_queue_id = d.work_queue_id, max_retries = d.retries,
          retry_delay_seconds = d.retry_delay_seconds, retry_backoff = d.retry_backoff, retry_jitter = d.retry_jitter,
          deployment_version_id = d.version_id, updated_at = now()
      FROM deployments d
      JOIN deployment_schedules s ON s.deployment_id = d.id
      WHERE d.id = ${deploymentId} AND r.deployment_id = d.id
        AND r.state_type = 'SCHEDULED' AND r.attempt = 1 AND r.start_time IS NULL
        AND split_part(r.idempotency_key, ':', 1) = 'scheduled' AND split_part(r.idempotency_key, ':', 2) = s.slug
        AND (r.parameters, r.tags, r.labels, r.work_pool_id, r.work_queue_id, r.max_retries, r.retry_delay_seconds,
             r.retry_backoff, r.retry_jitter, r.deployment_version_id)
            IS DISTINCT FROM (d.parameters || s.parameters, d.tags, d.labels, d.work_pool_id, d.work_queue_id, d.retries,
                              d.retry_delay_seconds, d.retry_backoff, d.retry_jitter, d.version_id)
      RETURNING r.work_pool_id
    )
    SELECT pg_notify(${RUNS_CHANNEL}, p.work_pool_id::text) FROM (SELECT DISTINCT work_pool_id FROM changed) p`;
}

/** 'infinity' while the deployment is paused (the scheduler skips it), else now. */
function dueNow(tx: TxSql, deploymentId: string): postgres.PendingQuery<postgres.Row[]> {
  return tx`(SELECT CASE WHEN paused THEN 'infinity'::timestamptz ELSE now() END FROM deployments WHERE id = ${deploymentId})`;
}

/**
 * Replaces a deployment's schedules, matched by slug, inside the upsert's transaction:
 * - a new slug is added and filled from now on;
 * - a slug whose definition changed loses its unclaimed runs and is filled again from now on;
 * - a slug paused here loses its unclaimed runs; one resumed here skips the times it missed;
 * - a slug no longer listed is deleted with its unclaimed runs.
 * `schedules` null (not given) keeps them all. The schedule rows are locked first, so a scheduler
 * pass that read them before cannot add runs after this (its compare-and-set on xmin fails).
 */
export async function syncSchedules(
  tx: TxSql,
  input: { workspaceId: string; deploymentId: string; schedules: NormalizedSchedule[] | null },
): Promise<void> {
  const { workspaceId, deploymentId } = input;
  const existing = await tx<ScheduleRow[]>`
    SELECT * FROM deployment_schedules WHERE deployment_id = ${deploymentId} ORDER BY id FOR UPDATE`;
  if (input.schedules === null) return;
  const bySlug = new Map(existing.map((row) => [row.slug, row]));
  const wanted = new Set(input.schedules.map((s) => s.slug));
  const removed = existing.filter((row) => !wanted.has(row.slug)).map((row) => row.slug);
  const emptied: string[] = [...removed];

  for (const [position, s] of input.schedules.entries()) {
    const d = s.definition;
    const cron = d.kind === 'cron' ? d.cron : null;
    const timezone = d.kind === 'cron' ? d.timezone : null;
    const intervalSeconds = d.kind === 'interval' ? d.intervalSeconds : null;
    const anchorDate = d.kind === 'interval' ? d.anchorDate : null;
    const row = bySlug.get(s.slug);
    if (!row) {
      await tx`
        INSERT INTO deployment_schedules (workspace_id, deployment_id, slug, position, cron, timezone, interval_seconds,
                                          anchor_date, active, parameters, catchup, filled_until, next_fill_at, partitions)
        VALUES (${workspaceId}, ${deploymentId}, ${s.slug}, ${position}, ${cron}, ${timezone}, ${intervalSeconds}, ${anchorDate},
                ${s.active}, ${tx.json(s.parameters as postgres.JSONValue)}, ${s.catchup}, NULL, ${dueNow(tx, deploymentId)},
                ${jsonb(tx, s.partitions)})`;
      continue;
    }
    // New partitions change the keys its runs carry: like a new definition, its unclaimed runs are made again.
    const redefined =
      definitionKey(definitionOf(row)) !== definitionKey(d) ||
      canonicalJson(row.partitions ?? null) !== canonicalJson(s.partitions);
    const paused = row.active && !s.active;
    const resumed = !row.active && s.active;
    if (redefined || paused) emptied.push(s.slug);
    await tx`
      UPDATE deployment_schedules SET
        position = ${position}, cron = ${cron}, timezone = ${timezone}, interval_seconds = ${intervalSeconds}, anchor_date = ${anchorDate},
        active = ${s.active}, parameters = ${tx.json(s.parameters as postgres.JSONValue)}, catchup = ${s.catchup},
        partitions = ${jsonb(tx, s.partitions)},
        filled_until = ${redefined || paused ? tx`NULL` : resumed ? tx`greatest(filled_until, now())` : tx`filled_until`},
        next_fill_at = ${dueNow(tx, deploymentId)}, updated_at = now()
      WHERE id = ${row.id}`;
  }
  await withdrawUnstartedScheduledRuns(tx, deploymentId, emptied);
  if (removed.length > 0) {
    await tx`DELETE FROM deployment_schedules WHERE deployment_id = ${deploymentId} AND slug = ANY(${tx.array(removed)}::text[])`;
  }
}

/**
 * Pauses or resumes one schedule. Pausing deletes its unclaimed runs; resuming skips the times
 * missed while paused (the mark moves to now) and makes it due at once. Null when there is no such schedule.
 */
export async function setScheduleActive(
  tx: TxSql,
  workspaceId: string,
  deploymentId: string,
  slug: string,
  active: boolean,
): Promise<Schedule | null> {
  const [row] = await tx<ScheduleRow[]>`
    SELECT * FROM deployment_schedules
    WHERE workspace_id = ${workspaceId} AND deployment_id = ${deploymentId} AND slug = ${slug}
    FOR UPDATE`;
  if (!row) return null;
  if (row.active === active) return toSchedule(row);
  const [updated] = await tx<ScheduleRow[]>`
    UPDATE deployment_schedules SET
      active = ${active},
      filled_until = ${active ? tx`greatest(filled_until, now())` : tx`NULL`},
      next_fill_at = ${dueNow(tx, deploymentId)}, updated_at = now()
    WHERE id = ${row.id}
    RETURNING *`;
  if (!active) await withdrawUnstartedScheduledRuns(tx, deploymentId, [slug]);
  return updated ? toSchedule(updated) : null;
}

/**
 * Pauses or resumes a deployment. While paused the claim takes none of its runs and the scheduler
 * creates none; pausing also deletes the runs its schedules created that nobody claimed, so
 * resuming never releases a pile of stale runs at once (Prefect #15886). Resuming skips the times
 * missed while paused and wakes the pool's waiting claims for its manual runs. False when there is
 * no such deployment.
 */
export async function setDeploymentPaused(
  tx: TxSql,
  workspaceId: string,
  deploymentId: string,
  paused: boolean,
): Promise<boolean> {
  const [deployment] = await tx<{ work_pool_id: string }[]>`
    UPDATE deployments SET paused = ${paused}, updated_at = now()
    WHERE id = ${deploymentId} AND workspace_id = ${workspaceId}
    RETURNING work_pool_id`;
  if (!deployment) return false;
  if (paused) {
    await tx`
      UPDATE deployment_schedules SET filled_until = NULL, next_fill_at = 'infinity', updated_at = now()
      WHERE deployment_id = ${deploymentId}`;
    await withdrawUnstartedScheduledRuns(tx, deploymentId, null);
  } else {
    await tx`
      UPDATE deployment_schedules SET filled_until = greatest(filled_until, now()), next_fill_at = now(), updated_at = now()
      WHERE deployment_id = ${deploymentId}`;
    await tx`SELECT pg_notify(${RUNS_CHANNEL}, ${deployment.work_pool_id})`;
  }
  return true;
}

/**
 * The schedule side of a deployment upsert, in its transaction: replace the schedules (when given),
 * then bring the runs they already created in line with the deployment as upserted.
 */
export async function applyDeploymentSchedules(
  tx: TxSql,
  input: { workspaceId: string; deploymentId: string; schedules: NormalizedSchedule[] | null },
): Promise<void> {
  await syncSchedules(tx, input);
  await refreshUnstartedScheduledRuns(tx, input.deploymentId);
}

/** A schedule's new definition and parameters, as the edit route checked them. */
export interface ScheduleEdit {
  definition: ScheduleDefinition;
  active: boolean;
  parameters: Record<string, unknown>;
}

/**
 * Applies an edit to one schedule, locked against the scheduler like a redeploy: a new definition
 * (or a pause) deletes the runs it created that nobody claimed and fills again from now, so the
 * scheduler makes the new times under the same (deployment, slug, time) keys; new parameters are
 * written into its unclaimed runs in place; a resume skips the times missed while paused.
 * `edit` receives the locked row and returns what it becomes. Null when there is no such schedule.
 */
export async function editSchedule(
  tx: TxSql,
  target: { workspaceId: string; deploymentId: string; slug: string },
  edit: (current: Schedule, definition: ScheduleDefinition) => ScheduleEdit,
): Promise<Schedule | null> {
  const { workspaceId, deploymentId, slug } = target;
  const [row] = await tx<ScheduleRow[]>`
    SELECT * FROM deployment_schedules
    WHERE workspace_id = ${workspaceId} AND deployment_id = ${deploymentId} AND slug = ${slug}
    FOR UPDATE`;
  if (!row) return null;
  const current = definitionOf(row);
  const next = edit(toSchedule(row), current);
  const d = next.definition;
  const redefined = definitionKey(current) !== definitionKey(d);
  const paused = row.active && !next.active;
  const resumed = !row.active && next.active;
  const [updated] = await tx<ScheduleRow[]>`
    UPDATE deployment_schedules SET
      cron = ${d.kind === 'cron' ? d.cron : null}, timezone = ${d.kind === 'cron' ? d.timezone : null},
      interval_seconds = ${d.kind === 'interval' ? d.intervalSeconds : null},
      anchor_date = ${d.kind === 'interval' ? d.anchorDate : null},
      active = ${next.active}, parameters = ${tx.json(next.parameters as postgres.JSONValue)},
      filled_until = ${redefined || paused ? tx`NULL` : resumed ? tx`greatest(filled_until, now())` : tx`filled_until`},
      next_fill_at = ${dueNow(tx, deploymentId)}, updated_at = now()
    WHERE id = ${row.id}
    RETURNING *`;
  if (redefined || paused) await withdrawUnstartedScheduledRuns(tx, deploymentId, [slug]);
  else await refreshUnstartedScheduledRuns(tx, deploymentId);
  return updated ? toSchedule(updated) : null;
}
