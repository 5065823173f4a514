import { HELD_STATES, type StateType } from '@outpost/sdk/contracts';
import type { Db } from './client.js';
import { stateList } from './values.js';

export interface RenewedLease {
  id: string;
  attempt: number;
  stateType: StateType;
  leaseExpiresAt: Date;
}

/**
 * Renews, in one statement, every lease the worker still holds: the run must name this worker and
 * the attempt the worker reports (the fencing token), and be PENDING, RUNNING or CANCELLING. Runs
 * that fail any of these are absent from the result, and the caller tells the worker it lost them.
 * The active subflow runs of each renewed run get the same expiry; the worker never names them.
 * Hand-written because it runs for every worker every interval: one round trip whatever the
 * number of runs, and `unnest` keeps it a single parameterised statement.
 */
export async function renewLeases(
  db: Db,
  input: { workspaceId: string; workerId: string; runs: { id: string; attempt: number }[]; leaseSeconds: number },
): Promise<{ renewed: RenewedLease[]; serverTime: Date }> {
  const rows = await db<
    {
      id: string | null;
      attempt: number | null;
      state_type: StateType | null;
      lease_expires_at: Date | null;
      server_time: Date;
    }[]
  >`
    WITH held AS (
      SELECT * FROM unnest(${db.array(input.runs.map((r) => r.id))}::uuid[], ${db.array(input.runs.map((r) => r.attempt))}::int[])
        AS h(id, attempt)
    ), renewed AS (
      UPDATE flow_runs r
      SET lease_expires_at = now() + make_interval(secs => ${input.leaseSeconds})
      FROM held
      WHERE r.id = held.id AND r.attempt = held.attempt AND r.workspace_id = ${input.workspaceId}
        AND r.worker_id = ${input.workerId} AND r.state_type IN ${stateList(db, HELD_STATES)}
      RETURNING r.id, r.attempt, r.state_type, r.lease_expires_at
    ), subflows AS (
      -- Subflow runs execute in their root's process and hold no lease of their own: they live as long as the root does.
      UPDATE flow_runs c SET lease_expires_at = renewed.lease_expires_at
      FROM renewed
      WHERE c.root_flow_run_id = renewed.id AND c.attempt = renewed.attempt AND c.workspace_id = ${input.workspaceId}
        AND c.state_type IN ${stateList(db, HELD_STATES)}
    )
    SELECT renewed.*, now()::timestamptz(3) AS server_time FROM (SELECT 1) one LEFT JOIN renewed ON true`;
  const serverTime = rows[0]?.server_time ?? new Date();
  const renewed: RenewedLease[] = [];
  for (const row of rows) {
    if (row.id === null || row.attempt === null || row.state_type === null || row.lease_expires_at === null) continue;
    renewed.push({ id: row.id, attempt: row.attempt, stateType: row.state_type, leaseExpiresAt: row.lease_expires_at });
  }
  return { renewed, serverTime };
}

/**
 * Held runs whose lease ran out by the database clock, oldest first, across workspaces (for the
 * lease loop). A held state without any lease counts as expired: `NULL < now()` is never true, and
 * a run nobody can renew must not stay RUNNING forever.
 */
export async function findExpiredLeases(db: Db, limit: number): Promise<ExpiredLease[]> {
  const rows = await db<{ id: string; workspace_id: string; state_type: StateType; attempt: number }[]>`
    SELECT id, workspace_id, state_type, attempt FROM flow_runs
    WHERE state_type IN ${stateList(db, HELD_STATES)} AND (lease_expires_at IS NULL OR lease_expires_at < now())
    ORDER BY lease_expires_at NULLS FIRST
    LIMIT ${limit}`;
  return rows.map((r) => ({ id: r.id, workspaceId: r.workspace_id, stateType: r.state_type, attempt: r.attempt }));
}

export interface ExpiredLease {
  id: string;
  workspaceId: string;
  stateType: StateType;
  attempt: number;
}

/**
 * Records a tick of loop `name` and returns how many seconds passed since its previous one, by the
 * database clock (null on its first tick ever). One statement: the previous mark is read in the
 * same snapshot the upsert replaces it from.
 */
export async function markLoopTick(db: Db, name: string): Promise<number | null> {
  const [row] = await db<{ gap: number | null }[]>`
    WITH previous AS (SELECT ticked_at FROM loop_marks WHERE name = ${name})
    INSERT INTO loop_marks (name, ticked_at) VALUES (${name}, now())
    ON CONFLICT (name) DO UPDATE SET ticked_at = excluded.ticked_at
    RETURNING extract(epoch FROM now() - (SELECT ticked_at FROM previous))::float8 AS gap`;
  return row?.gap ?? null;
}

/**
 * After the control plane was away, no held lease expires sooner than `graceSeconds` from now:
 * workers could not renew while it was gone, and get that long to reconnect and renew (fenced by
 * attempt) before the lease loop judges them dead. Returns how many leases were extended.
 */
export async function graceHeldLeases(db: Db, graceSeconds: number): Promise<number> {
  const rows = await db`
    UPDATE flow_runs SET lease_expires_at = now() + make_interval(secs => ${graceSeconds})
    WHERE state_type IN ${stateList(db, HELD_STATES)}
      AND (lease_expires_at IS NULL OR lease_expires_at < now() + make_interval(secs => ${graceSeconds}))
    RETURNING id`;
  return rows.length;
}
