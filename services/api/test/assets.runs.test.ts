import { randomUUID } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import {
  asset,
  assetWorld,
  checkResult,
  deployed,
  finish,
  getAsset,
  materialization,
  materialize,
  paths,
  report,
  start,
} from './assets.support.js';
import { client, SOURCE, useServer } from './helpers.js';

const api = useServer();

const daily = { kind: 'time', cadence: 'daily', start: '2026-01-01', end: '2026-02-01', timezone: 'Europe/Berlin' };

function graph() {
  return [
    asset('raw/events', { partitions: daily }),
    asset('features', { deps: ['raw/events'], partitions: daily, checks: [{ name: 'no_null_ids', blocking: true }] }),
    asset('report', { deps: ['features'], partitions: daily }),
  ];
}

describe('materialising assets', () => {
  test('a selection with upstream makes one run of the assets flow, in dependency order, with its partition', async () => {
    const world = await assetWorld(api.server);
    const deployment = await deployed(world, graph());
    const res = await materialize(world, { assets: ['report'], upstream: true, partitions: { keys: ['2026-01-05'] } });
    expect(res.status, res.text).toBe(201);
    expect(res.body).toMatchObject({ assets: ['raw/events', 'features', 'report'], backfillId: null });
    const run = await world.owner('GET', `/flow-runs/${res.body.flowRunId}`);
    expect(run.body).toMatchObject({
      deploymentId: deployment.id,
      flowName: 'assets',
      partitionKey: '2026-01-05',
      parameters: {
        assets: ['raw/events', 'features', 'report'],
        checksOnly: false,
        partition: '2026-01-05',
        partitionRange: null,
      },
      state: { type: 'SCHEDULED' },
    });
    // The worker is handed the partition with the run.
    const held = await start(api.server, world, res.body.flowRunId);
    expect(held.claimed.flowRun.partitionKey).toBe('2026-01-05');
    // Until the run reports, its partitions show as being materialised.
    const grid = await world.owner('GET', '/assets/partitions?key=features&status=MATERIALIZING');
    expect(grid.body.partitions.map((p: { key: string }) => p.key)).toEqual(['2026-01-05']);
    await finish(held, 'FAILED');
    const after = await world.owner('GET', '/assets/partitions?key=features&status=MATERIALIZING');
    expect(after.body.partitions).toEqual([]);
    expect(after.body.counts.MISSING).toBe(31);

    const down = await materialize(world, { assets: ['raw/events'], downstream: true, partitions: { keys: ['2026-01-06'] } });
    expect(down.body.assets).toEqual(['raw/events', 'features', 'report']);
  });

  test('a selection is refused when its partitions do not fit: missing, unwanted, unknown keys, or several', async () => {
    const world = await assetWorld(api.server);
    await deployed(world, [...graph(), asset('dim/regions')]);
    const none = await materialize(world, { assets: ['features'] });
    expect(none.status).toBe(400);
    expect(paths(none)).toEqual(['body.partitions']);
    const unwanted = await materialize(world, { assets: ['dim/regions'], partitions: { keys: ['2026-01-05'] } });
    expect(paths(unwanted)).toEqual(['body.partitions']);
    const mixed = await materialize(world, { assets: ['dim/regions', 'features'], partitions: { keys: ['2026-01-05'] } });
    expect(mixed.status).toBe(400);
    expect(mixed.body.detail).toContain('dim/regions');
    const unknown = await materialize(world, { assets: ['features'], partitions: { keys: ['2026-01-05', '2027-01-01'] } });
    expect(unknown.status).toBe(400);
    expect(unknown.body.errors).toEqual([
      { path: 'body.partitions.keys.1', message: '"2027-01-01" is not a partition key of the asset' },
    ]);
    const missing = await materialize(world, { assets: ['nope'] });
    expect(missing.status).toBe(404);
    expect(missing.body.detail).toBe('asset "nope" not found');
    expect((await world.owner('GET', '/flow-runs')).body.items).toEqual([]);
    // Several partitions are a backfill's: the answer names it instead of a run.
    const range = await materialize(world, {
      assets: ['features'],
      partitions: { range: { start: '2026-01-05', end: '2026-01-09' } },
    });
    expect(range.status, range.text).toBe(201);
    expect(range.body).toMatchObject({ assets: ['features'], flowRunId: null });
    const backfill = await world.owner('GET', `/backfills/${range.body.backfillId}`);
    expect(backfill.body).toMatchObject({ target: 'assets', assets: ['features'], partitions: { total: 5 } });
  });

  test("a selection spanning two deployments is refused naming each deployment's assets", async () => {
    const world = await assetWorld(api.server);
    await deployed(world, [asset('source')], { name: 'ingest' });
    await deployed(world, [asset('mart', { deps: ['source'] })], { name: 'marts' });
    const res = await materialize(world, { assets: ['mart'], upstream: true });
    expect(res.status).toBe(400);
    expect(res.body.detail).toBe('the selection spans deployments: assets/ingest (source); assets/marts (mart)');
    const alone = await materialize(world, { assets: ['mart'] });
    expect(alone.status).toBe(201);
  });

  test('a runner may materialise, a viewer may not', async () => {
    const world = await assetWorld(api.server);
    await deployed(world, [asset('a')]);
    const runner = client(api.server, await world.ws.createKey('runner'));
    const viewer = client(api.server, await world.ws.createKey('viewer'));
    expect((await runner('POST', '/assets/materialize', { body: { assets: ['a'] } })).status).toBe(201);
    expect((await viewer('POST', '/assets/materialize', { body: { assets: ['a'] } })).status).toBe(403);
  });
});

