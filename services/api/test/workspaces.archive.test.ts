import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CompiledCache } from '../src/automations/compile.js';
import { AutomationEngine } from '../src/automations/engine.js';
import { CelSandbox } from '../src/cel/sandbox.js';
import { archiveWorkspaceIn } from '../src/identity/organisations.js';
import { createLogger } from '../src/logger.js';
import { BackfillLoop } from '../src/loops/backfills.js';
import { SchedulerLoop } from '../src/loops/scheduler.js';
import { automationPass } from '../src/materialization/automation-pass.js';
import type { TestWorkspace } from '../src/testing/index.js';
import { asset, assetWorld, deployed } from './assets.support.js';
import { scheduledDeployment, setState, start } from './backfill.support.js';
import { drainAutomations, emitEvent } from './events.support.js';
import { type Call, client, deploy, startedRun, unique, useServer } from './helpers.js';

/*
 * An archived workspace keeps its history readable and takes no new work: its schedules, automations,
 * backfills, asset automation and sensors stop, and its keys' changes and claims are refused. The
 * loops are driven here pass by pass, as the scheduler's, backfills' and automations' own suites do.
 *
 * The archive is the statement the archive route makes (archiveWorkspaceIn), without the route.
 * The app believes an API key it verified for a few seconds (API_KEY_CACHE_MS), and only the route
 * empties that cache; so a key whose refusal a test asserts is one the app has not seen before the archive.
 */

const logger = createLogger('silent');
let scheduler: SchedulerLoop;
let backfills: BackfillLoop;
let sandbox: CelSandbox;
let engine: AutomationEngine;

const api = useServer();

beforeAll(async () => {
  scheduler = new SchedulerLoop(api.server.sql, api.server.databaseUrl, logger);
  backfills = new BackfillLoop(api.server.sql, api.server.databaseUrl, logger, null);
  sandbox = new CelSandbox({ threads: 1 });
  engine = new AutomationEngine(new CompiledCache(), { batchSize: 500, sandbox });
});
afterAll(async () => {
  await scheduler?.stop();
  await backfills?.stop();
  await sandbox?.close();
});

async function archive(workspaceId: string): Promise<void> {
  expect(await api.server.sql.begin((tx) => archiveWorkspaceIn(tx, workspaceId, true))).toBe(true);
}

async function restore(workspaceId: string): Promise<void> {
  expect(await api.server.sql.begin((tx) => archiveWorkspaceIn(tx, workspaceId, false))).toBe(true);
}

/** A fresh workspace and a caller with its owner key. */
async function workspace(): Promise<{ ws: TestWorkspace; owner: Call }> {
  const ws = await api.server.createWorkspace();
  return { ws, owner: client(api.server, ws.ownerKey) };
}

async function runsOf(deploymentId: string): Promise<{ id: string; idempotency_key: string | null }[]> {
  return api.server.sql`SELECT id, idempotency_key FROM flow_runs WHERE deployment_id = ${deploymentId} ORDER BY created_at, id`;
}

describe('the scheduler', () => {
  test("archiving drops the runs a workspace's schedules made that nobody started, its schedules make none while another workspace's do, and they fill again from now once it is restored", async () => {
    const active = await workspace();
    const archived = await workspace();
    const schedules = [{ slug: 'hourly', cron: '0 * * * *' }];
    const stopped = await deploy(archived.owner, { flowName: unique('hourly'), schedules });
    await scheduler.tick();
    expect(await runsOf(stopped.id)).toHaveLength(3);
    const kept = await deploy(active.owner, { flowName: unique('hourly'), schedules });
    await archive(archived.ws.workspaceId);
    expect(await runsOf(stopped.id)).toEqual([]);

    await scheduler.tick();
    expect(await runsOf(kept.id)).toHaveLength(3);
    expect(await runsOf(stopped.id)).toEqual([]);
    await scheduler.tick();
    expect(await runsOf(stopped.id)).toEqual([]);

    await restore(archived.ws.workspaceId);
    await scheduler.tick();
    const runs = await runsOf(stopped.id);
    expect(runs).toHaveLength(3);
    for (const run of runs) expect(run.idempotency_key).toMatch(/^scheduled:hourly:/);
  });
});

