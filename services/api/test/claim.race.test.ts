import { randomUUID } from 'node:crypto';
import { HELD_STATES } from '@outpost/sdk/contracts';
import postgres from 'postgres';
import { expect, test } from 'vitest';
import { stateList } from '../src/db/values.js';
import { claimDueRuns } from '../src/runs/db/claim.js';
import { client, deploy, useServer } from './helpers.js';

const api = useServer();

/** Inserts `count` due runs of a new deployment in a new pool; returns the pool's name and ids. */
async function dueRuns(count: number, pool: { concurrencyLimit?: number } = {}, queue = 'default') {
  const name = `race-${randomUUID().slice(0, 8)}`;
  await api.owner('POST', '/work-pools', { body: { name, ...pool } });
  if (queue !== 'default') await api.owner('POST', `/work-pools/${name}/queues`, { body: { name: queue } });
  const deployment = await deploy(api.owner, { flowName: name, name: 'd', workPool: name, workQueue: queue });
  const [ids] = await api.server.sql<{ work_pool_id: string; work_queue_id: string; flow_id: string }[]>`
    SELECT work_pool_id, work_queue_id, flow_id FROM deployments WHERE id = ${deployment.id}`;
  if (!ids) throw new Error('deployment row missing');
  await api.server.sql`
    INSERT INTO flow_runs (workspace_id, flow_id, deployment_id, work_pool_id, work_queue_id, name, state_type, state_name, expected_start_time)
    SELECT ${api.server.workspaceId}, ${ids.flow_id}, ${deployment.id}, ${ids.work_pool_id}, ${ids.work_queue_id}, 'race-' || g,
           'SCHEDULED', 'Scheduled', now() - interval '1 second'
    FROM generate_series(1, ${count}) g`;
  return { name, poolId: ids.work_pool_id, deploymentId: deployment.id as string };
}

/** One worker over real HTTP: claims until the pool has nothing left for it. */
async function drain(url: string, key: string, pool: string, limit: number): Promise<string[]> {
  const workerId = randomUUID();
  const got: string[] = [];
  for (;;) {
    const res = await fetch(`${url}/api/v1/work-pools/${pool}/claim`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ workerId, limit }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { runs: { flowRun: { id: string; workerId: string } }[] };
    if (body.runs.length === 0) return got;
    for (const run of body.runs) expect(run.flowRun.workerId).toBe(workerId);
    got.push(...body.runs.map((r) => r.flowRun.id));
  }
}

test('8 concurrent claimers over HTTP claim each of 2,000 due runs exactly once', async () => {
  const { name, deploymentId } = await dueRuns(2000);
  const key = await api.server.createKey('worker');
  const started = performance.now();
  const results = await Promise.all(Array.from({ length: 8 }, () => drain(api.server.url, key, name, 10)));
  const elapsed = performance.now() - started;
  const all = results.flat();
  expect(all).toHaveLength(2000);
  expect(new Set(all).size).toBe(2000);
  // The work was shared, not taken by one claimer.
  expect(results.filter((r) => r.length > 0).length).toBeGreaterThan(1);
  const [counts] = await api.server.sql<{ pending: number; history: number }[]>`
    SELECT count(*) FILTER (WHERE r.state_type = 'PENDING')::int AS pending,
           (SELECT count(*)::int FROM flow_run_states s JOIN flow_runs r2 ON r2.id = s.flow_run_id
            WHERE r2.deployment_id = ${deploymentId} AND s.type = 'PENDING') AS history
    FROM flow_runs r WHERE r.deployment_id = ${deploymentId}`;
  expect(counts).toEqual({ pending: 2000, history: 2000 });
  console.info(`claimed 2000 runs with 8 HTTP claimers in ${Math.round(elapsed)} ms`);
});

test('8 claimers on separate database connections never claim a run twice', async () => {
  const { poolId } = await dueRuns(2000);
  const connections = Array.from({ length: 8 }, () => postgres(api.server.databaseUrl, { max: 1, onnotice: () => {} }));
  try {
    const started = performance.now();
    const results = await Promise.all(
      connections.map(async (sql) => {
        const workerId = randomUUID();
        const got: string[] = [];
        for (;;) {
          const rows = await claimDueRuns(sql, {
            workspaceId: api.server.workspaceId,
            poolId,
            workerId,
            limit: 25,
            queueNames: null,
            labels: {},
            leaseSeconds: 30,
          });
          if (rows.length === 0) return got;
          got.push(...rows.map((r) => r.id));
        }
      }),
    );
    const elapsed = performance.now() - started;
    const all = results.flat();
    expect(all).toHaveLength(2000);
    expect(new Set(all).size).toBe(2000);
    console.info(`claimed 2000 runs with 8 connections (limit 25) in ${Math.round(elapsed)} ms`);
  } finally {
    await Promise.all(connections.map((sql) => sql.end({ timeout: 5 })));
  }
});

