import { randomUUID } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { claim, claimedPair, client, comparable, createRun, deploy, useOtherWorkspaceOwner, useServer } from './helpers.js';

const api = useServer();
const other = useOtherWorkspaceOwner(api);

describe('workspaces', () => {
  test("another workspace's run, deployment and pool are 404s identical to missing ones", async () => {
    await api.owner('POST', '/work-pools', { body: { name: 'private' } });
    const deployment = await deploy(api.owner, { flowName: 'secret', name: 's', workPool: 'private' });
    const run = await createRun(api.owner, deployment.id);

    const pairs: [string, string, string, unknown?][] = [
      ['GET', `/flow-runs/${run.id}`, `/flow-runs/${randomUUID()}`],
      ['GET', `/flow-runs/${run.id}/states`, `/flow-runs/${randomUUID()}/states`],
      ['GET', `/flow-runs/${run.id}/logs`, `/flow-runs/${randomUUID()}/logs`],
      ['GET', `/flow-runs/${run.id}/task-runs`, `/flow-runs/${randomUUID()}/task-runs`],
      [
        'POST',
        `/flow-runs/${run.id}/set-state`,
        `/flow-runs/${randomUUID()}/set-state`,
        { transitionId: randomUUID(), state: { type: 'CANCELLING' } },
      ],
      ['GET', `/deployments/${deployment.id}`, `/deployments/${randomUUID()}`],
      ['GET', '/deployments/name/secret/s', '/deployments/name/secret/zzz'],
      ['POST', `/deployments/${deployment.id}/runs`, `/deployments/${randomUUID()}/runs`, {}],
      ['GET', `/flows/${deployment.flowId}`, `/flows/${randomUUID()}`],
      ['GET', '/work-pools/private', '/work-pools/private'],
      ['GET', '/work-pools/private/queues', '/work-pools/private/queues'],
      ['PATCH', '/work-pools/private', '/work-pools/private', { paused: true }],
    ];
    for (const [method, theirs, missing, body] of pairs) {
      const foreign = await other(method, theirs, { body });
      const absent = await other(method, missing, { body });
      expect(foreign.status, `${method} ${theirs}`).toBe(404);
      expect(absent.status).toBe(404);
      const strip = (b: Record<string, unknown>) => ({ ...comparable(b), detail: String(b.detail).replace(/"[^"]*"/g, '"…"') });
      expect(strip(foreign.body)).toEqual(strip(absent.body));
    }
    // Nothing was changed through the other workspace.
    expect((await api.owner('GET', `/flow-runs/${run.id}`)).body.state.type).toBe('SCHEDULED');
    expect((await api.owner('GET', '/work-pools/private')).body.paused).toBe(false);
    // Lists never show it either.
    expect((await other('GET', '/flow-runs?limit=200')).body.items.map((r: { id: string }) => r.id)).not.toContain(run.id);
    expect((await other('GET', '/deployments')).body.items).toEqual([]);
  });

  test('a worker of another workspace claims nothing of ours, even naming our pool', async () => {
    await api.owner('POST', '/work-pools', { body: { name: 'shared-name' } });
    await other('POST', '/work-pools', { body: { name: 'shared-name' } });
    const deployment = await deploy(api.owner, { flowName: 'mine', name: 'm', workPool: 'shared-name' });
    const run = await createRun(api.owner, deployment.id);
    const theirWorker = client(api.server, (await api.server.createWorkspace()).ownerKey);
    expect(
      (await theirWorker('POST', '/work-pools/shared-name/claim', { body: { workerId: randomUUID(), limit: 5 } })).status,
    ).toBe(404);
    expect(await claim(other, 'shared-name', 5)).toEqual([]);
    const [mine] = await claim(api.owner, 'shared-name', 5);
    expect(mine.flowRun.id).toBe(run.id);
  });
});

describe('run tokens', () => {
  test('the token of run A can read and write run A only; run B is a 404 like a missing run', async () => {
    const { a, b, tokenA } = await claimedPair(api.owner, 'tok');
    const asA = client(api.server, tokenA);
    expect((await asA('GET', `/flow-runs/${a.id}`)).status).toBe(200);
    expect((await asA('GET', '/whoami')).status).toBe(403);
    const whoA = await asA('GET', `/flow-runs/${a.id}/states`);
    expect(whoA.status).toBe(200);

    const reads = ['', '/states', '/logs', '/task-runs'];
    for (const suffix of reads) {
      const res = await asA('GET', `/flow-runs/${b.id}${suffix}`);
      expect(res.status, suffix).toBe(404);
      expect(comparable(res.body)).toEqual(comparable((await asA('GET', `/flow-runs/${randomUUID()}${suffix}`)).body));
    }
    const writes: [string, unknown][] = [
      ['/set-state', { transitionId: randomUUID(), state: { type: 'RUNNING' } }],
      ['/logs', { attempt: 1, logs: [{ seq: 1, timestamp: new Date().toISOString(), level: 'info', message: 'x' }] }],
      [
        '/task-runs',
        { id: randomUUID(), flowRunAttempt: 1, name: 't', taskKey: 't', dynamicKey: '0', state: { type: 'RUNNING' } },
      ],
    ];
    for (const [suffix, body] of writes)
      expect((await asA('POST', `/flow-runs/${b.id}${suffix}`, { body })).status, suffix).toBe(404);
    expect((await api.owner('GET', `/flow-runs/${b.id}`)).body.state.type).toBe('PENDING');
    expect((await api.owner('GET', `/flow-runs/${b.id}/logs`)).body.items).toEqual([]);
  });

  test('a run token cannot call routes outside its run', async () => {
    const { tokenA } = await claimedPair(api.owner, 'tok');
    const asA = client(api.server, tokenA);
    expect((await asA('GET', '/flow-runs')).status).toBe(403);
    expect((await asA('GET', '/deployments')).status).toBe(403);
    expect((await asA('POST', '/work-pools/default/claim', { body: { workerId: randomUUID(), limit: 1 } })).status).toBe(403);
  });

  test('a write carrying another attempt than the token is 409 stale_attempt, and set-state without one takes the token’s', async () => {
    const { a, tokenA } = await claimedPair(api.owner, 'tok');
    const asA = client(api.server, tokenA);
    const stale = await asA('POST', `/flow-runs/${a.id}/set-state`, {
      body: { transitionId: randomUUID(), attempt: 2, state: { type: 'RUNNING' } },
    });
    expect(stale.status).toBe(409);
    expect(stale.body.code).toBe('stale_attempt');
    const logs = await asA('POST', `/flow-runs/${a.id}/logs`, {
      body: { attempt: 3, logs: [{ seq: 1, timestamp: new Date().toISOString(), level: 'info', message: 'x' }] },
    });
    expect(logs.status).toBe(409);
    const implicit = await asA('POST', `/flow-runs/${a.id}/set-state`, {
      body: { transitionId: randomUUID(), state: { type: 'RUNNING' } },
    });
    expect(implicit.body).toMatchObject({ status: 'ACCEPT', attempt: 1 });
  });

  test('after a retry the old attempt’s token is fenced out with 409', async () => {
    const pool = `retry-${randomUUID().slice(0, 8)}`;
    await api.owner('POST', '/work-pools', { body: { name: pool } });
    const deployment = await deploy(api.owner, { flowName: pool, name: 'd', workPool: pool, retries: 1 });
    const run = await createRun(api.owner, deployment.id);
    const [first] = await claim(api.owner, pool);
    const asFirst = client(api.server, first.token);
    await asFirst('POST', `/flow-runs/${run.id}/set-state`, { body: { transitionId: randomUUID(), state: { type: 'RUNNING' } } });
    const failed = await asFirst('POST', `/flow-runs/${run.id}/set-state`, {
      body: { transitionId: randomUUID(), state: { type: 'FAILED', message: 'boom' } },
    });
    expect(failed.body).toMatchObject({ status: 'ACCEPT', attempt: 2, state: { type: 'SCHEDULED', name: 'AwaitingRetry' } });
    const late = await asFirst('POST', `/flow-runs/${run.id}/set-state`, {
      body: { transitionId: randomUUID(), state: { type: 'RUNNING' } },
    });
    expect(late.status).toBe(409);
    expect(late.body.code).toBe('stale_attempt');
    const [second] = await claim(api.owner, pool);
    expect(second.flowRun).toMatchObject({ id: run.id, attempt: 2 });
  });

  test('a forged or tampered token is refused', async () => {
    const { a, tokenA } = await claimedPair(api.owner, 'tok');
    const [h, p, sig] = tokenA.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...claims, att: 9 })).toString('base64url')}.${sig}`;
    expect((await client(api.server, forged)('GET', `/flow-runs/${a.id}`)).status).toBe(401);
  });
});

describe('worker keys', () => {
  test('a worker key limited to pool a cannot claim from or heartbeat to pool b', async () => {
    await api.owner('POST', '/work-pools', { body: { name: 'pool-a' } });
    await api.owner('POST', '/work-pools', { body: { name: 'pool-b' } });
    const deployment = await deploy(api.owner, { flowName: 'b-flow', name: 'b', workPool: 'pool-b' });
    const run = await createRun(api.owner, deployment.id);
    const limited = client(api.server, await api.server.createKey('worker', ['pool-a']));
    const denied = await limited('POST', '/work-pools/pool-b/claim', { body: { workerId: randomUUID(), limit: 5 } });
    expect(denied.status).toBe(403);
    expect(denied.body.code).toBe('forbidden');
    const beat = await limited('POST', '/work-pools/pool-b/workers/heartbeat', {
      body: { workerId: randomUUID(), name: 'w', capacity: 1, runs: [] },
    });
    expect(beat.status).toBe(403);
    expect(await claim(limited, 'pool-a', 5)).toEqual([]);
    expect((await api.owner('GET', `/flow-runs/${run.id}`)).body.state.type).toBe('SCHEDULED');
    const anyPool = client(api.server, await api.server.createKey('worker'));
    expect((await claim(anyPool, 'pool-b', 5)).map((c: { flowRun: { id: string } }) => c.flowRun.id)).toEqual([run.id]);
  });

  test('a worker key acts only on runs its workers hold, and cannot read runs', async () => {
    const pool = `held-${randomUUID().slice(0, 8)}`;
    await api.owner('POST', '/work-pools', { body: { name: pool } });
    const deployment = await deploy(api.owner, { flowName: pool, name: 'd', workPool: pool });
    const mine = await createRun(api.owner, deployment.id);
    const theirs = await createRun(api.owner, deployment.id);
    const workerA = client(api.server, await api.server.createKey('worker'));
    const workerB = client(api.server, await api.server.createKey('worker'));
    const [a] = await claim(workerA, pool);
    const [b] = await claim(workerB, pool);
    expect(new Set([a.flowRun.id, b.flowRun.id])).toEqual(new Set([mine.id, theirs.id]));

    const ok = await workerA('POST', `/flow-runs/${a.flowRun.id}/set-state`, {
      body: { transitionId: randomUUID(), attempt: 1, state: { type: 'RUNNING' } },
    });
    expect(ok.body.status).toBe('ACCEPT');
    const notHeld = await workerA('POST', `/flow-runs/${b.flowRun.id}/set-state`, {
      body: { transitionId: randomUUID(), attempt: 1, state: { type: 'CRASHED' } },
    });
    expect(notHeld.status).toBe(404);
    expect((await workerA('GET', `/flow-runs/${a.flowRun.id}`)).status).toBe(403);
  });

  test('roles come from the route table: a viewer reads but cannot deploy or run', async () => {
    const viewer = client(api.server, await api.server.createKey('viewer'));
    expect((await viewer('GET', '/flow-runs')).status).toBe(200);
    const deployment = await deploy(api.owner, { flowName: 'viewed', name: 'v' });
    expect((await viewer('POST', `/deployments/${deployment.id}/runs`, { body: {} })).status).toBe(403);
    expect((await viewer('POST', '/work-pools', { body: { name: 'nope' } })).status).toBe(403);
    const runner = client(api.server, await api.server.createKey('runner'));
    expect((await runner('POST', `/deployments/${deployment.id}/runs`, { body: {} })).status).toBe(201);
    expect((await runner('PUT', '/deployments', { body: { flowName: 'x', name: 'y' } })).status).toBe(403);
  });
});
