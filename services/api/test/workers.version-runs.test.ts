import { randomUUID } from 'node:crypto';
import { expect, test } from 'vitest';
import { claim, client, createRun, deploy, useServer } from './helpers.js';

const api = useServer();

async function listed(pool: string, workerId: string) {
  const res = await api.owner('GET', `/work-pools/${pool}/workers`);
  expect(res.status).toBe(200);
  return res.body.items.find((w: { id: string }) => w.id === workerId);
}

test('a worker is listed with the version its heartbeat reported, kept by claims and replaced by a later heartbeat', async () => {
  const pool = `version-${randomUUID().slice(0, 8)}`;
  await api.owner('POST', '/work-pools', { body: { name: pool } });
  const workerId = randomUUID();
  const beat = (version?: string) =>
    api.owner('POST', `/work-pools/${pool}/workers/heartbeat`, {
      body: { workerId, name: 'w1', capacity: 2, runs: [], ...(version ? { version } : {}) },
    });
  expect((await beat('1.4.2')).status).toBe(200);
  expect(await listed(pool, workerId)).toMatchObject({ name: 'w1', version: '1.4.2', runningRuns: [] });

  await claim(api.owner, pool, 1, workerId);
  expect((await listed(pool, workerId)).version).toBe('1.4.2');
  // A heartbeat without a version (an older worker) keeps what is known; a newer one replaces it.
  await beat();
  expect((await listed(pool, workerId)).version).toBe('1.4.2');
  await beat('1.5.0');
  expect((await listed(pool, workerId)).version).toBe('1.5.0');
});

test('a worker that never reported a version is listed with a null version', async () => {
  const pool = `old-${randomUUID().slice(0, 8)}`;
  await api.owner('POST', '/work-pools', { body: { name: pool } });
  const workerId = randomUUID();
  await api.owner('POST', `/work-pools/${pool}/workers/heartbeat`, { body: { workerId, name: 'old', capacity: 1, runs: [] } });
  expect((await listed(pool, workerId)).version).toBeNull();
});

test('a version longer than 100 characters is refused with its field path', async () => {
  const pool = `long-${randomUUID().slice(0, 8)}`;
  await api.owner('POST', '/work-pools', { body: { name: pool } });
  const res = await api.owner('POST', `/work-pools/${pool}/workers/heartbeat`, {
    body: { workerId: randomUUID(), name: 'w', capacity: 1, runs: [], version: 'x'.repeat(101) },
  });
  expect(res.status).toBe(400);
  expect(JSON.stringify(res.body)).toContain('body.version');
});

test('a worker lists the runs it holds now, and not the ones that ended or another worker holds', async () => {
  const pool = `held-${randomUUID().slice(0, 8)}`;
  await api.owner('POST', '/work-pools', { body: { name: pool } });
  const deployment = await deploy(api.owner, { flowName: pool, name: 'd', workPool: pool });
  for (let i = 0; i < 3; i++) await createRun(api.owner, deployment.id);
  const workerId = randomUUID();
  const other = randomUUID();
  const mine: { flowRun: { id: string }; token: string }[] = await claim(api.owner, pool, 2, workerId);
  const theirs: { flowRun: { id: string } }[] = await claim(api.owner, pool, 1, other);
  expect(mine).toHaveLength(2);
  expect(theirs).toHaveLength(1);
  const ids = (runs: { id: string }[]) => runs.map((r) => r.id).sort();
  const held = (await listed(pool, workerId)).runningRuns;
  expect(ids(held)).toEqual(ids(mine.map((c) => c.flowRun)));
  for (const run of held) expect(run).toMatchObject({ attempt: 1, stateType: 'PENDING', name: expect.any(String) });

  // It starts one and finishes the other: the running one stays, the finished one leaves the list.
  const [done, going] = mine as [(typeof mine)[0], (typeof mine)[0]];
  const propose = async (claimed: (typeof mine)[0], type: string) => {
    const res = await client(api.server, claimed.token)('POST', `/flow-runs/${claimed.flowRun.id}/set-state`, {
      body: { transitionId: randomUUID(), attempt: 1, state: { type } },
    });
    expect(res.body.status).toBe('ACCEPT');
  };
  await propose(done, 'RUNNING');
  await propose(done, 'COMPLETED');
  await propose(going, 'RUNNING');
  expect((await listed(pool, workerId)).runningRuns).toEqual([
    expect.objectContaining({ id: going.flowRun.id, stateType: 'RUNNING' }),
  ]);
  expect(ids((await listed(pool, other)).runningRuns)).toEqual(ids(theirs.map((c) => c.flowRun)));
});
