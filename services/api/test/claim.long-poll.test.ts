import { randomUUID } from 'node:crypto';
import { expect, test } from 'vitest';
import { startTestServer, type TestServer } from '../src/testing/index.js';
import { client, deploy, eventually, useServer } from './helpers.js';

const api = useServer();

async function pool() {
  const name = `poll-${randomUUID().slice(0, 8)}`;
  await api.owner('POST', '/work-pools', { body: { name } });
  const deployment = await deploy(api.owner, { flowName: name, name: 'd', workPool: name });
  return { name, deploymentId: deployment.id as string };
}

/** Starts a waiting claim over real HTTP and resolves once the server has registered the worker (the claim is under way). */
async function waitingClaim(target: TestServer, key: string, poolName: string, waitMs: number) {
  const workerId = randomUUID();
  const started = performance.now();
  let settledAt: number | null = null;
  const reply = fetch(`${target.url}/api/v1/work-pools/${poolName}/claim`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ workerId, limit: 1, waitMs }),
  }).then(async (res) => {
    settledAt = performance.now();
    return { status: res.status, body: (await res.json()) as { runs: { flowRun: { id: string } }[] } };
  });
  await eventually(async () => {
    const [row] = await target.sql`SELECT 1 FROM workers WHERE id = ${workerId}`;
    return row ? true : undefined;
  });
  return { reply, started, settled: () => settledAt };
}

/** A due run of the deployment inserted behind the API's back: no NOTIFY tells a waiting claim of it. */
async function insertSilently(deploymentId: string): Promise<string | undefined> {
  const [ids] = await api.server.sql<{ work_pool_id: string; work_queue_id: string; flow_id: string }[]>`
    SELECT work_pool_id, work_queue_id, flow_id FROM deployments WHERE id = ${deploymentId}`;
  const [row] = await api.server.sql<{ id: string }[]>`
    INSERT INTO flow_runs (workspace_id, flow_id, deployment_id, work_pool_id, work_queue_id, name, state_type, state_name)
    VALUES (${api.server.workspaceId}, ${ids?.flow_id ?? null}, ${deploymentId}, ${ids?.work_pool_id ?? null}, ${ids?.work_queue_id ?? null}, 'silent', 'SCHEDULED', 'Scheduled')
    RETURNING id`;
  return row?.id;
}

test('a waiting claim returns a run created while it waits, well before waitMs', async () => {
  const { name, deploymentId } = await pool();
  const key = await api.server.createKey('worker');
  const claim = await waitingClaim(api.server, key, name, 20_000);
  expect(claim.settled()).toBeNull();
  const createdAt = performance.now();
  const run = await api.owner('POST', `/deployments/${deploymentId}/runs`, { body: {} });
  const res = await claim.reply;
  expect(res.status).toBe(200);
  expect(res.body.runs.map((r) => r.flowRun.id)).toEqual([run.body.flowRun.id]);
  const settled = claim.settled() ?? Number.POSITIVE_INFINITY;
  expect(settled).toBeGreaterThanOrEqual(createdAt);
  expect(settled - createdAt).toBeLessThan(3_000);
  expect(settled - claim.started).toBeLessThan(20_000);
});

test('a waiting claim wakes when a scheduled run becomes due', async () => {
  const { name, deploymentId } = await pool();
  const run = await api.owner('POST', `/deployments/${deploymentId}/runs`, {
    body: { scheduledTime: new Date(Date.now() + 3_000).toISOString() },
  });
  const started = performance.now();
  const res = await client(api.server, await api.server.createKey('worker'))('POST', `/work-pools/${name}/claim`, {
    body: { workerId: randomUUID(), limit: 1, waitMs: 20_000 },
  });
  const elapsed = performance.now() - started;
  expect(res.body.runs.map((r: { flowRun: { id: string } }) => r.flowRun.id)).toEqual([run.body.flowRun.id]);
  expect(elapsed).toBeGreaterThan(1_000);
  expect(elapsed).toBeLessThan(10_000);
});

