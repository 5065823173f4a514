import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createLogger } from '../src/logger.js';
import { SchedulerLoop } from '../src/loops/scheduler.js';
import { WITHDRAWN_MESSAGE } from '../src/runs/db/schedules.js';
import { type Call, client, createRun, deploy, eventually, useServer } from './helpers.js';

let worker: Call;

const api = useServer();

beforeAll(async () => {
  worker = client(api.server, await api.server.createKey('worker'));
});

interface Claimed {
  flowRun: { id: string; state: { type: string } };
  dueInMs?: number;
}

/** A pool of its own with one deployment (`deployment` overrides its settings) and a run due `dueInMs` from now. */
async function runDueIn(dueInMs: number, deployment: Record<string, unknown> = {}) {
  const pool = `prefetch-${randomUUID().slice(0, 8)}`;
  await api.owner('POST', '/work-pools', { body: { name: pool } });
  const d = await deploy(api.owner, { flowName: pool, name: 'd', workPool: pool, ...deployment });
  const run = await createRun(api.owner, d.id, { scheduledTime: new Date(Date.now() + dueInMs).toISOString() });
  return { pool, runId: run.id as string };
}

async function claimWith(pool: string, body: Record<string, unknown>): Promise<Claimed[]> {
  const res = await worker('POST', `/work-pools/${pool}/claim`, { body: { workerId: randomUUID(), limit: 10, ...body } });
  expect(res.status).toBe(200);
  return res.body.runs;
}

