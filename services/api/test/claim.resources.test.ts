import { randomUUID } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { explainUnfitRuns } from '../src/runs/db/unfit-runs.js';
import { client, deploy, useServer } from './helpers.js';
import { METRICS_TOKEN, scrape } from './metrics.support.js';

const api = useServer({ loops: false, metricsToken: METRICS_TOKEN });

interface Claimed {
  flowRun: { id: string; attempt: number; name: string };
  token: string;
  resources: Record<string, number> | null;
  assigned: { gpus: string[]; memoryGb: number | null; cpus: number | null } | null;
}

interface Gpu {
  id: string;
  model?: string | null;
  memoryMb?: number | null;
}

async function freshPool(update: Record<string, unknown> = {}): Promise<string> {
  const pool = `gpu-${randomUUID().slice(0, 8)}`;
  expect((await api.owner('POST', '/work-pools', { body: { name: pool } })).status).toBe(201);
  if (Object.keys(update).length > 0)
    expect((await api.owner('PATCH', `/work-pools/${pool}`, { body: update })).status).toBe(200);
  return pool;
}

/** Registers a worker with these resources through the heartbeat, as the worker agent does. */
async function worker(pool: string, gpus: Gpu[], more: { memoryGb?: number | null; cpus?: number | null } = {}): Promise<string> {
  const workerId = randomUUID();
  const res = await api.owner('POST', `/work-pools/${pool}/workers/heartbeat`, {
    body: {
      workerId,
      name: `w-${workerId.slice(0, 6)}`,
      capacity: 10,
      runs: [],
      resources: {
        gpus: gpus.map((g) => ({ id: g.id, model: g.model ?? 'A100', memoryMb: g.memoryMb === undefined ? 81_920 : g.memoryMb })),
        memoryGb: more.memoryGb === undefined ? 512 : more.memoryGb,
        cpus: more.cpus === undefined ? 64 : more.cpus,
      },
    },
  });
  expect(res.status, res.text).toBe(200);
  return workerId;
}

const gpus = (...ids: string[]): Gpu[] => ids.map((id) => ({ id }));

async function runOf(deploymentId: string, body: Record<string, unknown> = {}): Promise<string> {
  const res = await api.owner('POST', `/deployments/${deploymentId}/runs`, { body });
  expect(res.status, res.text).toBe(201);
  return res.body.flowRun.id;
}

async function claimFor(pool: string, workerId: string, limit = 10): Promise<Claimed[]> {
  const res = await api.owner('POST', `/work-pools/${pool}/claim`, { body: { workerId, limit } });
  expect(res.status, res.text).toBe(200);
  return res.body.runs;
}

async function finish(run: Claimed): Promise<void> {
  const asRun = client(api.server, run.token);
  for (const type of ['RUNNING', 'COMPLETED']) {
    const res = await asRun('POST', `/flow-runs/${run.flowRun.id}/set-state`, {
      body: { transitionId: randomUUID(), state: { type } },
    });
    expect(res.body.status).toBe('ACCEPT');
  }
}

const byId = (runs: Claimed[]) => new Map(runs.map((r) => [r.flowRun.id, r]));

