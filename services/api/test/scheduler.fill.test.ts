import { randomUUID } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { createLogger } from '../src/logger.js';
import { SchedulerLoop } from '../src/loops/scheduler.js';
import { claimDueRuns } from '../src/runs/db/claim.js';
import { client, deploy, scheduledRuns, unique, useDrivenLoop, useServer } from './helpers.js';

const api = useServer();
const scheduler = useDrivenLoop(() => new SchedulerLoop(api.server.sql, api.server.databaseUrl, createLogger('silent')));

const runsOf = (deploymentId: string) => scheduledRuns(api.server, deploymentId);

async function dbNow(): Promise<Date> {
  const [row] = await api.server.sql<{ now: Date }[]>`SELECT now() AS now`;
  return row?.now as Date;
}

describe('filling ahead', () => {
  test('keeps an hourly schedule at least 3 runs ahead, with keys made of its slug and time, and a second pass adds nothing', async () => {
    const d = await deploy(api.owner, { flowName: unique('hourly'), schedules: [{ slug: 'hourly', cron: '0 * * * *' }] });
    await scheduler().tick();
    const runs = await runsOf(d.id);
    const now = await dbNow();
    expect(runs).toHaveLength(3);
    for (const r of runs) {
      expect(r.expected_start_time.getTime()).toBeGreaterThan(now.getTime() - 5_000);
      expect(r.expected_start_time.getUTCMinutes()).toBe(0);
      expect(r.idempotency_key).toBe(`scheduled:hourly:${r.expected_start_time.toISOString()}`);
      expect(r.state_type).toBe('SCHEDULED');
    }
    await scheduler().tick();
    expect(await runsOf(d.id)).toHaveLength(3);
  });

  test('keeps a frequent schedule an hour ahead, and never more than 100 runs', async () => {
    const minutely = await deploy(api.owner, { flowName: unique('minutely'), schedules: [{ cron: '* * * * *' }] });
    const secondly = await deploy(api.owner, { flowName: unique('secondly'), schedules: [{ intervalSeconds: 1 }] });
    await scheduler().tick();
    const runs = await runsOf(minutely.id);
    expect(runs.length).toBeGreaterThanOrEqual(60);
    expect(runs.length).toBeLessThanOrEqual(61);
    const last = runs.at(-1)?.expected_start_time.getTime() ?? 0;
    expect(last - (await dbNow()).getTime()).toBeGreaterThanOrEqual(3_600_000 - 60_000);
    expect(await runsOf(secondly.id)).toHaveLength(100);
  });

  test("merges a schedule's parameters over the deployment's defaults", async () => {
    const d = await deploy(api.owner, {
      flowName: unique('params'),
      parameters: { region: 'eu', size: 1 },
      schedules: [{ slug: 'big', cron: '0 0 * * *', parameters: { size: 10 } }],
    });
    await scheduler().tick();
    const runs = await runsOf(d.id);
    expect(runs.length).toBe(3);
    for (const r of runs) expect(r.parameters).toEqual({ region: 'eu', size: 10 });
  });
});

