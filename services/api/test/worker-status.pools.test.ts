import { randomUUID } from 'node:crypto';
import { expect, test } from 'vitest';
import { claim, client, createRun, deploy, useServer } from './helpers.js';

const api = useServer();

async function poolStatus(pool: string): Promise<string> {
  const res = await api.owner('GET', `/work-pools/${pool}`);
  expect(res.status).toBe(200);
  return res.body.status;
}

async function workerStatus(pool: string, workerId: string): Promise<string> {
  const res = await api.owner('GET', `/work-pools/${pool}/workers`);
  return res.body.items.find((w: { id: string }) => w.id === workerId)?.status;
}

/** Moves the worker's last heartbeat back by `seconds` on the database clock. */
async function lastSeen(workerId: string, seconds: number): Promise<void> {
  await api.server.sql`UPDATE workers SET last_heartbeat_at = now() - make_interval(secs => ${seconds}) WHERE id = ${workerId}`;
}

test('a pool is NOT_READY without workers, READY while one heartbeats, and NOT_READY again 90 s after the last beat', async () => {
  const pool = `status-${randomUUID().slice(0, 8)}`;
  const created = await api.owner('POST', '/work-pools', { body: { name: pool } });
  expect(created.body.status).toBe('NOT_READY');
  expect(await poolStatus(pool)).toBe('NOT_READY');

  const workerId = randomUUID();
  const worker = client(api.server, await api.server.createKey('worker', [pool]));
  const beat = await worker('POST', `/work-pools/${pool}/workers/heartbeat`, {
    body: { workerId, name: 'w1', capacity: 2, runs: [] },
  });
  expect(beat.status).toBe(200);
  expect(await poolStatus(pool)).toBe('READY');
  expect(await workerStatus(pool, workerId)).toBe('ONLINE');
  const listed = (await api.owner('GET', '/work-pools')).body.items.find((p: { name: string }) => p.name === pool);
  expect(listed.status).toBe('READY');

  // Two missed 30 s heartbeats: still online. Three: offline, and the pool has no online worker.
  await lastSeen(workerId, 80);
  expect(await workerStatus(pool, workerId)).toBe('ONLINE');
  expect(await poolStatus(pool)).toBe('READY');
  await lastSeen(workerId, 91);
  expect(await workerStatus(pool, workerId)).toBe('OFFLINE');
  expect(await poolStatus(pool)).toBe('NOT_READY');

  // A claim counts as a sign of life too.
  await worker('POST', `/work-pools/${pool}/claim`, { body: { workerId, limit: 1 } });
  expect(await workerStatus(pool, workerId)).toBe('ONLINE');
  expect(await poolStatus(pool)).toBe('READY');
});

test('a paused pool is PAUSED whatever its workers do, and READY again when resumed', async () => {
  const pool = `paused-${randomUUID().slice(0, 8)}`;
  await api.owner('POST', '/work-pools', { body: { name: pool } });
  await api.owner('POST', `/work-pools/${pool}/workers/heartbeat`, {
    body: { workerId: randomUUID(), name: 'w', capacity: 1, runs: [] },
  });
  const paused = await api.owner('PATCH', `/work-pools/${pool}`, { body: { paused: true } });
  expect(paused.body).toMatchObject({ paused: true, status: 'PAUSED' });
  expect(await poolStatus(pool)).toBe('PAUSED');
  const resumed = await api.owner('PATCH', `/work-pools/${pool}`, { body: { paused: false } });
  expect(resumed.body.status).toBe('READY');
});

test("one pool's workers do not make another pool ready", async () => {
  const [a, b] = [`a-${randomUUID().slice(0, 8)}`, `b-${randomUUID().slice(0, 8)}`];
  await api.owner('POST', '/work-pools', { body: { name: a } });
  await api.owner('POST', '/work-pools', { body: { name: b } });
  await api.owner('POST', `/work-pools/${a}/workers/heartbeat`, {
    body: { workerId: randomUUID(), name: 'w', capacity: 1, runs: [] },
  });
  expect(await poolStatus(a)).toBe('READY');
  expect(await poolStatus(b)).toBe('NOT_READY');
});

test('a run waiting on a pool says no worker polls it, until one does; a paused pool says so; a claimed run says nothing', async () => {
  const pool = `waiting-${randomUUID().slice(0, 8)}`;
  await api.owner('POST', '/work-pools', { body: { name: pool } });
  const deployment = await deploy(api.owner, { name: `d-${pool}`, workPool: pool });
  const run = await createRun(api.owner, deployment.id);
  expect(run.waitingFor).toBe('no_worker');
  const read = async () => (await api.owner('GET', `/flow-runs/${run.id}`)).body;
  expect((await read()).waitingFor).toBe('no_worker');
  const listed = (await api.owner('GET', `/flow-runs?deploymentId=${deployment.id}`)).body.items[0];
  expect(listed.waitingFor).toBe('no_worker');

  const workerId = randomUUID();
  const worker = client(api.server, await api.server.createKey('worker', [pool]));
  await worker('POST', `/work-pools/${pool}/workers/heartbeat`, { body: { workerId, name: 'w', capacity: 1, runs: [] } });
  expect((await read()).waitingFor).toBeNull();

  await api.owner('PATCH', `/work-pools/${pool}`, { body: { paused: true } });
  expect((await read()).waitingFor).toBe('pool_paused');
  await api.owner('PATCH', `/work-pools/${pool}`, { body: { paused: false } });

  // The worker falls silent: three missed heartbeats later, nobody polls the pool again.
  await lastSeen(workerId, 91);
  expect((await read()).waitingFor).toBe('no_worker');

  const [claimed] = await claim(worker, pool, 1, workerId);
  expect(claimed.flowRun.id).toBe(run.id);
  expect((await read()).waitingFor).toBeNull();
});

test('a worker that says it is stopping is OFFLINE at once, and a new process of the same name keeps one row', async () => {
  const pool = `stop-${randomUUID().slice(0, 8)}`;
  await api.owner('POST', '/work-pools', { body: { name: pool } });
  const worker = client(api.server, await api.server.createKey('worker', [pool]));
  const first = randomUUID();
  await worker('POST', `/work-pools/${pool}/workers/heartbeat`, {
    body: { workerId: first, name: 'gpu-box', capacity: 1, runs: [] },
  });
  expect(await workerStatus(pool, first)).toBe('ONLINE');
  await worker('POST', `/work-pools/${pool}/workers/heartbeat`, {
    body: { workerId: first, name: 'gpu-box', capacity: 1, runs: [], stopping: true },
  });
  expect(await workerStatus(pool, first)).toBe('OFFLINE');
  expect(await poolStatus(pool)).toBe('NOT_READY');

  // The same machine starts its worker again: a new process id, the same name, one row.
  const second = randomUUID();
  await worker('POST', `/work-pools/${pool}/workers/heartbeat`, {
    body: { workerId: second, name: 'gpu-box', capacity: 1, runs: [] },
  });
  const rows = (await api.owner('GET', `/work-pools/${pool}/workers`)).body.items;
  expect(rows.map((w: { id: string; name: string; status: string }) => [w.id, w.name, w.status])).toEqual([
    [second, 'gpu-box', 'ONLINE'],
  ]);
  expect(await poolStatus(pool)).toBe('READY');
});
