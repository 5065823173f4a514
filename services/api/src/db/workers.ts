import type { Worker } from '@outpost/sdk/contracts';
import type { Db } from './client.js';
import { iso } from './values.js';

/** Three missed 30-second heartbeats and a worker is OFFLINE. */
export const ONLINE_WINDOW_SECONDS = 90;

export interface WorkerUpsert {
  workspaceId: string;
  workerId: string;
  poolId: string;
  name: string | null;
  labels: Record<string, string> | null;
  capacity: number | null;
  apiKeyId: string | null;
}

/** Registers or refreshes a worker; fields left null keep their stored value (a claim knows less than a heartbeat). */
export async function upsertWorker(db: Db, w: WorkerUpsert): Promise<{ labels: Record<string, string> }> {
  const [row] = await db<{ labels: Record<string, string> }[]>`
    INSERT INTO workers (workspace_id, id, work_pool_id, name, labels, capacity, api_key_id, last_heartbeat_at)
    VALUES (${w.workspaceId}, ${w.workerId}, ${w.poolId}, ${w.name ?? `worker-${w.workerId.slice(0, 8)}`},
            ${db.json(w.labels ?? {})}, ${w.capacity ?? 1}, ${w.apiKeyId}, now())
    ON CONFLICT (workspace_id, id) DO UPDATE SET
      work_pool_id = excluded.work_pool_id,
      name = ${w.name === null ? db`workers.name` : db`excluded.name`},
      labels = ${w.labels === null ? db`workers.labels` : db`excluded.labels`},
      capacity = ${w.capacity === null ? db`workers.capacity` : db`excluded.capacity`},
      api_key_id = excluded.api_key_id,
      last_heartbeat_at = now()
    RETURNING labels`;
  return { labels: row?.labels ?? {} };
}

export async function listWorkers(db: Db, workspaceId: string, poolId: string, poolName: string): Promise<Worker[]> {
  const rows = await db<
    {
      id: string;
      name: string;
      labels: Record<string, string>;
      capacity: number;
      online: boolean;
      last_heartbeat_at: Date;
      created_at: Date;
    }[]
  >`
    SELECT id, name, labels, capacity, last_heartbeat_at, created_at,
           last_heartbeat_at > now() - make_interval(secs => ${ONLINE_WINDOW_SECONDS}) AS online
    FROM workers WHERE workspace_id = ${workspaceId} AND work_pool_id = ${poolId}
    ORDER BY name, id`;
  return rows.map((r) => ({
    id: r.id,
    workPool: poolName,
    name: r.name,
    labels: r.labels,
    capacity: r.capacity,
    status: r.online ? 'ONLINE' : 'OFFLINE',
    lastHeartbeatAt: iso(r.last_heartbeat_at),
    createdAt: iso(r.created_at),
  }));
}

/** True when the run is held by a worker that last called with this API key (a worker key acts only on its own runs). */
export async function keyHoldsRun(db: Db, workspaceId: string, apiKeyId: string, runId: string): Promise<boolean> {
  const [row] = await db<{ held: boolean }[]>`
    SELECT EXISTS (
      SELECT 1 FROM flow_runs r
      JOIN workers w ON w.workspace_id = r.workspace_id AND w.id = r.worker_id
      WHERE r.id = ${runId} AND r.workspace_id = ${workspaceId} AND w.api_key_id = ${apiKeyId}
    ) AS held`;
  return row?.held ?? false;
}
