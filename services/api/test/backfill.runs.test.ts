import { randomUUID } from 'node:crypto';
import { HELD_STATES } from '@outpost/sdk/contracts';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { stateList } from '../src/db/values.js';
import { startTestServer, type TestServer } from '../src/testing.js';
import { type Call, client, deploy } from './helpers.js';

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

function unique(name: string): string {
  return `${name}-${randomUUID().slice(0, 8)}`;
}

/** A deployment in a pool of its own with a daily schedule `daily` and an hourly one `hourly`. */
async function scheduled(extra: Record<string, unknown> = {}) {
  const pool = unique('pool');
  await owner('POST', '/work-pools', { body: { name: pool } });
  const d = await deploy(owner, {
    flowName: unique('bf'),
    workPool: pool,
    parameters: { region: 'eu', day: null },
    schedules: [
      { slug: 'daily', cron: '0 6 * * *', timezone: 'America/New_York', parameters: { tier: 'gold' } },
      { slug: 'hourly', intervalSeconds: 3600 },
    ],
    ...extra,
  });
  return { pool, deploymentId: d.id as string };
}

async function activeCount(backfillId: string): Promise<number> {
  const [row] = await server.sql<{ n: number }[]>`
    SELECT count(*)::int AS n FROM flow_runs WHERE backfill_id = ${backfillId} AND state_type IN ${stateList(server.sql, HELD_STATES)}`;
  return row?.n ?? 0;
}

async function setState(runId: string, attempt: number, type: string): Promise<void> {
  const res = await worker('POST', `/flow-runs/${runId}/set-state`, {
    body: { transitionId: randomUUID(), attempt, state: { type } },
  });
  expect(res.status).toBe(200);
  expect(res.body.status).toBe('ACCEPT');
}

