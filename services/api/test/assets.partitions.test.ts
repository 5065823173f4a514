import { describe, expect, test } from 'vitest';
import {
  asset,
  assetWorld,
  deployed,
  getAsset,
  materialization,
  materialize,
  materializeAll,
  paths,
  report,
  start,
} from './assets.support.js';
import { client, useServer } from './helpers.js';

const api = useServer();

/** 10,000 daily windows, all closed: 1990-01-01 up to (not including) 2017-05-19. */
const TEN_THOUSAND_DAYS = { kind: 'time', cadence: 'daily', start: '1990-01-01', end: '2017-05-19', timezone: 'Europe/Berlin' };

describe('the partition grid', () => {
  test('a daily definition of 10,000 partitions lists them in order with their statuses and counts, in pages', async () => {
    const world = await assetWorld(api.server);
    await deployed(world, [
      asset('ticks', { partitions: TEN_THOUSAND_DAYS }),
      asset('bars', { deps: ['ticks'], partitions: TEN_THOUSAND_DAYS }),
    ]);
    await materializeAll(api.server, world, { assets: ['bars'], upstream: true, partitions: { keys: ['2000-02-29'] } });
    await materializeAll(api.server, world, { assets: ['ticks'], partitions: { keys: ['2017-05-18'] } });
    const failing = await materialize(world, { assets: ['bars'], partitions: { keys: ['1990-01-01'] } });
    const run = await start(api.server, world, failing.body.flowRunId);
    await report(run, [{ kind: 'failure', id: crypto.randomUUID(), assetKey: 'bars', partitionKey: '1990-01-01', message: 'x' }]);
    // A partition being materialised right now.
    await materialize(world, { assets: ['bars'], partitions: { keys: ['1990-01-02'] } });

    const started = performance.now();
    const grid = await world.owner('GET', '/assets/partitions?key=bars');
    const took = performance.now() - started;
    expect(grid.status).toBe(200);
    expect(grid.body.partitions).toHaveLength(10_000);
    expect(grid.body.partitions[0]).toMatchObject({ key: '1990-01-01', status: 'FAILED' });
    expect(grid.body.partitions[1]).toMatchObject({ key: '1990-01-02', status: 'MATERIALIZING' });
    expect(grid.body.partitions.at(-1)).toMatchObject({ key: '2017-05-18', status: 'MISSING', blocked: false });
    const leap = grid.body.partitions.find((p: { key: string }) => p.key === '2000-02-29');
    expect(leap).toMatchObject({ status: 'MATERIALIZED', staleReason: null, flowRunId: expect.any(String) });
    expect(leap.materializedAt).not.toBeNull();
    expect(grid.body.counts).toEqual({ total: 10_000, MISSING: 9_997, MATERIALIZED: 1, FAILED: 1, STALE: 0, MATERIALIZING: 1 });
    expect(grid.body.nextCursor).toBeNull();
    expect(grid.body.dimensions).toBeNull();
    // Generous for a loaded CI machine; a read of this size takes tens of milliseconds.
    expect(took).toBeLessThan(3_000);

    const first = await world.owner('GET', '/assets/partitions?key=ticks&limit=4000');
    expect(first.body.partitions).toHaveLength(4_000);
    const second = await world.owner('GET', `/assets/partitions?key=ticks&limit=4000&cursor=${first.body.nextCursor}`);
    expect(second.body.partitions[0].key).toBe('2000-12-14');
    expect(first.body.partitions.at(-1).key).toBe('2000-12-13');
    const third = await world.owner('GET', `/assets/partitions?key=ticks&limit=4000&cursor=${second.body.nextCursor}`);
    expect(third.body.partitions).toHaveLength(2_000);
    expect(third.body.nextCursor).toBeNull();
    const materialized = await world.owner('GET', '/assets/partitions?key=ticks&status=MATERIALIZED');
    expect(materialized.body.partitions.map((p: { key: string }) => p.key)).toEqual(['2000-02-29', '2017-05-18']);
    const notAKey = Buffer.from(JSON.stringify(['2099-01-01'])).toString('base64url');
    expect((await world.owner('GET', `/assets/partitions?key=ticks&cursor=${notAKey}`)).status).toBe(400);
    expect((await getAsset(world, 'bars')).partitionCounts).toEqual(grid.body.counts);
  });

  test('an unpartitioned asset has no grid', async () => {
    const world = await assetWorld(api.server);
    await deployed(world, [asset('flat')]);
    const res = await world.owner('GET', '/assets/partitions?key=flat');
    expect(res.status).toBe(400);
    expect(paths(res)).toEqual(['query.key']);
  });

  test('a two-dimensional definition lists its dimensions for the grid and keys joined by "|"', async () => {
    const world = await assetWorld(api.server);
    const multi = {
      kind: 'multi',
      dimensions: [
        { name: 'date', partitions: { kind: 'time', cadence: 'daily', start: '2026-01-01', end: '2026-01-04' } },
        { name: 'region', partitions: { kind: 'static', keys: ['eu', 'us'] } },
      ],
    };
    await deployed(world, [asset('sales', { partitions: multi })]);
    await materializeAll(api.server, world, { assets: ['sales'], partitions: { keys: ['2026-01-02|us'] } });
    const grid = await world.owner('GET', '/assets/partitions?key=sales');
    expect(grid.body.dimensions).toEqual([
      { name: 'date', keys: ['2026-01-01', '2026-01-02', '2026-01-03'] },
      { name: 'region', keys: ['eu', 'us'] },
    ]);
    expect(grid.body.partitions.map((p: { key: string; status: string }) => `${p.key}:${p.status}`)).toEqual([
      '2026-01-01|eu:MISSING',
      '2026-01-01|us:MISSING',
      '2026-01-02|eu:MISSING',
      '2026-01-02|us:MATERIALIZED',
      '2026-01-03|eu:MISSING',
      '2026-01-03|us:MISSING',
    ]);
  });
});

