import { HELD_STATES } from '@outpost/sdk/contracts';
import type { Db } from '../../db/client.js';
import { stateList } from '../../db/values.js';
import { ONLINE_WINDOW_SECONDS, workerOnline } from '../../pools/db/pool-status.js';

/** Every message this pass writes starts so; a run that fits again loses only such a message. */
export const UNFIT_PREFIX = 'waiting for resources: ';

/** Due runs with a request looked at per pass, oldest first. */
const UNFIT_BATCH = 500;

/**
 * Says in the state message of each due run with a resource request why no worker of its pool can
 * take it now — "needs 2 GPUs, largest worker has 1", "needs 40 GB GPU memory, largest GPU has
 * 24 GB", "pool GPU quota 4 in use" — and clears the message once the run fits, without a state
 * change or a history entry: the run stays SCHEDULED under its name. Workers count when online;
 * one that advertised no resources counts as having none. Runs held back by a concurrency limit
 * keep the message that says so.
 *
 * One statement over the partial index flow_runs_resources_due_idx (only due runs with a request),
 * run by the late-runs loop after each tick, so it follows workers as they come and go. Returns how
 * many messages it changed.
 */
export async function explainUnfitRuns(db: Db): Promise<number> {
  const rows = await db`
    WITH waiting AS (
      SELECT r.id, r.work_pool_id, r.workspace_id, r.tags, r.state_message,
             coalesce((r.resources->>'gpus')::int, 0) AS gpus,
             coalesce((r.resources->>'gpuMemoryGb')::float8, 0) AS gpu_gb,
             coalesce((r.resources->>'memoryGb')::float8, 0) AS memory_gb,
             coalesce((r.resources->>'cpus')::float8, 0) AS cpus
      FROM flow_runs r
      WHERE r.state_type = 'SCHEDULED' AND r.resources IS NOT NULL AND r.expected_start_time <= now()
        AND r.state_name <> 'AwaitingConcurrencySlot'
      ORDER BY r.expected_start_time
      LIMIT ${UNFIT_BATCH}
    ), pools AS (
      SELECT p.id, p.gpu_quota, p.gpu_quota_by_tag,
             (SELECT coalesce(max(jsonb_array_length(w.resources->'gpus')), 0) FROM workers w
              WHERE w.work_pool_id = p.id AND w.resources IS NOT NULL AND ${workerOnline(db)}) AS max_gpus,
             (SELECT max(coalesce((d->>'memoryMb')::float8, 0)) FROM workers w
              CROSS JOIN LATERAL jsonb_array_elements(w.resources->'gpus') d
              WHERE w.work_pool_id = p.id AND w.resources IS NOT NULL AND ${workerOnline(db)}) AS max_gpu_mb,
             (SELECT max(coalesce((w.resources->>'memoryGb')::float8, 'Infinity')) FROM workers w
              WHERE w.work_pool_id = p.id AND w.resources IS NOT NULL AND ${workerOnline(db)}) AS max_memory_gb,
             (SELECT max(coalesce((w.resources->>'cpus')::float8, 'Infinity')) FROM workers w
              WHERE w.work_pool_id = p.id AND w.resources IS NOT NULL AND ${workerOnline(db)}) AS max_cpus
      FROM work_pools p
      WHERE p.id IN (SELECT work_pool_id FROM waiting)
    ), held AS MATERIALIZED (
      SELECT r.work_pool_id, r.tags, jsonb_array_length(a.assigned_resources->'gpus') AS gpus
      FROM flow_runs r
      JOIN flow_run_attempts a ON a.workspace_id = r.workspace_id AND a.flow_run_id = r.id AND a.attempt = r.attempt
      WHERE r.work_pool_id IN (SELECT id FROM pools WHERE gpu_quota IS NOT NULL OR gpu_quota_by_tag <> '{}'::jsonb)
        AND r.state_type IN ${stateList(db, HELD_STATES)} AND a.assigned_resources IS NOT NULL
    ), judged AS (
      SELECT w.id, w.workspace_id, w.state_message, CASE
        WHEN w.gpus > p.max_gpus THEN
          'needs ' || w.gpus || ' GPU' || CASE WHEN w.gpus = 1 THEN '' ELSE 's' END || ', largest worker has ' || p.max_gpus
        WHEN w.gpus > 0 AND w.gpu_gb * 1024 > coalesce(p.max_gpu_mb, 0) THEN
          'needs ' || w.gpu_gb || ' GB GPU memory, largest GPU has ' || round(coalesce(p.max_gpu_mb, 0) / 1024)::int || ' GB'
        WHEN w.gpus > 0 AND w.gpus > (
               SELECT coalesce(max((SELECT count(*) FROM jsonb_array_elements(k.resources->'gpus') d
                                    WHERE coalesce((d->>'memoryMb')::float8, 0) >= w.gpu_gb * 1024)), 0)
               FROM workers k WHERE k.work_pool_id = w.work_pool_id AND k.resources IS NOT NULL
                 AND k.last_heartbeat_at > now() - make_interval(secs => ${ONLINE_WINDOW_SECONDS}) AND k.stopped_at IS NULL) THEN
          'needs ' || w.gpus || ' GPUs with ' || w.gpu_gb || ' GB memory on one worker, no worker has that many'
        WHEN w.memory_gb > coalesce(p.max_memory_gb, 0) THEN
          'needs ' || w.memory_gb || ' GB memory, largest worker has ' || coalesce(p.max_memory_gb, 0) || ' GB'
        WHEN w.cpus > coalesce(p.max_cpus, 0) THEN
          'needs ' || w.cpus || ' CPUs, largest worker has ' || coalesce(p.max_cpus, 0)
        WHEN w.gpus > 0 AND p.gpu_quota IS NOT NULL AND w.gpus > p.gpu_quota THEN
          'needs ' || w.gpus || ' GPUs, pool GPU quota is ' || p.gpu_quota
        WHEN w.gpus > 0 AND p.gpu_quota IS NOT NULL
             AND w.gpus > p.gpu_quota - (SELECT coalesce(sum(h.gpus), 0) FROM held h WHERE h.work_pool_id = w.work_pool_id) THEN
          'pool GPU quota ' || p.gpu_quota || ' in use'
        WHEN w.gpus > 0 THEN (
          SELECT 'GPU quota ' || q.value || ' for tag ' || q.key || ' in use'
          FROM jsonb_each_text(p.gpu_quota_by_tag) q
          WHERE q.key = ANY(w.tags)
            AND w.gpus > q.value::int - (SELECT coalesce(sum(h.gpus), 0) FROM held h
                                          WHERE h.work_pool_id = w.work_pool_id AND q.key = ANY(h.tags))
          ORDER BY q.key LIMIT 1)
      END AS reason
      FROM waiting w JOIN pools p ON p.id = w.work_pool_id
    )
    UPDATE flow_runs r
    SET state_message = CASE WHEN j.reason IS NULL THEN NULL ELSE ${UNFIT_PREFIX} || j.reason END
    FROM judged j
    WHERE r.id = j.id AND r.state_type = 'SCHEDULED'
      AND CASE WHEN j.reason IS NULL THEN j.state_message LIKE ${`${UNFIT_PREFIX}%`}
               ELSE j.state_message IS DISTINCT FROM ${UNFIT_PREFIX} || j.reason END
    RETURNING r.id`;
  return rows.length;
}