describe('claiming runs that ask for resources', () => {
  test('a worker takes only the runs that fit its free GPUs and hands each the lowest free device ids', async () => {
    const pool = await freshPool();
    const w = await worker(pool, gpus('0', '1', '2', '3'));
    const d = await deploy(api.owner, { flowName: pool, name: 'train', workPool: pool, resources: { gpus: 2 } });
    const first = await runOf(d.id);
    const second = await runOf(d.id, { resources: { gpus: 1 } });
    const third = await runOf(d.id);

    const claimed = byId(await claimFor(pool, w));
    expect([...claimed.keys()].sort()).toEqual([first, second].sort());
    expect(claimed.get(first)?.assigned).toEqual({ gpus: ['0', '1'], memoryGb: null, cpus: null });
    expect(claimed.get(first)?.resources).toEqual({ gpus: 2 });
    expect(claimed.get(second)?.assigned?.gpus).toEqual(['2']);
    // The run's own request is merged over the deployment's.
    expect(claimed.get(second)?.resources).toEqual({ gpus: 1 });

    // Only one device is free: the third run waits until the first hands its two back.
    expect(await claimFor(pool, w)).toEqual([]);
    await finish(claimed.get(first) as Claimed);
    const [again] = await claimFor(pool, w);
    expect(again?.flowRun.id).toBe(third);
    expect(again?.assigned?.gpus).toEqual(['0', '1']);

    const attempts = await api.owner('GET', `/flow-runs/${third}/attempts`);
    expect(attempts.body.items[0].assigned).toEqual({ gpus: ['0', '1'], memoryGb: null, cpus: null });
    const run = await api.owner('GET', `/flow-runs/${third}`);
    expect(run.body.resources).toEqual({ gpus: 2 });
  });

  test('concurrent claims of one worker never hand one device to two runs, and concurrent workers never pass the pool quota', async () => {
    const pool = await freshPool({ gpuQuota: 6 });
    const w = await worker(pool, gpus('0', '1', '2', '3'));
    const others = [await worker(pool, gpus('0', '1', '2', '3')), await worker(pool, gpus('0', '1', '2', '3'))];
    const d = await deploy(api.owner, { flowName: pool, name: 'train', workPool: pool, resources: { gpus: 1 } });
    for (let i = 0; i < 16; i++) await runOf(d.id);

    const sameWorker = (await Promise.all(Array.from({ length: 8 }, () => claimFor(pool, w, 1)))).flat();
    expect(sameWorker).toHaveLength(4);
    expect(sameWorker.flatMap((r) => r.assigned?.gpus ?? []).sort()).toEqual(['0', '1', '2', '3']);

    const moreWorkers = (await Promise.all([...others, ...others].map((id) => claimFor(pool, id, 2)))).flat();
    expect(moreWorkers).toHaveLength(2);
    const [row] = await api.server.sql<{ gpus: number }[]>`
      SELECT sum(jsonb_array_length(a.assigned_resources->'gpus'))::int AS gpus
      FROM flow_runs r JOIN flow_run_attempts a ON a.flow_run_id = r.id AND a.attempt = r.attempt
      WHERE r.work_pool_id = (SELECT id FROM work_pools WHERE name = ${pool}) AND r.state_type = 'PENDING'`;
    expect(row?.gpus).toBe(6);
  });

  test('devices are matched by memory, and host memory and CPU slots are counted from the runs a worker holds', async () => {
    const pool = await freshPool();
    const w = await worker(
      pool,
      [
        { id: '0', memoryMb: 24_576 },
        { id: '1', memoryMb: 81_920 },
      ],
      { memoryGb: 32, cpus: 8 },
    );
    const big = await deploy(api.owner, { flowName: pool, name: 'big', workPool: pool, resources: { gpus: 1, gpuMemoryGb: 40 } });
    const host = await deploy(api.owner, { flowName: pool, name: 'host', workPool: pool, resources: { memoryGb: 12, cpus: 3 } });
    const needsBig = await runOf(big.id);
    const hostRuns = [await runOf(host.id), await runOf(host.id), await runOf(host.id)];

    const claimed = byId(await claimFor(pool, w));
    expect(claimed.get(needsBig)?.assigned?.gpus).toEqual(['1']);
    // 32 GB holds two runs of 12 GB, not three.
    const hostClaimed = hostRuns.filter((id) => claimed.has(id));
    expect(hostClaimed).toHaveLength(2);
    expect(claimed.get(hostClaimed[0] as string)?.assigned).toEqual({ gpus: [], memoryGb: 12, cpus: 3 });
    expect(await claimFor(pool, w)).toEqual([]);

    // A second 40 GB run does not fit on the 24 GB device left free.
    await runOf(big.id);
    expect(await claimFor(pool, w)).toEqual([]);
  });

  test('a pool GPU quota caps the GPUs assigned across all of its workers', async () => {
    const pool = await freshPool({ gpuQuota: 3 });
    const a = await worker(pool, gpus('0', '1', '2', '3'));
    const b = await worker(pool, gpus('0', '1', '2', '3'));
    const d = await deploy(api.owner, { flowName: pool, name: 'train', workPool: pool, resources: { gpus: 1 } });
    for (let i = 0; i < 5; i++) await runOf(d.id);

    const fromA = await claimFor(pool, a, 2);
    expect(fromA).toHaveLength(2);
    const fromB = await claimFor(pool, b);
    expect(fromB).toHaveLength(1);
    expect(await claimFor(pool, a)).toEqual([]);
    await finish(fromA[0] as Claimed);
    expect(await claimFor(pool, b)).toHaveLength(1);
  });

  test('a per-tag GPU quota caps the GPUs of the runs carrying the tag, leaving other runs alone', async () => {
    const pool = await freshPool({ gpuQuotaByTag: { 'team:vision': 2 } });
    expect((await api.owner('GET', `/work-pools/${pool}`)).body).toMatchObject({
      gpuQuota: null,
      gpuQuotaByTag: { 'team:vision': 2 },
    });
    const w = await worker(pool, gpus('0', '1', '2', '3', '4', '5', '6', '7'));
    const vision = await deploy(api.owner, {
      flowName: pool,
      name: 'vision',
      workPool: pool,
      tags: ['team:vision'],
      resources: { gpus: 1 },
    });
    const other = await deploy(api.owner, { flowName: pool, name: 'other', workPool: pool, resources: { gpus: 2 } });
    const visionRuns = [await runOf(vision.id), await runOf(vision.id), await runOf(vision.id)];
    const otherRun = await runOf(other.id);

    const claimed = byId(await claimFor(pool, w));
    expect(visionRuns.filter((id) => claimed.has(id))).toHaveLength(2);
    expect(claimed.has(otherRun)).toBe(true);
    expect(await claimFor(pool, w)).toEqual([]);
  });

  test('runs without a request are claimed as before, assigned nothing, and a worker that advertises nothing takes only them', async () => {
    const pool = await freshPool();
    const plain = await deploy(api.owner, { flowName: pool, name: 'plain', workPool: pool });
    const gpuDeployment = await deploy(api.owner, { flowName: pool, name: 'gpu', workPool: pool, resources: { gpus: 1 } });
    const plainRun = await runOf(plain.id);
    const gpuRun = await runOf(gpuDeployment.id);

    // A worker that predates resources (it claims without a heartbeat that sends any).
    const old = await claimFor(pool, randomUUID());
    expect(old.map((r) => r.flowRun.id)).toEqual([plainRun]);
    expect(old[0]).toMatchObject({ resources: null, assigned: null });
    const attempts = await api.owner('GET', `/flow-runs/${plainRun}/attempts`);
    expect(attempts.body.items[0].assigned).toBeNull();

    const w = await worker(pool, gpus('0'));
    const [claimed] = await claimFor(pool, w);
    expect(claimed?.flowRun.id).toBe(gpuRun);
  });

  test('pool quotas are set and removed through the pool update route, and bad ones are refused with their field path', async () => {
    const pool = await freshPool();
    const set = await api.owner('PATCH', `/work-pools/${pool}`, { body: { gpuQuota: 4, gpuQuotaByTag: { 'team:vision': 2 } } });
    expect(set.body).toMatchObject({ gpuQuota: 4, gpuQuotaByTag: { 'team:vision': 2 } });
    const removed = await api.owner('PATCH', `/work-pools/${pool}`, { body: { gpuQuota: null } });
    expect(removed.body).toMatchObject({ gpuQuota: null, gpuQuotaByTag: { 'team:vision': 2 } });
    const bad = await api.owner('PATCH', `/work-pools/${pool}`, { body: { gpuQuotaByTag: { 'team:vision': -1 } } });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('gpuQuotaByTag');
  });
});

