import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, test } from 'vitest';
import { type Call, claim, client, createRun, deploy, useServer } from './helpers.js';

let worker: Call;
let deploymentId: string;

const api = useServer();

beforeAll(async () => {
  worker = client(api.server, await api.server.createKey('worker', ['default']));
  deploymentId = (await deploy(api.owner, { flowName: 'batch', name: 'b' })).id;
});

/** `n` fresh runs claimed by one worker of `call`; returns [id, attempt] pairs. */
async function claimed(
  call: Call,
  n: number,
  deployment = deploymentId,
  pool = 'default',
): Promise<{ id: string; attempt: number }[]> {
  for (let i = 0; i < n; i++) await createRun(api.owner, deployment);
  const runs = await claim(call, pool, n);
  expect(runs).toHaveLength(n);
  return runs.map((r: { flowRun: { id: string; attempt: number } }) => ({ id: r.flowRun.id, attempt: r.flowRun.attempt }));
}

const setStates = (call: Call, items: unknown[], pool = 'default') =>
  call('POST', `/work-pools/${pool}/runs/set-states`, { body: { items } });
const writeLogs = (call: Call, items: unknown[], pool = 'default') =>
  call('POST', `/work-pools/${pool}/runs/logs`, { body: { items } });
const line = (seq: number, message = `line ${seq}`) => ({ seq, timestamp: new Date().toISOString(), level: 'info', message });

async function history(id: string): Promise<string[]> {
  const res = await api.owner('GET', `/flow-runs/${id}/states`);
  return res.body.items.map((s: { state: { type: string } }) => s.state.type);
}

