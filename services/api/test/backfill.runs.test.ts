import { beforeAll, describe, expect, test } from 'vitest';
import { hourlyBackfill, runsPerKey, sampler, scheduledDeployment, setState, start } from './backfill.support.js';
import { type Call, client, deploy, eventually, unique, useServer } from './helpers.js';

/*
 * Lazy backfills through the API with the loops on. The backfill loop's own tick is an hour here,
 * so every run after the first batch is created because a finished run woke the loop (NOTIFY on
 * outpost_backfills), never because the interval came round.
 */

let worker: Call;

const api = useServer({ backfills: { idleMs: 3_600_000, busyMs: 3_600_000 } });

beforeAll(async () => {
  worker = client(api.server, await api.server.createKey('worker'));
});

async function backfill(id: string) {
  const res = await api.owner('GET', `/backfills/${id}`);
  expect(res.status).toBe(200);
  return res.body;
}

/** Takes the pool's runs through RUNNING to an end, `outcome` choosing it, until the backfill is no longer RUNNING. */
async function drive(
  pool: string,
  backfillId: string,
  outcome: (key: string | null) => 'COMPLETED' | 'FAILED' = () => 'COMPLETED',
) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const runs = await start(worker, pool, 10);
    for (const run of runs) await setState(worker, run.id, run.attempt, outcome(run.partitionKey));
    const b = await backfill(backfillId);
    if (b.status !== 'RUNNING') return b;
    if (Date.now() > deadline) throw new Error(`backfill ${backfillId} did not finish: ${JSON.stringify(b.partitions)}`);
    if (runs.length === 0) await new Promise((r) => setTimeout(r, 5));
  }
}