describe('automations', () => {
  const emit = (workspaceId: string, kind: string, payload: Record<string, unknown> = {}) =>
    emitEvent(api.server.sql, workspaceId, kind, payload);

  const drain = () => drainAutomations(engine, api.server.sql);

  async function createAutomation(owner: Call, body: Record<string, unknown>): Promise<string> {
    const res = await owner('POST', '/automations', { body: { name: unique('a'), ...body } });
    expect(res.status, res.text).toBe(201);
    return res.body.id;
  }

  async function firings(automationId: string): Promise<{ key: string }[]> {
    return api.server.sql`SELECT key FROM automation_firings WHERE automation_id = ${automationId} ORDER BY fired_at, id`;
  }

  test('an event-triggered automation of an archived workspace does not fire on its events, and fires on new ones once it is restored', async () => {
    const kind = `archive.${randomUUID().slice(0, 8)}`;
    const setUp = async () => {
      const w = await workspace();
      const d = await deploy(w.owner, { flowName: unique('react') });
      const automation = await createAutomation(w.owner, {
        trigger: { type: 'event', match: `event.kind == "${kind}"` },
        actions: [{ type: 'run-deployment', deployment: `${d.flowName}/${d.name}` }],
      });
      return { ...w, deploymentId: d.id as string, automation };
    };
    const active = await setUp();
    const archived = await setUp();
    await archive(archived.ws.workspaceId);

    // Events still come from an archived workspace (runs under way report to the end).
    const heard = await emit(active.ws.workspaceId, kind);
    await emit(archived.ws.workspaceId, kind);
    await drain();
    expect((await firings(active.automation)).map((f) => f.key)).toEqual([`event:${heard}`]);
    expect(await runsOf(active.deploymentId)).toHaveLength(1);
    expect(await firings(archived.automation)).toEqual([]);
    expect(await runsOf(archived.deploymentId)).toEqual([]);

    // Restored, it reacts to what happens from then on; the event of the archived time is not replayed.
    await restore(archived.ws.workspaceId);
    await drain();
    expect(await firings(archived.automation)).toEqual([]);
    const later = await emit(archived.ws.workspaceId, kind);
    await drain();
    expect((await firings(archived.automation)).map((f) => f.key)).toEqual([`event:${later}`]);
    expect(await runsOf(archived.deploymentId)).toHaveLength(1);
  });

  test('a window of an archived workspace that closes meanwhile is dropped without firing, and does not fire once the workspace is restored', async () => {
    const { ws, owner } = await workspace();
    const pool = unique('pool');
    expect((await owner('POST', '/work-pools', { body: { name: pool } })).status).toBe(201);
    const automation = await createAutomation(owner, {
      trigger: {
        type: 'proactive',
        after: 'event.kind == "job.started"',
        expect: 'event.kind == "job.finished"',
        withinSeconds: 3600,
      },
      actions: [{ type: 'pause-pool', pool }],
    });
    await emit(ws.workspaceId, 'job.started');
    await drain();
    const windows = () =>
      api.server.sql<{ status: string }[]>`SELECT status FROM automation_windows WHERE automation_id = ${automation}`;
    expect(await windows()).toEqual([{ status: 'OPEN' }]);

    await archive(ws.workspaceId);
    // The window's hour is over, as it would be after an hour of archive.
    await api.server
      .sql`UPDATE automation_windows SET closes_at = now() - interval '1 second' WHERE automation_id = ${automation}`;
    await drain();
    expect(await windows()).toEqual([]);
    expect(await firings(automation)).toEqual([]);

    await restore(ws.workspaceId);
    await drain();
    expect(await firings(automation)).toEqual([]);
    const [row] = await api.server.sql<{ paused: boolean }[]>`
      SELECT paused FROM work_pools WHERE workspace_id = ${ws.workspaceId} AND name = ${pool}`;
    expect(row?.paused).toBe(false);
  });
});

