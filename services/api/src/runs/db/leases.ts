import { HELD_STATES, type StateType, TERMINAL_STATES } from '@outpost/sdk/contracts';
import type { Db } from '../../db/client.js';
import { stateList } from '../../db/values.js';

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
 * Of runs a worker named but no longer holds, those whose named attempt is still the run's attempt
 * and ended in a terminal state, with that state: the worker's flow finished (or someone set the
 * run's state), rather than the run moving on without it.
 */
export async function endedAttempts(
  db: Db,
  input: { workspaceId: string; runs: { id: string; attempt: number }[] },
): Promise<{ id: string; attempt: number; stateType: StateType }[]> {
  const rows = await db<{ id: string; attempt: number; state_type: StateType }[]>`
    SELECT r.id, r.attempt, r.state_type FROM flow_runs r
    JOIN unnest(${db.array(input.runs.map((r) => r.id))}::uuid[], ${db.array(input.runs.map((r) => r.attempt))}::int[])
      AS h(id, attempt) ON r.id = h.id AND r.attempt = h.attempt
    WHERE r.workspace_id = ${input.workspaceId} AND r.state_type IN ${stateList(db, TERMINAL_STATES)}`;
  return rows.map((r) => ({ id: r.id, attempt: r.attempt, stateType: r.state_type }));
}

/**
 * Whether the worker of flow run `r` is judged gone, by the database clock: it holds no lease, or the
 * lease ran out — and, in a pool that waits for silent workers (`on_worker_silence = 'wait'`), its
 * disconnected tolerance past the lease ran out too (never, when the pool's tolerance has no limit).
 * Such a worker stops its run by then itself, so the retry never runs beside it.
 */
export function leaseRunOut(db: Db) {
  return db`(r.lease_expires_at IS NULL OR (r.lease_expires_at < now() AND NOT EXISTS (
    SELECT 1 FROM work_pools p
    WHERE p.id = r.work_pool_id AND p.on_worker_silence = 'wait'
      AND (p.disconnected_tolerance_seconds IS NULL
           OR r.lease_expires_at + make_interval(secs => p.disconnected_tolerance_seconds) >= now()))))`;
}

/**
 * Held runs whose worker is judged gone (`leaseRunOut`), oldest lease first, across workspaces (for
 * the lease loop). A held state without any lease counts as expired: a run nobody can renew must not
 * stay RUNNING forever.
 */
export async function findExpiredLeases(db: Db, limit: number): Promise<ExpiredLease[]> {
  const rows = await db<{ id: string; workspace_id: string; state_type: StateType; attempt: number }[]>`
    SELECT r.id, r.workspace_id, r.state_type, r.attempt FROM flow_runs r
    WHERE r.state_type IN ${stateList(db, HELD_STATES)} AND ${leaseRunOut(db)}
    ORDER BY r.lease_expires_at NULLS FIRST
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

/**
 * Which of a worker's held attempts have been asked to cancel (CANCELLING at that attempt): what a
 * waiting claim answers with as soon as a held run changes. One primary-key probe per held run.
 */
export async function cancellingAttempts(
  db: Db,
  workspaceId: string,
  held: ReadonlyMap<string, number>,
): Promise<{ id: string; attempt: number }[]> {
  if (held.size === 0) return [];
  const rows = await db<{ id: string; attempt: number }[]>`
    SELECT id, attempt FROM flow_runs
    WHERE workspace_id = ${workspaceId} AND id = ANY(${db.array([...held.keys()])}::uuid[]) AND state_type = 'CANCELLING'`;
  return rows.filter((row) => held.get(row.id) === row.attempt).map((row) => ({ id: row.id, attempt: row.attempt }));
}