describe("backfills over a schedule's times", () => {
  test('creates maxConcurrent runs at once and the next only as earlier ones finish, never more in flight nor more partition rows than runs', async () => {
    const { pool, deploymentId } = await scheduledDeployment(api.owner);
    const res = await api.owner('POST', `/deployments/${deploymentId}/backfills`, {
      body: { start: '2025-01-01T00:00:00Z', end: '2025-01-02T16:00:00Z', maxConcurrent: 3, parameters: { day: 'x' } },
    });
    expect(res.status).toBe(201);
    const id = res.body.id as string;
    expect(res.body).toMatchObject({
      target: 'deployment',
      scheduleSlug: 'hourly',
      maxConcurrent: 3,
      runCount: 3,
      status: 'RUNNING',
      selection: { times: { start: '2025-01-01T00:00:00.000Z', end: '2025-01-02T16:00:00.000Z' } },
      partitions: { total: 40, notStarted: 37, PENDING: 3, RUNNING: 0, COMPLETED: 0 },
    });
    const watch = sampler(api.server.sql, id);
    const done = await drive(pool, id);
    const samples = await watch.stop();
    expect(samples.length).toBeGreaterThan(20);
    for (const s of samples) {
      expect(s.inFlight).toBeLessThanOrEqual(3);
      expect(s.rows).toBe(s.runs);
      expect(s.rowsInFlight).toBe(s.inFlight);
    }
    expect(samples.some((s) => s.inFlight === 3)).toBe(true);
    expect(done).toMatchObject({ status: 'COMPLETED', runCount: 40, partitions: { total: 40, notStarted: 0, COMPLETED: 40 } });
    expect(done.counts.COMPLETED).toBe(40);
    expect(done.finishedAt).not.toBeNull();
    const perKey = await runsPerKey(api.server.sql, id);
    expect(perKey.size).toBe(40);
    expect([...perKey.values()].every((n) => n === 1)).toBe(true);
    const runs = await api.server.sql<{ idempotency_key: string; scheduled_time: Date; parameters: unknown }[]>`
      SELECT idempotency_key, scheduled_time, parameters FROM flow_runs WHERE backfill_id = ${id} ORDER BY scheduled_time`;
    expect(runs[0]?.scheduled_time.toISOString()).toBe('2025-01-01T00:00:00.000Z');
    expect(runs.at(-1)?.scheduled_time.toISOString()).toBe('2025-01-02T15:00:00.000Z');
    for (const r of runs) {
      expect(r.idempotency_key).toBe(`backfill:${id}:${r.scheduled_time.toISOString()}`);
      expect(r.parameters).toEqual({ region: 'eu', day: 'x', tier: 'gold' });
    }
  });

  test('refuses unknown schedules, reversed or empty ranges, a range and partitions together, and a deployment without schedules, writing nothing', async () => {
    const { deploymentId } = await scheduledDeployment(api.owner);
    const cases: [Record<string, unknown>, string][] = [
      [{ schedule: 'weekly', start: '2025-01-01T00:00:00Z', end: '2025-01-02T00:00:00Z' }, 'body.schedule'],
      [{ start: '2025-01-02T00:00:00Z', end: '2025-01-01T00:00:00Z' }, 'body.end'],
      [{ start: '2025-01-01T00:10:00Z', end: '2025-01-01T00:30:00Z' }, 'body.start'],
      [{ start: '2025-01-01T00:00:00Z' }, 'body.end'],
      [{ start: '2025-01-01T00:00:00Z', end: '2025-01-02T00:00:00Z', partitions: { all: true } }, 'body.partitions'],
      [{ partitions: { all: true } }, 'body'],
    ];
    for (const [body, path] of cases) {
      const refused = await api.owner('POST', `/deployments/${deploymentId}/backfills`, { body });
      expect(refused.status, JSON.stringify(body)).toBe(400);
      expect(refused.body.errors[0].path, JSON.stringify(body)).toBe(path);
    }
    const unscheduled = await deploy(api.owner, { flowName: unique('plain') });
    const none = await api.owner('POST', `/deployments/${unscheduled.id}/backfills`, {
      body: { start: '2025-01-01T00:00:00Z', end: '2025-01-02T00:00:00Z' },
    });
    expect(none.status).toBe(400);
    const [row] = await api.server.sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM backfills WHERE deployment_id IN (${deploymentId}, ${unscheduled.id})`;
    expect(row?.n).toBe(0);
  });

  test('covers more than the old 1,000-run cap while writing only the runs it started', async () => {
    const { deploymentId } = await scheduledDeployment(api.owner);
    const res = await api.owner('POST', `/deployments/${deploymentId}/backfills`, {
      body: { start: '2024-01-01T00:00:00Z', end: '2025-01-01T00:00:00Z', maxConcurrent: 5 },
    });
    expect(res.status).toBe(201);
    expect(res.body.partitions).toMatchObject({ total: 8784, notStarted: 8779, PENDING: 5 });
    const [row] = await api.server.sql<{ runs: number; rows: number }[]>`
      SELECT (SELECT count(*)::int FROM flow_runs WHERE backfill_id = ${res.body.id}) AS runs,
             (SELECT count(*)::int FROM backfill_partitions WHERE backfill_id = ${res.body.id}) AS rows`;
    expect(row).toEqual({ runs: 5, rows: 5 });
    expect((await api.owner('POST', `/backfills/${res.body.id}/cancel`)).status).toBe(200);
  });
});

describe('controls', () => {
  test('pause creates no new run while the runs in flight finish; resume goes on from where it stopped', async () => {
    const { pool, deploymentId } = await scheduledDeployment(api.owner);
    const id = await hourlyBackfill(api.owner, deploymentId, 6, 2);
    const running = await start(worker, pool, 1);
    const paused = await api.owner('POST', `/backfills/${id}/pause`);
    expect(paused.status).toBe(200);
    expect(paused.body).toMatchObject({ status: 'PAUSED', runCount: 2 });
    expect(paused.body.pausedAt).not.toBeNull();
    expect((await api.owner('POST', `/backfills/${id}/pause`)).body.status).toBe('PAUSED');
    // Both runs created before the pause still run to their end. The claim skips a row another
    // transaction holds (SKIP LOCKED: the pass the pause woke may be reading it), so it asks again
    // until it gets the run; asking for five, it can never get more than the one left.
    const second = await eventually(
      async () => {
        const runs = await start(worker, pool, 5);
        return runs.length > 0 ? runs : undefined;
      },
      15_000,
      'the second run created before the pause to be claimed',
    );
    expect(second).toHaveLength(1);
    for (const run of [...running, ...second]) await setState(worker, run.id, run.attempt, 'COMPLETED');
    // A pass of the loop now (the one the finished runs woke, and one more) creates nothing.
    await eventually(async () => ((await backfill(id)).partitions.COMPLETED === 2 ? true : undefined));
    const afterPause = await backfill(id);
    expect(afterPause).toMatchObject({ status: 'PAUSED', runCount: 2, partitions: { notStarted: 4, COMPLETED: 2 } });
    expect(await start(worker, pool, 5)).toHaveLength(0);
    const resumed = await api.owner('POST', `/backfills/${id}/resume`);
    expect(resumed.body.status).toBe('RUNNING');
    const done = await drive(pool, id);
    expect(done).toMatchObject({ status: 'COMPLETED', runCount: 6, partitions: { COMPLETED: 6 } });
    expect((await api.owner('POST', `/backfills/${id}/pause`)).status).toBe(409);
    expect((await api.owner('POST', `/backfills/${id}/resume`)).status).toBe(409);
  });

  test('cancel cancels the runs not yet started, keeps a running one, creates no more, and the claim takes none', async () => {
    const { pool, deploymentId } = await scheduledDeployment(api.owner);
    const id = await hourlyBackfill(api.owner, deploymentId, 10, 3);
    const [running] = await start(worker, pool, 1);
    if (!running) throw new Error('no run claimed');
    const viewer = client(api.server, await api.server.createKey('viewer'));
    expect((await viewer('POST', `/backfills/${id}/cancel`)).status).toBe(403);
    expect((await viewer('GET', `/backfills/${id}`)).status).toBe(200);
    const cancelled = await api.owner('POST', `/backfills/${id}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({
      status: 'CANCELLED',
      runCount: 3,
      counts: { CANCELLED: 2, RUNNING: 1, SCHEDULED: 0 },
      partitions: { total: 10, notStarted: 7, CANCELLED: 2, RUNNING: 1 },
    });
    await setState(worker, running.id, running.attempt, 'COMPLETED');
    expect(await start(worker, pool, 5)).toHaveLength(0);
    const after = await eventually(async () => {
      const b = await backfill(id);
      return b.partitions.COMPLETED === 1 ? b : undefined;
    });
    expect(after).toMatchObject({ status: 'CANCELLED', runCount: 3 });
    expect((await api.owner('POST', `/backfills/${id}/retry-failed`)).status).toBe(409);
    expect((await api.owner('POST', `/backfills/${id}/resume`)).status).toBe(409);
    const other = client(api.server, (await api.server.createWorkspace()).ownerKey);
    for (const path of ['', '/partitions']) expect((await other('GET', `/backfills/${id}${path}`)).status).toBe(404);
    for (const action of ['cancel', 'pause', 'resume', 'retry-failed'])
      expect((await other('POST', `/backfills/${id}/${action}`)).status).toBe(404);
  });

  test('retry-failed gives each failed partition one new run, within maxConcurrent, and the backfill then completes', async () => {
    const { pool, deploymentId } = await scheduledDeployment(api.owner);
    const id = await hourlyBackfill(api.owner, deploymentId, 12, 2);
    let n = 0;
    // Every third run fails: 4 of 12.
    const failed = await drive(pool, id, () => (++n % 3 === 0 ? 'FAILED' : 'COMPLETED'));
    expect(failed).toMatchObject({ status: 'FAILED', runCount: 12, partitions: { COMPLETED: 8, FAILED: 4 } });
    const listed = await api.owner('GET', `/backfills/${id}/partitions?status=FAILED`);
    const failedKeys = listed.body.items.map((p: { key: string }) => p.key);
    expect(failedKeys).toHaveLength(4);

    const retried = await api.owner('POST', `/backfills/${id}/retry-failed`);
    expect(retried.status).toBe(200);
    expect(retried.body).toMatchObject({ status: 'RUNNING', message: null, finishedAt: null });
    const watch = sampler(api.server.sql, id);
    const done = await drive(pool, id);
    const samples = await watch.stop();
    for (const s of samples) expect(s.rowsInFlight).toBeLessThanOrEqual(2);
    expect(done).toMatchObject({ status: 'COMPLETED', runCount: 16, partitions: { COMPLETED: 12, FAILED: 0 } });
    const again = await api.owner('GET', `/backfills/${id}/partitions?limit=100`);
    const byKey = new Map(again.body.items.map((p: { key: string; runs: number }) => [p.key, p.runs]));
    for (const key of failedKeys) expect(byKey.get(key)).toBe(2);
    expect([...byKey.values()].filter((runs) => runs === 1)).toHaveLength(8);
    const keys = await api.server.sql<{ idempotency_key: string }[]>`
      SELECT idempotency_key FROM flow_runs WHERE backfill_id = ${id} AND idempotency_key LIKE '%:2'`;
    expect(keys).toHaveLength(4);
  });
});