describe('batched state proposals', () => {
  test('moves every run of the batch through RUNNING to COMPLETED with one call per step', async () => {
    const runs = await claimed(worker, 5);
    for (const type of ['RUNNING', 'COMPLETED']) {
      const res = await setStates(
        worker,
        runs.map((r) => ({ flowRunId: r.id, transitionId: randomUUID(), attempt: r.attempt, state: { type } })),
      );
      expect(res.status).toBe(200);
      expect(res.body.items.map((i: { flowRunId: string }) => i.flowRunId)).toEqual(runs.map((r) => r.id));
      for (const item of res.body.items) {
        expect(item.error).toBeNull();
        expect(item.answer).toMatchObject({ status: 'ACCEPT', state: { type } });
      }
    }
    for (const run of runs) {
      expect(await history(run.id)).toEqual(['SCHEDULED', 'PENDING', 'RUNNING', 'COMPLETED']);
      const got = (await api.owner('GET', `/flow-runs/${run.id}`)).body;
      expect(got).toMatchObject({ state: { type: 'COMPLETED' }, workerId: null, leaseExpiresAt: null });
      expect(got.startTime).not.toBeNull();
      expect(got.endTime).not.toBeNull();
    }
  });

  test('judges each item by the same rules as a single proposal: a failure with retries left is rescheduled', async () => {
    // Its own pool, so the rescheduled run is never claimed by the other tests.
    await api.owner('POST', '/work-pools', { body: { name: 'retries' } });
    const retrying = await deploy(api.owner, { flowName: 'retrying', name: 'r', workPool: 'retries', retries: 1 });
    const anyPool = client(api.server, await api.server.createKey('worker', []));
    const [run] = await claimed(anyPool, 1, retrying.id, 'retries');
    const id = run!.id;
    await setStates(anyPool, [{ flowRunId: id, transitionId: randomUUID(), attempt: 1, state: { type: 'RUNNING' } }], 'retries');
    const res = await setStates(
      anyPool,
      [{ flowRunId: id, transitionId: randomUUID(), attempt: 1, state: { type: 'FAILED', message: 'boom' } }],
      'retries',
    );
    expect(res.body.items[0].answer).toMatchObject({
      status: 'ACCEPT',
      attempt: 2,
      state: { type: 'SCHEDULED', name: 'AwaitingRetry' },
    });
    expect(await history(id)).toEqual(['SCHEDULED', 'PENDING', 'RUNNING', 'FAILED', 'SCHEDULED']);
  });

  test('answers a rejected, a stale and a foreign item on their own while the rest of the batch applies', async () => {
    const [a, b, c] = await claimed(worker, 3);
    const otherWorker = client(api.server, await api.server.createKey('worker', ['default']));
    const [foreign] = await claimed(otherWorker, 1);
    const missing = randomUUID();
    const res = await setStates(worker, [
      { flowRunId: a!.id, transitionId: randomUUID(), attempt: 1, state: { type: 'RUNNING' } },
      // PENDING → COMPLETED skips RUNNING: rejected, the run keeps its state.
      { flowRunId: b!.id, transitionId: randomUUID(), attempt: 1, state: { type: 'COMPLETED' } },
      { flowRunId: c!.id, transitionId: randomUUID(), attempt: 7, state: { type: 'RUNNING' } },
      { flowRunId: foreign!.id, transitionId: randomUUID(), attempt: 1, state: { type: 'RUNNING' } },
      { flowRunId: missing, transitionId: randomUUID(), attempt: 1, state: { type: 'RUNNING' } },
    ]);
    expect(res.status).toBe(200);
    const [ok, rejected, stale, notHeld, notFound] = res.body.items;
    expect(ok).toMatchObject({ answer: { status: 'ACCEPT' }, error: null });
    expect(rejected).toMatchObject({ answer: { status: 'REJECT', state: { type: 'PENDING' } }, error: null });
    expect(stale).toMatchObject({ answer: null, error: { status: 409, code: 'stale_attempt' } });
    // Another key's run is indistinguishable from a missing one.
    expect(notHeld.error).toEqual(notFound.error);
    expect(notHeld).toMatchObject({ answer: null, error: { status: 404, code: 'not_found' } });
    expect((await api.owner('GET', `/flow-runs/${a!.id}`)).body.state.type).toBe('RUNNING');
    for (const id of [b!.id, c!.id, foreign!.id])
      expect((await api.owner('GET', `/flow-runs/${id}`)).body.state.type).toBe('PENDING');
  });

  test('replays the first answer to a repeated transition id, even after the run has left the worker', async () => {
    const [run] = await claimed(worker, 1);
    const start = { flowRunId: run!.id, transitionId: randomUUID(), attempt: 1, state: { type: 'RUNNING' } };
    await setStates(worker, [start]);
    const finish = { flowRunId: run!.id, transitionId: randomUUID(), attempt: 1, state: { type: 'COMPLETED' } };
    const first = await setStates(worker, [finish]);
    const again = await setStates(worker, [finish]);
    expect(again.body.items[0]).toEqual(first.body.items[0]);
    expect(await history(run!.id)).toEqual(['SCHEDULED', 'PENDING', 'RUNNING', 'COMPLETED']);
  });

  test('refuses a batch naming a run twice, with the field path of the repeat', async () => {
    const [run] = await claimed(worker, 1);
    const item = { flowRunId: run!.id, transitionId: randomUUID(), attempt: 1, state: { type: 'RUNNING' } };
    const res = await setStates(worker, [item, { ...item, transitionId: randomUUID() }]);
    expect(res.status).toBe(400);
    expect(res.body.errors).toContainEqual(expect.objectContaining({ path: 'body.items.1.flowRunId' }));
    expect((await api.owner('GET', `/flow-runs/${run!.id}`)).body.state.type).toBe('PENDING');
  });

  test('a worker key limited to another pool is refused, and a viewer cannot call it at all', async () => {
    await api.owner('POST', '/work-pools', { body: { name: 'elsewhere' } });
    const limited = client(api.server, await api.server.createKey('worker', ['elsewhere']));
    const [run] = await claimed(worker, 1);
    const item = { flowRunId: run!.id, transitionId: randomUUID(), attempt: 1, state: { type: 'RUNNING' } };
    expect((await setStates(limited, [item])).status).toBe(403);
    // The run is not in the pool the path names: not found there.
    const elsewhere = client(api.server, await api.server.createKey('worker', []));
    expect((await setStates(elsewhere, [item], 'elsewhere')).body.items[0].error).toMatchObject({ status: 404 });
    const viewer = client(api.server, await api.server.createKey('viewer'));
    expect((await setStates(viewer, [item])).status).toBe(403);
    expect((await api.owner('GET', `/flow-runs/${run!.id}`)).body.state.type).toBe('PENDING');
  });
});

