import { randomUUID } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { createLogger } from '../src/logger.js';
import { LeaseExpiryLoop } from '../src/loops/lease-expiry.js';
import { type Call, claim, client, comparable, createRun, deploy, eventually, useServer } from './helpers.js';

const api = useServer({ loops: false, leaseSeconds: 2 });

/** Two claimed runs of one pool, both RUNNING, each with its own token. */
async function runningPair() {
  const pool = `sub-${randomUUID().slice(0, 8)}`;
  await api.owner('POST', '/work-pools', { body: { name: pool } });
  const deployment = await deploy(api.owner, { flowName: pool, name: 'd', workPool: pool, retries: 2 });
  const a = await createRun(api.owner, deployment.id);
  const b = await createRun(api.owner, deployment.id);
  const claimed = await claim(api.owner, pool, 2);
  const claimOf = (id: string) => claimed.find((c: { flowRun: { id: string } }) => c.flowRun.id === id);
  const asA = client(api.server, claimOf(a.id).token);
  const asB = client(api.server, claimOf(b.id).token);
  for (const [as, run] of [
    [asA, a],
    [asB, b],
  ] as const) {
    const res = await as('POST', `/flow-runs/${run.id}/set-state`, {
      body: { transitionId: randomUUID(), state: { type: 'RUNNING' } },
    });
    expect(res.body.status).toBe('ACCEPT');
  }
  return { pool, a, b, asA, asB, workerId: claimOf(a.id).flowRun.workerId as string };
}

async function taskRun(as: Call, runId: string, attempt = 1): Promise<string> {
  const id = randomUUID();
  const res = await as('POST', `/flow-runs/${runId}/task-runs`, {
    body: { id, flowRunAttempt: attempt, name: 'sub', taskKey: 'sub-0', dynamicKey: '0', state: { type: 'RUNNING' } },
  });
  expect(res.status).toBe(201);
  return id;
}

function childBody(overrides: Record<string, unknown> = {}) {
  return { id: randomUUID(), attempt: 1, flowName: 'train-model', parameters: { lr: 0.1 }, ...overrides };
}