describe('progress and lists', () => {
  test('partitions come in order, filtered by status, paged by cursor, with counts that add up', async () => {
    const { pool, deploymentId } = await scheduledDeployment(api.owner);
    const id = await hourlyBackfill(api.owner, deploymentId, 7, 7);
    const runs = await start(worker, pool, 3);
    for (const run of runs.slice(0, 2)) await setState(worker, run.id, run.attempt, 'COMPLETED');
    const pages: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { status: number; body: { items: { key: string }[]; nextCursor: string | null } } = await api.owner(
        'GET',
        `/backfills/${id}/partitions?limit=3${cursor ? `&cursor=${cursor}` : ''}`,
      );
      expect(page.status).toBe(200);
      pages.push(...page.body.items.map((p) => p.key));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(pages).toEqual(Array.from({ length: 7 }, (_, h) => `2025-01-01T0${h}:00:00.000Z`));
    const running = await api.owner('GET', `/backfills/${id}/partitions?status=RUNNING`);
    expect(running.body.items).toHaveLength(1);
    expect(running.body.items[0]).toMatchObject({ status: 'RUNNING', runs: 1, requeued: false, flowRunId: runs[2]?.id });
    const b = await backfill(id);
    expect(b.partitions).toEqual({
      total: 7,
      notStarted: 0,
      PENDING: 4,
      RUNNING: 1,
      COMPLETED: 2,
      FAILED: 0,
      CANCELLED: 0,
      BLOCKED: 0,
    });
    expect((await api.owner('GET', `/backfills/${id}/partitions?cursor=not-ours`)).status).toBe(400);
    expect((await api.owner('GET', `/backfills/${id}/partitions?status=DONE`)).status).toBe(400);
    await api.owner('POST', `/backfills/${id}/cancel`);
  });

  test("the workspace's backfills come newest first, filtered by status and deployment", async () => {
    const a = await scheduledDeployment(api.owner);
    const b = await scheduledDeployment(api.owner);
    const body = { start: '2025-01-01T00:00:00Z', end: '2025-01-01T03:00:00Z' };
    const first = (await api.owner('POST', `/deployments/${a.deploymentId}/backfills`, { body })).body.id;
    const second = (await api.owner('POST', `/deployments/${b.deploymentId}/backfills`, { body })).body.id;
    const third = (await api.owner('POST', `/deployments/${a.deploymentId}/backfills`, { body })).body.id;
    await api.owner('POST', `/backfills/${second}/pause`);
    const all = await api.owner('GET', '/backfills?limit=200');
    const ids = all.body.items.map((x: { id: string }) => x.id);
    expect(ids.indexOf(third)).toBeLessThan(ids.indexOf(second));
    expect(ids.indexOf(second)).toBeLessThan(ids.indexOf(first));
    const ofA = await api.owner('GET', `/backfills?deploymentId=${a.deploymentId}`);
    expect(ofA.body.items.map((x: { id: string }) => x.id)).toEqual([third, first]);
    const pausedOnly = await api.owner('GET', '/backfills?status=PAUSED');
    expect(pausedOnly.body.items.map((x: { id: string }) => x.id)).toContain(second);
    expect(pausedOnly.body.items.every((x: { status: string }) => x.status === 'PAUSED')).toBe(true);
    const paged = await api.owner('GET', `/backfills?deploymentId=${a.deploymentId}&limit=1`);
    const next = await api.owner('GET', `/backfills?deploymentId=${a.deploymentId}&limit=1&cursor=${paged.body.nextCursor}`);
    expect(next.body.items.map((x: { id: string }) => x.id)).toEqual([first]);
    for (const id of [first, second, third]) await api.owner('POST', `/backfills/${id}/cancel`);
  });
});

