import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, test } from 'vitest';
import { type Call, claim, client, createRun, deploy, startedRun, useServer } from './helpers.js';

let deploymentId: string;

const api = useServer();

beforeAll(async () => {
  deploymentId = (await deploy(api.owner, { flowName: 'carry-tasks', name: 'c' })).id;
});

/** A fresh run claimed by a worker, RUNNING, and a caller holding its run token. */
async function runningRun(): Promise<{ id: string; asRun: Call }> {
  await createRun(api.owner, deploymentId);
  const [claimed] = await claim(api.owner);
  const asRun = client(api.server, claimed.token);
  const id = claimed.flowRun.id;
  await asRun('POST', `/flow-runs/${id}/set-state`, { body: { transitionId: randomUUID(), state: { type: 'RUNNING' } } });
  return { id, asRun };
}

/** A task that ran and finished within one batch: its creation with its last change merged in. */
function finishedTask(name: string) {
  const at = new Date().toISOString();
  return {
    kind: 'create' as const,
    id: randomUUID(),
    name,
    taskKey: name,
    dynamicKey: '0',
    state: { type: 'COMPLETED' },
    at,
    seq: 2,
    runCount: 1,
    startedAt: at,
  };
}

async function taskRuns(id: string): Promise<{ name: string; state: { type: string } }[]> {
  return (await api.owner('GET', `/flow-runs/${id}/task-runs`)).body.items;
}

describe('state proposals carrying task-run events', () => {
  test('stores the task runs and the run’s end together, and a redelivery applies nothing twice', async () => {
    const { id, asRun } = await runningRun();
    const body = { transitionId: randomUUID(), state: { type: 'COMPLETED' }, taskRuns: [finishedTask('train')] };
    const first = await asRun('POST', `/flow-runs/${id}/set-state`, { body });
    expect(first.body).toMatchObject({ status: 'ACCEPT', state: { type: 'COMPLETED' } });
    const again = await asRun('POST', `/flow-runs/${id}/set-state`, { body });
    expect(again.body).toEqual(first.body);
    const tasks = await taskRuns(id);
    expect(tasks.map((t) => [t.name, t.state.type])).toEqual([['train', 'COMPLETED']]);
  });

  test('applies a state change to a task run the run created earlier, before judging the run’s proposal', async () => {
    const { id, asRun } = await runningRun();
    const task = {
      ...finishedTask('load'),
      state: { type: 'RUNNING' },
      seq: undefined,
      runCount: undefined,
      startedAt: undefined,
    };
    const created = await asRun('POST', `/flow-runs/${id}/task-runs/batch`, { body: { flowRunAttempt: 1, events: [task] } });
    expect(created.status).toBe(200);
    const end = {
      kind: 'state',
      id: task.id,
      seq: 1,
      runCount: 1,
      state: { type: 'FAILED', message: 'no rows' },
      at: new Date().toISOString(),
    };
    const res = await asRun('POST', `/flow-runs/${id}/set-state`, {
      body: { transitionId: randomUUID(), state: { type: 'FAILED', message: 'load failed' }, taskRuns: [end] },
    });
    expect(res.body).toMatchObject({ status: 'ACCEPT', state: { type: 'FAILED' } });
    expect((await taskRuns(id)).map((t) => [t.name, t.state.type])).toEqual([['load', 'FAILED']]);
  });

  test('keeps the task runs of a proposal the rules reject: they ran all the same', async () => {
    await createRun(api.owner, deploymentId);
    const [claimed] = await claim(api.owner);
    const id = claimed.flowRun.id;
    // PENDING → COMPLETED skips RUNNING: the rules reject it.
    const res = await client(api.server, claimed.token)('POST', `/flow-runs/${id}/set-state`, {
      body: { transitionId: randomUUID(), state: { type: 'COMPLETED' }, taskRuns: [finishedTask('early')] },
    });
    expect(res.body).toMatchObject({ status: 'REJECT', state: { type: 'PENDING' } });
    expect((await taskRuns(id)).map((t) => t.name)).toEqual(['early']);
  });

  test('stores nothing when the attempt is stale: the events stay with the sender', async () => {
    await api.owner('POST', '/work-pools', { body: { name: 'retrying' } });
    const { id, asRun } = await startedRun(api.server, api.owner, 'retrying', { retries: 1, retryDelaySeconds: 0 });
    const failed = await asRun('POST', `/flow-runs/${id}/set-state`, {
      body: { transitionId: randomUUID(), state: { type: 'FAILED', message: 'boom' } },
    });
    expect(failed.body).toMatchObject({ status: 'ACCEPT', attempt: 2 });
    // Attempt 1's token, after the run moved on to attempt 2.
    const stale = await asRun('POST', `/flow-runs/${id}/set-state`, {
      body: { transitionId: randomUUID(), state: { type: 'COMPLETED' }, taskRuns: [finishedTask('late')] },
    });
    expect(stale.status).toBe(409);
    expect(await taskRuns(id)).toEqual([]);
  });

  test('refuses task-run events from a user acting on a run, naming the field', async () => {
    const { id } = await runningRun();
    const res = await api.owner('POST', `/flow-runs/${id}/set-state`, {
      body: { transitionId: randomUUID(), attempt: 1, state: { type: 'COMPLETED' }, taskRuns: [finishedTask('forged')] },
    });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([expect.objectContaining({ path: 'body.taskRuns' })]);
    expect(await taskRuns(id)).toEqual([]);
  });

  test('refuses more events than a task-run batch holds, naming the field', async () => {
    const { id, asRun } = await runningRun();
    const many = Array.from({ length: 1001 }, (_, i) => finishedTask(`t${i}`));
    const res = await asRun('POST', `/flow-runs/${id}/set-state`, {
      body: { transitionId: randomUUID(), state: { type: 'COMPLETED' }, taskRuns: many },
    });
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain('body.taskRuns');
    expect(await taskRuns(id)).toEqual([]);
  });
});
