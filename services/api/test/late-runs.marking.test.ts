import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, expect, test } from 'vitest';
import { createLogger } from '../src/logger.js';
import { LateRunsLoop } from '../src/loops/late-runs.js';
import { claim, deploy, eventually, useServer } from './helpers.js';

const loops: LateRunsLoop[] = [];

function newLoop(): LateRunsLoop {
  const loop = new LateRunsLoop(api.server.sql, api.server.databaseUrl, createLogger('silent'), { idleMs: 50, busyMs: 10 });
  loops.push(loop);
  return loop;
}

const api = useServer();

afterAll(async () => {
  await Promise.all(loops.map((l) => l.stop()));
});

async function freshDeployment(overrides: Record<string, unknown> = {}) {
  const pool = `late-${randomUUID().slice(0, 8)}`;
  await api.owner('POST', '/work-pools', { body: { name: pool } });
  const d = await deploy(api.owner, { flowName: pool, name: 'd', workPool: pool, ...overrides });
  return { pool, deploymentId: d.id as string };
}

async function runDue(deploymentId: string, secondsAgo: number): Promise<string> {
  const scheduledTime = new Date(Date.now() - secondsAgo * 1000).toISOString();
  const res = await api.owner('POST', `/deployments/${deploymentId}/runs`, { body: { scheduledTime } });
  expect(res.status).toBe(201);
  return res.body.flowRun.id;
}

async function history(runId: string): Promise<string[]> {
  const res = await api.owner('GET', `/flow-runs/${runId}/states`);
  return res.body.items.map((s: { state: { type: string; name: string } }) => `${s.state.type}/${s.state.name}`);
}

test('an unclaimed run 15 s past its time becomes Late once; earlier, future and waiting-for-a-slot runs do not', async () => {
  const { deploymentId } = await freshDeployment({ concurrencyLimit: 0 });
  const late = await runDue(deploymentId, 60);
  const recent = await runDue(deploymentId, 5);
  const future = await runDue(deploymentId, -3600);
  const waiting = await runDue(deploymentId, 120);
  await api.server.sql`UPDATE flow_runs SET state_name = 'AwaitingConcurrencySlot' WHERE id = ${waiting}`;

  const loop = newLoop();
  expect(await loop.tick()).toBeGreaterThanOrEqual(1);
  const run = (await api.owner('GET', `/flow-runs/${late}`)).body;
  expect(run.state).toMatchObject({ type: 'SCHEDULED', name: 'Late', message: 'not claimed within 15 s of its scheduled time' });
  expect(await history(late)).toEqual(['SCHEDULED/Scheduled', 'SCHEDULED/Late']);
  await loop.tick();
  expect(await history(late)).toEqual(['SCHEDULED/Scheduled', 'SCHEDULED/Late']);
  for (const id of [recent, future]) expect(await history(id)).toEqual(['SCHEDULED/Scheduled']);
  expect((await api.owner('GET', `/flow-runs/${waiting}`)).body.state.name).toBe('AwaitingConcurrencySlot');
});

test('a Late run is still claimed like any due run', async () => {
  const { pool, deploymentId } = await freshDeployment();
  const id = await runDue(deploymentId, 30);
  await newLoop().tick();
  expect((await api.owner('GET', `/flow-runs/${id}`)).body.state.name).toBe('Late');
  const [claimed] = await claim(api.owner, pool);
  expect(claimed.flowRun).toMatchObject({ id, state: { type: 'PENDING' } });
});

test('two loops ticking at once over the same late runs record one Late per run', async () => {
  const { deploymentId } = await freshDeployment();
  const ids: string[] = [];
  for (let i = 0; i < 40; i++) ids.push(await runDue(deploymentId, 30));
  const [a, b] = [newLoop(), newLoop()];
  await Promise.all([a.tick(), b.tick(), a.tick(), b.tick()]);
  const counts = await api.server.sql<{ flow_run_id: string; n: number }[]>`
    SELECT flow_run_id, count(*)::int AS n FROM flow_run_states
    WHERE flow_run_id = ANY(${api.server.sql.array(ids)}::uuid[]) AND name = 'Late'
    GROUP BY flow_run_id`;
  expect(counts).toHaveLength(40);
  expect(counts.every((c) => c.n === 1)).toBe(true);
});

test('a run being claimed while the loop looks is never marked Late', async () => {
  const { deploymentId } = await freshDeployment();
  const id = await runDue(deploymentId, 30);
  const claimer = postgres(api.server.databaseUrl, { max: 1, onnotice: () => {} });
  try {
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let locked: () => void = () => {};
    const isLocked = new Promise<void>((resolve) => {
      locked = resolve;
    });
    // A claim in flight: it holds the run's row lock, and commits PENDING only after the loop looked.
    const claiming = claimer.begin(async (tx) => {
      await tx`SELECT id FROM flow_runs WHERE id = ${id} FOR UPDATE`;
      locked();
      await held;
      await tx`UPDATE flow_runs SET state_type = 'PENDING', state_name = 'Pending', worker_id = ${randomUUID()},
                 lease_expires_at = now() + interval '30 seconds' WHERE id = ${id}`;
      await tx`INSERT INTO flow_run_states (workspace_id, flow_run_id, attempt, type, name)
               VALUES (${api.server.workspaceId}, ${id}, 1, 'PENDING', 'Pending')`;
    });
    await isLocked;
    const ticking = newLoop().tick();
    // The tick is waiting on the claim's row lock (its proposal locks the run), not finished.
    await eventually(
      async () => {
        const [row] = await api.server.sql<{ waiting: number }[]>`
          SELECT count(*)::int AS waiting FROM pg_stat_activity
          WHERE datname = current_database() AND wait_event_type = 'Lock' AND wait_event IN ('transactionid', 'tuple')`;
        return (row?.waiting ?? 0) > 0 ? true : undefined;
      },
      10_000,
      'the late loop to wait on the claimed row',
    );
    release();
    await claiming;
    expect(await ticking).toBe(0);
    expect(await history(id)).toEqual(['SCHEDULED/Scheduled', 'PENDING/Pending']);
  } finally {
    await claimer.end({ timeout: 5 });
  }
});

test('started loops mark late runs in the background, one replica at a time', async () => {
  const { deploymentId } = await freshDeployment();
  const id = await runDue(deploymentId, 30);
  const [a, b] = [newLoop(), newLoop()];
  a.start();
  b.start();
  await eventually(
    async () => ((await api.owner('GET', `/flow-runs/${id}`)).body.state.name === 'Late' ? true : undefined),
    10_000,
    'the run to be marked Late',
  );
  const leaders = await api.server.sql<{ n: number }[]>`
    SELECT count(*)::int AS n FROM pg_locks l JOIN pg_stat_activity s ON s.pid = l.pid
    WHERE l.locktype = 'advisory' AND l.granted AND s.application_name = 'outpost-leader-late-runs'
      AND s.datname = current_database()`;
  expect(leaders[0]?.n).toBe(1);
  await Promise.all([a.stop(), b.stop()]);
  expect(await history(id)).toEqual(['SCHEDULED/Scheduled', 'SCHEDULED/Late']);
});