describe('redeploys', () => {
  test('redeploying with another description and the schedules reordered creates no duplicate and loses no run', async () => {
    const flowName = unique('redeploy');
    const schedules = [
      { cron: '0 * * * *', timezone: 'America/New_York' },
      { intervalSeconds: 1800, anchorDate: '2024-01-01T00:10:00Z' },
    ];
    const d = await deploy(api.owner, { flowName, schedules });
    await scheduler().tick();
    const before = await runsOf(d.id);
    expect(before.length).toBeGreaterThanOrEqual(3 + 3);
    const again = await deploy(api.owner, { flowName, description: 'changed', schedules: [...schedules].reverse() });
    expect(again.id).toBe(d.id);
    const listed = await api.owner('GET', `/deployments/${d.id}/schedules`);
    expect(listed.body.items.map((s: { slug: string }) => s.slug).sort()).toHaveLength(2);
    await scheduler().tick();
    const after = await runsOf(d.id);
    expect(after.map((r) => r.id)).toEqual(expect.arrayContaining(before.map((r) => r.id)));
    expect(new Set(after.map((r) => r.idempotency_key)).size).toBe(after.length);
    expect(after.length).toBeLessThanOrEqual(before.length + 2);
  });

  test('redeploying with new default parameters updates the unclaimed scheduled runs in place', async () => {
    const flowName = unique('refresh');
    const d = await deploy(api.owner, { flowName, parameters: { v: 1 }, schedules: [{ slug: 's', cron: '0 * * * *' }] });
    await scheduler().tick();
    const before = await runsOf(d.id);
    await deploy(api.owner, { flowName, parameters: { v: 2 }, schedules: [{ slug: 's', cron: '0 * * * *' }] });
    const after = await runsOf(d.id);
    expect(after.map((r) => r.id)).toEqual(before.map((r) => r.id));
    for (const r of after) expect(r.parameters).toEqual({ v: 2 });
  });

  test('redefining a slug replaces its unclaimed runs with runs of the new definition', async () => {
    const flowName = unique('redefine');
    const d = await deploy(api.owner, { flowName, schedules: [{ slug: 's', cron: '0 * * * *' }] });
    await scheduler().tick();
    await deploy(api.owner, { flowName, schedules: [{ slug: 's', cron: '30 * * * *' }] });
    expect(await runsOf(d.id)).toHaveLength(0);
    await scheduler().tick();
    const runs = await runsOf(d.id);
    expect(runs.length).toBe(3);
    for (const r of runs) expect(r.expected_start_time.getUTCMinutes()).toBe(30);
  });

  test('removing a schedule deletes its runs nobody claimed and keeps a claimed one', async () => {
    const flowName = unique('remove');
    const pool = unique('pool');
    await api.owner('POST', '/work-pools', { body: { name: pool } });
    const d = await deploy(api.owner, {
      flowName,
      workPool: pool,
      schedules: [
        { slug: 'keep', cron: '0 0 * * *' },
        { slug: 'drop', cron: '0 * * * *' },
      ],
    });
    await scheduler().tick();
    // Make one run of "drop" due and claim it.
    const [first] = (await runsOf(d.id)).filter((r) => r.idempotency_key.startsWith('scheduled:drop:'));
    await api.server.sql`UPDATE flow_runs SET expected_start_time = now() - interval '1 second' WHERE id = ${first?.id ?? ''}`;
    const [poolRow] = await api.server.sql<{ id: string }[]>`SELECT id FROM work_pools WHERE name = ${pool}`;
    const claimed = await claimDueRuns(api.server.sql, {
      workspaceId: api.server.workspaceId,
      poolId: poolRow?.id ?? '',
      workerId: randomUUID(),
      limit: 1,
      queueNames: null,
      labels: {},
      leaseSeconds: 30,
    });
    expect(claimed.map((c) => c.id)).toEqual([first?.id]);
    await deploy(api.owner, { flowName, workPool: pool, schedules: [{ slug: 'keep', cron: '0 0 * * *' }] });
    const runs = await runsOf(d.id);
    expect(runs.filter((r) => r.idempotency_key.startsWith('scheduled:drop:')).map((r) => r.id)).toEqual([first?.id]);
    expect(runs.filter((r) => r.idempotency_key.startsWith('scheduled:keep:'))).toHaveLength(3);
    const listed = await api.owner('GET', `/deployments/${d.id}/schedules`);
    expect(listed.body.items.map((s: { slug: string }) => s.slug)).toEqual(['keep']);
  });

  test('rejects a bad cron, an unknown zone and duplicate slugs with field paths, writing nothing', async () => {
    const flowName = unique('invalid');
    const res = await api.owner('PUT', '/deployments', {
      body: {
        flowName,
        name: 'nightly',
        source: `oci://127.0.0.1:5000/acme/flows@sha256:${'a'.repeat(64)}`,
        entrypoint: 'flows/etl.js',
        workPool: 'default',
        schedules: [
          { cron: '61 * * * *' },
          { cron: '0 * * * *', timezone: 'Nowhere/City' },
          { intervalSeconds: 60 },
          { intervalSeconds: 60 },
        ],
      },
    });
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { path: string }) => e.path)).toEqual([
      'body.schedules.0.cron',
      'body.schedules.1.timezone',
      'body.schedules.3',
    ]);
    const [row] = await api.server.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM flows WHERE name = ${flowName}`;
    expect(row?.n).toBe(0);
    const both = await api.owner('PUT', '/deployments', {
      body: {
        flowName,
        name: 'x',
        source: `dir:///tmp/x`,
        entrypoint: 'e.js',
        workPool: 'default',
        schedules: [{ cron: '* * * * *', intervalSeconds: 5 }],
      },
    });
    expect(both.status).toBe(400);
    expect(both.body.errors[0].path).toBe('body.schedules.0');
  });

  test("checks each schedule's merged parameters against the deployment's parameter schema", async () => {
    const res = await api.owner('PUT', '/deployments', {
      body: {
        flowName: unique('schema'),
        name: 'd',
        source: `dir:///tmp/x`,
        entrypoint: 'e.js',
        workPool: 'default',
        parameterSchema: { type: 'object', properties: { n: { type: 'integer' } } },
        parameters: { n: 1 },
        schedules: [{ cron: '0 * * * *' }, { cron: '0 0 * * *', parameters: { n: 'ten' } }],
      },
    });
    expect(res.status).toBe(400);
    expect(res.body.errors[0].path).toMatch(/^body\.schedules\.1\.parameters/);
  });
});

