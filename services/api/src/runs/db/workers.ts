import { HELD_STATES, type Worker, type WorkerGpuUse, type WorkerResources, type WorkerRunningRun } from '@outpost/sdk/contracts';
import { makeRoom } from '../../bounded-map.js';
import type { Db } from '../../db/client.js';
import { iso, jsonb, stateList } from '../../db/values.js';
import { workerOnline } from '../../pools/db/pool-status.js';

/** Numeric ids in number order, then the rest by text: device 10 comes after device 2. */
export function compareDeviceIds(a: string, b: string): number {
  const na = Number(a);
  const nb = Number(b);
  if (Number.isInteger(na) && Number.isInteger(nb)) return na - nb;
  return a < b ? -1 : a > b ? 1 : 0;
}

export interface WorkerUpsert {
  workspaceId: string;
  workerId: string;
  poolId: string;
  name: string | null;
  labels: Record<string, string> | null;
  capacity: number | null;
  /** What the worker advertises; null keeps the stored value. @default null */
  resources?: WorkerResources | null;
  /** The version the worker reports; null keeps the stored value (claims do not carry it). @default null */
  version?: string | null;
  apiKeyId: string | null;
  /** The worker's last heartbeat before a graceful stop. */
  stopping?: boolean;
}

/** Registers or refreshes a worker; fields left null keep their stored value (a claim knows less than a heartbeat). */
async function writeWorker(db: Db, w: WorkerUpsert): Promise<{ labels: Record<string, string>; inserted: boolean }> {
  const [row] = await db<{ labels: Record<string, string>; inserted: boolean }[]>`
    INSERT INTO workers (workspace_id, id, work_pool_id, name, labels, capacity, resources, version, api_key_id, last_heartbeat_at, stopped_at)
    VALUES (${w.workspaceId}, ${w.workerId}, ${w.poolId}, ${w.name ?? `worker-${w.workerId.slice(0, 8)}`},
            ${db.json(w.labels ?? {})}, ${w.capacity ?? 1}, ${jsonb(db, w.resources)}, ${w.version ?? null}, ${w.apiKeyId}, now(),
            ${w.stopping ? db`now()` : null})
    ON CONFLICT (workspace_id, id) DO UPDATE SET
      work_pool_id = excluded.work_pool_id,
      name = ${w.name === null ? db`workers.name` : db`excluded.name`},
      labels = ${w.labels === null ? db`workers.labels` : db`excluded.labels`},
      capacity = ${w.capacity === null ? db`workers.capacity` : db`excluded.capacity`},
      resources = ${w.resources == null ? db`workers.resources` : db`excluded.resources`},
      version = ${w.version == null ? db`workers.version` : db`excluded.version`},
      api_key_id = excluded.api_key_id,
      last_heartbeat_at = now(),
      stopped_at = ${w.stopping ? db`now()` : null}
    RETURNING labels, (xmax = 0) AS inserted`;
  return { labels: row?.labels ?? {}, inserted: row?.inserted ?? false };
}

// ---- claims refresh their worker at most every few seconds ----------------------------------------
//
// Every claim used to upsert its worker row first: a statement and a commit (a WAL flush) before the
// claim itself, although a busy worker claims many times a second and the row said the same thing
// each time but for last_heartbeat_at. A claim now writes the row only when this app has not
// written the same row (same pool, API key and labels) from a claim in the last
// WORKER_REFRESH_MS; in between it uses the labels it wrote. What that costs:
// - last_heartbeat_at trails the worker's latest claim by at most WORKER_REFRESH_MS; ONLINE means a
//   sign of life within ONLINE_WINDOW_SECONDS (90 s), so no status changes because of it.
// - A heartbeat through this app forgets the entry, so the next claim here writes again. A heartbeat
//   that changed the worker's labels through another app (another replica) reaches claims on this
//   one that send no labels of their own within WORKER_REFRESH_MS (the worker agent sends its labels
//   with every claim when it has any).
// - The row's api_key_id (what keyHoldsRun checks) is the claiming key whenever the entry is used:
//   a different key, pool or labels always writes.
// Measured with test/bench/lifecycle.ts (1 worker): one statement and one commit fewer per claim.

/** A claim skips its worker upsert when this app wrote the same row from a claim less than this ago. */
export const WORKER_REFRESH_MS = 10_000;
/** Entries kept at most; expired ones are dropped first, then the oldest. */
const CLAIMED_RECENTLY_MAX = 10_000;

interface RecentClaim {
  poolId: string;
  apiKeyId: string | null;
  labels: Record<string, string>;
  labelsJson: string;
  at: number;
}

const workerKey = (workspaceId: string, workerId: string) => `${workspaceId}/${workerId}`;

export type ClaimingWorker = Omit<WorkerUpsert, 'name' | 'capacity'>;

/**
 * Writes worker rows for one app, remembering which rows its claims wrote moments ago (see above).
 * Each app has its own (AppDeps.workerRows), writing to the one database it serves.
 */
export class WorkerRows {
  readonly #claimedRecently = new Map<string, RecentClaim>();
  /** Counts writes: a claim remembers its write only when no other write ran meanwhile. */
  #writes = 0;