describe('runs that fit nowhere', () => {
  test('say why in their state message without a state change, and lose it once a worker that fits comes', async () => {
    const pool = await freshPool({ gpuQuota: 4 });
    await worker(pool, [{ id: '0', memoryMb: 24_576 }]);
    const two = await deploy(api.owner, { flowName: pool, name: 'two', workPool: pool, resources: { gpus: 2 } });
    const memory = await deploy(api.owner, {
      flowName: pool,
      name: 'mem',
      workPool: pool,
      resources: { gpus: 1, gpuMemoryGb: 40 },
    });
    const many = await deploy(api.owner, { flowName: pool, name: 'many', workPool: pool, resources: { gpus: 5 } });
    const needsTwo = await runOf(two.id);
    const needsMemory = await runOf(memory.id);
    const needsMany = await runOf(many.id);

    await explainUnfitRuns(api.server.sql);
    const state = async (id: string) => (await api.owner('GET', `/flow-runs/${id}`)).body.state;
    expect(await state(needsTwo)).toMatchObject({
      type: 'SCHEDULED',
      name: 'Scheduled',
      message: 'waiting for resources: needs 2 GPUs, largest worker has 1',
    });
    expect((await state(needsMemory)).message).toBe('waiting for resources: needs 40 GB GPU memory, largest GPU has 24 GB');
    const history = await api.owner('GET', `/flow-runs/${needsTwo}/states`);
    expect(history.body.items).toHaveLength(1);

    await worker(pool, gpus('0', '1', '2', '3', '4', '5', '6', '7'));
    await explainUnfitRuns(api.server.sql);
    expect((await state(needsTwo)).message).toBeNull();
    expect((await state(needsMemory)).message).toBeNull();
    expect((await state(needsMany)).message).toBe('waiting for resources: needs 5 GPUs, pool GPU quota is 4');
  });

  test('a run the pool GPU quota holds back says the quota is in use', async () => {
    const pool = await freshPool({ gpuQuota: 2 });
    const w = await worker(pool, gpus('0', '1', '2', '3'));
    const d = await deploy(api.owner, { flowName: pool, name: 'train', workPool: pool, resources: { gpus: 2 } });
    await runOf(d.id);
    const waiting = await runOf(d.id);
    expect(await claimFor(pool, w)).toHaveLength(1);
    await explainUnfitRuns(api.server.sql);
    expect((await api.owner('GET', `/flow-runs/${waiting}`)).body.state.message).toBe(
      'waiting for resources: pool GPU quota 2 in use',
    );
  });
});

