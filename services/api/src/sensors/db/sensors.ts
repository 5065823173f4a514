import type {
  ClaimedSensorTick,
  Sensor,
  SensorDefinitionInput,
  SensorTick,
  SensorTickRun,
  SensorTickStatus,
} from '@outpost/sdk/contracts';
import type { Db } from '../../db/client.js';
import { iso, isoOrNull, jsonb } from '../../db/values.js';

/*
 * Sensors and their ticks. The lease on a sensor row is the only claim: a worker holds it while it
 * evaluates one tick, and only the tick named by the lease may complete (see sensors/complete-tick.ts).
 */

interface SensorRow {
  id: string;
  name: string;
  description: string | null;
  deployment_id: string;
  deployment_name: string;
  flow_name: string;
  work_pool: string;
  interval_seconds: number;
  paused: boolean;
  cursor: string | null;
  next_tick_at: Date;
  lease_expires_at: Date | null;
  last_tick_id: string | null;
  last_tick_status: SensorTickStatus | null;
  last_tick_at: Date | null;
  last_tick_run_count: number;
  last_tick_skip_reason: string | null;
  last_tick_error: string | null;
  created_at: Date;
  updated_at: Date;
}

function toSensor(row: SensorRow): Sensor {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    deploymentId: row.deployment_id,
    deploymentName: row.deployment_name,
    flowName: row.flow_name,
    workPool: row.work_pool,
    intervalSeconds: row.interval_seconds,
    paused: row.paused,
    cursor: row.cursor,
    nextTickAt: iso(row.next_tick_at),
    // An expired lease holds nothing: the next claim takes the sensor over.
    leaseExpiresAt: row.lease_expires_at && row.lease_expires_at > new Date() ? iso(row.lease_expires_at) : null,
    lastTick:
      row.last_tick_id && row.last_tick_status && row.last_tick_at
        ? {
            id: row.last_tick_id,
            status: row.last_tick_status,
            at: iso(row.last_tick_at),
            runCount: row.last_tick_run_count,
            skipReason: row.last_tick_skip_reason,
            error: row.last_tick_error,
          }
        : null,
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  };
}

const selectSensors = (db: Db) => db`
  SELECT s.*, d.name AS deployment_name, f.name AS flow_name, p.name AS work_pool
  FROM sensors s
  JOIN deployments d ON d.id = s.deployment_id
  JOIN flows f ON f.id = d.flow_id
  JOIN work_pools p ON p.id = d.work_pool_id`;

/**
 * Replaces a deployment's sensors with those its code defines, matched by name: a kept sensor keeps
 * its cursor, pause and next due time (a changed interval applies from its next tick); a new one is
 * due at once; one no longer defined is removed with its ticks.
 */
export async function registerDeploymentSensors(
  tx: Db,
  input: { workspaceId: string; deploymentId: string; sensors: readonly SensorDefinitionInput[] },
): Promise<void> {
  const names = input.sensors.map((s) => s.name);
  await tx`
    DELETE FROM sensors WHERE deployment_id = ${input.deploymentId} AND NOT (name = ANY(${tx.array(names)}::text[]))`;
  for (const s of input.sensors) {
    await tx`
      INSERT INTO sensors (workspace_id, deployment_id, name, description, interval_seconds)
      VALUES (${input.workspaceId}, ${input.deploymentId}, ${s.name}, ${s.description ?? null}, ${s.intervalSeconds})
      ON CONFLICT (deployment_id, name) DO UPDATE SET
        description = EXCLUDED.description,
        interval_seconds = EXCLUDED.interval_seconds,
        updated_at = CASE
          WHEN sensors.description IS DISTINCT FROM EXCLUDED.description
            OR sensors.interval_seconds <> EXCLUDED.interval_seconds THEN now()
          ELSE sensors.updated_at END`;
  }
}

