import { randomUUID } from 'node:crypto';
import { expect, test } from 'vitest';
import { claim, client, deploy, useServer } from './helpers.js';

const api = useServer();

async function freshPool(retries = 0) {
  const pool = `st-${randomUUID().slice(0, 8)}`;
  await api.owner('POST', '/work-pools', { body: { name: pool } });
  const deployment = await deploy(api.owner, { flowName: pool, name: 'd', workPool: pool, retries });
  const run = (await api.owner('POST', `/deployments/${deployment.id}/runs`, { body: {} })).body.flowRun;
  return { pool, runId: run.id as string };
}

test('a repeated transition id replays the first answer and appends nothing', async () => {
  const { pool, runId } = await freshPool();
  const [claimed] = await claim(api.owner, pool);
  const asRun = client(api.server, claimed.token);
  const transitionId = randomUUID();
  const first = await asRun('POST', `/flow-runs/${runId}/set-state`, { body: { transitionId, state: { type: 'RUNNING' } } });
  expect(first.body.status).toBe('ACCEPT');
  await asRun('POST', `/flow-runs/${runId}/set-state`, { body: { transitionId: randomUUID(), state: { type: 'COMPLETED' } } });
  const replay = await asRun('POST', `/flow-runs/${runId}/set-state`, { body: { transitionId, state: { type: 'RUNNING' } } });
  expect(replay.status).toBe(200);
  expect(replay.body).toEqual(first.body);
  const history = await api.owner('GET', `/flow-runs/${runId}/states`);
  expect(history.body.items.map((s: { state: { type: string } }) => s.state.type)).toEqual([
    'SCHEDULED',
    'PENDING',
    'RUNNING',
    'COMPLETED',
  ]);
});

test('concurrent deliveries of one transition are judged once', async () => {
  const { pool, runId } = await freshPool();
  const [claimed] = await claim(api.owner, pool);
  const asRun = client(api.server, claimed.token);
  const transitionId = randomUUID();
  const replies = await Promise.all(
    Array.from({ length: 6 }, () =>
      asRun('POST', `/flow-runs/${runId}/set-state`, { body: { transitionId, state: { type: 'RUNNING' } } }),
    ),
  );
  expect(replies.map((r) => r.status)).toEqual(Array(6).fill(200));
  for (const reply of replies) expect(reply.body).toEqual(replies[0]?.body);
  const [row] = await api.server.sql<
    { n: number }[]
  >`SELECT count(*)::int AS n FROM flow_run_states WHERE flow_run_id = ${runId} AND type = 'RUNNING'`;
  expect(row?.n).toBe(1);
});

test('a refused proposal answers with the run’s current state and changes nothing', async () => {
  const { pool, runId } = await freshPool();
  const userRun = await api.owner('POST', `/flow-runs/${runId}/set-state`, {
    body: { transitionId: randomUUID(), state: { type: 'RUNNING' } },
  });
  expect(userRun.body).toMatchObject({ status: 'REJECT', state: { type: 'SCHEDULED' }, attempt: 1 });
  expect(userRun.body.reason).toEqual(expect.any(String));

  const worker = client(api.server, await api.server.createKey('worker'));
  const [claimed] = await claim(worker, pool);
  await client(api.server, claimed.token)('POST', `/flow-runs/${runId}/set-state`, {
    body: { transitionId: randomUUID(), state: { type: 'RUNNING' } },
  });
  const doubleClaim = await worker('POST', `/flow-runs/${runId}/set-state`, {
    body: { transitionId: randomUUID(), attempt: 1, state: { type: 'PENDING' } },
  });
  expect(doubleClaim.body).toMatchObject({ status: 'ABORT', state: { type: 'RUNNING' } });
  expect((await api.owner('GET', `/flow-runs/${runId}`)).body.state.type).toBe('RUNNING');
});

test('a user cancels a waiting run at once, and retries a finished one as a new attempt that can be claimed', async () => {
  const { pool, runId } = await freshPool();
  const cancelled = await api.owner('POST', `/flow-runs/${runId}/set-state`, {
    body: { transitionId: randomUUID(), state: { type: 'CANCELLING' } },
  });
  expect(cancelled.body).toMatchObject({ status: 'ACCEPT', state: { type: 'CANCELLED' } });
  expect(await claim(api.owner, pool)).toEqual([]);
  const retried = await api.owner('POST', `/flow-runs/${runId}/set-state`, {
    body: { transitionId: randomUUID(), state: { type: 'SCHEDULED' } },
  });
  expect(retried.body).toMatchObject({ status: 'ACCEPT', attempt: 2, state: { type: 'SCHEDULED', name: 'AwaitingRetry' } });
  const run = (await api.owner('GET', `/flow-runs/${runId}`)).body;
  expect(run.endTime).toBeNull();
  const [again] = await claim(api.owner, pool);
  expect(again.flowRun).toMatchObject({ id: runId, attempt: 2 });
});

test('a failed run with retries left is rescheduled after its delay, in the same answer', async () => {
  const pool = `delay-${randomUUID().slice(0, 8)}`;
  await api.owner('POST', '/work-pools', { body: { name: pool } });
  const deployment = await deploy(api.owner, { flowName: pool, name: 'd', workPool: pool, retries: 2, retryDelaySeconds: 600 });
  const runId = (await api.owner('POST', `/deployments/${deployment.id}/runs`, { body: {} })).body.flowRun.id;
  const [claimed] = await claim(api.owner, pool);
  const asRun = client(api.server, claimed.token);
  await asRun('POST', `/flow-runs/${runId}/set-state`, { body: { transitionId: randomUUID(), state: { type: 'RUNNING' } } });
  const failed = await asRun('POST', `/flow-runs/${runId}/set-state`, {
    body: { transitionId: randomUUID(), state: { type: 'FAILED', message: 'division by zero' } },
  });
  expect(failed.body).toMatchObject({ status: 'ACCEPT', attempt: 2, state: { type: 'SCHEDULED', name: 'AwaitingRetry' } });
  const run = (await api.owner('GET', `/flow-runs/${runId}`)).body;
  expect(new Date(run.expectedStartTime).getTime() - new Date(failed.body.state.timestamp).getTime()).toBe(600_000);
  // Not due for ten minutes.
  expect(await claim(api.owner, pool)).toEqual([]);
  const history = await api.owner('GET', `/flow-runs/${runId}/states`);
  expect(
    history.body.items
      .slice(-2)
      .map((s: { attempt: number; state: { type: string; message: string | null } }) => [s.attempt, s.state.type]),
  ).toEqual([
    [1, 'FAILED'],
    [2, 'SCHEDULED'],
  ]);
});
