import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, test } from 'vitest';
import { type Call, claim, client, createRun, deploy, startedRun, useServer } from './helpers.js';

let deploymentId: string;

const api = useServer();

beforeAll(async () => {
  deploymentId = (await deploy(api.owner, { flowName: 'carry', name: 'c' })).id;
});

const line = (seq: number, message: string) => ({ seq, timestamp: new Date().toISOString(), level: 'info', message });

/** A fresh run claimed by a worker, and a caller holding its run token. */
async function heldRun(): Promise<{ id: string; asRun: Call }> {
  await createRun(api.owner, deploymentId);
  const [claimed] = await claim(api.owner);
  return { id: claimed.flowRun.id, asRun: client(api.server, claimed.token) };
}

async function messages(id: string): Promise<string[]> {
  return (await api.owner('GET', `/flow-runs/${id}/logs`)).body.items.map((l: { message: string }) => l.message);
}

describe('state proposals carrying log lines', () => {
  test('stores the lines and the state together, and a redelivery stores neither twice', async () => {
    const { id, asRun } = await heldRun();
    const body = { transitionId: randomUUID(), state: { type: 'RUNNING' }, logs: [line(1, 'loading'), line(2, 'ready')] };
    const first = await asRun('POST', `/flow-runs/${id}/set-state`, { body });
    expect(first.body).toMatchObject({ status: 'ACCEPT', state: { type: 'RUNNING' } });
    const again = await asRun('POST', `/flow-runs/${id}/set-state`, { body });
    expect(again.body).toEqual(first.body);
    expect(await messages(id)).toEqual(['loading', 'ready']);
    const states = (await api.owner('GET', `/flow-runs/${id}/states`)).body.items.map(
      (s: { state: { type: string } }) => s.state.type,
    );
    expect(states).toEqual(['SCHEDULED', 'PENDING', 'RUNNING']);
  });

  test('keeps the lines of a proposal the rules reject: they were logged all the same', async () => {
    const { id, asRun } = await heldRun();
    const res = await asRun('POST', `/flow-runs/${id}/set-state`, {
      body: { transitionId: randomUUID(), state: { type: 'COMPLETED' }, logs: [line(1, 'done early')] },
    });
    expect(res.body).toMatchObject({ status: 'REJECT', state: { type: 'PENDING' } });
    expect(await messages(id)).toEqual(['done early']);
  });

  test('answers a retried FAILED proposal that carried lines with its stored answer, though the run moved to its next attempt', async () => {
    await api.owner('POST', '/work-pools', { body: { name: 'retrying' } });
    const { id, asRun } = await startedRun(api.server, api.owner, 'retrying', { retries: 1, retryDelaySeconds: 0 });
    const body = { transitionId: randomUUID(), state: { type: 'FAILED', message: 'boom' }, logs: [line(1, 'about to fail')] };
    const first = await asRun('POST', `/flow-runs/${id}/set-state`, { body });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ status: 'ACCEPT', attempt: 2, state: { type: 'SCHEDULED', name: 'AwaitingRetry' } });
    // The answer was lost on the way back; the worker sends the same proposal again.
    const again = await asRun('POST', `/flow-runs/${id}/set-state`, { body });
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    expect(await messages(id)).toEqual(['about to fail']);
  });

  test('stores nothing when the attempt is stale: the lines stay with the sender', async () => {
    const { id } = await heldRun();
    const res = await api.owner('POST', `/flow-runs/${id}/set-state`, {
      body: { transitionId: randomUUID(), attempt: 2, state: { type: 'RUNNING' }, logs: [line(1, 'from attempt 2')] },
    });
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('stale_attempt');
    expect(await messages(id)).toEqual([]);
  });

  test('refuses lines without an attempt, naming the field, and a sequence number past 32 bits', async () => {
    const { id, asRun } = await heldRun();
    const noAttempt = await api.owner('POST', `/flow-runs/${id}/set-state`, {
      body: { transitionId: randomUUID(), state: { type: 'CANCELLING' }, logs: [line(1, 'x')] },
    });
    expect(noAttempt.status).toBe(400);
    expect(noAttempt.body.errors).toEqual([{ path: 'body.attempt', message: 'required with logs' }]);
    const overflow = await asRun('POST', `/flow-runs/${id}/set-state`, {
      body: { transitionId: randomUUID(), state: { type: 'RUNNING' }, logs: [line(2 ** 31, 'x')] },
    });
    expect(overflow.status).toBe(400);
    expect(overflow.body.errors).toContainEqual(expect.objectContaining({ path: 'body.logs.0.seq' }));
    expect((await api.owner('GET', `/flow-runs/${id}`)).body.state.type).toBe('PENDING');
    expect(await messages(id)).toEqual([]);
  });
});
