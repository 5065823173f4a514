import { randomUUID } from 'node:crypto';
import { type ClaimInput, claimDueRuns } from '@outpost/api';
import { startTestServer, type TestServer } from '@outpost/api/testing';
import { OutpostClient } from '@outpost/sdk/client';
import postgres from 'postgres';
import { deployWithDueRuns } from './support/bulk-runs.js';
import { percentile, type Row, row } from './support/row.js';

/**
 * Latency of one claim (`claimDueRuns`, one run per claim, one claimer on a connection of its own)
 * when the runs ask for resources, against the plain claim measured in the same run, alternating
 * claim by claim so both see the same machine:
 * - plain: runs without a request, a worker that advertises nothing — the claim as it was;
 * - plain runs on a worker advertising 8 GPUs in a pool with no requested runs: what resources cost
 *   a claim that needs none (the lock statement's one extra index probe);
 * - resource matching: runs asking for 1 GPU and 8 GB, a worker with 8 GPUs, so the claim takes the
 *   worker's lock, reads its free devices, fits the batch and records the assignment;
 * - the same in a pool with a GPU quota and a per-tag quota, which adds the pool's quota lock and counts.
 * Each claimed run is completed (outside the timing) before the next claim, so the worker's held set
 * stays small as in a steady state. Goal: resource matching within 1.5× the plain claim.
 */
export const timeoutSeconds = 300;

/** Claims per scenario. */
const CLAIMS = 400;
/** Claims each scenario makes first, untimed, so caches and plans are warm. */
const WARMUP = 30;

interface Scenario {
  name: string;
  poolId: string;
  workerId: string;
  times: number[];
}

async function seed(
  server: TestServer,
  owner: OutpostClient,
  opts: { resources: Record<string, number> | null; gpus: number; quota: boolean },
): Promise<{ poolId: string; workerId: string }> {
  const pool = `bench-${randomUUID().slice(0, 8)}`;
  const created = await owner.call('poolsCreate', { body: { name: pool } });
  if (!created.ok) throw new Error(`bench setup failed: ${JSON.stringify(created)}`);
  if (opts.quota) {
    const updated = await owner.call('poolsUpdate', {
      params: { pool },
      body: { gpuQuota: 1000, gpuQuotaByTag: { 'team:bench': 1000 } },
    });
    if (!updated.ok) throw new Error(`bench setup failed: ${JSON.stringify(updated)}`);
  }
  const poolId = await deployWithDueRuns(
    owner,
    server.sql,
    pool,
    { ...(opts.quota ? { tags: ['team:bench'] } : {}), ...(opts.resources ? { resources: opts.resources } : {}) },
    CLAIMS + WARMUP,
  );
  const workerId = randomUUID();
  const resources =
    opts.gpus > 0
      ? {
          gpus: Array.from({ length: opts.gpus }, (_, i) => ({ id: String(i), model: 'A100', memoryMb: 81_920 })),
          memoryGb: 512,
          cpus: 64,
        }
      : null;
  await server.sql`
    INSERT INTO workers (workspace_id, id, work_pool_id, name, labels, capacity, resources)
    VALUES (${server.workspaceId}, ${workerId}, ${poolId}, ${`w-${pool}`}, '{}'::jsonb, 100,
            ${resources ? server.sql.json(resources) : null})`;
  return { poolId, workerId };
}

function input(server: TestServer, s: Scenario): ClaimInput {
  return {
    workspaceId: server.workspaceId,
    poolId: s.poolId,
    workerId: s.workerId,
    limit: 1,
    queueNames: null,
    labels: {},
    leaseSeconds: 300,
  };
}

export async function run(): Promise<Row[]> {
  const server = await startTestServer({ loops: false, logLevel: 'silent' });
  const owner = new OutpostClient({ baseUrl: server.url, token: server.ownerKey });
  const sql = postgres(server.databaseUrl, { max: 1, onnotice: () => {} });
  try {
    const scenarios: Scenario[] = [];
    const add = async (name: string, opts: Parameters<typeof seed>[2]) =>
      scenarios.push({ name, ...(await seed(server, owner, opts)), times: [] });
    await add('plain runs, worker without resources', { resources: null, gpus: 0, quota: false });
    await add('plain runs, 8-GPU worker, pool without requests', { resources: null, gpus: 8, quota: false });
    await add('runs asking 1 GPU + 8 GB, 8-GPU worker', { resources: { gpus: 1, memoryGb: 8 }, gpus: 8, quota: false });
    await add('runs asking 1 GPU + 8 GB, pool and tag GPU quotas', {
      resources: { gpus: 1, memoryGb: 8 },
      gpus: 8,
      quota: true,
    });
    await server.sql`ANALYZE flow_runs`;
    await server.sql`ANALYZE workers`;
    for (let i = 0; i < CLAIMS + WARMUP; i++) {
      for (const s of scenarios) {
        const started = performance.now();
        const claimed = await claimDueRuns(sql, input(server, s));
        const ms = performance.now() - started;
        if (claimed.length !== 1) throw new Error(`${s.name}: claim ${i} took ${claimed.length} runs`);
        if (i >= WARMUP) s.times.push(ms);
        // Finished at once, untimed: the worker holds at most one run.
        await sql`UPDATE flow_runs SET state_type = 'COMPLETED', state_name = 'Completed', end_time = now()
                  WHERE id = ${claimed[0]?.id ?? ''}`;
      }
    }
    const plain = scenarios[0] as Scenario;
    const base = percentile(plain.times, 50);
    const rows: Row[] = [];
    for (const s of scenarios) {
      for (const p of [50, 95] as const) {
        rows.push(
          row(
            `claim latency p${p}, ${s.name}`,
            Number(percentile(s.times, p).toFixed(2)),
            'ms',
            Number((p === 50 ? base : percentile(plain.times, 95)).toFixed(2)),
            'the plain claim (runs without a request, worker without resources), same database, alternating claim by claim',
          ),
        );
      }
    }
    return rows;
  } finally {
    await sql.end({ timeout: 5 });
    await owner.close();
    await server.close();
  }
}
