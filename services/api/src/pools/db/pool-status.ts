import type postgres from 'postgres';
import type { Db } from '../../db/client.js';

/** Three missed 30-second heartbeats and a worker is OFFLINE. */
export const ONLINE_WINDOW_SECONDS = 90;

/**
 * Whether the worker row `w` is ONLINE: a sign of life within the window, and no graceful stop
 * since. Used in the select list or WHERE clause of statements over `workers w`.
 */
export function workerOnline(db: Db): postgres.PendingQuery<postgres.Row[]> {
  return db`(w.last_heartbeat_at > now() - make_interval(secs => ${ONLINE_WINDOW_SECONDS}) AND w.stopped_at IS NULL)`;
}

/**
 * A pool's status, computed when it is read rather than kept by a loop: it derives from two facts
 * the database already holds (the pause flag and the workers' last heartbeat, both on the database
 * clock), so it can never be stale or disagree with the worker list, costs one indexed EXISTS on
 * `workers_pool_idx`, and needs no leader, timer or write. A worker is online for 90 s after its
 * last heartbeat or claim (three missed 30-second heartbeats), and a pool is READY while one is.
 * Used in the select list or RETURNING clause of a statement over `work_pools`.
 */
export function poolStatusColumn(db: Db): postgres.PendingQuery<postgres.Row[]> {
  return db`
    CASE WHEN work_pools.paused THEN 'PAUSED'
         WHEN EXISTS (SELECT 1 FROM workers w WHERE w.work_pool_id = work_pools.id AND ${workerOnline(db)}) THEN 'READY'
         ELSE 'NOT_READY'
    END AS status`;
}