test('without any notification a waiting claim still finds the run when it looks again', async () => {
  const { name, deploymentId } = await pool();
  const key = await api.server.createKey('worker');
  const claim = await waitingClaim(api.server, key, name, 1_500);
  // Inserted behind the API's back: no NOTIFY is sent, so only the claim's own re-check can find it.
  const silentId = await insertSilently(deploymentId);
  const res = await claim.reply;
  expect(res.body.runs.map((r) => r.flowRun.id)).toEqual([silentId]);
});

test('a waiting claim with nothing to do answers empty at its deadline', async () => {
  const { name } = await pool();
  const started = performance.now();
  const res = await client(api.server, await api.server.createKey('worker'))('POST', `/work-pools/${name}/claim`, {
    body: { workerId: randomUUID(), limit: 1, waitMs: 700 },
  });
  expect(res.body).toEqual({ runs: [] });
  expect(performance.now() - started).toBeGreaterThanOrEqual(650);
});

test('shutdown ends waiting long-polls promptly', async () => {
  const own = await startTestServer({ loops: false });
  try {
    const key = await own.createKey('worker');
    const claim = await waitingClaim(own, key, 'default', 30_000);
    const closing = performance.now();
    await own.close();
    const res = await claim.reply;
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ runs: [] });
    expect((claim.settled() ?? Number.POSITIVE_INFINITY) - closing).toBeLessThan(5_000);
  } finally {
    await own.close();
  }
});

test('the listener reconnects after its connection is killed, and waiting claims are woken again', async () => {
  const listener = async () => {
    const rows = await api.server.sql<{ pid: number }[]>`
      SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'outpost-api-listener'`;
    return rows[0]?.pid;
  };
  const before = await eventually(listener, 5_000, 'the listener connection');
  await api.server.sql`SELECT pg_terminate_backend(${before})`;
  await eventually(
    async () => {
      const pid = await listener();
      return pid !== undefined && pid !== before ? pid : undefined;
    },
    15_000,
    'a new listener connection',
  );

  const { name, deploymentId } = await pool();
  const claim = await waitingClaim(api.server, await api.server.createKey('worker'), name, 20_000);
  const createdAt = performance.now();
  const run = await api.owner('POST', `/deployments/${deploymentId}/runs`, { body: {} });
  const res = await claim.reply;
  expect(res.body.runs.map((r) => r.flowRun.id)).toEqual([run.body.flowRun.id]);
  expect((claim.settled() ?? Number.POSITIVE_INFINITY) - createdAt).toBeLessThan(3_000);
});

test('a worker whose last claim came back empty claims at once a run that is due when it polls again', async () => {
  const { name, deploymentId } = await pool();
  const worker = client(api.server, await api.server.createKey('worker'));
  const workerId = randomUUID();
  const poll = (waitMs: number) => worker('POST', `/work-pools/${name}/claim`, { body: { workerId, limit: 1, waitMs } });
  expect((await poll(300)).body).toEqual({ runs: [] });
  const run = await api.owner('POST', `/deployments/${deploymentId}/runs`, { body: {} });
  const started = performance.now();
  const res = await poll(20_000);
  expect(res.body.runs.map((r: { flowRun: { id: string } }) => r.flowRun.id)).toEqual([run.body.flowRun.id]);
  expect(performance.now() - started).toBeLessThan(3_000);
});

test('an idle worker polling again gets a run created while it polls, and its deadline look finds a silent one', async () => {
  const { name, deploymentId } = await pool();
  const worker = client(api.server, await api.server.createKey('worker'));
  const workerId = randomUUID();
  const poll = (waitMs: number) => worker('POST', `/work-pools/${name}/claim`, { body: { workerId, limit: 1, waitMs } });
  expect((await poll(300)).body).toEqual({ runs: [] });
  const waiting = poll(20_000);
  const run = await api.owner('POST', `/deployments/${deploymentId}/runs`, { body: {} });
  expect((await waiting).body.runs.map((r: { flowRun: { id: string } }) => r.flowRun.id)).toEqual([run.body.flowRun.id]);

  // Idle again; a run inserted behind the API's back (no NOTIFY) is found by the look at the deadline.
  expect((await poll(300)).body).toEqual({ runs: [] });
  const silent = poll(1_500);
  const silentId = await insertSilently(deploymentId);
  expect((await silent).body.runs.map((r: { flowRun: { id: string } }) => r.flowRun.id)).toEqual([silentId]);
});