test('a pool limit of N is never exceeded by concurrent claimers', async () => {
  const { name } = await dueRuns(300, { concurrencyLimit: 7 });
  const key = await api.server.createKey('worker');
  const worker = client(api.server, key);
  const round = async () => {
    const replies = await Promise.all(
      Array.from({ length: 8 }, () =>
        worker('POST', `/work-pools/${name}/claim`, { body: { workerId: randomUUID(), limit: 10 } }),
      ),
    );
    return replies.flatMap((r) => r.body.runs as { flowRun: { id: string }; token: string }[]);
  };
  const first = await round();
  expect(first).toHaveLength(7);
  expect(await round()).toHaveLength(0);

  // Finishing three frees three slots, and no more than three are handed out again.
  for (const run of first.slice(0, 3)) {
    const asRun = client(api.server, run.token);
    await asRun('POST', `/flow-runs/${run.flowRun.id}/set-state`, {
      body: { transitionId: randomUUID(), state: { type: 'RUNNING' } },
    });
    const done = await asRun('POST', `/flow-runs/${run.flowRun.id}/set-state`, {
      body: { transitionId: randomUUID(), state: { type: 'COMPLETED' } },
    });
    expect(done.body.status).toBe('ACCEPT');
  }
  expect(await round()).toHaveLength(3);
  const [active] = await api.server.sql<{ n: number }[]>`
    SELECT count(*)::int AS n FROM flow_runs r JOIN work_pools p ON p.id = r.work_pool_id
    WHERE p.name = ${name} AND r.state_type IN ${stateList(api.server.sql, HELD_STATES)}`;
  expect(active?.n).toBe(7);
});

test('a queue limit holds under concurrent claimers while other queues of the pool keep flowing', async () => {
  const { name } = await dueRuns(40, {}, 'limited');
  await api.owner('PATCH', `/work-pools/${name}/queues/limited`, { body: { concurrencyLimit: 2 } });
  const other = await deploy(api.owner, { flowName: name, name: 'free', workPool: name });
  for (let i = 0; i < 5; i++) await api.owner('POST', `/deployments/${other.id}/runs`, { body: {} });
  const worker = client(api.server, await api.server.createKey('worker'));
  const replies = await Promise.all(
    Array.from({ length: 8 }, () => worker('POST', `/work-pools/${name}/claim`, { body: { workerId: randomUUID(), limit: 10 } })),
  );
  const claimed = replies.flatMap((r) => r.body.runs as { flowRun: { workQueue: string } }[]);
  expect(claimed.filter((c) => c.flowRun.workQueue === 'limited')).toHaveLength(2);
  expect(claimed.filter((c) => c.flowRun.workQueue === 'default')).toHaveLength(5);
});

test('claims take higher-priority queues first, then the earliest scheduled time', async () => {
  const name = `prio-${randomUUID().slice(0, 8)}`;
  await api.owner('POST', '/work-pools', { body: { name } });
  await api.owner('POST', `/work-pools/${name}/queues`, { body: { name: 'urgent', priority: 1 } });
  await api.owner('PATCH', `/work-pools/${name}/queues/default`, { body: { priority: 10 } });
  const slow = await deploy(api.owner, { flowName: name, name: 'slow', workPool: name });
  const fast = await deploy(api.owner, { flowName: name, name: 'fast', workPool: name, workQueue: 'urgent' });
  const past = (s: number) => new Date(Date.now() - s * 1000).toISOString();
  const old = (await api.owner('POST', `/deployments/${slow.id}/runs`, { body: { scheduledTime: past(60) } })).body.flowRun.id;
  const newer = (await api.owner('POST', `/deployments/${fast.id}/runs`, { body: { scheduledTime: past(5) } })).body.flowRun.id;
  const older = (await api.owner('POST', `/deployments/${fast.id}/runs`, { body: { scheduledTime: past(30) } })).body.flowRun.id;
  const future = (await api.owner('POST', `/deployments/${fast.id}/runs`, { body: { scheduledTime: past(-3600) } })).body.flowRun
    .id;
  const worker = client(api.server, await api.server.createKey('worker'));
  const res = await worker('POST', `/work-pools/${name}/claim`, { body: { workerId: randomUUID(), limit: 10 } });
  const ids = res.body.runs.map((r: { flowRun: { id: string } }) => r.flowRun.id);
  expect(ids).toEqual([older, newer, old]);
  expect(ids).not.toContain(future);
});