export async function getSensor(db: Db, workspaceId: string, id: string): Promise<Sensor | null> {
  const rows = await db<SensorRow[]>`${selectSensors(db)} WHERE s.workspace_id = ${workspaceId} AND s.id = ${id}`;
  return rows[0] ? toSensor(rows[0]) : null;
}

/** Sensors in name order (then id), after the cursor's `(name, id)`. */
export async function listSensors(
  db: Db,
  workspaceId: string,
  filter: { deployment?: string | undefined; after: [string, string] | null },
  limit: number,
): Promise<Sensor[]> {
  const rows = await db<SensorRow[]>`
    ${selectSensors(db)}
    WHERE s.workspace_id = ${workspaceId}
      ${filter.deployment ? db`AND s.deployment_id = ${filter.deployment}` : db``}
      ${filter.after ? db`AND (s.name, s.id) > (${filter.after[0]}, ${filter.after[1]}::uuid)` : db``}
    ORDER BY s.name, s.id
    LIMIT ${limit}`;
  return rows.map(toSensor);
}

/** Pauses or resumes; resuming makes the next tick due at once. False when there is no such sensor. */
export async function setSensorPaused(db: Db, workspaceId: string, id: string, paused: boolean): Promise<boolean> {
  const rows = await db`
    UPDATE sensors SET paused = ${paused}, updated_at = now(),
      next_tick_at = CASE WHEN ${paused} THEN next_tick_at ELSE least(next_tick_at, now()) END
    WHERE workspace_id = ${workspaceId} AND id = ${id}
    RETURNING id`;
  return rows.length > 0;
}

export async function makeSensorDue(db: Db, workspaceId: string, id: string): Promise<boolean> {
  const rows = await db`
    UPDATE sensors SET next_tick_at = now(), updated_at = now()
    WHERE workspace_id = ${workspaceId} AND id = ${id}
    RETURNING id`;
  return rows.length > 0;
}

interface TickRow {
  id: string;
  sensor_id: string;
  status: SensorTickStatus;
  started_at: Date;
  ended_at: Date | null;
  worker_id: string | null;
  runs: SensorTickRun[];
  skip_reason: string | null;
  error: string | null;
  cursor_before: string | null;
  cursor_after: string | null;
  logs: string[];
}

function toTick(row: TickRow): SensorTick {
  return {
    id: row.id,
    sensorId: row.sensor_id,
    status: row.status,
    startedAt: iso(row.started_at),
    endedAt: isoOrNull(row.ended_at),
    workerId: row.worker_id,
    runs: row.runs,
    skipReason: row.skip_reason,
    error: row.error,
    cursorBefore: row.cursor_before,
    cursorAfter: row.cursor_after,
    logs: row.logs,
  };
}

/** A sensor's ticks, newest first, before the cursor's `(startedAt, id)`. */
export async function listSensorTicks(
  db: Db,
  workspaceId: string,
  sensorId: string,
  filter: { status?: SensorTickStatus | undefined; before: [string, string] | null },
  limit: number,
): Promise<SensorTick[]> {
  const rows = await db<TickRow[]>`
    SELECT * FROM sensor_ticks
    WHERE workspace_id = ${workspaceId} AND sensor_id = ${sensorId}
      ${filter.status ? db`AND status = ${filter.status}` : db``}
      ${filter.before ? db`AND (started_at, id) < (${filter.before[0]}::timestamptz, ${filter.before[1]}::uuid)` : db``}
    ORDER BY started_at DESC, id DESC
    LIMIT ${limit}`;
  return rows.map(toTick);
}

export async function getSensorTick(db: Db, workspaceId: string, id: string): Promise<SensorTick | null> {
  const rows = await db<TickRow[]>`SELECT * FROM sensor_ticks WHERE workspace_id = ${workspaceId} AND id = ${id}`;
  return rows[0] ? toTick(rows[0]) : null;
}

export interface ClaimTicksInput {
  workspaceId: string;
  poolId: string;
  workerId: string;
  keyId: string | null;
  labels: Record<string, string>;
  limit: number;
  /** How long the worker may take; the lease lasts twice that, so a slow report still lands. */
  timeoutSeconds: number;
}