describe('backfills and asset automation', () => {
  test('a backfill of an archived workspace creates no further run, and goes on once the workspace is restored', async () => {
    const { ws, owner } = await workspace();
    const worker = client(api.server, await ws.createKey('worker'));
    const { pool, deploymentId } = await scheduledDeployment(owner);
    const created = await owner('POST', `/deployments/${deploymentId}/backfills`, {
      body: { start: '2025-01-01T00:00:00Z', end: '2025-01-01T03:00:00Z', maxConcurrent: 1 },
    });
    expect(created.status, created.text).toBe(201);
    const backfillId: string = created.body.id;
    // The first run, made when the backfill was created, finishes: the next pass has room for one more.
    const [first] = await start(worker, pool, 1);
    await setState(worker, first?.id as string, first?.attempt as number, 'COMPLETED');
    const backfill = async () => {
      const [row] = await api.server.sql<{ status: string; position: number; run_count: number }[]>`
        SELECT status, position, run_count FROM backfills WHERE id = ${backfillId}`;
      return row;
    };
    expect(await backfill()).toMatchObject({ status: 'RUNNING', position: 1, run_count: 1 });

    const runs = async () => {
      const [row] = await api.server.sql<
        { n: number }[]
      >`SELECT count(*)::int AS n FROM flow_runs WHERE backfill_id = ${backfillId}`;
      return row?.n;
    };

    await archive(ws.workspaceId);
    await backfills.tick();
    expect(await backfill()).toMatchObject({ status: 'RUNNING', position: 1, run_count: 1 });
    expect(await runs()).toBe(1);

    await restore(ws.workspaceId);
    await backfills.tick();
    expect(await backfill()).toMatchObject({ status: 'RUNNING', position: 2, run_count: 2 });
    expect(await runs()).toBe(2);
  });

  test('the asset automation requests no run in an archived workspace, and requests it once the workspace is restored', async () => {
    const world = await assetWorld(api.server);
    await deployed(world, [asset('raw', { automation: { onMissing: true } })]);
    const runs = () => api.server.sql`SELECT id FROM flow_runs WHERE workspace_id = ${world.ws.workspaceId}`;
    await archive(world.ws.workspaceId);
    await automationPass(api.server.sql, logger);
    expect(await runs()).toHaveLength(0);

    await restore(world.ws.workspaceId);
    await automationPass(api.server.sql, logger);
    expect(await runs()).toHaveLength(1);
  });
});

describe('sensors', () => {
  test('a tick claimed before the archive and reported after it starts no run and keeps the cursor, and a claim after it is refused', async () => {
    const { ws, owner } = await workspace();
    const pool = unique('sense');
    expect((await owner('POST', '/work-pools', { body: { name: pool } })).status).toBe(201);
    const d = await deploy(owner, {
      flowName: pool,
      name: 'd',
      workPool: pool,
      sensors: [{ name: 'files', intervalSeconds: 30 }],
    });
    const worker = client(api.server, await ws.createKey('worker'));
    const workerId = randomUUID();
    const claimed = await worker('POST', `/work-pools/${pool}/sensor-ticks/claim`, { body: { workerId, limit: 1 } });
    expect(claimed.status, claimed.text).toBe(200);
    const tickId: string = claimed.body.ticks[0].tickId;

    await archive(ws.workspaceId);
    const reported = await worker('POST', `/work-pools/${pool}/sensor-ticks/${tickId}/complete`, {
      body: {
        workerId,
        outcome: { status: 'ok', result: { runRequests: [{ runKey: 'a.csv' }, { runKey: 'b.csv' }], cursor: 'b.csv' } },
      },
    });
    expect(reported.status, reported.text).toBe(200);
    expect(reported.body).toMatchObject({ status: 'SKIPPED', runs: [], cursorBefore: null, cursorAfter: null });
    expect(reported.body.skipReason).toMatch(/^the workspace is archived: 2 run requests were not started/);
    expect(await runsOf(d.id)).toEqual([]);
    const [sensor] = await api.server.sql<{ cursor: string | null }[]>`SELECT cursor FROM sensors WHERE deployment_id = ${d.id}`;
    expect(sensor?.cursor).toBeNull();

    // Made due again, the sensor is still not handed out: a fresh key of the archived workspace cannot claim.
    await api.server.sql`UPDATE sensors SET next_tick_at = now() WHERE deployment_id = ${d.id}`;
    const fresh = client(api.server, await ws.createKey('worker'));
    const refused = await fresh('POST', `/work-pools/${pool}/sensor-ticks/claim`, { body: { workerId, limit: 1 } });
    expect(refused.status).toBe(409);
  });
});

