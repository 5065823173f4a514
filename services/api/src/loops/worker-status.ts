import type { Sql } from '../db/client.js';
import { insertEvents, type NewEvent } from '../events/db/events.js';
import type { Logger } from '../logger.js';
import { poolStatusColumn, workerOnline } from '../pools/db/pool-status.js';
import { ElectedRounds } from './elected-loop.js';

export interface WorkerStatusLoopOptions {
  /** Delay between passes. @default 5000 */
  intervalMs?: number;
}

type WorkerStatus = 'ONLINE' | 'OFFLINE' | 'STOPPED';
type PoolStatus = 'READY' | 'NOT_READY' | 'PAUSED';

interface WorkerNow {
  workspace_id: string;
  id: string;
  name: string;
  pool_id: string;
  pool: string;
  status: WorkerStatus;
  reported: WorkerStatus | null;
  last_heartbeat_at: Date;
}

interface PoolNow {
  workspace_id: string;
  id: string;
  name: string;
  status: PoolStatus;
  reported: PoolStatus | null;
}

/** The event of a worker's change from `before` to `now`, or null when the change is not one to announce. */
export function workerEventKind(before: WorkerStatus | null, now: WorkerStatus): string | null {
  if (before === now) return null;
  if (now === 'ONLINE') return 'worker.online';
  // A worker first seen already gone (this loop is new, or the worker came and went between passes) is noted silently.
  if (before === null) return null;
  return now === 'STOPPED' ? 'worker.stopped' : 'worker.offline';
}

/** The event of a pool's change, or null: a pool first seen is noted silently, pausing is a deployment-style action of its own. */
export function poolEventKind(before: PoolStatus | null, now: PoolStatus): string | null {
  if (before === null || before === now) return null;
  if (now === 'NOT_READY') return 'work-pool.not-ready';
  if (now === 'READY' && before === 'NOT_READY') return 'work-pool.ready';
  return null;
}

/**
 * Turns workers' and pools' statuses (computed from heartbeats when read, pools/db/pool-status.ts) into
 * events: `worker.online|offline|stopped` and `work-pool.not-ready|ready`, one per change. What was
 * last announced is kept in `reported_statuses`, written in the transaction that inserts the events,
 * under a transaction-scoped advisory lock: two replicas (or a leader that lost its lock mid-pass)
 * never announce one change twice.
 */
export class WorkerStatusLoop extends ElectedRounds {
  constructor(
    private readonly sql: Sql,
    databaseUrl: string,
    logger: Logger,
    options: WorkerStatusLoopOptions = {},
  ) {
    const interval = options.intervalMs ?? 5_000;
    super(databaseUrl, logger, { name: 'worker-status', busyMs: interval, idleMs: interval });
  }

  protected round(): Promise<number> {
    return this.tick();
  }

  /** One pass: announces every change since the last; returns how many events it wrote. */
  async tick(): Promise<number> {
    return this.sql.begin(async (tx) => {
      await tx`SELECT pg_advisory_xact_lock(hashtext('outpost.worker-status'))`;
      // Workers seen within a day, or still announced online: older rows are history nobody waits on.
      const workers = await tx<WorkerNow[]>`
        SELECT w.workspace_id, w.id, w.name, w.work_pool_id AS pool_id, p.name AS pool, w.last_heartbeat_at,
               CASE WHEN ${workerOnline(tx)} THEN 'ONLINE' WHEN w.stopped_at IS NOT NULL THEN 'STOPPED' ELSE 'OFFLINE' END AS status,
               r.status AS reported
        FROM workers w
        JOIN work_pools p ON p.id = w.work_pool_id
        LEFT JOIN reported_statuses r
          ON r.workspace_id = w.workspace_id AND r.resource_kind = 'worker' AND r.resource_id = w.id::text
        WHERE w.last_heartbeat_at > now() - interval '1 day' OR r.status = 'ONLINE'`;
      const pools = await tx<PoolNow[]>`
        SELECT work_pools.workspace_id, work_pools.id, work_pools.name, ${poolStatusColumn(tx)}, r.status AS reported
        FROM work_pools
        LEFT JOIN reported_statuses r
          ON r.workspace_id = work_pools.workspace_id AND r.resource_kind = 'work-pool' AND r.resource_id = work_pools.id::text`;

      const events: NewEvent[] = [];
      const marks: { workspace_id: string; resource_kind: string; resource_id: string; status: string }[] = [];
      for (const w of workers) {
        if (w.status === w.reported) continue;
        marks.push({ workspace_id: w.workspace_id, resource_kind: 'worker', resource_id: w.id, status: w.status });
        const kind = workerEventKind(w.reported, w.status);
        if (!kind) continue;
        events.push({
          workspaceId: w.workspace_id,
          kind,
          resource: { kind: 'worker', id: w.id, name: w.name },
          related: [{ kind: 'work-pool', id: w.pool_id, name: w.pool }],
          payload: { workPool: w.pool, status: w.status, lastHeartbeatAt: w.last_heartbeat_at.toISOString() },
          source: 'system',
        });
      }
      for (const p of pools) {
        if (p.status === p.reported) continue;
        marks.push({ workspace_id: p.workspace_id, resource_kind: 'work-pool', resource_id: p.id, status: p.status });
        const kind = poolEventKind(p.reported, p.status);
        if (!kind) continue;
        events.push({
          workspaceId: p.workspace_id,
          kind,
          resource: { kind: 'work-pool', id: p.id, name: p.name },
          payload: { workPool: p.name, status: p.status },
          source: 'system',
        });
      }
      if (marks.length > 0) {
        await tx`
          INSERT INTO reported_statuses (workspace_id, resource_kind, resource_id, status)
          SELECT x.workspace_id, x.resource_kind, x.resource_id, x.status
          FROM jsonb_to_recordset(${tx.json(marks as never)}::jsonb) AS x(workspace_id uuid, resource_kind text, resource_id text, status text)
          ON CONFLICT (workspace_id, resource_kind, resource_id) DO UPDATE SET status = excluded.status, reported_at = now()`;
      }
      await insertEvents(tx, events);
      return events.length;
    });
  }
}
