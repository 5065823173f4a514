import type { WorkerSilencePolicy, WorkPool, WorkPoolType, WorkQueue } from '@outpost/sdk/contracts';
import type postgres from 'postgres';
import { RUNS_CHANNEL } from '../../db/channels.js';
import type { Db } from '../../db/client.js';
import type { Row, workPools, workQueues } from '../../db/schema.js';
import { iso } from '../../db/values.js';
import { poolStatusColumn } from './pool-status.js';

interface PoolRow
  extends Pick<
    Row<typeof workPools>,
    | 'id'
    | 'name'
    | 'description'
    | 'paused'
    | 'concurrency_limit'
    | 'type'
    | 'base_job_template'
    | 'gpu_quota'
    | 'gpu_quota_by_tag'
    | 'on_worker_silence'
    | 'disconnected_tolerance_seconds'
    | 'created_at'
  > {
  status: 'READY' | 'NOT_READY' | 'PAUSED';
}

function toPool(row: PoolRow): WorkPool {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    paused: row.paused,
    concurrencyLimit: row.concurrency_limit,
    gpuQuota: row.gpu_quota,
    gpuQuotaByTag: row.gpu_quota_by_tag,
    status: row.status,
    type: row.type,
    baseJobTemplate: row.base_job_template,
    onWorkerSilence: row.on_worker_silence,
    disconnectedToleranceSeconds: row.disconnected_tolerance_seconds,
    createdAt: iso(row.created_at),
  };
}

const jsonb = (db: Db, value: Record<string, unknown> | null) =>
  value === null ? db`NULL::jsonb` : db`${db.json(value as postgres.JSONValue)}::jsonb`;

interface QueueRow
  extends Pick<Row<typeof workQueues>, 'id' | 'name' | 'priority' | 'paused' | 'concurrency_limit' | 'created_at'> {
  pool_name: string;
}

function toQueue(row: QueueRow): WorkQueue {
  return {
    id: row.id,
    workPool: row.pool_name,
    name: row.name,
    priority: row.priority,
    paused: row.paused,
    concurrencyLimit: row.concurrency_limit,
    createdAt: iso(row.created_at),
  };
}

export async function getPoolByName(db: Db, workspaceId: string, name: string): Promise<WorkPool | null> {
  const [row] = await db<
    PoolRow[]
  >`SELECT *, ${poolStatusColumn(db)} FROM work_pools WHERE workspace_id = ${workspaceId} AND name = ${name}`;
  return row ? toPool(row) : null;
}

export async function listPools(db: Db, workspaceId: string): Promise<WorkPool[]> {
  const rows = await db<
    PoolRow[]
  >`SELECT *, ${poolStatusColumn(db)} FROM work_pools WHERE workspace_id = ${workspaceId} ORDER BY name`;
  return rows.map(toPool);
}

/** Creates the pool and its `default` queue; null when the name is taken. Run inside a transaction. */
export async function insertPool(
  db: Db,
  pool: {
    workspaceId: string;
    name: string;
    description: string | null;
    concurrencyLimit: number | null;
    /** @default 'process' */
    type?: WorkPoolType;
    baseJobTemplate?: Record<string, unknown> | null;
    /** @default 'retry' */
    onWorkerSilence?: WorkerSilencePolicy;
    /** Null: no limit. @default 600 */
    disconnectedToleranceSeconds?: number | null;
  },
): Promise<WorkPool | null> {
  const [row] = await db<PoolRow[]>`
    INSERT INTO work_pools (workspace_id, name, description, concurrency_limit, type, base_job_template, on_worker_silence,
                            disconnected_tolerance_seconds)
    VALUES (${pool.workspaceId}, ${pool.name}, ${pool.description}, ${pool.concurrencyLimit}, ${pool.type ?? 'process'},
            ${jsonb(db, pool.baseJobTemplate ?? null)}, ${pool.onWorkerSilence ?? 'retry'},
            ${pool.disconnectedToleranceSeconds === undefined ? db`DEFAULT` : db`${pool.disconnectedToleranceSeconds}::int`})
    ON CONFLICT (workspace_id, name) DO NOTHING
    RETURNING *, ${poolStatusColumn(db)}`;
  if (!row) return null;
  await db`INSERT INTO work_queues (workspace_id, work_pool_id, name, priority) VALUES (${pool.workspaceId}, ${row.id}, 'default', 1)`;
  return toPool(row);
}

export interface PoolChanges {
  description?: string;
  paused?: boolean;
  concurrencyLimit?: number | null;
  baseJobTemplate?: Record<string, unknown> | null;
  gpuQuota?: number | null;
  gpuQuotaByTag?: Record<string, number>;
  onWorkerSilence?: WorkerSilencePolicy;
  disconnectedToleranceSeconds?: number | null;
}