describe('batched log writes', () => {
  test('stores the lines of several runs in one call and counts redelivered lines as duplicates', async () => {
    const [a, b] = await claimed(worker, 2);
    const items = [
      { flowRunId: a!.id, attempt: 1, logs: [line(1), line(2), line(3)] },
      { flowRunId: b!.id, attempt: 1, logs: [line(1, 'only line of b')] },
    ];
    const first = await writeLogs(worker, items);
    expect(first.status).toBe(200);
    expect(first.body.items).toEqual([
      { flowRunId: a!.id, attempt: 1, accepted: 3, duplicates: 0, error: null },
      { flowRunId: b!.id, attempt: 1, accepted: 1, duplicates: 0, error: null },
    ]);
    const again = await writeLogs(worker, items);
    expect(again.body.items.map((i: { accepted: number; duplicates: number }) => [i.accepted, i.duplicates])).toEqual([
      [0, 3],
      [0, 1],
    ]);
    const read = await api.owner('GET', `/flow-runs/${a!.id}/logs`);
    expect(read.body.items.map((l: { seq: number; message: string }) => [l.seq, l.message])).toEqual([
      [1, 'line 1'],
      [2, 'line 2'],
      [3, 'line 3'],
    ]);
    expect((await api.owner('GET', `/flow-runs/${b!.id}/logs`)).body.items.map((l: { message: string }) => l.message)).toEqual([
      'only line of b',
    ]);
  });

  test("refuses lines for another key's run and for a later attempt, storing the rest", async () => {
    const [mine] = await claimed(worker, 1);
    const otherWorker = client(api.server, await api.server.createKey('worker', ['default']));
    const [foreign] = await claimed(otherWorker, 1);
    const res = await writeLogs(worker, [
      { flowRunId: foreign!.id, attempt: 1, logs: [line(1, 'not mine')] },
      { flowRunId: mine!.id, attempt: 2, logs: [line(1, 'from the future')] },
      { flowRunId: mine!.id, attempt: 1, logs: [line(1, 'kept')] },
    ]);
    expect(res.status).toBe(200);
    expect(res.body.items.map((i: { error: { status: number } | null }) => i.error?.status ?? null)).toEqual([404, 409, null]);
    expect((await api.owner('GET', `/flow-runs/${foreign!.id}/logs`)).body.items).toEqual([]);
    expect((await api.owner('GET', `/flow-runs/${mine!.id}/logs`)).body.items.map((l: { message: string }) => l.message)).toEqual(
      ['kept'],
    );
  });

  test('refuses more than 1,000 lines in one call and a sequence number past 32 bits, with field paths', async () => {
    const [run] = await claimed(worker, 1);
    const many = Array.from({ length: 600 }, (_, i) => line(i + 1));
    const tooMany = await writeLogs(worker, [
      { flowRunId: run!.id, attempt: 1, logs: many },
      { flowRunId: randomUUID(), attempt: 1, logs: many },
    ]);
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.errors).toContainEqual(expect.objectContaining({ path: 'body.items' }));
    const overflow = await writeLogs(worker, [{ flowRunId: run!.id, attempt: 1, logs: [line(2 ** 31)] }]);
    expect(overflow.status).toBe(400);
    expect(overflow.body.errors).toContainEqual(expect.objectContaining({ path: 'body.items.0.logs.0.seq' }));
    expect((await api.owner('GET', `/flow-runs/${run!.id}/logs`)).body.items).toEqual([]);
  });
});