describe('asset events', () => {
  test('a repeated report records each event once, and a second attempt replaces its first attempt’s rows', async () => {
    const world = await assetWorld(api.server);
    await deployed(world, [asset('a'), asset('b', { deps: ['a'] })], { retries: 1 });
    const made = await materialize(world, { assets: ['b'], upstream: true });
    const first = await start(api.server, world, made.body.flowRunId);
    const written = materialization('a');
    const once = await report(first, [written]);
    expect(once.body).toEqual({ recorded: 1 });
    const again = await report(first, [written]);
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ recorded: 0 });
    expect((await world.owner('GET', '/assets/materializations?key=a')).body.items).toHaveLength(1);

    // The attempt fails, the run is retried: the gate says what the first attempt already wrote.
    await finish(first, 'FAILED');
    const second = await start(api.server, world, made.body.flowRunId);
    expect(second.attempt).toBe(2);
    const gate = await second.as('GET', `/flow-runs/${made.body.flowRunId}/asset-gate`);
    expect(gate.body).toEqual({ blocked: [], materialized: [{ assetKey: 'a', partitionKey: null, id: written.id }] });
    // The first attempt's token is fenced out.
    expect((await report(first, [materialization('b')], 1)).status).toBe(409);
    const retried = materialization('a', null, { codeVersion: 'v1-a', dataVersion: 'second' });
    expect((await report(second, [retried, materialization('b')])).body).toEqual({ recorded: 2 });
    const history = await world.owner('GET', '/assets/materializations?key=a');
    expect(history.body.items).toHaveLength(1);
    expect(history.body.items[0]).toMatchObject({
      id: retried.id,
      attempt: 2,
      dataVersion: 'second',
      flowRunId: made.body.flowRunId,
    });
    expect((await getAsset(world, 'a')).latest.id).toBe(retried.id);
    // The worker holding the run reports for it as well (the run token is not the only way in).
    const viaWorker = await world.worker('POST', `/flow-runs/${made.body.flowRunId}/asset-events`, {
      body: { attempt: 2, events: [materialization('b', null, { id: randomUUID() })] },
    });
    expect(viaWorker.status).toBe(200);
    expect((await world.owner('GET', '/assets/materializations?key=b')).body.items).toHaveLength(1);
  });

  test('a run reports only on what its parameters select, and only declared checks and bounded metadata', async () => {
    const world = await assetWorld(api.server);
    await deployed(world, graph());
    const made = await materialize(world, { assets: ['features'], partitions: { keys: ['2026-01-03'] } });
    const run = await start(api.server, world, made.body.flowRunId);
    const bad = await report(run, [
      materialization('raw/events', '2026-01-03'),
      materialization('features', '2026-01-04'),
      checkResult('features', 'undeclared', true, '2026-01-03'),
      materialization('features', '2026-01-03', { metadata: { blob: 'x'.repeat(17 * 1024) } }),
      materialization('features', null),
    ]);
    expect(bad.status).toBe(400);
    expect(paths(bad)).toEqual([
      'body.events.0.assetKey',
      'body.events.1.partitionKey',
      'body.events.2.checkName',
      'body.events.3.metadata',
      'body.events.4.partitionKey',
    ]);
    expect((await world.owner('GET', '/assets/materializations?key=features')).body.items).toEqual([]);
    const written = materialization('features', '2026-01-03');
    const good = await report(run, [written, checkResult('features', 'no_null_ids', true, '2026-01-03')]);
    expect(good.body).toEqual({ recorded: 2 });
    // Another run's token reaches nothing of this run.
    const other = await materialize(world, { assets: ['features'], partitions: { keys: ['2026-01-04'] } });
    const otherRun = await start(api.server, world, other.body.flowRunId);
    const foreign = await otherRun.as('POST', `/flow-runs/${run.id}/asset-events`, {
      body: { attempt: 1, events: [materialization('features', '2026-01-03')] },
    });
    expect(foreign.status).toBe(404);
    // An event id already used by another run is refused, whoever's it is.
    const reused = await report(otherRun, [{ ...materialization('features', '2026-01-04'), id: written.id }]);
    expect(reused.status).toBe(409);
    expect(reused.body.detail).toBe('an asset event id of this batch is already in use');
    // Two reports of the same asset partition in one batch are one too many.
    const twice = await report(otherRun, [materialization('features', '2026-01-04'), materialization('features', '2026-01-04')]);
    expect(paths(twice)).toEqual(['body.events.1']);
  });
});