describe('backfills', () => {
  test('creates one run per scheduled time in [start, end) of the first schedule, keyed by the backfill, due at their times', async () => {
    const { deploymentId } = await scheduled();
    const res = await owner('POST', `/deployments/${deploymentId}/backfills`, {
      body: { start: '2025-03-05T00:00:00Z', end: '2025-03-12T00:00:00Z', maxConcurrent: 3, parameters: { day: 'x' } },
    });
    expect(res.status).toBe(201);
    const backfill = res.body;
    expect(backfill).toMatchObject({ scheduleSlug: 'daily', maxConcurrent: 3, runCount: 7, status: 'RUNNING' });
    expect(backfill.counts.SCHEDULED).toBe(7);
    const runs = await server.sql<
      { idempotency_key: string; expected_start_time: Date; parameters: unknown; backfill_id: string }[]
    >`
      SELECT idempotency_key, expected_start_time, parameters, backfill_id FROM flow_runs
      WHERE deployment_id = ${deploymentId} ORDER BY expected_start_time`;
    // 06:00 in New York: EST (11:00Z) before 2025-03-09, EDT (10:00Z) from then on.
    expect(runs.map((r) => r.expected_start_time.toISOString())).toEqual([
      '2025-03-05T11:00:00.000Z',
      '2025-03-06T11:00:00.000Z',
      '2025-03-07T11:00:00.000Z',
      '2025-03-08T11:00:00.000Z',
      '2025-03-09T10:00:00.000Z',
      '2025-03-10T10:00:00.000Z',
      '2025-03-11T10:00:00.000Z',
    ]);
    for (const r of runs) {
      expect(r.idempotency_key).toBe(`backfill:${backfill.id}:${r.expected_start_time.toISOString()}`);
      expect(r.backfill_id).toBe(backfill.id);
      expect(r.parameters).toEqual({ region: 'eu', day: 'x', tier: 'gold' });
    }
    const listed = await owner('GET', `/deployments/${deploymentId}/backfills`);
    expect(listed.body.items.map((b: { id: string }) => b.id)).toEqual([backfill.id]);
    const run = await owner('GET', `/flow-runs?deploymentId=${deploymentId}&limit=1`);
    expect(run.body.items[0].backfillId).toBe(backfill.id);
  });

  test('uses the named schedule, and refuses unknown schedules, empty ranges and more than 1,000 runs with a clear 400', async () => {
    const { deploymentId } = await scheduled();
    const hourly = await owner('POST', `/deployments/${deploymentId}/backfills`, {
      body: { schedule: 'hourly', start: '2025-01-01T00:00:00Z', end: '2025-01-01T05:00:00Z' },
    });
    expect(hourly.status).toBe(201);
    expect(hourly.body).toMatchObject({ scheduleSlug: 'hourly', runCount: 5, maxConcurrent: 1 });
    const unknown = await owner('POST', `/deployments/${deploymentId}/backfills`, {
      body: { schedule: 'weekly', start: '2025-01-01T00:00:00Z', end: '2025-01-02T00:00:00Z' },
    });
    expect(unknown.status).toBe(400);
    expect(unknown.body.errors[0].path).toBe('body.schedule');
    const tooMany = await owner('POST', `/deployments/${deploymentId}/backfills`, {
      body: { schedule: 'hourly', start: '2025-01-01T00:00:00Z', end: '2025-03-01T00:00:00Z' },
    });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.detail).toBe('a backfill creates at most 1000 runs');
    const backwards = await owner('POST', `/deployments/${deploymentId}/backfills`, {
      body: { start: '2025-01-02T00:00:00Z', end: '2025-01-01T00:00:00Z' },
    });
    expect(backwards.status).toBe(400);
    expect(backwards.body.errors[0].path).toBe('body.end');
    const empty = await owner('POST', `/deployments/${deploymentId}/backfills`, {
      body: { start: '2025-01-01T12:00:00Z', end: '2025-01-01T12:30:00Z' },
    });
    expect(empty.status).toBe(400);
    const unscheduled = await deploy(owner, { flowName: unique('plain') });
    const none = await owner('POST', `/deployments/${unscheduled.id}/backfills`, {
      body: { start: '2025-01-01T00:00:00Z', end: '2025-01-02T00:00:00Z' },
    });
    expect(none.status).toBe(400);
    const [row] = await server.sql<
      { n: number }[]
    >`SELECT count(*)::int AS n FROM backfills WHERE deployment_id = ${unscheduled.id}`;
    expect(row?.n).toBe(0);
  });

  test('never has more than maxConcurrent runs active under 6 concurrent claimers, sampled at every claim, and finishes them all', async () => {
    const { pool, deploymentId } = await scheduled();
    const created = await owner('POST', `/deployments/${deploymentId}/backfills`, {
      body: { schedule: 'hourly', start: '2025-01-01T00:00:00Z', end: '2025-01-01T20:00:00Z', maxConcurrent: 2 },
    });
    expect(created.status).toBe(201);
    const backfillId = created.body.id as string;
    const samples: number[] = [];
    let claimedTotal = 0;
    const claimer = async () => {
      const workerId = randomUUID();
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline) {
        const res = await worker('POST', `/work-pools/${pool}/claim`, { body: { workerId, limit: 2 } });
        expect(res.status).toBe(200);
        samples.push(await activeCount(backfillId));
        const runs = res.body.runs as { flowRun: { id: string; attempt: number } }[];
        claimedTotal += runs.length;
        for (const { flowRun } of runs) {
          await setState(flowRun.id, flowRun.attempt, 'RUNNING');
          samples.push(await activeCount(backfillId));
          await setState(flowRun.id, flowRun.attempt, 'COMPLETED');
        }
        const progress = await owner('GET', `/backfills/${backfillId}`);
        if (progress.body.status === 'COMPLETED') return;
        if (runs.length === 0) await new Promise((r) => setTimeout(r, 5));
      }
      throw new Error('the backfill did not finish in time');
    };
    await Promise.all(Array.from({ length: 6 }, claimer));
    expect(claimedTotal).toBe(20);
    expect(Math.max(...samples)).toBeLessThanOrEqual(2);
    expect(samples.some((n) => n === 2)).toBe(true);
    const done = await owner('GET', `/backfills/${backfillId}`);
    expect(done.body).toMatchObject({ status: 'COMPLETED', runCount: 20 });
    expect(done.body.counts.COMPLETED).toBe(20);
  });

  test('cancelling cancels the runs not yet started, keeps a running one, and the claim takes none of it afterwards', async () => {
    const { pool, deploymentId } = await scheduled();
    const created = await owner('POST', `/deployments/${deploymentId}/backfills`, {
      body: { schedule: 'hourly', start: '2025-01-01T00:00:00Z', end: '2025-01-01T05:00:00Z', maxConcurrent: 1 },
    });
    const backfillId = created.body.id as string;
    const first = await worker('POST', `/work-pools/${pool}/claim`, { body: { workerId: randomUUID(), limit: 5 } });
    expect(first.body.runs).toHaveLength(1);
    const running = first.body.runs[0].flowRun;
    await setState(running.id, running.attempt, 'RUNNING');
    const viewer = client(server, await server.createKey('viewer'));
    expect((await viewer('POST', `/backfills/${backfillId}/cancel`)).status).toBe(403);
    expect((await viewer('GET', `/backfills/${backfillId}`)).status).toBe(200);
    const cancelled = await owner('POST', `/backfills/${backfillId}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ status: 'CANCELLED' });
    expect(cancelled.body.counts).toMatchObject({ CANCELLED: 4, RUNNING: 1, SCHEDULED: 0 });
    await setState(running.id, running.attempt, 'COMPLETED');
    const after = await worker('POST', `/work-pools/${pool}/claim`, { body: { workerId: randomUUID(), limit: 5 } });
    expect(after.body.runs).toHaveLength(0);
    const other = client(server, (await server.createWorkspace()).ownerKey);
    expect((await other('GET', `/backfills/${backfillId}`)).status).toBe(404);
    expect((await other('POST', `/backfills/${backfillId}/cancel`)).status).toBe(404);
  });
});
