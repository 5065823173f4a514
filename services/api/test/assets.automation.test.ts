import { describe, expect, test } from 'vitest';
import { databaseNow } from '../src/assets/db/asset-automation.js';
import { createLogger } from '../src/logger.js';
import { automationPass } from '../src/materialization/automation-pass.js';
import {
  type AssetWorld,
  asset,
  assetWorld,
  checkResult,
  deployAssets,
  deployed,
  finish,
  getAsset,
  materialization,
  materialize,
  materializeAll,
  paths,
  report,
  start,
} from './assets.support.js';
import { useServer } from './helpers.js';

const logger = createLogger('silent');

const api = useServer();

function pass(options: { maxRequests?: number } = {}) {
  return automationPass(api.server.sql, logger, options);
}

/** The runs of the world's asset deployment, oldest first, with what each materialises. */
async function runs(world: AssetWorld) {
  return api.server.sql<
    { id: string; parameters: { assets: string[] }; partition_key: string | null; idempotency_key: string | null }[]
  >`
    SELECT id, parameters, partition_key, idempotency_key FROM flow_runs
    WHERE workspace_id = ${world.ws.workspaceId} ORDER BY created_at, id`;
}

async function evaluations(world: AssetWorld, key: string) {
  const res = await world.owner('GET', `/assets/evaluations?key=${encodeURIComponent(key)}`);
  expect(res.status, res.text).toBe(200);
  return res.body.items as {
    reason: string;
    outcome: string;
    skipReason: string | null;
    message: string;
    flowRunId: string | null;
  }[];
}

async function events(world: AssetWorld, kind: string) {
  return api.server.sql<{ resource_id: string; payload: Record<string, unknown> }[]>`
    SELECT resource_id, payload FROM events WHERE workspace_id = ${world.ws.workspaceId} AND kind = ${kind} ORDER BY seq`;
}

describe('deploying policies', () => {
  test('a deploy stores the automation and freshness policies and the catalog shows them', async () => {
    const world = await assetWorld(api.server);
    await deployed(world, [
      asset('raw', { freshness: { maxLagMinutes: 90, cron: { cron: '0 9 * * *', timezone: 'Europe/Berlin' } } }),
      asset('features', { deps: ['raw'], automation: { onUpstreamUpdate: true, onMissing: true } }),
    ]);
    const features = await getAsset(world, 'features');
    expect(features.automation).toEqual({ onUpstreamUpdate: true, onMissing: true });
    expect(features.freshness).toBeNull();
    expect(features.freshnessState).toBeNull();
    const raw = await getAsset(world, 'raw');
    expect(raw.freshness).toEqual({ maxLagMinutes: 90, cron: { cron: '0 9 * * *', timezone: 'Europe/Berlin' } });
    expect(raw.freshnessState.status).toBe('OK');
  });

  test('a cron that does not parse, an unknown zone and an empty policy are refused with their paths', async () => {
    const world = await assetWorld(api.server);
    const res = await deployAssets(world, [
      asset('a', { automation: { cron: { cron: '61 * * * *' } } }),
      asset('b', { freshness: { maxLagMinutes: 5, cron: { cron: '0 * * * *', timezone: 'Mars/Olympus' } } }),
    ]);
    expect(res.status, res.text).toBe(400);
    expect(paths(res)).toEqual(['body.assets.0.automation.cron.cron', 'body.assets.1.freshness.cron.timezone']);
    const empty = await deployAssets(world, [asset('a', { automation: {} })]);
    expect(empty.status, empty.text).toBe(400);
    expect(empty.body.errors).toEqual([
      { path: 'body.assets.0.automation', message: 'an automation policy needs onUpstreamUpdate, cron or onMissing' },
    ]);
  });
});