describe('a run that lists no assets', () => {
  test('works on every asset of its deployment, in dependency order: it reports on them and the gate covers them', async () => {
    const world = await assetWorld(api.server);
    await deployed(world, [asset('elsewhere')], { name: 'other' });
    const deployment = await deployed(world, [
      asset('raw', { checks: [{ name: 'complete', blocking: true }] }),
      asset('clean', { deps: ['raw', 'elsewhere'] }),
    ]);
    // What a schedule makes: a run of the deployment with no selection.
    const made = await world.owner('POST', `/deployments/${deployment.id}/runs`, { body: {} });
    const run = await start(api.server, world, made.body.flowRun.id);
    const refused = await report(run, [materialization('elsewhere')]);
    expect(paths(refused)).toEqual(['body.events.0.assetKey']);
    const events = [materialization('raw'), checkResult('raw', 'complete', false)];
    expect((await report(run, events)).body).toEqual({ recorded: 2 });
    const gate = await run.as('GET', `/flow-runs/${run.id}/asset-gate`);
    expect(gate.body).toEqual({ blocked: [], materialized: [] });

    const next = await world.owner('POST', `/deployments/${deployment.id}/runs`, { body: {} });
    const second = await start(api.server, world, next.body.flowRun.id);
    // raw comes first in the run and is materialised again, so its failed check does not block clean.
    expect((await second.as('GET', `/flow-runs/${second.id}/asset-gate`)).body.blocked).toEqual([]);
    const partial = await world.owner('POST', `/deployments/${deployment.id}/runs`, {
      body: { parameters: { assets: ['clean'] } },
    });
    const third = await start(api.server, world, partial.body.flowRun.id);
    expect((await third.as('GET', `/flow-runs/${third.id}/asset-gate`)).body.blocked).toEqual([
      { assetKey: 'clean', by: { assetKey: 'raw', checkName: 'complete', partitionKey: null } },
    ]);
  });
});

describe('the partition a run works on', () => {
  test('a run made by hand keeps its partition key, checked against the assets it selects; its subflow runs take it', async () => {
    const world = await assetWorld(api.server);
    const deployment = await deployed(world, graph());
    const parameters = { assets: ['raw/events'] };
    const wrong = await world.owner('POST', `/deployments/${deployment.id}/runs`, {
      body: { parameters, partitionKey: '2030-01-01' },
    });
    expect(wrong.status).toBe(400);
    expect(wrong.body.errors).toEqual([
      { path: 'body.partitionKey', message: '"2030-01-01" is not a partition key of "raw/events"' },
    ]);
    const made = await world.owner('POST', `/deployments/${deployment.id}/runs`, {
      body: { parameters, partitionKey: '2026-01-07' },
    });
    expect(made.status).toBe(201);
    expect(made.body.flowRun.partitionKey).toBe('2026-01-07');
    const listed = await world.owner('GET', '/flow-runs');
    expect(listed.body.items[0].partitionKey).toBe('2026-01-07');
    const run = await start(api.server, world, made.body.flowRun.id);
    const child = await run.as('POST', `/flow-runs/${run.id}/child-runs`, {
      body: { id: randomUUID(), attempt: 1, flowName: 'load-one-day' },
    });
    expect(child.status, child.text).toBe(201);
    expect(child.body.flowRun.partitionKey).toBe('2026-01-07');

    // Other flows' runs carry a partition key as they are given it.
    const etl = await world.owner('PUT', '/deployments', {
      body: { flowName: 'etl', name: 'nightly', source: SOURCE, entrypoint: 'etl.js', workPool: world.pool },
    });
    const plain = await world.owner('POST', `/deployments/${etl.body.deployment.id}/runs`, { body: { partitionKey: 'eu' } });
    expect(plain.body.flowRun.partitionKey).toBe('eu');
    const none = await world.owner('POST', `/deployments/${etl.body.deployment.id}/runs`, { body: {} });
    expect(none.body.flowRun.partitionKey).toBeNull();
  });
});