/**
 * Leases due sensors of the pool's unpaused deployments whose required labels the worker has, one
 * tick each, in due order: one statement locks them (`SKIP LOCKED`, so concurrent workers take
 * different sensors), takes the lease and records the tick RUNNING. A tick left RUNNING by a worker
 * whose lease ran out is recorded FAILED first, saying so; its evaluation is redone from the cursor
 * stored before it, so the run keys it requested come back and change nothing.
 */
export async function claimSensorTicks(db: Db, input: ClaimTicksInput): Promise<ClaimedSensorTick[]> {
  const rows = await db<
    {
      tick_id: string;
      sensor_id: string;
      name: string;
      interval_seconds: number;
      cursor: string | null;
      last_tick_at: Date | null;
      lease_expires_at: Date;
      deployment_id: string;
      deployment_name: string;
      flow_name: string;
      source: string;
      entrypoint: string;
      job_variables: Record<string, unknown>;
      signature: string | null;
    }[]
  >`
    WITH due AS (
      SELECT s.id, s.lease_tick_id AS stale_tick_id
      FROM sensors s
      JOIN deployments d ON d.id = s.deployment_id
      JOIN work_pools p ON p.id = d.work_pool_id
      WHERE s.workspace_id = ${input.workspaceId}
        AND d.work_pool_id = ${input.poolId}
        AND NOT s.paused AND NOT d.paused AND NOT p.paused
        AND s.next_tick_at <= now()
        AND (s.lease_expires_at IS NULL OR s.lease_expires_at < now())
        AND d.labels <@ ${db.json(input.labels)}::jsonb
      ORDER BY s.next_tick_at
      LIMIT ${input.limit}
      FOR UPDATE OF s SKIP LOCKED
    ),
    stale AS (
      UPDATE sensor_ticks t SET status = 'FAILED', ended_at = now(),
        error = 'the worker evaluating this tick stopped reporting before its lease ran out; the tick was evaluated again'
      FROM due WHERE t.id = due.stale_tick_id AND t.status = 'RUNNING'
      RETURNING t.id
    ),
    leased AS (
      UPDATE sensors s SET
        lease_tick_id = gen_random_uuid(),
        lease_worker_id = ${input.workerId},
        lease_key_id = ${input.keyId},
        lease_expires_at = now() + make_interval(secs => ${input.timeoutSeconds * 2})
      FROM due WHERE s.id = due.id
      RETURNING s.*
    ),
    -- Data-modifying CTEs run whether or not the query reads them.
    ticks AS (
      INSERT INTO sensor_ticks (id, workspace_id, sensor_id, status, worker_id, cursor_before)
      SELECT lease_tick_id, workspace_id, id, 'RUNNING', lease_worker_id, cursor FROM leased
      RETURNING id
    )
    SELECT l.lease_tick_id AS tick_id, l.id AS sensor_id, l.name, l.interval_seconds, l.cursor, l.last_tick_at,
      l.lease_expires_at, d.id AS deployment_id, d.name AS deployment_name, f.name AS flow_name,
      d.source, d.entrypoint, d.job_variables, v.signature
    FROM leased l
    JOIN deployments d ON d.id = l.deployment_id
    LEFT JOIN deployment_versions v ON v.id = d.version_id
    JOIN flows f ON f.id = d.flow_id
    ORDER BY l.next_tick_at`;
  return rows.map((r) => ({
    tickId: r.tick_id,
    sensor: {
      id: r.sensor_id,
      name: r.name,
      intervalSeconds: r.interval_seconds,
      cursor: r.cursor,
      lastTickAt: isoOrNull(r.last_tick_at),
    },
    deployment: {
      id: r.deployment_id,
      name: r.deployment_name,
      flowName: r.flow_name,
      source: r.source,
      entrypoint: r.entrypoint,
      jobVariables: r.job_variables as ClaimedSensorTick['deployment']['jobVariables'],
      signature: r.signature,
    },
    leaseExpiresAt: iso(r.lease_expires_at),
    timeoutSeconds: input.timeoutSeconds,
  }));
}