describe('runs under way', () => {
  test('a run under way in an archived workspace reports to its end, but starts no run of another deployment', async () => {
    const { owner } = await workspace();
    await deploy(owner, { flowName: 'train', name: 'gpu' });
    const run = await startedRun(api.server, owner);
    const [place] = await api.server.sql<{ workspace_id: string }[]>`SELECT workspace_id FROM flow_runs WHERE id = ${run.id}`;
    await archive(place?.workspace_id ?? '');
    const started = await run.asRun('POST', `/flow-runs/${run.id}/deployment-runs`, {
      body: { deployment: 'train/gpu', parameters: {}, key: 'k-1' },
    });
    expect(started.status).toBe(409);
    expect(started.body.detail).toContain('this workspace is archived');
    const done = await run.asRun('POST', `/flow-runs/${run.id}/set-state`, {
      body: { transitionId: randomUUID(), state: { type: 'COMPLETED' } },
    });
    expect(done.status, done.text).toBe(200);
    expect(done.body.status).toBe('ACCEPT');
  });
});

describe('the HTTP layer', () => {
  test("an archived workspace's owner key is refused mutations and new work with a 409, reads with 200, and its heartbeat and the polls of runs under way are taken", async () => {
    const active = await workspace();
    const archived = await workspace();
    await archive(archived.ws.workspaceId);
    const workerId = randomUUID();
    const heartbeat = { workerId, name: 'w', capacity: 1, runs: [] };

    // The same calls from a workspace that is not archived pass.
    expect((await active.owner('POST', '/work-pools', { body: { name: unique('pool') } })).status).toBe(201);
    expect((await active.owner('POST', '/work-pools/default/claim', { body: { workerId, limit: 1 } })).status).toBe(200);

    const created = await archived.owner('POST', '/work-pools', { body: { name: unique('pool') } });
    expect(created.status).toBe(409);
    expect(created.body.detail).toMatch(/this workspace is archived/);
    for (const path of ['/work-pools/default/claim', '/work-pools/default/sensor-ticks/claim']) {
      const res = await archived.owner('POST', path, { body: { workerId, limit: 1 } });
      expect(res.status, path).toBe(409);
    }
    // Polling the external jobs of runs under way is part of finishing them.
    const polls = await archived.owner('POST', '/work-pools/default/external-polls/claim', { body: { workerId, limit: 1 } });
    expect(polls.status, polls.text).toBe(200);
    expect((await archived.owner('GET', '/work-pools')).status).toBe(200);
    expect((await archived.owner('GET', '/work-pools/default')).status).toBe(200);
    expect((await archived.owner('GET', '/flow-runs')).status).toBe(200);
    const beat = await archived.owner('POST', '/work-pools/default/workers/heartbeat', { body: heartbeat });
    expect(beat.status, beat.text).toBe(200);
  });
});
