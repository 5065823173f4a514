import { HELD_STATES } from '@outpost/sdk/contracts';
import type { Db } from './client.js';
import { stateList } from './values.js';

/** How many runs of one pool wait or are held, for the queue-depth gauges of `/metrics`. */
export interface PoolRunCounts {
  /** Slug of the pool's workspace. */
  workspace: string;
  pool: string;
  /** SCHEDULED runs whose expected start time has passed: due, not yet claimed. */
  due: number;
  pending: number;
  running: number;
  cancelling: number;
}

/**
 * Every pool of every workspace with its due and held runs, in one statement, read when Prometheus
 * scrapes. Pools with none are included, so a drained backlog reads 0 rather than vanishing.
 *
 * Each count is a probe of a partial index that holds only the runs it counts — due runs through
 * flow_runs_claim_idx (work_pool_id, expected_start_time WHERE SCHEDULED), held runs through
 * flow_runs_active_idx (WHERE PENDING, RUNNING or CANCELLING) — so the cost follows the backlog
 * and the runs in flight, never the history of finished runs. Runs in terminal states are not
 * counted: no index bounds that count, and the dashboard's statistics already cover it.
 *
 * Measured on a 2-core machine with Postgres 15 (50 workspaces, 200 pools, 500,000 runs of which
 * 43,000 due and 100,000 in flight): ~90 ms, nearly all of it reading the held runs' rows for
 * their state; the due counts are index-only (0.02 ms a pool). A fleet holds far fewer runs at once.
 */
export async function poolRunCounts(db: Db): Promise<PoolRunCounts[]> {
  return db<PoolRunCounts[]>`
    SELECT w.slug AS workspace, p.name AS pool,
           (SELECT count(*) FROM flow_runs r
            WHERE r.work_pool_id = p.id AND r.state_type = 'SCHEDULED' AND r.expected_start_time <= now())::int AS due,
           held.pending, held.running, held.cancelling
    FROM work_pools p
    JOIN workspaces w ON w.id = p.workspace_id
    CROSS JOIN LATERAL (
      SELECT count(*) FILTER (WHERE r.state_type = 'PENDING')::int AS pending,
             count(*) FILTER (WHERE r.state_type = 'RUNNING')::int AS running,
             count(*) FILTER (WHERE r.state_type = 'CANCELLING')::int AS cancelling
      FROM flow_runs r
      WHERE r.work_pool_id = p.id AND r.state_type IN ${stateList(db, HELD_STATES)}
    ) held
    ORDER BY w.slug, p.name`;
}