describe('on upstream update', () => {
  test('materialising the upstream requests one run of the downstream, once however many passes look', async () => {
    const world = await assetWorld(api.server);
    await deployed(world, [asset('raw'), asset('features', { deps: ['raw'], automation: { onUpstreamUpdate: true } })]);
    await pass();
    expect(await runs(world)).toEqual([]);

    const { run: rawRun } = await materializeAll(api.server, world, { assets: ['raw'] });
    // Two replicas' passes at once, and one more after: the same cause, one run.
    await Promise.all([pass(), pass()]);
    await pass();
    const after = await runs(world);
    expect(after.map((r) => r.parameters.assets)).toEqual([['raw'], ['features']]);
    const auto = after[1];
    expect(auto?.idempotency_key).toMatch(/^auto:features::upstream:/);
    const [requested] = (await evaluations(world, 'features')).filter((e) => e.outcome === 'REQUESTED');
    expect(requested).toMatchObject({ reason: 'upstream_updated', flowRunId: auto?.id });
    expect(requested?.message).toMatch(/^upstream raw was materialised .* and this never was$/);
    expect(rawRun.id).not.toBe(auto?.id);

    // The run does its work: features is fresh, and nothing more is asked for.
    const held = await start(api.server, world, auto?.id as string);
    expect((await report(held, [materialization('features')])).status).toBe(200);
    await finish(held);
    await pass();
    expect(await runs(world)).toHaveLength(2);
    expect((await getAsset(world, 'features')).health).toBe('FRESH');

    // A new upstream materialisation is a new cause.
    await materializeAll(api.server, world, { assets: ['raw'] });
    await pass();
    const third = await runs(world);
    expect(third.map((r) => r.parameters.assets)).toEqual([['raw'], ['features'], ['raw'], ['features']]);
    const latest = (await evaluations(world, 'features'))[0];
    expect(latest?.message).toMatch(/^upstream raw materialised .* after this$/);
  });

  test('a failed automatic run is not requested again for the same upstream change', async () => {
    const world = await assetWorld(api.server);
    await deployed(world, [asset('raw'), asset('features', { deps: ['raw'], automation: { onUpstreamUpdate: true } })]);
    await materializeAll(api.server, world, { assets: ['raw'] });
    await pass();
    const auto = (await runs(world))[1];
    const held = await start(api.server, world, auto?.id as string);
    await report(held, [{ kind: 'failure', id: crypto.randomUUID(), assetKey: 'features', partitionKey: null, message: 'boom' }]);
    await finish(held, 'FAILED');
    await pass();
    await pass();
    expect(await runs(world)).toHaveLength(2);
  });

  test('a run already materialising it, an upstream in flight and a failed blocking check are recorded as skip reasons, once each', async () => {
    const world = await assetWorld(api.server);
    await deployed(world, [
      asset('raw', { checks: [{ name: 'no_nulls', blocking: true }] }),
      asset('features', { deps: ['raw'], automation: { onUpstreamUpdate: true } }),
    ]);
    // One run materialises raw and then features; between the two, features is in flight.
    const res = await materialize(world, { assets: ['features'], upstream: true });
    const both = await start(api.server, world, res.body.flowRunId);
    await report(both, [materialization('raw')]);
    await pass();
    await pass();
    let records = await evaluations(world, 'features');
    expect(records.map((e) => [e.outcome, e.skipReason])).toEqual([['SKIPPED', 'in_flight']]);
    expect(records[0]?.message).toContain(`run ${both.id} is materialising it`);
    await report(both, [materialization('features')]);
    await finish(both);

    // raw written again by a run that is still going: features waits for it.
    const rawRes = await materialize(world, { assets: ['raw'] });
    const rawRun = await start(api.server, world, rawRes.body.flowRunId);
    await report(rawRun, [materialization('raw')]);
    const second = await materialize(world, { assets: ['raw'] });
    const secondRun = await start(api.server, world, second.body.flowRunId);
    await pass();
    records = await evaluations(world, 'features');
    expect(records[0]).toMatchObject({ outcome: 'SKIPPED', skipReason: 'upstream_in_flight' });
    await finish(rawRun);

    // Its checks fail: features is blocked.
    await report(secondRun, [materialization('raw'), checkResult('raw', 'no_nulls', false)]);
    await finish(secondRun);
    await pass();
    await pass();
    records = await evaluations(world, 'features');
    expect(records[0]).toMatchObject({ outcome: 'SKIPPED', skipReason: 'blocked' });
    expect(records[0]?.message).toContain('the blocking check "no_nulls" of "raw"');
    expect(records.filter((e) => e.skipReason === 'blocked')).toHaveLength(1);
    expect((await runs(world)).filter((r) => r.idempotency_key?.startsWith('auto:'))).toEqual([]);
  });
});

const daily = (start: string, end: string) => ({ kind: 'time', cadence: 'daily', start, end, timezone: 'UTC' });

