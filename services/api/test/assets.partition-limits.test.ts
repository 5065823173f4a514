import { describe, expect, test } from 'vitest';
import { createLogger } from '../src/logger.js';
import { automationPass } from '../src/materialization/automation-pass.js';
import { MAX_MISSING_PER_PASS } from '../src/materialization/automation-plan.js';
import { QUOTA_DEFAULTS } from '../src/quotas/quotas.js';
import { asset, assetWorld, deployAssets, deployed, materializeAll } from './assets.support.js';
import { scheduledDeployment } from './backfill.support.js';
import { client, useServer } from './helpers.js';

/*
 * Partition definitions are counted, never enumerated: a definition over the workspace's
 * `partitionsPerDefinition` quota is refused at deploy (however far back it starts), and one at the
 * quota is read in pages whose size the caller picks, by the catalog, the grid, the automation loop
 * and a backfill alike.
 */

const api = useServer();

const LIMIT = QUOTA_DEFAULTS.partitionsPerDefinition;
const DAY_MS = 86_400_000;

/** A daily definition of exactly `n` closed windows, ending 2000-01-01 (UTC). */
function dailyOf(n: number) {
  const start = new Date(Date.UTC(2000, 0, 1) - n * DAY_MS).toISOString().slice(0, 10);
  return { kind: 'time', cadence: 'daily', start, end: '2000-01-01', timezone: 'UTC' };
}

describe('deploying partitions definitions over the quota', () => {
  test('an hourly definition from 1900 is refused with the field path and the quota named', async () => {
    const world = await assetWorld(api.server);
    const res = await deployAssets(world, [
      asset('ok', { partitions: { kind: 'time', cadence: 'daily', start: '2020-01-01', timezone: 'UTC' } }),
      asset('ticks', { partitions: { kind: 'time', cadence: 'hourly', start: '1900-01-01T00:00', timezone: 'Europe/Berlin' } }),
    ]);
    expect(res.status, res.text).toBe(400);
    expect(res.body.errors).toHaveLength(1);
    expect(res.body.errors[0].path).toBe('body.assets.1.partitions');
    expect(res.body.errors[0].message).toContain('"partitionsPerDefinition"');
    expect(res.body.errors[0].message).toContain(LIMIT.toLocaleString('en'));
    expect(res.body.detail).toContain('partitionsPerDefinition');
    // Nothing was written: the workspace has no assets.
    expect((await world.owner('GET', '/assets')).body.items).toEqual([]);
  });

  test('a definition from year 1 (17.7 million hours) is refused like any other, its count in the message', async () => {
    const world = await assetWorld(api.server);
    const res = await deployAssets(world, [
      asset('ancient', { partitions: { kind: 'time', cadence: 'hourly', start: '0001-01-01T00:00', timezone: 'UTC' } }),
    ]);
    expect(res.status, res.text).toBe(400);
    expect(res.body.errors[0].path).toBe('body.assets.0.partitions');
    const count = Number(/has ([\d,]+) partitions/.exec(res.body.errors[0].message)?.[1]?.replaceAll(',', ''));
    expect(count).toBeGreaterThan(17_700_000);
  });

  test('an open-ended definition that passes the quota within the horizon is refused; one with an end below it is not', async () => {
    const world = await assetWorld(api.server);
    // 30 days under the quota now, past it within the 90-day horizon.
    const start = new Date(Date.now() - (LIMIT - 30) * DAY_MS).toISOString().slice(0, 10);
    const open = await deployAssets(world, [
      asset('grows', { partitions: { kind: 'time', cadence: 'daily', start, timezone: 'UTC' } }),
    ]);
    expect(open.status, open.text).toBe(400);
    expect(open.body.errors[0].message).toMatch(/partitions by \d{4}-\d{2}-\d{2}/);
    await deployed(world, [asset('bounded', { partitions: { ...dailyOf(LIMIT - 30) } })]);
  });

  test('a multi definition is refused for its product and for a dimension alone, each at its own path', async () => {
    const world = await assetWorld(api.server);
    const product = await deployAssets(world, [
      asset('grid', {
        partitions: {
          kind: 'multi',
          dimensions: [
            { name: 'date', partitions: dailyOf(1_000) },
            { name: 'region', partitions: { kind: 'static', keys: Array.from({ length: 101 }, (_, i) => `r${i}`) } },
          ],
        },
      }),
    ]);
    expect(product.status, product.text).toBe(400);
    expect(product.body.errors[0].path).toBe('body.assets.0.partitions');
    const dimension = await deployAssets(world, [
      asset('grid', {
        partitions: {
          kind: 'multi',
          dimensions: [
            { name: 'customer', partitions: { kind: 'dynamic', name: 'customers' } },
            { name: 'hour', partitions: { kind: 'time', cadence: 'hourly', start: '1900-01-01T00:00', timezone: 'UTC' } },
          ],
        },
      }),
    ]);
    expect(dimension.status, dimension.text).toBe(400);
    expect(dimension.body.errors[0].path).toBe('body.assets.0.partitions.dimensions.1.partitions');
  });

  test('a schedule with partitions over the quota is refused at its path', async () => {
    const owner = client(api.server, (await api.server.createWorkspace()).ownerKey);
    await expect(
      scheduledDeployment(owner, {
        schedules: [
          { slug: 'hours', partitions: { kind: 'time', cadence: 'hourly', start: '1900-01-01T00:00', timezone: 'UTC' } },
        ],
      }),
    ).rejects.toThrow(/400[\s\S]*body\.schedules\.0\.partitions[\s\S]*partitionsPerDefinition/);
  });

  test('a dynamic set stops at the quota when an asset crosses it with another dimension: 429 quota_exceeded, nothing added', async () => {
    const world = await assetWorld(api.server);
    await deployed(world, [
      asset('per-customer', {
        partitions: {
          kind: 'multi',
          dimensions: [
            { name: 'customer', partitions: { kind: 'dynamic', name: 'customers' } },
            { name: 'date', partitions: dailyOf(1_000) },
          ],
        },
      }),
    ]);
    const keys = (from: number, n: number) => Array.from({ length: n }, (_, i) => `c${from + i}`);
    const first = await world.owner('POST', '/dynamic-partitions/customers', { body: { keys: keys(0, 100) } });
    expect(first.status, first.text).toBe(200);
    expect(first.body.added).toBe(100);
    const over = await world.owner('POST', '/dynamic-partitions/customers', { body: { keys: keys(100, 1) } });
    expect(over.status, over.text).toBe(429);
    expect(over.body.code).toBe('quota_exceeded');
    expect(over.body.detail).toContain('"partitionsPerDefinition"');
    expect(over.body.detail).toContain('101000');
    expect((await world.owner('GET', '/dynamic-partitions/customers')).body.keys).toHaveLength(100);
  });
});

