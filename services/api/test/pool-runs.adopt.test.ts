import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, test } from 'vitest';
import { type Call, claim, client, createRun, deploy, useServer } from './helpers.js';

let worker: Call;
let otherKey: Call;
let deploymentId: string;

const api = useServer();

beforeAll(async () => {
  worker = client(api.server, await api.server.createKey('worker', ['default']));
  otherKey = client(api.server, await api.server.createKey('worker', ['default']));
  deploymentId = (await deploy(api.owner, { flowName: 'adopted', name: 'a' })).id;
});

/** Registers a worker process under `name` (its heartbeat), as a worker does before anything else. */
async function register(call: Call, name: string, workerId = randomUUID(), pool = 'default'): Promise<string> {
  const res = await call('POST', `/work-pools/${pool}/workers/heartbeat`, { body: { workerId, name, capacity: 4, runs: [] } });
  expect(res.status).toBe(200);
  return workerId;
}

/** A run claimed (and moved to RUNNING) by a worker process named `name`. */
async function runningUnder(call: Call, name: string): Promise<{ id: string; attempt: number; workerId: string }> {
  const workerId = await register(call, name);
  await createRun(api.owner, deploymentId);
  const [run] = await claim(call, 'default', 1, workerId);
  const { id, attempt } = run.flowRun;
  const res = await call('POST', '/work-pools/default/runs/set-states', {
    body: { items: [{ flowRunId: id, transitionId: randomUUID(), attempt, state: { type: 'RUNNING' } }] },
  });
  expect(res.body.items[0].error).toBeNull();
  return { id, attempt, workerId };
}

const adopt = (call: Call, workerId: string, runs: { id: string; attempt: number }[]) =>
  call('POST', '/work-pools/default/runs/adopt', { body: { workerId, runs } });

describe('adopting the attempts of an earlier worker process', () => {
  test('moves the lease of a run held by a worker of the same name to the new process, with a fresh run token', async () => {
    const name = `kube-${randomUUID().slice(0, 8)}`;
    const run = await runningUnder(worker, name);
    const logs = await worker('POST', '/work-pools/default/runs/logs', {
      body: {
        items: [
          {
            flowRunId: run.id,
            attempt: run.attempt,
            logs: [1, 2, 3].map((seq) => ({ seq, timestamp: new Date().toISOString(), level: 'info', message: `line ${seq}` })),
          },
        ],
      },
    });
    expect(logs.status).toBe(200);
    const restarted = await register(worker, name);
    const res = await adopt(worker, restarted, [{ id: run.id, attempt: run.attempt }]);
    expect(res.status).toBe(200);
    expect(res.body.refused).toEqual([]);
    expect(res.body.adopted).toHaveLength(1);
    const [taken] = res.body.adopted;
    expect(taken.logSeq).toBe(3);
    expect(taken.run.flowRun).toMatchObject({
      id: run.id,
      attempt: run.attempt,
      workerId: restarted,
      state: { type: 'RUNNING' },
    });
    expect(Date.parse(taken.run.leaseExpiresAt)).toBeGreaterThan(Date.now());
    // The new token speaks for the run: the adopted process finishes it.
    const done = await client(api.server, taken.run.token)('POST', `/flow-runs/${run.id}/set-state`, {
      body: { transitionId: randomUUID(), attempt: run.attempt, state: { type: 'COMPLETED' } },
    });
    expect(done.status).toBe(200);
    expect(done.body.status).toBe('ACCEPT');
    const attempts = (await api.owner('GET', `/flow-runs/${run.id}/attempts`)).body.items;
    expect(attempts.map((a: { workerId: string }) => a.workerId)).toEqual([restarted]);
  });

  test('refuses runs held by a worker of another name, finished runs, other attempts and unknown runs', async () => {
    const name = `kube-${randomUUID().slice(0, 8)}`;
    const elsewhere = await runningUnder(worker, `other-${name}`);
    const finished = await runningUnder(worker, name);
    await worker('POST', '/work-pools/default/runs/set-states', {
      body: {
        items: [{ flowRunId: finished.id, transitionId: randomUUID(), attempt: finished.attempt, state: { type: 'COMPLETED' } }],
      },
    });
    const mine = await runningUnder(worker, name);
    const restarted = await register(worker, name);
    const asked = [
      { id: elsewhere.id, attempt: elsewhere.attempt },
      { id: finished.id, attempt: finished.attempt },
      { id: mine.id, attempt: mine.attempt + 1 },
      { id: randomUUID(), attempt: 1 },
    ];
    const res = await adopt(worker, restarted, asked);
    expect(res.status).toBe(200);
    expect(res.body.adopted).toEqual([]);
    expect(res.body.refused).toEqual(asked);
    const still = (await api.owner('GET', `/flow-runs/${elsewhere.id}`)).body;
    expect(still.workerId).toBe(elsewhere.workerId);
  });

  test('refuses a run to a worker calling with another key, even under the same name', async () => {
    const name = `kube-${randomUUID().slice(0, 8)}`;
    const run = await runningUnder(worker, name);
    const impostor = await register(otherKey, name);
    const res = await adopt(otherKey, impostor, [{ id: run.id, attempt: run.attempt }]);
    expect(res.status).toBe(200);
    expect(res.body.refused).toEqual([{ id: run.id, attempt: run.attempt }]);
    expect((await api.owner('GET', `/flow-runs/${run.id}`)).body.workerId).toBe(run.workerId);
  });

  test('answers a malformed request with the field that is wrong', async () => {
    const res = await adopt(worker, randomUUID(), [{ id: 'not-a-uuid', attempt: 0 }]);
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body)).toContain('runs');
  });
});