/**
 * The sensor a tick belongs to, locked, with its lease and whether its workspace is archived; null
 * when the tick is not in the workspace.
 */
export async function lockTickSensor(
  tx: Db,
  workspaceId: string,
  tickId: string,
): Promise<{
  sensorId: string;
  deploymentId: string;
  poolId: string;
  intervalSeconds: number;
  cursor: string | null;
  leaseTickId: string | null;
  leaseWorkerId: string | null;
  leaseKeyId: string | null;
  tickStatus: SensorTickStatus;
  archived: boolean;
} | null> {
  const rows = await tx<
    {
      sensor_id: string;
      deployment_id: string;
      pool_id: string;
      interval_seconds: number;
      cursor: string | null;
      lease_tick_id: string | null;
      lease_worker_id: string | null;
      lease_key_id: string | null;
      tick_status: SensorTickStatus;
      archived: boolean;
    }[]
  >`
    SELECT s.id AS sensor_id, s.deployment_id, d.work_pool_id AS pool_id, s.interval_seconds, s.cursor,
      s.lease_tick_id, s.lease_worker_id, s.lease_key_id, t.status AS tick_status, w.archived_at IS NOT NULL AS archived
    FROM sensor_ticks t
    JOIN sensors s ON s.id = t.sensor_id
    JOIN deployments d ON d.id = s.deployment_id
    JOIN workspaces w ON w.id = t.workspace_id
    WHERE t.workspace_id = ${workspaceId} AND t.id = ${tickId}
    FOR UPDATE OF s`;
  const r = rows[0];
  if (!r) return null;
  return {
    sensorId: r.sensor_id,
    deploymentId: r.deployment_id,
    poolId: r.pool_id,
    intervalSeconds: r.interval_seconds,
    cursor: r.cursor,
    leaseTickId: r.lease_tick_id,
    leaseWorkerId: r.lease_worker_id,
    leaseKeyId: r.lease_key_id,
    tickStatus: r.tick_status,
    archived: r.archived,
  };
}

export interface TickOutcome {
  status: Exclude<SensorTickStatus, 'RUNNING'>;
  runs: SensorTickRun[];
  skipReason: string | null;
  error: string | null;
  /** The sensor's cursor from now on (the one before, when the tick does not move it). */
  cursorAfter: string | null;
  logs: string[];
}

/** Ends the tick and the lease: the outcome on the tick, the cursor and summary on the sensor, the next tick due. */
export async function finishSensorTick(
  tx: Db,
  input: { workspaceId: string; sensorId: string; tickId: string; intervalSeconds: number; outcome: TickOutcome },
): Promise<void> {
  const { outcome } = input;
  await tx`
    UPDATE sensor_ticks SET status = ${outcome.status}, ended_at = now(), runs = ${jsonb(tx, outcome.runs)},
      skip_reason = ${outcome.skipReason}, error = ${outcome.error}, cursor_after = ${outcome.cursorAfter},
      logs = ${jsonb(tx, outcome.logs)}
    WHERE workspace_id = ${input.workspaceId} AND id = ${input.tickId}`;
  await tx`
    UPDATE sensors SET cursor = ${outcome.cursorAfter},
      lease_tick_id = NULL, lease_worker_id = NULL, lease_key_id = NULL, lease_expires_at = NULL,
      next_tick_at = greatest(next_tick_at, now() + make_interval(secs => ${input.intervalSeconds})),
      last_tick_id = ${input.tickId}, last_tick_status = ${outcome.status}, last_tick_at = now(),
      last_tick_run_count = ${outcome.runs.filter((r) => r.flowRunId !== null).length},
      last_tick_skip_reason = ${outcome.skipReason}, last_tick_error = ${outcome.error}
    WHERE id = ${input.sensorId}`;
}