test('a manual run may not use an idempotency key of the scheduler or of a backfill', async () => {
  const d = await deploy(api.owner, { flowName: unique('reserved'), schedules: [{ slug: 's', cron: '0 * * * *' }] });
  for (const key of ['scheduled:s:2030-01-01T00:00:00.000Z', 'backfill:x']) {
    const res = await api.owner('POST', `/deployments/${d.id}/runs`, { body: {}, headers: { 'idempotency-key': key } });
    expect(res.status).toBe(400);
    expect(res.body.errors[0].path).toBe('headers.idempotency-key');
  }
  expect(
    (await api.owner('POST', `/deployments/${d.id}/runs`, { body: {}, headers: { 'idempotency-key': 'mine:1' } })).status,
  ).toBe(201);
});

describe('concurrent passes', () => {
  test('four passes running at once create exactly one run per scheduled time', async () => {
    const from = (await dbNow()).getTime();
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      const d = await deploy(api.owner, {
        flowName: unique('race'),
        schedules: [{ cron: '*/5 * * * *' }, { intervalSeconds: 600 }],
      });
      ids.push(d.id);
    }
    const loops = Array.from(
      { length: 4 },
      () => new SchedulerLoop(api.server.sql, api.server.databaseUrl, createLogger('silent'), { batchSize: 7 }),
    );
    await Promise.all(loops.map((l) => l.tick()));
    await Promise.all(loops.map((l) => l.tick()));
    const to = (await dbNow()).getTime();
    // A mark passing while the passes run lets a later pass add that schedule's next time: one run more.
    const crossed = (step: number) => (Math.floor(to / step) > Math.floor(from / step) ? 1 : 0);
    for (const id of ids) {
      const runs = await runsOf(id);
      expect(new Set(runs.map((r) => r.idempotency_key)).size).toBe(runs.length);
      // Each schedule's times are consecutive (none lost) and cover an hour: 12 or 13 every 5 minutes, 6 or 7 every 10.
      for (const [kind, step, min] of [
        [':cron-', 300_000, 12],
        [':interval-', 600_000, 6],
      ] as const) {
        const times = runs.filter((r) => r.idempotency_key.includes(kind)).map((r) => r.expected_start_time.getTime());
        expect(times.length).toBeGreaterThanOrEqual(min);
        expect(times.length).toBeLessThanOrEqual(min + 1 + crossed(step));
        for (let i = 1; i < times.length; i++) expect((times[i] ?? 0) - (times[i - 1] ?? 0)).toBe(step);
      }
    }
  });
});