describe('dynamic partitions', () => {
  test('keys are added (once each, in order), listed and deleted; a run token may add and list; the grid follows', async () => {
    const world = await assetWorld(api.server);
    await deployed(world, [asset('customers', { partitions: { kind: 'dynamic', name: 'customers' } })]);
    expect((await world.owner('GET', '/dynamic-partitions/customers')).body).toEqual({ name: 'customers', keys: [] });
    const added = await world.owner('POST', '/dynamic-partitions/customers', { body: { keys: ['acme', 'globex', 'acme'] } });
    expect(added.status).toBe(200);
    expect(added.body).toEqual({ name: 'customers', keys: ['acme', 'globex'], added: 2 });
    const more = await world.owner('POST', '/dynamic-partitions/customers', { body: { keys: ['initech', 'acme'] } });
    expect(more.body).toEqual({ name: 'customers', keys: ['acme', 'globex', 'initech'], added: 1 });

    // A run adds keys as it finds them (its token acts in its workspace).
    const made = await materialize(world, { assets: ['customers'], partitions: { keys: ['globex'] } });
    expect(made.status).toBe(201);
    const run = await start(api.server, world, made.body.flowRunId);
    const fromRun = await run.as('POST', '/dynamic-partitions/customers', { body: { keys: ['umbrella'] } });
    expect(fromRun.body.added).toBe(1);
    expect((await run.as('GET', '/dynamic-partitions/customers')).body.keys).toEqual(['acme', 'globex', 'initech', 'umbrella']);
    // …but may not delete.
    expect((await run.as('DELETE', '/dynamic-partitions/customers/acme')).status).toBe(403);
    expect((await report(run, [materialization('customers', 'globex')])).body).toEqual({ recorded: 1 });

    expect((await world.owner('DELETE', '/dynamic-partitions/customers/acme')).status).toBe(204);
    expect((await world.owner('DELETE', '/dynamic-partitions/customers/acme')).status).toBe(404);
    const grid = await world.owner('GET', '/assets/partitions?key=customers');
    expect(grid.body.partitions.map((p: { key: string; status: string }) => `${p.key}:${p.status}`)).toEqual([
      'globex:MATERIALIZED',
      'initech:MISSING',
      'umbrella:MISSING',
    ]);
    expect((await materialize(world, { assets: ['customers'], partitions: { keys: ['acme'] } })).status).toBe(400);

    const viewer = client(api.server, await world.ws.createKey('viewer'));
    expect((await viewer('GET', '/dynamic-partitions/customers')).status).toBe(200);
    expect((await viewer('POST', '/dynamic-partitions/customers', { body: { keys: ['x'] } })).status).toBe(403);
  });

  test("a set no asset reads is a 404, as is another workspace's", async () => {
    const a = await assetWorld(api.server);
    const b = await assetWorld(api.server);
    await deployed(b, [asset('tenants', { partitions: { kind: 'dynamic', name: 'tenants' } })]);
    await b.owner('POST', '/dynamic-partitions/tenants', { body: { keys: ['t1'] } });
    for (const name of ['tenants', 'nobody-reads-this']) {
      expect((await a.owner('GET', `/dynamic-partitions/${name}`)).status, name).toBe(404);
      expect((await a.owner('POST', `/dynamic-partitions/${name}`, { body: { keys: ['x'] } })).status, name).toBe(404);
      expect((await a.owner('DELETE', `/dynamic-partitions/${name}/t1`)).status, name).toBe(404);
    }
    expect((await b.owner('GET', '/dynamic-partitions/tenants')).body.keys).toEqual(['t1']);
  });
});