describe('partitioned schedules', () => {
  const daily = { kind: 'time', cadence: 'daily', start: '2025-03-01', timezone: 'Europe/Berlin' };

  test('a backfill over a partition range runs one run per key, carrying it, with the deployment and schedule parameters', async () => {
    const { pool, deploymentId } = await scheduledDeployment(api.owner, {
      // Paused, so the scheduler's own upcoming run (tonight's window) is not among the ones read back.
      schedules: [{ slug: 'daily', partitions: daily, parameters: { tier: 'gold' }, active: false }],
    });
    const res = await api.owner('POST', `/deployments/${deploymentId}/backfills`, {
      body: { partitions: { range: { start: '2025-03-28', end: '2025-04-02' } }, maxConcurrent: 2, parameters: { day: 'y' } },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      scheduleSlug: 'daily',
      start: null,
      end: null,
      selection: { range: { start: '2025-03-28', end: '2025-04-02' } },
      partitionsDefinition: daily,
      partitions: { total: 6, PENDING: 2 },
    });
    const seen: { key: string | null; parameters: Record<string, unknown> }[] = [];
    const deadline = Date.now() + 30_000;
    while ((await backfill(res.body.id)).status === 'RUNNING' && Date.now() < deadline) {
      for (const run of await start(worker, pool, 5)) {
        seen.push({ key: run.partitionKey, parameters: run.parameters });
        await setState(worker, run.id, run.attempt, 'COMPLETED');
      }
    }
    expect(seen.map((s) => s.key)).toEqual(['2025-03-28', '2025-03-29', '2025-03-30', '2025-03-31', '2025-04-01', '2025-04-02']);
    for (const s of seen) expect(s.parameters).toEqual({ region: 'eu', day: 'y', tier: 'gold' });
    // Every run carries its key and the backfill. A pass creates its runs in one transaction, so they
    // share a creation time, and the list (newest first) orders them among themselves by id: the
    // runs are matched by key, not by position.
    const runs = await api.owner('GET', `/flow-runs?deploymentId=${deploymentId}&limit=10`);
    expect(
      runs.body.items
        .map((r: { partitionKey: string; backfillId: string }) => ({ key: r.partitionKey, backfillId: r.backfillId }))
        .sort((a: { key: string }, b: { key: string }) => a.key.localeCompare(b.key)),
    ).toEqual(
      ['2025-03-28', '2025-03-29', '2025-03-30', '2025-03-31', '2025-04-01', '2025-04-02'].map((key) => ({
        key,
        backfillId: res.body.id,
      })),
    );
    expect((await backfill(res.body.id)).status).toBe('COMPLETED');
  });

  test('explicit keys run in definition order once each; keys that are not partitions are refused by field', async () => {
    const { pool, deploymentId } = await scheduledDeployment(api.owner, {
      schedules: [{ slug: 'regions', cron: '0 0 * * *', partitions: { kind: 'static', keys: ['eu', 'us', 'apac'] } }],
    });
    const refused = await api.owner('POST', `/deployments/${deploymentId}/backfills`, {
      body: { partitions: { keys: ['eu', 'mars'] } },
    });
    expect(refused.status).toBe(400);
    expect(refused.body.errors).toEqual([{ path: 'body.partitions.keys.1', message: '"mars" is not a partition key' }]);
    const reversed = await api.owner('POST', `/deployments/${deploymentId}/backfills`, {
      body: { partitions: { range: { start: 'apac', end: 'eu' } } },
    });
    expect(reversed.status).toBe(400);
    expect(reversed.body.errors[0].path).toBe('body.partitions.range.end');
    const res = await api.owner('POST', `/deployments/${deploymentId}/backfills`, {
      body: { partitions: { keys: ['apac', 'eu', 'apac'] }, maxConcurrent: 5 },
    });
    expect(res.status).toBe(201);
    expect(res.body.selection).toEqual({ keys: ['eu', 'apac'] });
    const runs = await start(worker, pool, 5);
    expect(runs.map((r) => r.partitionKey).sort()).toEqual(['apac', 'eu']);
    const everything = await api.owner('POST', `/deployments/${deploymentId}/backfills`, { body: { partitions: { all: true } } });
    expect(everything.body).toMatchObject({ selection: { range: { start: 'eu', end: 'apac' } }, partitions: { total: 3 } });
    for (const id of [res.body.id, everything.body.id]) await api.owner('POST', `/backfills/${id}/cancel`);
  });

  test("a schedule's runs carry the key of the latest closed window; with no cron it fires at each window's end, DST-exact", async () => {
    const hourlyCron = await scheduledDeployment(api.owner, {
      schedules: [{ slug: 'at-six', cron: '0 6 * * *', timezone: 'Europe/Berlin', partitions: daily }],
    });
    const windowed = await scheduledDeployment(api.owner, {
      schedules: [{ slug: 'windows', partitions: { ...daily, endOffsetMinutes: 90 } }],
    });
    const schedule = await api.owner('GET', `/deployments/${windowed.deploymentId}/schedules`);
    expect(schedule.body.items[0]).toMatchObject({
      cron: null,
      intervalSeconds: null,
      partitions: { ...daily, endOffsetMinutes: 90 },
    });
    // Backfills over times map each scheduled time to its window the same way the scheduler does.
    const overTimes = await api.owner('POST', `/deployments/${windowed.deploymentId}/backfills`, {
      body: { start: '2025-03-28T00:00:00Z', end: '2025-04-01T00:00:00Z', maxConcurrent: 10 },
    });
    expect(overTimes.status).toBe(201);
    const rows = await api.server.sql<{ partition_key: string; scheduled_time: Date }[]>`
      SELECT partition_key, scheduled_time FROM flow_runs WHERE backfill_id = ${overTimes.body.id} ORDER BY scheduled_time`;
    // Berlin midnight + 90 minutes: 00:30Z while on CET, 23:30Z the day before from 30 March (CEST).
    expect(rows.map((r) => [r.partition_key, r.scheduled_time.toISOString()])).toEqual([
      ['2025-03-27', '2025-03-28T00:30:00.000Z'],
      ['2025-03-28', '2025-03-29T00:30:00.000Z'],
      ['2025-03-29', '2025-03-30T00:30:00.000Z'],
      ['2025-03-30', '2025-03-30T23:30:00.000Z'],
      ['2025-03-31', '2025-03-31T23:30:00.000Z'],
    ]);
    const atSix = await api.owner('POST', `/deployments/${hourlyCron.deploymentId}/backfills`, {
      body: { start: '2025-03-29T00:00:00Z', end: '2025-03-31T00:00:00Z', maxConcurrent: 10 },
    });
    const sixes = await api.server.sql<{ partition_key: string }[]>`
      SELECT partition_key FROM flow_runs WHERE backfill_id = ${atSix.body.id} ORDER BY scheduled_time`;
    expect(sixes.map((r) => r.partition_key)).toEqual(['2025-03-28', '2025-03-29']);
    // The scheduler's own runs carry keys too.
    const scheduled = await eventually(async () => {
      const r = await api.server.sql<{ partition_key: string | null; scheduled_time: Date }[]>`
        SELECT partition_key, scheduled_time FROM flow_runs
        WHERE deployment_id = ${windowed.deploymentId} AND backfill_id IS NULL ORDER BY scheduled_time`;
      return r.length > 0 ? r : undefined;
    });
    for (const r of scheduled) {
      const window = new Date(r.scheduled_time.getTime() - 90 * 60_000 - 1);
      const berlinDay = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Berlin' }).format(window);
      expect(r.partition_key).toBe(berlinDay);
    }
    for (const id of [overTimes.body.id, atSix.body.id]) await api.owner('POST', `/backfills/${id}/cancel`);
  });

  test('partitions on a schedule are checked on deploy, and a run of the deployment may only name one of their keys', async () => {
    const upsert = (schedules: unknown[]) =>
      api.owner('PUT', '/deployments', {
        body: { flowName: unique('bad'), name: 'x', source: 'dir:///tmp/x', entrypoint: 'f.js', workPool: 'default', schedules },
      });
    const bad = await upsert([
      { slug: 'a', partitions: { kind: 'time', cadence: 'daily', start: '2025-01-01T05:00', timezone: 'Mars/Base' } },
      { slug: 'b', cron: '0 0 * * *', partitions: { kind: 'static', keys: ['x', 'x'] } },
    ]);
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: { path: string }) => e.path).sort()).toEqual([
      'body.schedules.0.partitions.start',
      'body.schedules.0.partitions.timezone',
      'body.schedules.1.partitions.keys',
    ]);
    // Without cron or interval, only time windows say when to fire.
    const noTime = await upsert([{ slug: 'b', partitions: { kind: 'static', keys: ['x'] } }]);
    expect(noTime.status).toBe(400);
    expect(noTime.body.errors[0].path).toBe('body.schedules.0');
    const { deploymentId } = await scheduledDeployment(api.owner, {
      schedules: [{ slug: 'regions', cron: '0 0 * * *', partitions: { kind: 'static', keys: ['eu', 'us'] } }],
    });
    const ok = await api.owner('POST', `/deployments/${deploymentId}/runs`, { body: { partitionKey: 'eu' } });
    expect(ok.status).toBe(201);
    expect(ok.body.flowRun.partitionKey).toBe('eu');
    const refused = await api.owner('POST', `/deployments/${deploymentId}/runs`, { body: { partitionKey: 'mars' } });
    expect(refused.status).toBe(400);
    expect(refused.body.errors[0].path).toBe('body.partitionKey');
  });
});