test('a limited run of a higher-priority queue is claimed before an unlimited run of a lower one', async () => {
  // The one-statement claim takes only unlimited runs (runs/db/claim.ts); it must not pass over a limited
  // run that comes first, so with anything limited due it leaves the claim to the locked path.
  const name = `prio-limit-${randomUUID().slice(0, 8)}`;
  await api.owner('POST', '/work-pools', { body: { name } });
  await api.owner('POST', `/work-pools/${name}/queues`, { body: { name: 'urgent', priority: 1 } });
  await api.owner('PATCH', `/work-pools/${name}/queues/default`, { body: { priority: 10 } });
  const plain = await deploy(api.owner, { flowName: name, name: 'plain', workPool: name });
  const limited = await deploy(api.owner, {
    flowName: name,
    name: 'limited',
    workPool: name,
    workQueue: 'urgent',
    concurrencyLimit: 1,
  });
  const past = (s: number) => new Date(Date.now() - s * 1000).toISOString();
  const unlimitedRun = (await api.owner('POST', `/deployments/${plain.id}/runs`, { body: { scheduledTime: past(60) } })).body
    .flowRun.id;
  const limitedRun = (await api.owner('POST', `/deployments/${limited.id}/runs`, { body: { scheduledTime: past(5) } })).body
    .flowRun.id;
  const worker = client(api.server, await api.server.createKey('worker'));
  const claimOne = async () =>
    (await worker('POST', `/work-pools/${name}/claim`, { body: { workerId: randomUUID(), limit: 1 } })).body.runs.map(
      (r: { flowRun: { id: string } }) => r.flowRun.id,
    );
  expect(await claimOne()).toEqual([limitedRun]);
  expect(await claimOne()).toEqual([unlimitedRun]);
});

test('paused pools, queues and deployments, and missing labels, hold runs back', async () => {
  const name = `hold-${randomUUID().slice(0, 8)}`;
  await api.owner('POST', '/work-pools', { body: { name } });
  const gpu = await deploy(api.owner, { flowName: name, name: 'gpu', workPool: name, labels: { gpu: 'true' } });
  const run = (await api.owner('POST', `/deployments/${gpu.id}/runs`, { body: {} })).body.flowRun.id;
  const worker = client(api.server, await api.server.createKey('worker'));
  const claimWith = (labels?: Record<string, string>) =>
    worker('POST', `/work-pools/${name}/claim`, { body: { workerId: randomUUID(), limit: 5, ...(labels ? { labels } : {}) } });
  expect((await claimWith()).body.runs).toEqual([]);
  expect((await claimWith({ gpu: 'false' })).body.runs).toEqual([]);
  await api.owner('PATCH', `/work-pools/${name}`, { body: { paused: true } });
  expect((await claimWith({ gpu: 'true', zone: 'a' })).body.runs).toEqual([]);
  await api.owner('PATCH', `/work-pools/${name}`, { body: { paused: false } });
  await api.owner('PATCH', `/work-pools/${name}/queues/default`, { body: { paused: true } });
  expect((await claimWith({ gpu: 'true' })).body.runs).toEqual([]);
  await api.owner('PATCH', `/work-pools/${name}/queues/default`, { body: { paused: false } });
  await api.server.sql`UPDATE deployments SET paused = true WHERE id = ${gpu.id}`;
  expect((await claimWith({ gpu: 'true' })).body.runs).toEqual([]);
  await api.server.sql`UPDATE deployments SET paused = false WHERE id = ${gpu.id}`;
  const claimed = await claimWith({ gpu: 'true', zone: 'a' });
  expect(claimed.body.runs.map((r: { flowRun: { id: string } }) => r.flowRun.id)).toEqual([run]);
});
