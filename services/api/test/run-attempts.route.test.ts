import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createLogger } from '../src/logger.js';
import { LeaseExpiryLoop } from '../src/loops/lease-expiry.js';
import { type Call, claim, client, createRun, deploy, leaseExpired, SOURCE, unique, useServer } from './helpers.js';

let worker: Call;
let leases: LeaseExpiryLoop;

const api = useServer({ loops: false, leaseSeconds: 2 });

beforeAll(async () => {
  // Two-second leases and no background loops: the lease test drives the loop itself.
  worker = client(api.server, await api.server.createKey('worker'));
  leases = new LeaseExpiryLoop(api.server.sql, api.server.databaseUrl, createLogger('silent'), { graceSeconds: 0 });
});
afterAll(async () => {
  await leases?.stop();
});

/** A run of a deployment in a pool of its own, with `retries`. */
async function runInPool(retries = 0) {
  const pool = unique('pool');
  await api.owner('POST', '/work-pools', { body: { name: pool } });
  const d = await deploy(api.owner, { flowName: unique('att'), workPool: pool, retries });
  const run = await createRun(api.owner, d.id);
  return { pool, runId: run.id as string };
}

/** A worker that has said who it is, so its claims carry its name. */
async function namedWorker(pool: string, name: string): Promise<string> {
  const workerId = randomUUID();
  const res = await worker('POST', `/work-pools/${pool}/workers/heartbeat`, { body: { workerId, name, capacity: 4, runs: [] } });
  expect(res.status).toBe(200);
  return workerId;
}

async function propose(runId: string, attempt: number, type: string, extra: Record<string, unknown> = {}) {
  return worker('POST', `/flow-runs/${runId}/set-state`, {
    body: { transitionId: randomUUID(), attempt, state: { type }, ...extra },
  });
}

async function attempts(runId: string) {
  const res = await api.owner('GET', `/flow-runs/${runId}/attempts`);
  expect(res.status).toBe(200);
  return res.body.items as {
    attempt: number;
    workerId: string;
    workerName: string | null;
    claimedAt: string;
    startedAt: string | null;
    endedAt: string | null;
    state: { type: string; name: string; message: string | null } | null;
    exitCode: number | null;
    sourceDigest: string | null;
  }[];
}

describe('attempt records', () => {
  test('keeps who ran each attempt, when, the code it was handed and how it ended, after the run has ended', async () => {
    const { pool, runId } = await runInPool(1);
    const first = await namedWorker(pool, 'gpu-box-1');
    await claim(worker, pool, 1, first);
    expect((await propose(runId, 1, 'RUNNING')).status).toBe(200);
    expect((await propose(runId, 1, 'FAILED')).body.state.type).toBe('SCHEDULED');
    const second = await namedWorker(pool, 'gpu-box-2');
    await claim(worker, pool, 1, second);
    await propose(runId, 2, 'RUNNING');
    await propose(runId, 2, 'COMPLETED');

    const rows = await attempts(runId);
    const digest = SOURCE.slice(SOURCE.indexOf('@') + 1);
    expect(rows.map((a) => [a.attempt, a.workerId, a.workerName, a.state?.type, a.sourceDigest])).toEqual([
      [1, first, 'gpu-box-1', 'FAILED', digest],
      [2, second, 'gpu-box-2', 'COMPLETED', digest],
    ]);
    for (const a of rows) {
      expect(a.startedAt).not.toBeNull();
      expect(Date.parse(a.startedAt as string)).toBeGreaterThanOrEqual(Date.parse(a.claimedAt));
      expect(Date.parse(a.endedAt as string)).toBeGreaterThanOrEqual(Date.parse(a.startedAt as string));
    }
    // The run itself no longer names a worker; its attempts still do.
    expect((await api.owner('GET', `/flow-runs/${runId}`)).body.workerId).toBeNull();
  });

  test('records the exit code the holder of the attempt reports, and refuses one from anyone else with the field named', async () => {
    const { pool, runId } = await runInPool();
    await claim(worker, pool);
    await propose(runId, 1, 'RUNNING');
    const fromUser = await api.owner('POST', `/flow-runs/${runId}/set-state`, {
      body: { transitionId: randomUUID(), attempt: 1, state: { type: 'CRASHED' }, exitCode: 3 },
    });
    expect(fromUser.status).toBe(400);
    expect(fromUser.body.errors.map((e: { path: string }) => e.path)).toEqual(['body.exitCode']);
    expect((await attempts(runId))[0]?.exitCode).toBeNull();

    const crashed = await propose(runId, 1, 'CRASHED', { exitCode: 3 });
    expect(crashed.status).toBe(200);
    expect((await attempts(runId))[0]).toMatchObject({ exitCode: 3, state: { type: 'CRASHED' } });
  });

  test('records an exit code sent with a batch of proposals by the worker key holding the run', async () => {
    const { pool, runId } = await runInPool();
    await claim(worker, pool);
    await propose(runId, 1, 'RUNNING');
    const res = await worker('POST', `/work-pools/${pool}/runs/set-states`, {
      body: { items: [{ flowRunId: runId, transitionId: randomUUID(), attempt: 1, state: { type: 'CRASHED' }, exitCode: 137 }] },
    });
    expect(res.status).toBe(200);
    expect(res.body.items[0].answer.status).toBe('ACCEPT');
    expect((await attempts(runId))[0]).toMatchObject({ exitCode: 137, state: { type: 'CRASHED' } });
  });

  test('the lease loop ends the attempt of a worker that fell silent, with no exit code', async () => {
    const { pool, runId } = await runInPool();
    await claim(worker, pool);
    await propose(runId, 1, 'RUNNING');
    await leaseExpired(api.server, runId);
    expect(await leases.tick()).toBeGreaterThanOrEqual(1);
    const [row] = await attempts(runId);
    expect(row).toMatchObject({ attempt: 1, state: { type: 'CRASHED' }, exitCode: null });
    expect(row?.endedAt).not.toBeNull();
  });

  test('a run handed back unstarted and claimed again keeps one attempt row, the second claimer’s, still open', async () => {
    const { pool, runId } = await runInPool();
    const first = await namedWorker(pool, 'leaving');
    await claim(worker, pool, 1, first);
    const handedBack = await propose(runId, 1, 'SCHEDULED');
    expect(handedBack.body.state.type).toBe('SCHEDULED');
    const second = await namedWorker(pool, 'staying');
    await claim(worker, pool, 1, second);
    const rows = await attempts(runId);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ attempt: 1, workerId: second, workerName: 'staying', endedAt: null, state: null });
  });

  test('answers 404 for a run it does not know, and no attempts for a run nobody claimed', async () => {
    expect((await api.owner('GET', `/flow-runs/${randomUUID()}/attempts`)).status).toBe(404);
    const { runId } = await runInPool();
    expect(await attempts(runId)).toEqual([]);
  });
});