/** The run's due time and the moment it was claimed, both on the database's clock. */
async function claimTimes(runId: string) {
  const [row] = await api.server.sql<{ due: Date; pending: Date }[]>`
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
    scheduler = new SchedulerLoop(api.server.sql, api.server.databaseUrl, createLogger('silent'));
  });
  afterAll(async () => {
    await scheduler?.stop();
  });

  /** A deployment in a pool of its own with the given schedules, filled ahead by the scheduler. */
  async function scheduled(schedules: Record<string, unknown>[]) {
    const pool = `withdraw-${randomUUID().slice(0, 8)}`;
    await api.owner('POST', '/work-pools', { body: { name: pool } });
    const d = await deploy(api.owner, { flowName: pool, name: 'd', workPool: pool, schedules });
    await scheduler.tick();
    return { pool, deploymentId: d.id as string };
  }

  async function runOf(id: string) {
    const [row] = await api.server.sql<{ state: string; message: string | null; key: string; start: Date | null; due: Date }[]>`
      SELECT state_type AS state, state_message AS message, idempotency_key AS key, start_time AS start,
        expected_start_time AS due
      FROM flow_runs WHERE id = ${id}`;
    if (!row) throw new Error(`no run ${id}`);
    return row;
  }

  /** The database's clock, whose `now()` decides whether a run is due. */
  async function databaseNow(): Promise<number> {
    const [row] = await api.server.sql<{ now: Date }[]>`SELECT clock_timestamp() AS now`;
    return row!.now.getTime();
  }

  /**
   * Makes a schedule change and splits the runs in `ids` by their due time against the database's
   * clock around it: those due after it ended were not due at any moment of it, so it withdrew them;
   * those due before it began were due, so it left them to run. A run due while it ran may be either.
   */
  async function aroundChange(ids: string[], change: () => Promise<void>) {
    const before = await databaseNow();
    await change();
    const after = await databaseNow();
    const runs = await Promise.all(ids.map(async (id) => ({ id, ...(await runOf(id)) })));
    return {
      all: runs,
      notDue: runs.filter((r) => r.due.getTime() > after),
      due: runs.filter((r) => r.due.getTime() <= before),
    };
  }

  async function unclaimed(deploymentId: string): Promise<number> {
    const [row] = await api.server.sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM flow_runs WHERE deployment_id = ${deploymentId} AND state_type = 'SCHEDULED'`;
    return row?.n ?? 0;
  }

  test('pausing the deployment cancels them through its worker, and deletes the runs nobody claimed', async () => {
    const { pool, deploymentId } = await scheduled([{ slug: 'often', intervalSeconds: 5 }]);
    const claimed = await claimWith(pool, { prefetchMs: 30_000 });
    expect(claimed.length).toBeGreaterThanOrEqual(5);
    expect(claimed.every((c) => (c.dueInMs ?? 0) > 0)).toBe(true);
    expect(await unclaimed(deploymentId)).toBeGreaterThan(0);

    const { all, notDue, due } = await aroundChange(
      claimed.map((c) => c.flowRun.id),
      async () => {
        expect((await api.owner('POST', `/deployments/${deploymentId}/pause`)).status).toBe(200);
      },
    );
    // A 30 s window over runs every 5 s holds several not due for seconds yet, however slow the pause.
    expect(notDue.length).toBeGreaterThanOrEqual(4);
    for (const run of notDue) {
      // Held by its worker: CANCELLING, which the worker's claim hears and ends CANCELLED, unstarted.
      expect(run).toMatchObject({ state: 'CANCELLING', message: WITHDRAWN_MESSAGE, start: null });
    }
    for (const run of due) expect(run.state).toBe('PENDING');
    expect(await unclaimed(deploymentId)).toBe(0);
    const cancel = await worker('POST', `/work-pools/${pool}/claim`, {
      body: { workerId: randomUUID(), limit: 0, held: claimed.map((c) => ({ id: c.flowRun.id, attempt: 1 })) },
    });
    expect(cancel.status).toBe(200);
    expect((cancel.body.cancel as { id: string }[]).map((c) => c.id).sort()).toEqual(
      all
        .filter((r) => r.state === 'CANCELLING')
        .map((r) => r.id)
        .sort(),
    );
  });

  test("switching one schedule off cancels that schedule's runs claimed ahead, not another schedule's", async () => {
    const { pool, deploymentId } = await scheduled([
      { slug: 'fast', intervalSeconds: 7 },
      { slug: 'slow', intervalSeconds: 11 },
    ]);
    const claimed = await claimWith(pool, { prefetchMs: 30_000 });
    const { all, notDue, due } = await aroundChange(
      claimed.map((c) => c.flowRun.id),
      async () => {
        const off = await api.owner('PATCH', `/deployments/${deploymentId}/schedules/fast`, { body: { active: false } });
        expect(off.status).toBe(200);
      },
    );
    const of = (slug: string, runs: typeof notDue) => runs.filter((r) => r.key.startsWith(`scheduled:${slug}:`));
    // A 30 s window holds runs of each schedule not due for seconds yet, however slow the change.
    expect(of('fast', notDue).length).toBeGreaterThanOrEqual(2);
    expect(of('slow', notDue).length).toBeGreaterThanOrEqual(1);
    for (const run of of('fast', notDue)) expect(run).toMatchObject({ state: 'CANCELLING', message: WITHDRAWN_MESSAGE });
    for (const run of [...of('fast', due), ...of('slow', all)]) expect(run.state).toBe('PENDING');
  });

  test('a run claimed ahead that is due by the time of the change is starting, and is left to run', async () => {
    const { pool, deploymentId } = await scheduled([{ slug: 'soon', intervalSeconds: 2 }]);
    const claimed = await claimWith(pool, { prefetchMs: 3_000, limit: 1 });
    const first = claimed[0]?.flowRun.id;
    expect(first).toBeDefined();
    // Until the database's clock passes its due time, the run is only waiting for it.
    await eventually(async () => {
      const [row] = await api.server.sql<
        { due: boolean }[]
      >`SELECT expected_start_time <= now() AS due FROM flow_runs WHERE id = ${first!}`;
      return row?.due ? true : undefined;
    });
    expect((await api.owner('POST', `/deployments/${deploymentId}/pause`)).status).toBe(200);
    expect((await runOf(first!)).state).toBe('PENDING');
  });
});
