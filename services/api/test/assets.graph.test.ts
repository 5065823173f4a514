import { describe, expect, test } from 'vitest';
import { asset, assetWorld, deployAssets, deployed, getAsset, materializeAll, paths } from './assets.support.js';
import { client, useServer } from './helpers.js';

const api = useServer();

const daily = { kind: 'time', cadence: 'daily', start: '2026-01-01', timezone: 'Europe/Berlin' };

describe('registering an asset graph with a deploy', () => {
  test('the deploy registers keys, deps, partitions, checks and owners; the catalog and lineage show them', async () => {
    const world = await assetWorld(api.server);
    const deployment = await deployed(world, [
      asset('raw/events', { partitions: daily, io: 's3', owners: ['data@acme.io'], definedAt: 'assets.ts:3' }),
      asset('features', {
        deps: ['raw/events'],
        partitions: daily,
        description: 'Model features',
        tags: ['ml'],
        group: 'ml',
        checks: [{ name: 'no_null_ids', blocking: true }],
      }),
      asset('model/churn', { deps: ['features'], owners: ['ml@acme.io'], group: 'ml' }),
    ]);

    const features = await getAsset(world, 'features');
    expect(features).toMatchObject({
      key: 'features',
      deploymentId: deployment.id,
      deploymentName: 'assets/warehouse',
      deps: ['raw/events'],
      dependents: ['model/churn'],
      partitions: daily,
      codeVersion: 'v1-features',
      description: 'Model features',
      tags: ['ml'],
      group: 'ml',
      health: 'MISSING',
      latest: null,
      stale: [],
      partitionCounts: { MATERIALIZED: 0, FAILED: 0, STALE: 0, MATERIALIZING: 0 },
    });
    expect(features.checks).toEqual([
      {
        name: 'no_null_ids',
        blocking: true,
        severity: 'ERROR',
        latest: null,
        waiver: null,
        blocksDownstream: false,
        failures: [],
        failureCount: 0,
      },
    ]);
    expect(features.partitionCounts.total).toBe(features.partitionCounts.MISSING);

    const list = await world.owner('GET', '/assets');
    expect(list.body.items.map((a: { key: string }) => a.key)).toEqual(['features', 'model/churn', 'raw/events']);
    const byOwner = await world.owner('GET', '/assets?owner=ML@acme.io');
    expect(byOwner.body.items.map((a: { key: string }) => a.key)).toEqual(['model/churn']);
    const search = await world.owner('GET', '/assets?q=FEATURE');
    expect(search.body.items.map((a: { key: string }) => a.key)).toEqual(['features']);
    const page = await world.owner('GET', '/assets?limit=2');
    expect(page.body.items).toHaveLength(2);
    const rest = await world.owner('GET', `/assets?limit=2&cursor=${page.body.nextCursor}`);
    expect(rest.body.items.map((a: { key: string }) => a.key)).toEqual(['raw/events']);
    expect(rest.body.nextCursor).toBeNull();

    const lineage = await world.owner('GET', '/assets/lineage');
    expect(lineage.body.edges).toEqual(
      expect.arrayContaining([
        { from: 'raw/events', to: 'features' },
        { from: 'features', to: 'model/churn' },
      ]),
    );
    expect(lineage.body.edges).toHaveLength(2);
    expect(lineage.body.nodes.find((n: { key: string }) => n.key === 'raw/events')).toEqual({
      key: 'raw/events',
      group: null,
      deploymentName: 'assets/warehouse',
      partitioned: true,
      partitionCounts: {
        total: expect.any(Number),
        MISSING: expect.any(Number),
        MATERIALIZED: 0,
        FAILED: 0,
        STALE: 0,
        MATERIALIZING: 0,
      },
      health: 'MISSING',
      staleReason: null,
      lastMaterializedAt: null,
      checks: { passed: 0, failed: 0, blocking: false },
    });
    const rawEvents = lineage.body.nodes.find((n: { key: string }) => n.key === 'raw/events');
    expect(rawEvents.partitionCounts.total).toBeGreaterThan(0);
    expect(rawEvents.partitionCounts.MISSING).toBe(rawEvents.partitionCounts.total);
    expect(lineage.body.nodes.find((n: { key: string }) => n.key === 'model/churn').partitionCounts).toBeNull();
  });

  test('a key another deployment defines is a 409 naming that deployment and both places, and nothing changes', async () => {
    const world = await assetWorld(api.server);
    await deployed(world, [asset('orders', { definedAt: 'sales.ts:4' })], { name: 'sales' });
    const res = await deployAssets(world, [asset('orders', { definedAt: 'finance.ts:9' }), asset('ledger')], { name: 'finance' });
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('conflict');
    expect(res.body.detail).toBe('asset "orders" (finance.ts:9) is already defined by deployment assets/sales (sales.ts:4)');
    expect((await getAsset(world, 'orders')).deploymentName).toBe('assets/sales');
    // The deploy was one transaction: neither the deployment nor its other asset exists.
    expect((await world.owner('GET', '/deployments/assets/finance')).status).toBe(404);
    expect((await world.owner('GET', '/assets/detail?key=ledger')).status).toBe(404);
  });

  test('a key defined twice in one deploy is refused naming both places', async () => {
    const world = await assetWorld(api.server);
    const res = await deployAssets(world, [asset('orders', { definedAt: 'a.ts:1' }), asset('orders', { definedAt: 'b.ts:2' })]);
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([
      { path: 'body.assets.1.key', message: '"orders" is defined twice: at a.ts:1 and at b.ts:2' },
    ]);
  });

  test('a cycle is refused with the cycle printed, across deployments too', async () => {
    const world = await assetWorld(api.server);
    const res = await deployAssets(world, [asset('a', { deps: ['b'] }), asset('b', { deps: ['a'] })]);
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('validation_failed');
    expect(res.body.detail).toBe('the asset graph has a cycle: a → b → a');

    await deployed(world, [asset('x'), asset('y', { deps: ['x'] })], { name: 'first' });
    // z depends on y; making x depend on z in the first deployment closes x → y → z → x.
    await deployed(world, [asset('z', { deps: ['y'] })], { name: 'second' });
    const closing = await deployAssets(world, [asset('x', { deps: ['z'] }), asset('y', { deps: ['x'] })], { name: 'first' });
    expect(closing.status).toBe(400);
    expect(closing.body.detail).toBe('the asset graph has a cycle: x → y → z → x');
    expect(paths(closing)).toEqual(['body.assets.0.deps']);
  });

  test('a dep neither defined nor registered is refused naming it by path', async () => {
    const world = await assetWorld(api.server);
    await deployed(world, [asset('registered')], { name: 'other' });
    const res = await deployAssets(world, [asset('a', { deps: ['registered'] }), asset('b', { deps: ['a', 'ghost'] })]);
    expect(res.status).toBe(400);
    expect(res.body.detail).toBe('undefined deps: "ghost"');
    expect(res.body.errors).toEqual([
      { path: 'body.assets.1.deps.1', message: '"ghost" is neither defined by this deployment nor registered in the workspace' },
    ]);
  });

  test('only a deployment of the assets flow carries assets', async () => {
    const world = await assetWorld(api.server);
    const res = await deployAssets(world, [asset('a')], { flowName: 'etl' });
    expect(res.status).toBe(400);
    expect(paths(res)).toEqual(['body.assets']);
  });

  test('bad partitions definitions are refused by field: an unknown zone, an end before the start, a repeated key', async () => {
    const world = await assetWorld(api.server);
    const res = await deployAssets(world, [
      asset('a', { partitions: { kind: 'time', cadence: 'daily', start: '2026-01-01', timezone: 'Mars/Olympus' } }),
      asset('b', { partitions: { kind: 'time', cadence: 'daily', start: '2026-01-01', end: '2025-01-01' } }),
      asset('c', { partitions: { kind: 'static', keys: ['eu', 'us', 'eu'] } }),
    ]);
    expect(res.status).toBe(400);
    expect(paths(res)).toEqual(['body.assets.0.partitions', 'body.assets.1.partitions', 'body.assets.2.partitions.keys.2']);
  });

  test('a redeploy replaces the set: keys no longer sent are gone from the catalog, their history stays readable', async () => {
    const world = await assetWorld(api.server);
    await deployed(world, [asset('keep'), asset('drop')]);
    await materializeAll(api.server, world, { assets: ['drop'] });
    const before = (await getAsset(world, 'keep')).updatedAt;
    await deployed(world, [asset('keep')]);
    expect((await getAsset(world, 'keep')).updatedAt).toBe(before);
    expect((await world.owner('GET', '/assets/detail?key=drop')).status).toBe(404);
    const history = await world.owner('GET', '/assets/materializations?key=drop');
    expect(history.status).toBe(200);
    expect(history.body.items).toHaveLength(1);
    // Another deployment may define the key now.
    await deployed(world, [asset('drop')], { name: 'other' });
    expect((await getAsset(world, 'drop')).deploymentName).toBe('assets/other');
  });

  test('a graph of 1,000 assets is registered, materialised and read whole in one lineage answer, quickly', async () => {
    const world = await assetWorld(api.server);
    const key = (layer: number, i: number) => `layer${layer}/asset${i}`;
    const assets = [];
    for (let layer = 0; layer < 10; layer++) {
      for (let i = 0; i < 100; i++) {
        const deps = layer === 0 ? [] : [key(layer - 1, i), key(layer - 1, (i + 1) % 100)];
        assets.push(asset(key(layer, i), { deps, group: `layer${layer}`, checks: [{ name: 'sane' }] }));
      }
    }
    await deployed(world, assets);
    // One run materialises all of them, in dependency order, and reports them in one batch.
    const { assets: ordered } = await materializeAll(api.server, world, { assets: assets.map((a) => a.key as string) });
    expect(ordered.indexOf(key(0, 5))).toBeLessThan(ordered.indexOf(key(1, 4)));

    const started = performance.now();
    const lineage = await world.owner('GET', '/assets/lineage');
    const took = performance.now() - started;
    expect(lineage.status).toBe(200);
    expect(lineage.body.nodes).toHaveLength(1_000);
    expect(lineage.body.edges).toHaveLength(1_800);
    expect(lineage.body.nodes.every((n: { health: string }) => n.health === 'FRESH')).toBe(true);
    // Generous for a loaded machine: the answer takes a handful of statements, tens of milliseconds here.
    expect(took).toBeLessThan(5_000);
    const list = await world.owner('GET', '/assets?limit=2000');
    expect(list.body.items).toHaveLength(1_000);
    expect(list.body.items[0].key).toBe('layer0/asset0');
  });

  test("another workspace's assets are absent: 404s for its keys, nothing of it in lists and lineage", async () => {
    const a = await assetWorld(api.server);
    const b = await assetWorld(api.server);
    await deployed(b, [asset('secret', { partitions: daily })]);
    await deployed(a, [asset('mine')]);
    for (const path of [
      '/assets/detail?key=secret',
      '/assets/partitions?key=secret',
      '/assets/materializations?key=secret',
      '/assets/check-results?key=secret',
    ]) {
      const res = await a.owner('GET', path);
      expect(res.status, path).toBe(404);
      const missing = await a.owner('GET', path.replace('secret', 'never-defined'));
      expect({ ...res.body, requestId: null, instance: null, detail: null }).toEqual({
        ...missing.body,
        requestId: null,
        instance: null,
        detail: null,
      });
    }
    expect((await a.owner('GET', '/assets')).body.items.map((x: { key: string }) => x.key)).toEqual(['mine']);
    expect((await a.owner('GET', '/assets/lineage')).body.nodes.map((x: { key: string }) => x.key)).toEqual(['mine']);
    const materialize = await a.owner('POST', '/assets/materialize', {
      body: { assets: ['secret'], partitions: { keys: ['2026-01-02'] } },
    });
    expect(materialize.status).toBe(404);
    // A's key of B's workspace may even be defined by A: the namespaces are apart.
    await deployed(a, [asset('mine'), asset('secret')]);
    expect((await getAsset(a, 'secret')).partitions).toBeNull();
    expect((await client(api.server, b.ws.ownerKey)('GET', '/assets/detail?key=secret')).body.partitions).toEqual(daily);
  });
});