describe('pausing', () => {
  test('a paused deployment gets no new runs and loses its unclaimed ones; resuming fills it again', async () => {
    const d = await deploy(api.owner, { flowName: unique('pause'), schedules: [{ cron: '0 * * * *' }] });
    await scheduler().tick();
    expect(await runsOf(d.id)).toHaveLength(3);
    const paused = await api.owner('POST', `/deployments/${d.id}/pause`);
    expect(paused.status).toBe(200);
    expect(paused.body.paused).toBe(true);
    expect(await runsOf(d.id)).toHaveLength(0);
    await scheduler().tick();
    expect(await runsOf(d.id)).toHaveLength(0);
    const resumed = await api.owner('POST', `/deployments/${d.id}/resume`);
    expect(resumed.body.paused).toBe(false);
    await scheduler().tick();
    expect(await runsOf(d.id)).toHaveLength(3);
  });

  test("a paused deployment's manual runs are not claimed until it resumes", async () => {
    const pool = unique('pool');
    await api.owner('POST', '/work-pools', { body: { name: pool } });
    const d = await deploy(api.owner, { flowName: unique('manual'), workPool: pool });
    await api.owner('POST', `/deployments/${d.id}/pause`);
    const created = await api.owner('POST', `/deployments/${d.id}/runs`, { body: {} });
    expect(created.status).toBe(201);
    const worker = await api.server.createKey('worker');
    const call = client(api.server, worker);
    const first = await call('POST', `/work-pools/${pool}/claim`, { body: { workerId: randomUUID(), limit: 5 } });
    expect(first.body.runs).toHaveLength(0);
    await api.owner('POST', `/deployments/${d.id}/resume`);
    const second = await call('POST', `/work-pools/${pool}/claim`, { body: { workerId: randomUUID(), limit: 5 } });
    expect(second.body.runs.map((r: { flowRun: { id: string } }) => r.flowRun.id)).toEqual([created.body.flowRun.id]);
  });

  test('pausing one schedule deletes its unclaimed runs and stops it; resuming fills it from now', async () => {
    const d = await deploy(api.owner, {
      flowName: unique('pause-one'),
      schedules: [
        { slug: 'a', cron: '0 * * * *' },
        { slug: 'b', cron: '0 0 * * *' },
      ],
    });
    await scheduler().tick();
    const off = await api.owner('PATCH', `/deployments/${d.id}/schedules/a`, { body: { active: false } });
    expect(off.status).toBe(200);
    expect(off.body).toMatchObject({ slug: 'a', active: false, filledUntil: null });
    await scheduler().tick();
    const runs = await runsOf(d.id);
    expect(runs.filter((r) => r.idempotency_key.startsWith('scheduled:a:'))).toHaveLength(0);
    expect(runs.filter((r) => r.idempotency_key.startsWith('scheduled:b:'))).toHaveLength(3);
    const on = await api.owner('PATCH', `/deployments/${d.id}/schedules/a`, { body: { active: true } });
    expect(on.body.active).toBe(true);
    await scheduler().tick();
    expect((await runsOf(d.id)).filter((r) => r.idempotency_key.startsWith('scheduled:a:'))).toHaveLength(3);
    expect((await api.owner('PATCH', `/deployments/${d.id}/schedules/zzz`, { body: { active: true } })).status).toBe(404);
  });

  test('viewers read schedules but may not pause; another workspace sees none of it', async () => {
    const d = await deploy(api.owner, { flowName: unique('roles'), schedules: [{ slug: 'a', cron: '0 * * * *' }] });
    const viewer = client(api.server, await api.server.createKey('viewer'));
    expect((await viewer('GET', `/deployments/${d.id}/schedules`)).status).toBe(200);
    expect((await viewer('POST', `/deployments/${d.id}/pause`)).status).toBe(403);
    expect((await viewer('PATCH', `/deployments/${d.id}/schedules/a`, { body: { active: false } })).status).toBe(403);
    const other = client(api.server, (await api.server.createWorkspace()).ownerKey);
    expect((await other('GET', `/deployments/${d.id}/schedules`)).status).toBe(404);
    expect((await other('POST', `/deployments/${d.id}/pause`)).status).toBe(404);
  });
});

describe('catch-up after an outage', () => {
  /** An hourly interval schedule whose mark is set 5½ hours back, as if no scheduler had run since. */
  async function outage(catchup: 'all' | 'latest' | 'none') {
    const d = await deploy(api.owner, {
      flowName: unique(`catchup-${catchup}`),
      schedules: [{ slug: 's', intervalSeconds: 3600, catchup }],
    });
    await api.server.sql`
      UPDATE deployment_schedules SET filled_until = now() - interval '5 hours 30 minutes', next_fill_at = now()
      WHERE deployment_id = ${d.id}`;
    await scheduler().tick();
    const now = await dbNow();
    const runs = await runsOf(d.id);
    return {
      missed: runs.filter((r) => r.expected_start_time <= now),
      future: runs.filter((r) => r.expected_start_time > now),
      deploymentId: d.id as string,
    };
  }

  test('latest creates only the most recent missed run', async () => {
    const { missed, future } = await outage('latest');
    expect(missed).toHaveLength(1);
    expect((await dbNow()).getTime() - (missed[0]?.expected_start_time.getTime() ?? 0)).toBeLessThan(3_600_000);
    expect(future).toHaveLength(3);
  });

  test('none creates no missed run, and a later pass does not bring them back', async () => {
    const { missed, future, deploymentId } = await outage('none');
    expect(missed).toHaveLength(0);
    expect(future).toHaveLength(3);
    await api.server
      .sql`UPDATE deployment_schedules SET next_fill_at = now(), catchup = 'all' WHERE deployment_id = ${deploymentId}`;
    await scheduler().tick();
    expect((await runsOf(deploymentId)).filter((r) => r.expected_start_time <= new Date())).toHaveLength(0);
  });

  test('all creates every missed run', async () => {
    const { missed, future } = await outage('all');
    expect(missed.length).toBeGreaterThanOrEqual(5);
    expect(missed.length).toBeLessThanOrEqual(6);
    expect(future).toHaveLength(3);
  });
});