describe('partitions', () => {
  test('a partitioned downstream is materialised for the partition its upstream wrote, and only that one', async () => {
    const world = await assetWorld(api.server);
    const p = daily('2026-01-01', '2026-02-01');
    await deployed(world, [
      asset('raw', { partitions: p }),
      asset('features', { deps: ['raw'], partitions: p, automation: { onUpstreamUpdate: true } }),
    ]);
    await materializeAll(api.server, world, { assets: ['raw'], partitions: { keys: ['2026-01-05'] } });
    await pass();
    const auto = (await runs(world)).filter((r) => r.idempotency_key?.startsWith('auto:'));
    expect(auto.map((r) => [r.parameters.assets, r.partition_key])).toEqual([[['features'], '2026-01-05']]);
    const [record] = await evaluations(world, 'features');
    expect(record).toMatchObject({ reason: 'upstream_updated', outcome: 'REQUESTED' });
  });

  test('missing partitions of a 10,000-partition asset are requested a bounded number per pass, newest first', async () => {
    const world = await assetWorld(api.server);
    // Daily since 1999: more than 10,000 closed days.
    await deployed(world, [asset('history', { partitions: daily('1999-01-01', '2099-01-01'), automation: { onMissing: true } })]);
    const keys = await world.owner('GET', '/assets/partitions?key=history&limit=1');
    expect(keys.body.counts.total).toBeGreaterThan(10_000);
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    const started = Date.now();
    await pass({ maxRequests: 25 });
    const elapsed = Date.now() - started;
    const first = await runs(world);
    expect(first).toHaveLength(25);
    expect(
      first
        .map((r) => r.partition_key)
        .sort()
        .at(-1),
    ).toBe(yesterday);
    expect(elapsed).toBeLessThan(15_000);
    await pass({ maxRequests: 25 });
    const second = await runs(world);
    expect(second).toHaveLength(50);
    expect(new Set(second.map((r) => r.partition_key)).size).toBe(50);
    const records = await evaluations(world, 'history');
    expect(records[0]).toMatchObject({ reason: 'missing', outcome: 'REQUESTED', message: 'never materialised' });
    // Without its policy the asset asks for nothing more (and leaves the other tests' passes alone).
    await deployed(world, [asset('history', { partitions: daily('1999-01-01', '2099-01-01') })]);
    await pass({ maxRequests: 25 });
    expect(await runs(world)).toHaveLength(50);
  });
});

describe('on cron', () => {
  test('a cron tick materialises the asset only when an upstream changed since its last materialisation', async () => {
    const world = await assetWorld(api.server);
    await deployed(world, [
      asset('raw'),
      asset('features', { deps: ['raw'], automation: { cron: { cron: '* * * * * *', timezone: 'UTC' } } }),
    ]);
    await materializeAll(api.server, world, { assets: ['features'], upstream: true });
    // Ticks pass (one a second) with nothing new upstream: nothing is requested.
    const t0 = await databaseNow(api.server.sql);
    while ((await databaseNow(api.server.sql)).getTime() < t0.getTime() + 2_200) await pass();
    expect(await runs(world)).toHaveLength(1);

    await materializeAll(api.server, world, { assets: ['raw'] });
    const deadline = Date.now() + 10_000;
    let auto: { parameters: { assets: string[] }; idempotency_key: string | null }[] = [];
    while (auto.length === 0 && Date.now() < deadline) {
      await pass();
      auto = (await runs(world)).filter((r) => r.idempotency_key?.startsWith('auto:'));
    }
    expect(auto.map((r) => r.parameters.assets)).toEqual([['features']]);
    expect(auto[0]?.idempotency_key).toMatch(/^auto:features::cron:/);
    const [record] = await evaluations(world, 'features');
    expect(record).toMatchObject({ reason: 'cron', outcome: 'REQUESTED' });
    expect(record?.message).toContain('upstream raw changed since');
  });
});

describe('freshness', () => {
  test('an asset older than its bound is OVERDUE and raises one violated event, and one restored event when written again', async () => {
    const world = await assetWorld(api.server);
    await deployed(world, [asset('scores', { freshness: { maxLagMinutes: 30 } }), asset('other')]);
    await materializeAll(api.server, world, { assets: ['scores'] });
    await pass();
    expect(await events(world, 'asset.freshness.violated')).toEqual([]);
    expect((await getAsset(world, 'scores')).health).toBe('FRESH');

    // Its data is now two hours old.
    await api.server.sql`
      UPDATE asset_partitions SET materialized_at = materialized_at - interval '2 hours'
      WHERE workspace_id = ${world.ws.workspaceId} AND asset_key = 'scores'`;
    await Promise.all([pass(), pass()]);
    await pass();
    const violated = await events(world, 'asset.freshness.violated');
    expect(violated.map((e) => e.resource_id)).toEqual(['scores']);
    expect(violated[0]?.payload).toMatchObject({ assetKey: 'scores', maxLagMinutes: 30 });
    expect(violated[0]?.payload.overdueMinutes).toBeGreaterThanOrEqual(89);
    const scores = await getAsset(world, 'scores');
    expect(scores.health).toBe('OVERDUE');
    expect(scores.freshnessState.status).toBe('VIOLATED');
    const overdue = await world.owner('GET', '/assets?health=OVERDUE');
    expect(overdue.body.items.map((a: { key: string }) => a.key)).toEqual(['scores']);

    await materializeAll(api.server, world, { assets: ['scores'] });
    await pass();
    await pass();
    expect((await events(world, 'asset.freshness.restored')).map((e) => e.resource_id)).toEqual(['scores']);
    expect(await events(world, 'asset.freshness.violated')).toHaveLength(1);
    expect((await getAsset(world, 'scores')).health).toBe('FRESH');
  });
});