describe('a definition at the quota', () => {
  test('GET /assets counts it and the grid pages it, by position and by status', async () => {
    const world = await assetWorld(api.server);
    await deployed(world, [asset('days', { partitions: dailyOf(LIMIT) })]);
    const first = dailyOf(LIMIT).start;
    for (const key of [first, '1999-12-31'])
      await materializeAll(api.server, world, { assets: ['days'], partitions: { keys: [key] } });

    const list = await world.owner('GET', '/assets?limit=10');
    expect(list.status, list.text).toBe(200);
    expect(list.body.items[0].partitionCounts).toEqual({
      total: LIMIT,
      MISSING: LIMIT - 2,
      MATERIALIZED: 2,
      FAILED: 0,
      STALE: 0,
      MATERIALIZING: 0,
    });

    const page = await world.owner('GET', '/assets/partitions?key=days&limit=50');
    expect(page.status, page.text).toBe(200);
    expect(page.body.partitions).toHaveLength(50);
    expect(page.body.partitions[0]).toMatchObject({ key: first, status: 'MATERIALIZED' });
    expect(page.body.counts.total).toBe(LIMIT);
    const next = await world.owner('GET', `/assets/partitions?key=days&limit=50&cursor=${page.body.nextCursor}`);
    expect(next.body.partitions).toHaveLength(50);
    expect(next.body.partitions[0].key).toBe(new Date(Date.parse(`${first}T00:00:00Z`) + 50 * DAY_MS).toISOString().slice(0, 10));

    const missing = await world.owner('GET', '/assets/partitions?key=days&limit=3&status=MISSING');
    expect(missing.body.partitions.map((p: { key: string }) => p.key)).toEqual(
      [1, 2, 3].map((i) => new Date(Date.parse(`${first}T00:00:00Z`) + i * DAY_MS).toISOString().slice(0, 10)),
    );
    expect(missing.body.nextCursor).not.toBeNull();
    const done = await world.owner('GET', '/assets/partitions?key=days&limit=10&status=MATERIALIZED');
    expect(done.body.partitions.map((p: { key: string }) => p.key)).toEqual([first, '1999-12-31']);
    expect(done.body.nextCursor).toBeNull();
    const after = await world.owner(
      'GET',
      `/assets/partitions?key=days&limit=10&status=MATERIALIZED&cursor=${page.body.nextCursor}`,
    );
    expect(after.body.partitions.map((p: { key: string }) => p.key)).toEqual(['1999-12-31']);
  });

  test("the automation loop's pass over it requests a bounded number of runs, newest partitions first", async () => {
    const world = await assetWorld(api.server);
    await deployed(world, [asset('days', { partitions: dailyOf(LIMIT), automation: { onMissing: true } })]);
    const result = await automationPass(api.server.sql, createLogger('silent'), { maxRequests: 5 });
    expect(result.failed).toBe(0);
    expect(result.requested).toBe(5);
    const runs = await api.server.sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM flow_runs WHERE workspace_id = ${world.ws.workspaceId}`;
    expect(runs[0]?.n).toBe(5);
    const records = await api.server.sql<{ partition_key: string }[]>`
      SELECT partition_key FROM asset_automation_evaluations WHERE workspace_id = ${world.ws.workspaceId} ORDER BY partition_key DESC`;
    expect(records.length).toBeLessThanOrEqual(MAX_MISSING_PER_PASS);
    expect(records[0]?.partition_key).toBe('1999-12-31');
  });
});

describe('backfills of schedules with partitions', () => {
  test('a backfill of all the partitions of a definition at the quota covers them all and starts only maxConcurrent runs', async () => {
    const owner = client(api.server, (await api.server.createWorkspace()).ownerKey);
    const { deploymentId } = await scheduledDeployment(owner, {
      schedules: [{ slug: 'days', intervalSeconds: 86_400, partitions: dailyOf(LIMIT) }],
    });
    const all = await owner('POST', `/deployments/${deploymentId}/backfills`, {
      body: { schedule: 'days', partitions: { all: true }, maxConcurrent: 3 },
    });
    expect(all.status, all.text).toBe(201);
    const b = await owner('GET', `/backfills/${all.body.id}`);
    expect(b.body.partitions.total).toBe(LIMIT);
    expect(b.body.runCount).toBe(3);
    const runs = await api.server.sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM flow_runs WHERE deployment_id = ${deploymentId}`;
    expect(runs[0]?.n).toBe(3);
  });

  test('a backfill over the times of a window schedule across a century covers its windows only, counted not walked', async () => {
    const owner = client(api.server, (await api.server.createWorkspace()).ownerKey);
    const { deploymentId } = await scheduledDeployment(owner, {
      schedules: [
        { slug: 'hours', partitions: { kind: 'time', cadence: 'hourly', start: '2018-01-01T00:00', timezone: 'Europe/Berlin' } },
      ],
    });
    const res = await owner('POST', `/deployments/${deploymentId}/backfills`, {
      body: { schedule: 'hours', start: '1925-01-01T00:00:00Z', end: '2025-01-01T00:00:00Z', maxConcurrent: 2 },
    });
    expect(res.status, res.text).toBe(201);
    const b = (await owner('GET', `/backfills/${res.body.id}`)).body;
    // The windows' ends from 2018-01-01T00:00Z (the first Berlin hour closes) up to 2025: every real hour.
    expect(b.partitions.total).toBe((Date.parse('2025-01-01T00:00:00Z') - Date.parse('2018-01-01T00:00:00Z')) / 3_600_000);
    expect(b.runCount).toBe(2);
  });

  test('a backfill over more scheduled times than the quota is refused, naming it', async () => {
    const owner = client(api.server, (await api.server.createWorkspace()).ownerKey);
    const { deploymentId } = await scheduledDeployment(owner, { schedules: [{ slug: 'minutes', intervalSeconds: 60 }] });
    const res = await owner('POST', `/deployments/${deploymentId}/backfills`, {
      body: { schedule: 'minutes', start: '2024-01-01T00:00:00Z', end: '2025-01-01T00:00:00Z' },
    });
    expect(res.status, res.text).toBe(400);
    expect(res.body.errors[0].path).toBe('body.end');
    expect(res.body.errors[0].message).toContain(`more than ${LIMIT.toLocaleString('en')}`);
    expect(res.body.errors[0].message).toContain('partitionsPerDefinition');
  });
});