describe('pool metrics', () => {
  test('the metrics route and /metrics report queue depth, GPUs requested, free and total, and runs running', async () => {
    const pool = await freshPool();
    const w = await worker(pool, gpus('0', '1', '2', '3'));
    const d = await deploy(api.owner, { flowName: pool, name: 'train', workPool: pool, resources: { gpus: 3 } });
    await runOf(d.id);
    await runOf(d.id);
    const plain = await deploy(api.owner, { flowName: pool, name: 'plain', workPool: pool });
    await runOf(plain.id);
    expect(await claimFor(pool, w, 1)).toHaveLength(1);

    const res = await api.owner('GET', `/work-pools/${pool}/metrics`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ queueDepth: 2, gpusRequested: 3, gpusFree: 1, gpusTotal: 4, runsRunning: 1 });
    expect(res.body.oldestWaitingSeconds).toBeGreaterThanOrEqual(0);

    const [row] = await api.server.sql<{ slug: string }[]>`SELECT slug FROM workspaces WHERE id = ${api.server.workspaceId}`;
    const labels = { workspace: row?.slug ?? '', pool };
    const scraped = await scrape(api.server);
    expect(scraped.value('outpost_pool_queue_depth', labels)).toBe(2);
    expect(scraped.value('outpost_pool_gpus_requested', labels)).toBe(3);
    expect(scraped.value('outpost_pool_gpus_free', labels)).toBe(1);
    expect(scraped.value('outpost_pool_gpus_total', labels)).toBe(4);
    expect(scraped.value('outpost_pool_runs_running', labels)).toBe(1);
    expect(scraped.labelSets('outpost_pool_oldest_waiting_seconds')).toContainEqual(labels);

    const workers = await api.owner('GET', `/work-pools/${pool}/workers`);
    const listed = workers.body.items.find((x: { id: string }) => x.id === w);
    expect(listed.resources.gpus).toHaveLength(4);
    expect(listed.gpus.filter((g: { runId: string | null }) => g.runId !== null).map((g: { id: string }) => g.id)).toEqual([
      '0',
      '1',
      '2',
    ]);
  });
});
