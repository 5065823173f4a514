import type { Sql } from '../../db/client.js';
import { type ClaimedRow, handedRuns } from './claim.js';

export interface AdoptInput {
  workspaceId: string;
  poolId: string;
  /** The new worker process; its row exists (its first heartbeat registered it). */
  workerId: string;
  /** The key the new worker calls with; the attempt must have been claimed with the same one. */
  apiKeyId: string | null;
  runs: { id: string; attempt: number }[];
  leaseSeconds: number;
}

export interface AdoptedRow extends ClaimedRow {
  /** The highest log seq stored for the attempt (0: none), so the new process numbers its lines after it. */
  log_seq: number;
}

/**
 * Moves the lease of each listed run to the new worker when the run is still held at that attempt
 * (PENDING, RUNNING or CANCELLING) by the process that claimed it, a worker of the new one's name
 * in the same pool, with the caller's key: what a restarted worker can prove it ran. One
 * statement; a run the lease loop or another worker changed meanwhile simply does not match.
 */
export async function adoptRuns(sql: Sql, input: AdoptInput): Promise<AdoptedRow[]> {
  const ids = sql.array(input.runs.map((r) => r.id));
  const attempts = sql.array(input.runs.map((r) => r.attempt));
  return sql<AdoptedRow[]>`
    WITH wanted AS (
      SELECT * FROM unnest(${ids}::uuid[], ${attempts}::int[]) AS w(id, attempt)
    ), adopted AS (
      UPDATE flow_runs r
      SET worker_id = ${input.workerId},
          lease_expires_at = statement_timestamp() + make_interval(secs => ${input.leaseSeconds}),
          updated_at = statement_timestamp()
      FROM wanted w, workers new, flow_run_attempts a
      WHERE r.id = w.id AND r.attempt = w.attempt
        AND r.workspace_id = ${input.workspaceId} AND r.work_pool_id = ${input.poolId}
        AND r.state_type IN ('PENDING', 'RUNNING', 'CANCELLING')
        AND new.workspace_id = r.workspace_id AND new.id = ${input.workerId} AND new.work_pool_id = r.work_pool_id
        -- The attempt's own record names the process that holds it (the earlier process's worker row is
        -- gone: a new process's first heartbeat drops the rows of its name) and the key it claimed with.
        AND a.workspace_id = r.workspace_id AND a.flow_run_id = r.id AND a.attempt = r.attempt
        AND a.worker_id = r.worker_id AND a.worker_name = new.name
        AND a.api_key_id IS NOT DISTINCT FROM ${input.apiKeyId}::uuid
      RETURNING r.*
    ), attempts AS (
      UPDATE flow_run_attempts a
      SET worker_id = c.worker_id
      FROM adopted c
      WHERE a.workspace_id = c.workspace_id AND a.flow_run_id = c.id AND a.attempt = c.attempt
    )
    SELECT * FROM (${handedRuns(sql, 'adopted')}) c
    ORDER BY c.id`;
}