  /** Registers or refreshes a worker; fields left null keep their stored value (a claim knows less than a heartbeat). */
  upsert(db: Db, w: WorkerUpsert): Promise<{ labels: Record<string, string>; inserted: boolean }> {
    // Whatever this write changes (a heartbeat's labels, say), the next claim writes again.
    this.#claimedRecently.delete(workerKey(w.workspaceId, w.workerId));
    this.#writes++;
    return writeWorker(db, w);
  }

  /** A claim's sign of life: `upsert` with what a claim knows, unless it was written moments ago (see above). */
  async refreshClaiming(db: Db, w: ClaimingWorker): Promise<{ labels: Record<string, string> }> {
    const key = workerKey(w.workspaceId, w.workerId);
    const labelsJson = w.labels === null ? null : JSON.stringify(w.labels);
    const now = Date.now();
    const recent = this.#claimedRecently.get(key);
    if (
      recent &&
      now - recent.at < WORKER_REFRESH_MS &&
      recent.poolId === w.poolId &&
      recent.apiKeyId === w.apiKeyId &&
      (labelsJson === null || labelsJson === recent.labelsJson)
    ) {
      return { labels: recent.labels };
    }
    const before = this.#writes;
    const { labels } = await this.upsert(db, { ...w, name: null, capacity: null });
    // Another write (a heartbeat, say) ran meanwhile: what this one returned may already be old.
    if (this.#writes !== before + 1) return { labels };
    makeRoom(this.#claimedRecently, CLAIMED_RECENTLY_MAX, (e) => now - e.at >= WORKER_REFRESH_MS);
    this.#claimedRecently.set(key, {
      poolId: w.poolId,
      apiKeyId: w.apiKeyId,
      labels,
      labelsJson: JSON.stringify(labels),
      at: now,
    });
    return { labels };
  }
}

export async function listWorkers(db: Db, workspaceId: string, poolId: string, poolName: string): Promise<Worker[]> {
  const rows = await db<
    {
      id: string;
      name: string;
      labels: Record<string, string>;
      capacity: number;
      resources: WorkerResources | null;
      version: string | null;
      busy: { gpu: string; run_id: string; run_name: string }[];
      running: WorkerRunningRun[];
      online: boolean;
      last_heartbeat_at: Date;
      created_at: Date;
    }[]
  >`
    SELECT w.id, w.name, w.labels, w.capacity, w.resources, w.version, w.last_heartbeat_at, w.created_at,
           ${workerOnline(db)} AS online,
           -- The runs the worker holds now, found through the held runs of the workspace (flow_runs_active_workspace_idx).
           (SELECT coalesce(jsonb_agg(jsonb_build_object('id', r.id, 'name', r.name, 'attempt', r.attempt,
                                                         'stateType', r.state_type) ORDER BY r.start_time NULLS LAST, r.id), '[]'::jsonb)
            FROM flow_runs r
            WHERE r.workspace_id = w.workspace_id AND r.worker_id = w.id AND r.state_type IN ${stateList(db, HELD_STATES)}) AS running,
           -- The devices the worker's held runs were assigned, and by which run.
           (SELECT coalesce(jsonb_agg(jsonb_build_object('gpu', g.id, 'run_id', r.id, 'run_name', r.name)), '[]'::jsonb)
            FROM flow_runs r
            JOIN flow_run_attempts a ON a.workspace_id = r.workspace_id AND a.flow_run_id = r.id AND a.attempt = r.attempt
            CROSS JOIN LATERAL jsonb_array_elements_text(a.assigned_resources->'gpus') g(id)
            WHERE r.workspace_id = w.workspace_id AND r.worker_id = w.id AND r.state_type IN ${stateList(db, HELD_STATES)}
              AND w.resources IS NOT NULL) AS busy
    FROM workers w WHERE w.workspace_id = ${workspaceId} AND w.work_pool_id = ${poolId}
    ORDER BY w.name, w.id`;
  return rows.map((r) => ({
    id: r.id,
    workPool: poolName,
    name: r.name,
    labels: r.labels,
    capacity: r.capacity,
    resources: r.resources,
    gpus: gpuUse(r.resources, r.busy),
    status: r.online ? 'ONLINE' : 'OFFLINE',
    version: r.version,
    runningRuns: r.running,
    lastHeartbeatAt: iso(r.last_heartbeat_at),
    createdAt: iso(r.created_at),
  }));
}

function gpuUse(resources: WorkerResources | null, busy: { gpu: string; run_id: string; run_name: string }[]): WorkerGpuUse[] {
  const holder = new Map(busy.map((b) => [b.gpu, b]));
  return [...(resources?.gpus ?? [])]
    .sort((a, b) => compareDeviceIds(a.id, b.id))
    .map((g) => ({
      id: g.id,
      model: g.model,
      memoryMb: g.memoryMb,
      runId: holder.get(g.id)?.run_id ?? null,
      runName: holder.get(g.id)?.run_name ?? null,
    }));
}

/**
 * A worker process that took over a name keeps the one row: rows of the same name in the pool left
 * by earlier processes (a restart, an upgrade) go. Names are unique per pool (the default is
 * hostname-pid); the runs an earlier process still held keep their leases, which expire or are
 * renewed by run id and attempt, never through this row.
 */
export async function dropEarlierWorkersOfName(
  db: Db,
  w: { workspaceId: string; poolId: string; workerId: string; name: string },
) {
  await db`
    DELETE FROM workers
    WHERE workspace_id = ${w.workspaceId} AND work_pool_id = ${w.poolId} AND name = ${w.name} AND id <> ${w.workerId}`;
}