/** Applies the given fields; a pool that is unpaused or gets room may have due runs, so waiting claims are nudged. */
export async function updatePool(db: Db, workspaceId: string, name: string, changes: PoolChanges): Promise<WorkPool | null> {
  const [row] = await db<PoolRow[]>`
    UPDATE work_pools SET
      description = ${changes.description === undefined ? db`description` : db`${changes.description}`},
      paused = ${changes.paused === undefined ? db`paused` : db`${changes.paused}`},
      concurrency_limit = ${changes.concurrencyLimit === undefined ? db`concurrency_limit` : db`${changes.concurrencyLimit}::int`},
      base_job_template = ${changes.baseJobTemplate === undefined ? db`base_job_template` : jsonb(db, changes.baseJobTemplate)},
      gpu_quota = ${changes.gpuQuota === undefined ? db`gpu_quota` : db`${changes.gpuQuota}::int`},
      gpu_quota_by_tag = ${changes.gpuQuotaByTag === undefined ? db`gpu_quota_by_tag` : db`${db.json(changes.gpuQuotaByTag)}::jsonb`},
      on_worker_silence = ${changes.onWorkerSilence === undefined ? db`on_worker_silence` : db`${changes.onWorkerSilence}`},
      disconnected_tolerance_seconds = ${
        changes.disconnectedToleranceSeconds === undefined
          ? db`disconnected_tolerance_seconds`
          : db`${changes.disconnectedToleranceSeconds}::int`
      }
    WHERE workspace_id = ${workspaceId} AND name = ${name}
    RETURNING *, ${poolStatusColumn(db)}`;
  if (!row) return null;
  await db`SELECT pg_notify(${RUNS_CHANNEL}, ${row.id})`;
  return toPool(row);
}

export async function listQueues(db: Db, workspaceId: string, poolId: string): Promise<WorkQueue[]> {
  const rows = await db<QueueRow[]>`
    SELECT q.*, p.name AS pool_name FROM work_queues q JOIN work_pools p ON p.id = q.work_pool_id
    WHERE q.workspace_id = ${workspaceId} AND q.work_pool_id = ${poolId}
    ORDER BY q.priority, q.name`;
  return rows.map(toQueue);
}

export async function getQueue(db: Db, workspaceId: string, poolId: string, name: string): Promise<WorkQueue | null> {
  const [row] = await db<QueueRow[]>`
    SELECT q.*, p.name AS pool_name FROM work_queues q JOIN work_pools p ON p.id = q.work_pool_id
    WHERE q.workspace_id = ${workspaceId} AND q.work_pool_id = ${poolId} AND q.name = ${name}`;
  return row ? toQueue(row) : null;
}

/** Null when the pool already has a queue of this name. */
export async function insertQueue(
  db: Db,
  queue: { workspaceId: string; poolId: string; name: string; priority: number; concurrencyLimit: number | null },
): Promise<WorkQueue | null> {
  const [row] = await db<{ id: string }[]>`
    INSERT INTO work_queues (workspace_id, work_pool_id, name, priority, concurrency_limit)
    VALUES (${queue.workspaceId}, ${queue.poolId}, ${queue.name}, ${queue.priority}, ${queue.concurrencyLimit})
    ON CONFLICT (work_pool_id, name) DO NOTHING
    RETURNING id`;
  if (!row) return null;
  return getQueue(db, queue.workspaceId, queue.poolId, queue.name);
}

export interface QueueChanges {
  priority?: number;
  paused?: boolean;
  concurrencyLimit?: number | null;
}

export async function updateQueue(
  db: Db,
  workspaceId: string,
  poolId: string,
  name: string,
  changes: QueueChanges,
): Promise<WorkQueue | null> {
  const [row] = await db<{ id: string }[]>`
    UPDATE work_queues SET
      priority = ${changes.priority === undefined ? db`priority` : db`${changes.priority}::int`},
      paused = ${changes.paused === undefined ? db`paused` : db`${changes.paused}`},
      concurrency_limit = ${changes.concurrencyLimit === undefined ? db`concurrency_limit` : db`${changes.concurrencyLimit}::int`}
    WHERE workspace_id = ${workspaceId} AND work_pool_id = ${poolId} AND name = ${name}
    RETURNING id`;
  if (!row) return null;
  await db`SELECT pg_notify(${RUNS_CHANNEL}, ${poolId})`;
  return getQueue(db, workspaceId, poolId, name);
}
