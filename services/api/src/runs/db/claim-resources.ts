import { type AssignedResources, HELD_STATES, type ResourceRequest, type WorkerResources } from '@outpost/sdk/contracts';
import type postgres from 'postgres';
import type { Db } from '../../db/client.js';
import { stateList } from '../../db/values.js';
import { compareDeviceIds } from './workers.js';

/** A GPU device of a worker no held run was assigned. */
export interface FreeGpu {
  id: string;
  /** 0 when the worker did not say. */
  memoryMb: number;
}

/** What a claim may still hand out: the worker's free devices, memory and CPU slots, and the pool's quota room. */
export interface FreeResources {
  /** In device-id order. */
  gpus: FreeGpu[];
  /** Null: the worker did not say, so memory does not limit it. */
  memoryGb: number | null;
  cpus: number | null;
  /** GPUs the pool's quota still allows; null with no quota. */
  poolGpuRoom: number | null;
  /** GPUs each quota-limited tag still allows. */
  tagGpuRoom: Record<string, number>;
}

/**
 * Reads, after the claim's locks were granted (claim-locks.ts), what the worker has free: its
 * advertised resources minus what the runs it holds were assigned, and the pool's GPU quota room
 * (devices assigned to the pool's held runs, in all and per quota-limited tag). One statement.
 */
export async function readFreeResources(
  tx: Db,
  input: { workspaceId: string; poolId: string; workerId: string },
): Promise<FreeResources> {
  const [row] = await tx<
    {
      resources: WorkerResources | null;
      held: AssignedResources[];
      gpu_quota: number | null;
      pool_used: number;
      tag_room: Record<string, number> | null;
    }[]
  >`
    WITH pool_held AS MATERIALIZED (
      SELECT r.worker_id, r.tags, a.assigned_resources AS assigned
      FROM flow_runs r
      JOIN flow_run_attempts a ON a.workspace_id = r.workspace_id AND a.flow_run_id = r.id AND a.attempt = r.attempt
      WHERE r.work_pool_id = ${input.poolId} AND r.workspace_id = ${input.workspaceId}
        AND r.state_type IN ${stateList(tx, HELD_STATES)} AND a.assigned_resources IS NOT NULL
    )
    SELECT w.resources,
           (SELECT coalesce(jsonb_agg(h.assigned), '[]'::jsonb) FROM pool_held h WHERE h.worker_id = ${input.workerId}) AS held,
           p.gpu_quota,
           (SELECT coalesce(sum(jsonb_array_length(h.assigned->'gpus')), 0)::int FROM pool_held h) AS pool_used,
           (SELECT jsonb_object_agg(q.key, q.value::int - (
                     SELECT coalesce(sum(jsonb_array_length(h.assigned->'gpus')), 0)::int
                     FROM pool_held h WHERE q.key = ANY(h.tags)))
            FROM jsonb_each_text(p.gpu_quota_by_tag) q) AS tag_room
    FROM work_pools p
    LEFT JOIN workers w ON w.workspace_id = ${input.workspaceId} AND w.id = ${input.workerId}
    WHERE p.id = ${input.poolId} AND p.workspace_id = ${input.workspaceId}`;
  const resources = row?.resources ?? null;
  const busy = new Set<string>();
  let memoryUsed = 0;
  let cpusUsed = 0;
  for (const held of row?.held ?? []) {
    for (const id of held.gpus) busy.add(id);
    memoryUsed += held.memoryGb ?? 0;
    cpusUsed += held.cpus ?? 0;
  }
  const gpus = (resources?.gpus ?? [])
    .filter((g) => !busy.has(g.id))
    .map((g) => ({ id: g.id, memoryMb: g.memoryMb ?? 0 }))
    .sort((a, b) => compareDeviceIds(a.id, b.id));
  // A worker that advertised nothing (it predates resources) takes only runs without a request.
  const memoryGb = resources ? (resources.memoryGb === null ? null : resources.memoryGb - memoryUsed) : 0;
  const cpus = resources ? (resources.cpus === null ? null : resources.cpus - cpusUsed) : 0;
  return {
    gpus,
    memoryGb,
    cpus,
    poolGpuRoom: row?.gpu_quota == null ? null : row.gpu_quota - (row.pool_used ?? 0),
    tagGpuRoom: row?.tag_room ?? {},
  };
}

/** A run's request as the claim statement reads it from `flow_runs r` (`r.resources`). */
const gpusOf = (db: Db, alias: string) => db.unsafe(`coalesce((${alias}.resources->>'gpus')::int, 0)`);
const gpuMbOf = (db: Db, alias: string) => db.unsafe(`coalesce((${alias}.resources->>'gpuMemoryGb')::float8, 0) * 1024`);

/**
 * The condition (over `flow_runs r`) that a run fits the free resources on its own: enough free
 * devices with the memory it asks for, host memory, CPU slots, and the pool's and its tags' GPU
 * quota room. A run without a request always fits.
 */
