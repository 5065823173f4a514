import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createLogger } from '../src/logger.js';
import { SchedulerLoop } from '../src/loops/scheduler.js';
import { WITHDRAWN_MESSAGE } from '../src/runs/db/schedules.js';
import { startTestServer, type TestServer } from '../src/testing/index.js';
import { type Call, client, createRun, deploy, eventually } from './helpers.js';

let server: TestServer;
let owner: Call;
let worker: Call;

beforeAll(async () => {
  server = await startTestServer({ loops: false });
  owner = client(server, server.ownerKey);
  worker = client(server, await server.createKey('worker'));
});
afterAll(async () => {
  await server?.close();
});

interface Claimed {
  flowRun: { id: string; state: { type: string } };
  dueInMs?: number;
}

/** A pool of its own with one deployment (`deployment` overrides its settings) and a run due `dueInMs` from now. */
async function runDueIn(dueInMs: number, deployment: Record<string, unknown> = {}) {
  const pool = `prefetch-${randomUUID().slice(0, 8)}`;
  await owner('POST', '/work-pools', { body: { name: pool } });
  const d = await deploy(owner, { flowName: pool, name: 'd', workPool: pool, ...deployment });
  const run = await createRun(owner, d.id, { scheduledTime: new Date(Date.now() + dueInMs).toISOString() });
  return { pool, runId: run.id as string };
}

async function claimWith(pool: string, body: Record<string, unknown>): Promise<Claimed[]> {
  const res = await worker('POST', `/work-pools/${pool}/claim`, { body: { workerId: randomUUID(), limit: 10, ...body } });
  expect(res.status).toBe(200);
  return res.body.runs;
}

/** The run's due time and the moment it was claimed, both on the database's clock. */
async function claimTimes(runId: string) {
  const [row] = await server.sql<{ due: Date; pending: Date }[]>`
    SELECT r.expected_start_time AS due, s.timestamp AS pending
    FROM flow_runs r JOIN flow_run_states s ON s.flow_run_id = r.id AND s.type = 'PENDING'
    WHERE r.id = ${runId}`;
  if (!row) throw new Error(`run ${runId} was never claimed`);
  return { aheadMs: row.due.getTime() - row.pending.getTime() };
}

test('a claim with prefetchMs takes a run due within it and says how long until it is due', async () => {
  const { pool, runId } = await runDueIn(8_000);
  expect(await claimWith(pool, {})).toEqual([]);

  const [claimed, ...rest] = await claimWith(pool, { prefetchMs: 20_000 });
  expect(rest).toEqual([]);
  expect(claimed?.flowRun.id).toBe(runId);
  expect(claimed?.flowRun.state.type).toBe('PENDING');
  const { aheadMs } = await claimTimes(runId);
  expect(aheadMs).toBeGreaterThan(0);
  // Counted from the answer, so never more than the database's own gap between the claim and the due time.
  expect(claimed?.dueInMs).toBeGreaterThan(0);
  expect(claimed?.dueInMs).toBeLessThanOrEqual(aheadMs);
});

test('a run due now carries no dueInMs, with or without prefetchMs', async () => {
  const { pool, runId } = await runDueIn(-1_000);
  const [claimed] = await claimWith(pool, { prefetchMs: 20_000 });
  expect(claimed?.flowRun.id).toBe(runId);
  expect(claimed).not.toHaveProperty('dueInMs');
});

test('a run beyond prefetchMs is not taken', async () => {
  const { pool } = await runDueIn(30_000);
  expect(await claimWith(pool, { prefetchMs: 5_000 })).toEqual([]);
});

test('a prefetching long-poll takes a run once it comes within prefetchMs of its due time, not before', async () => {
  const { pool, runId } = await runDueIn(4_000);
  const [claimed] = await claimWith(pool, { prefetchMs: 2_000, waitMs: 20_000 });
  expect(claimed?.flowRun.id).toBe(runId);
  const { aheadMs } = await claimTimes(runId);
  // Claimed ahead of its due time, and no further ahead than the worker asked for.
  expect(aheadMs).toBeGreaterThan(0);
  expect(aheadMs).toBeLessThanOrEqual(2_000);
  expect(claimed?.dueInMs).toBeGreaterThan(0);
});

test('a run of a deployment with a concurrency limit is claimed only when due, even by a prefetching claim', async () => {
  const { pool, runId } = await runDueIn(2_500, { concurrencyLimit: 1 });
  expect(await claimWith(pool, { prefetchMs: 20_000 })).toEqual([]);
  // The long-poll wakes at the run's due time instead of spinning on the run it passed over.
  const [claimed] = await claimWith(pool, { prefetchMs: 20_000, waitMs: 20_000 });
  expect(claimed?.flowRun.id).toBe(runId);
  expect(claimed).not.toHaveProperty('dueInMs');
  expect((await claimTimes(runId)).aheadMs).toBeLessThanOrEqual(0);
});