describe('child runs', () => {
  test('a run token starts a RUNNING child linked to its run and task run; a retried create returns the same run', async () => {
    const { a, asA } = await runningPair();
    const call = await taskRun(asA, a.id);
    const body = childBody({ parentTaskRunId: call });

    const created = await asA('POST', `/flow-runs/${a.id}/child-runs`, { body });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      created: true,
      flowRun: {
        id: body.id,
        flowName: 'train-model',
        parameters: { lr: 0.1 },
        state: { type: 'RUNNING', name: 'Running' },
        attempt: 1,
        parentFlowRunId: a.id,
        parentTaskRunId: call,
        deploymentId: null,
        workPool: null,
        workerId: a.workerId ?? expect.any(String),
        maxRetries: 0,
      },
    });
    expect(created.body.flowRun.startTime).not.toBeNull();
    expect(created.body.flowRun.leaseExpiresAt).not.toBeNull();

    const again = await asA('POST', `/flow-runs/${a.id}/child-runs`, { body });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ created: false, flowRun: { id: body.id } });

    const listed = await api.owner('GET', `/flow-runs/${a.id}/child-runs`);
    expect(listed.body.items.map((r: { id: string }) => r.id)).toEqual([body.id]);
    expect(
      (await api.owner('GET', `/flow-runs/${body.id}/states`)).body.items.map((s: { state: { type: string } }) => s.state.type),
    ).toEqual(['RUNNING']);
    // Flow runs list it like any run, and the parent keeps its own links empty.
    expect((await api.owner('GET', `/flow-runs/${a.id}`)).body).toMatchObject({ parentFlowRunId: null, parentTaskRunId: null });
  });

  test("the parent's token writes the child's states, task runs and logs; a sibling's token gets 404s like a missing run", async () => {
    const { a, b, asA, asB } = await runningPair();
    const child = (await asA('POST', `/flow-runs/${a.id}/child-runs`, { body: childBody() })).body.flowRun;

    const taskId = await taskRun(asA, child.id);
    const logs = await asA('POST', `/flow-runs/${child.id}/logs`, {
      body: { attempt: 1, logs: [{ seq: 1, timestamp: new Date().toISOString(), level: 'info', message: 'inside the child' }] },
    });
    expect(logs.status).toBe(200);
    const done = await asA('POST', `/flow-runs/${child.id}/set-state`, {
      body: { transitionId: randomUUID(), attempt: 1, state: { type: 'COMPLETED' } },
    });
    expect(done.body).toMatchObject({ status: 'ACCEPT', state: { type: 'COMPLETED' } });
    expect((await asA('GET', `/flow-runs/${child.id}/task-runs`)).body.items.map((t: { id: string }) => t.id)).toEqual([taskId]);

    const attempts: [string, string, unknown?][] = [
      ['GET', ''],
      ['GET', '/states'],
      ['GET', '/logs'],
      ['GET', '/task-runs'],
      ['GET', '/child-runs'],
      ['POST', '/set-state', { transitionId: randomUUID(), state: { type: 'FAILED' } }],
      ['POST', '/logs', { attempt: 1, logs: [{ seq: 2, timestamp: new Date().toISOString(), level: 'info', message: 'x' }] }],
      [
        'POST',
        '/task-runs',
        { id: randomUUID(), flowRunAttempt: 1, name: 't', taskKey: 't', dynamicKey: '0', state: { type: 'RUNNING' } },
      ],
      ['POST', '/child-runs', childBody()],
    ];
    for (const [method, suffix, body] of attempts) {
      const res = await asB(method, `/flow-runs/${child.id}${suffix}`, { body });
      expect(res.status, `${method} ${suffix}`).toBe(404);
      const missing = await asB(method, `/flow-runs/${randomUUID()}${suffix}`, { body });
      expect(comparable(res.body)).toEqual(comparable(missing.body));
    }
    // The child is untouched by the sibling, and the child's token-holder cannot reach the sibling either.
    expect((await api.owner('GET', `/flow-runs/${child.id}`)).body.state.type).toBe('COMPLETED');
    expect((await api.owner('GET', `/flow-runs/${child.id}/logs`)).body.items.map((l: { message: string }) => l.message)).toEqual(
      ['inside the child'],
    );
    expect((await asA('GET', `/flow-runs/${b.id}`)).status).toBe(404);
  });

  test('subflows nest: the root token reaches a grandchild, whose parent is the child', async () => {
    const { a, asA, asB } = await runningPair();
    const child = (await asA('POST', `/flow-runs/${a.id}/child-runs`, { body: childBody() })).body.flowRun;
    const grandchild = await asA('POST', `/flow-runs/${child.id}/child-runs`, { body: childBody({ flowName: 'evaluate' }) });
    expect(grandchild.status).toBe(201);
    expect(grandchild.body.flowRun).toMatchObject({ parentFlowRunId: child.id, flowName: 'evaluate' });
    const done = await asA('POST', `/flow-runs/${grandchild.body.flowRun.id}/set-state`, {
      body: { transitionId: randomUUID(), state: { type: 'COMPLETED' } },
    });
    expect(done.body.status).toBe('ACCEPT');
    expect((await asB('GET', `/flow-runs/${grandchild.body.flowRun.id}`)).status).toBe(404);
  });

  test('refuses a parent that is not RUNNING, a stale attempt, a foreign task run and an id already in use', async () => {
    const pool = `sub-${randomUUID().slice(0, 8)}`;
    await api.owner('POST', '/work-pools', { body: { name: pool } });
    const deployment = await deploy(api.owner, { flowName: pool, name: 'd', workPool: pool });
    const run = await createRun(api.owner, deployment.id);
    const [claimed] = await claim(api.owner, pool);
    const as = client(api.server, claimed.token);

    const pending = await as('POST', `/flow-runs/${run.id}/child-runs`, { body: childBody() });
    expect(pending.status).toBe(409);
    expect(pending.body).toMatchObject({ code: 'conflict', detail: expect.stringContaining('PENDING') });

    await as('POST', `/flow-runs/${run.id}/set-state`, { body: { transitionId: randomUUID(), state: { type: 'RUNNING' } } });
    const stale = await as('POST', `/flow-runs/${run.id}/child-runs`, { body: childBody({ attempt: 2 }) });
    expect(stale.status).toBe(409);
    expect(stale.body.code).toBe('stale_attempt');

    const other = await runningPair();
    const foreignTask = await taskRun(other.asA, other.a.id);
    const foreign = await as('POST', `/flow-runs/${run.id}/child-runs`, { body: childBody({ parentTaskRunId: foreignTask }) });
    expect(foreign.status).toBe(400);
    expect(foreign.body.errors).toEqual([{ path: 'body.parentTaskRunId', message: 'not a task run of this flow run' }]);

    const taken = await as('POST', `/flow-runs/${run.id}/child-runs`, { body: childBody({ id: other.a.id }) });
    expect(taken.status).toBe(409);
    expect(taken.body.detail).toBe('this flow run id is already in use');

    const unknownField = await as('POST', `/flow-runs/${run.id}/child-runs`, {
      body: { ...childBody(), workerId: randomUUID() },
    });
    expect(unknownField.status).toBe(400);
    // Only the worker path may create children: a person's key cannot.
    expect((await api.owner('POST', `/flow-runs/${run.id}/child-runs`, { body: childBody() })).status).toBe(403);
  });

  test('a child lives on its root’s lease: renewed by the root’s heartbeat, crashed with the root, never retried', async () => {
    const { pool, a, asA, workerId } = await runningPair();
    const child = (await asA('POST', `/flow-runs/${a.id}/child-runs`, { body: childBody() })).body.flowRun;
    const loop = new LeaseExpiryLoop(api.server.sql, api.server.databaseUrl, createLogger('silent'));
    try {
      const leaseOf = async (id: string) =>
        (
          await api.server.sql<{ lease: Date }[]>`SELECT lease_expires_at AS lease FROM flow_runs WHERE id = ${id}`
        )[0]?.lease.getTime();
      const before = await leaseOf(child.id);
      const beat = await api.owner('POST', `/work-pools/${pool}/workers/heartbeat`, {
        body: { workerId, name: 'w', capacity: 2, runs: [{ id: a.id, attempt: 1 }] },
      });
      expect(beat.body.renewed.map((r: { id: string }) => r.id)).toEqual([a.id]);
      expect(await leaseOf(child.id)).toBe(await leaseOf(a.id));
      expect(await leaseOf(child.id)).toBeGreaterThan(before ?? 0);

      // The worker stops renewing: root and child both crash; the root retries, the child does not.
      await eventually(async () =>
        (await api.server.sql`SELECT lease_expires_at < now() AS gone FROM flow_runs WHERE id = ${child.id}`)[0]?.gone
          ? true
          : undefined,
      );
      await loop.tick();
      expect((await api.owner('GET', `/flow-runs/${a.id}`)).body).toMatchObject({
        state: { type: 'SCHEDULED', name: 'AwaitingRetry' },
        attempt: 2,
      });
      expect((await api.owner('GET', `/flow-runs/${child.id}`)).body).toMatchObject({
        state: { type: 'CRASHED', message: 'lease expired' },
        attempt: 1,
      });
    } finally {
      await loop.stop();
    }
  });
});