export function fitsAlone(db: Db, free: FreeResources): postgres.PendingQuery<postgres.Row[]> {
  const mem = db.array(free.gpus.map((g) => g.memoryMb));
  return db`(r.resources IS NULL OR (
      ${gpusOf(db, 'r')} <= (SELECT count(*) FROM unnest(${mem}::float8[]) m WHERE m >= ${gpuMbOf(db, 'r')})
      AND (${free.memoryGb}::float8 IS NULL OR coalesce((r.resources->>'memoryGb')::float8, 0) <= ${free.memoryGb}::float8)
      AND (${free.cpus}::float8 IS NULL OR coalesce((r.resources->>'cpus')::float8, 0) <= ${free.cpus}::float8)
      AND (${free.poolGpuRoom}::int IS NULL OR ${gpusOf(db, 'r')} <= ${free.poolGpuRoom}::int)
      AND NOT EXISTS (SELECT 1 FROM jsonb_each_text(${db.json(free.tagGpuRoom)}::jsonb) x
                      WHERE x.key = ANY(r.tags) AND x.value::int < ${gpusOf(db, 'r')})))`;
}

/**
 * Columns for the claim's `ranked` CTE (over `due`): running totals in pool order of what the runs
 * ask for, so a batch takes a run only while everything ranked before it fits too. A run is taken
 * when the GPUs asked by it and every run ranked before it fit into the free devices with the
 * memory it asks for: then handing each run the lowest free ids with enough memory, in that order,
 * always finds enough (the runs before it took at most that many devices). Totals count runs other
 * cuts leave out, so a batch may come out smaller than it could, never larger.
 */
export function runningTotals(db: Db): postgres.PendingQuery<postgres.Row[]> {
  const order = db`ORDER BY due.priority, due.expected_start_time, due.id`;
  return db`,
    sum(${gpusOf(db, 'due')}) OVER (${order}) AS gpus_total,
    sum(coalesce((due.resources->>'memoryGb')::float8, 0)) OVER (${order}) AS memory_total,
    sum(coalesce((due.resources->>'cpus')::float8, 0)) OVER (${order}) AS cpus_total,
    ${gpuMbOf(db, 'due')} AS gpu_mb`;
}

/** The `picked` condition (over `ranked`) that a run's running totals fit; see runningTotals. */
export function fitsBatch(db: Db, free: FreeResources): postgres.PendingQuery<postgres.Row[]> {
  const mem = db.array(free.gpus.map((g) => g.memoryMb));
  return db`AND (ranked.resources IS NULL OR (
      ranked.gpus_total <= (SELECT count(*) FROM unnest(${mem}::float8[]) m WHERE m >= ranked.gpu_mb)
      AND (${free.memoryGb}::float8 IS NULL OR ranked.memory_total <= ${free.memoryGb}::float8)
      AND (${free.cpus}::float8 IS NULL OR ranked.cpus_total <= ${free.cpus}::float8)
      AND (${free.poolGpuRoom}::int IS NULL OR ranked.gpus_total <= ${free.poolGpuRoom}::int)))`;
}

/**
 * The runs (over `due`) a quota-limited tag's GPU room leaves out once the GPUs of the runs ranked
 * before them are counted, as a CTE continuing the claim's WITH list.
 */
export function overTagGpuQuota(db: Db, free: FreeResources): postgres.PendingQuery<postgres.Row[]> {
  return db`, over_tag_gpu_quota AS (
        SELECT t.id FROM (
          SELECT due.id, x.value::int AS room,
                 sum(${gpusOf(db, 'due')}) OVER (PARTITION BY x.key ORDER BY due.priority, due.expected_start_time, due.id) AS used
          FROM due JOIN jsonb_each_text(${db.json(free.tagGpuRoom)}::jsonb) x ON x.key = ANY(due.tags)
          WHERE due.resources IS NOT NULL
        ) t
        WHERE t.used > t.room
      )`;
}

/**
 * Hands each claimed run that asked for resources concrete devices, in claim order: the lowest free
 * device ids with the memory it asks for. The claim statement only takes runs whose running totals
 * fit (runningTotals), so every run finds enough.
 */
export function assignResources(
  runs: { id: string; resources: ResourceRequest | null }[],
  free: FreeResources,
): Map<string, AssignedResources> {
  const available = [...free.gpus];
  const assigned = new Map<string, AssignedResources>();
  for (const run of runs) {
    if (!run.resources) continue;
    const want = run.resources.gpus ?? 0;
    const needMb = (run.resources.gpuMemoryGb ?? 0) * 1024;
    const gpus: string[] = [];
    for (let i = 0; i < available.length && gpus.length < want; ) {
      const gpu = available[i] as FreeGpu;
      if (gpu.memoryMb >= needMb) {
        gpus.push(gpu.id);
        available.splice(i, 1);
      } else i++;
    }
    if (gpus.length < want) throw new Error(`claim took run ${run.id} without ${want} free GPUs for it`);
    assigned.set(run.id, { gpus, memoryGb: run.resources.memoryGb ?? null, cpus: run.resources.cpus ?? null });
  }
  return assigned;
}

/** Records the assignments on the attempts the claim just wrote, in the claim's transaction. */
export async function recordAssignments(
  tx: Db,
  workspaceId: string,
  runs: { id: string; attempt: number }[],
  assigned: Map<string, AssignedResources>,
): Promise<void> {
  const rows = runs.filter((r) => assigned.has(r.id));
  if (rows.length === 0) return;
  await tx`
    UPDATE flow_run_attempts a SET assigned_resources = x.assigned
    FROM (SELECT unnest(${tx.array(rows.map((r) => r.id))}::uuid[]) AS id,
                 unnest(${tx.array(rows.map((r) => r.attempt))}::int[]) AS attempt,
                 unnest(${tx.array(rows.map((r) => JSON.stringify(assigned.get(r.id))))}::jsonb[]) AS assigned) x
    WHERE a.workspace_id = ${workspaceId} AND a.flow_run_id = x.id AND a.attempt = x.attempt`;
}