test('a prefetchMs above 60 s is refused with its field path', async () => {
  const res = await worker('POST', '/work-pools/default/claim', {
    body: { workerId: randomUUID(), limit: 1, prefetchMs: 120_000 },
  });
  expect(res.status).toBe(400);
  expect(JSON.stringify(res.body)).toContain('prefetchMs');
});

describe('a run claimed ahead of its due time, when its schedule changes before it is due', () => {
  let scheduler: SchedulerLoop;
  beforeAll(() => {
    scheduler = new SchedulerLoop(server.sql, server.databaseUrl, createLogger('silent'));
  });
  afterAll(async () => {
    await scheduler?.stop();
  });

  /** A deployment in a pool of its own with the given schedules, filled ahead by the scheduler. */
  async function scheduled(schedules: Record<string, unknown>[]) {
    const pool = `withdraw-${randomUUID().slice(0, 8)}`;
    await owner('POST', '/work-pools', { body: { name: pool } });
    const d = await deploy(owner, { flowName: pool, name: 'd', workPool: pool, schedules });
    await scheduler.tick();
    return { pool, deploymentId: d.id as string };
  }

  async function runOf(id: string) {
    const [row] = await server.sql<{ state: string; message: string | null; key: string; start: Date | null }[]>`
      SELECT state_type AS state, state_message AS message, idempotency_key AS key, start_time AS start
      FROM flow_runs WHERE id = ${id}`;
    if (!row) throw new Error(`no run ${id}`);
    return row;
  }

  async function unclaimed(deploymentId: string): Promise<number> {
    const [row] = await server.sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM flow_runs WHERE deployment_id = ${deploymentId} AND state_type = 'SCHEDULED'`;
    return row?.n ?? 0;
  }

  test('pausing the deployment cancels them through its worker, and deletes the runs nobody claimed', async () => {
    const { pool, deploymentId } = await scheduled([{ slug: 'often', intervalSeconds: 5 }]);
    const claimed = await claimWith(pool, { prefetchMs: 30_000 });
    expect(claimed.length).toBeGreaterThanOrEqual(5);
    expect(claimed.every((c) => (c.dueInMs ?? 0) > 0)).toBe(true);
    expect(await unclaimed(deploymentId)).toBeGreaterThan(0);

    expect((await owner('POST', `/deployments/${deploymentId}/pause`)).status).toBe(200);
    for (const c of claimed) {
      const run = await runOf(c.flowRun.id);
      // Held by its worker: CANCELLING, which the worker's claim hears and ends CANCELLED, unstarted.
      expect(run).toMatchObject({ state: 'CANCELLING', message: WITHDRAWN_MESSAGE, start: null });
    }
    expect(await unclaimed(deploymentId)).toBe(0);
    const cancel = await worker('POST', `/work-pools/${pool}/claim`, {
      body: { workerId: randomUUID(), limit: 0, held: claimed.map((c) => ({ id: c.flowRun.id, attempt: 1 })) },
    });
    expect(cancel.status).toBe(200);
    expect((cancel.body.cancel as { id: string }[]).map((c) => c.id).sort()).toEqual(claimed.map((c) => c.flowRun.id).sort());
  });

  test("switching one schedule off cancels that schedule's runs claimed ahead, not another schedule's", async () => {
    const { pool, deploymentId } = await scheduled([
      { slug: 'fast', intervalSeconds: 7 },
      { slug: 'slow', intervalSeconds: 11 },
    ]);
    const claimed = await claimWith(pool, { prefetchMs: 30_000 });
    const ofSchedule = async (slug: string) => {
      const runs = await Promise.all(claimed.map(async (c) => ({ id: c.flowRun.id, ...(await runOf(c.flowRun.id)) })));
      return runs.filter((r) => r.key.startsWith(`scheduled:${slug}:`));
    };
    expect((await ofSchedule('fast')).length).toBeGreaterThan(0);
    expect((await ofSchedule('slow')).length).toBeGreaterThan(0);

    const off = await owner('PATCH', `/deployments/${deploymentId}/schedules/fast`, { body: { active: false } });
    expect(off.status).toBe(200);
    for (const run of await ofSchedule('fast')) expect(run).toMatchObject({ state: 'CANCELLING', message: WITHDRAWN_MESSAGE });
    for (const run of await ofSchedule('slow')) expect(run.state).toBe('PENDING');
  });

  test('a run claimed ahead that is due by the time of the change is starting, and is left to run', async () => {
    const { pool, deploymentId } = await scheduled([{ slug: 'soon', intervalSeconds: 2 }]);
    const claimed = await claimWith(pool, { prefetchMs: 3_000, limit: 1 });
    const first = claimed[0]?.flowRun.id;
    expect(first).toBeDefined();
    // Until the database's clock passes its due time, the run is only waiting for it.
    await eventually(async () => {
      const [row] = await server.sql<
        { due: boolean }[]
      >`SELECT expected_start_time <= now() AS due FROM flow_runs WHERE id = ${first!}`;
      return row?.due ? true : undefined;
    });
    expect((await owner('POST', `/deployments/${deploymentId}/pause`)).status).toBe(200);
    expect((await runOf(first!)).state).toBe('PENDING');
  });
});
