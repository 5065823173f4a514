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
  materializeAll,
  report,
  start,
} from './assets.support.js';
import { client, useServer } from './helpers.js';

const api = useServer();

const daily = { kind: 'time', cadence: 'daily', start: '2026-01-01', end: '2026-02-01', timezone: 'UTC' };

describe('staleness', () => {
  test('a code version change makes the asset stale, and everything downstream of it, each with its reason', async () => {
    const world = await assetWorld(api.server);
    const graph = (featuresVersion: string) => [
      asset('raw'),
      asset('features', { deps: ['raw'], codeVersion: featuresVersion }),
      asset('model', { deps: ['features'] }),
      asset('card', { deps: ['model'] }),
    ];
    await deployed(world, graph('3f2a1b9c0d4e5f60718293a4'));
    await materializeAll(api.server, world, { assets: ['card'], upstream: true }, (assets) =>
      assets.map((k) => materialization(k, null, k === 'features' ? { codeVersion: '3f2a1b9c0d4e5f60718293a4' } : {})),
    );
    for (const key of ['raw', 'features', 'model', 'card']) expect((await getAsset(world, key)).health, key).toBe('FRESH');

    await deployed(world, graph('9bc1d2e3f4a5b6c7d8e9f001'));
    expect((await getAsset(world, 'raw')).health).toBe('FRESH');
    const features = await getAsset(world, 'features');
    expect(features.health).toBe('STALE');
    expect(features.stale).toEqual([{ kind: 'code_version', message: 'code version changed: 3f2a1b9c… → 9bc1d2e3…' }]);
    const model = await getAsset(world, 'model');
    expect(model.health).toBe('STALE');
    expect(model.stale).toEqual([{ kind: 'upstream_stale', upstream: 'features', message: 'upstream features is stale' }]);
    expect((await getAsset(world, 'card')).stale).toEqual([
      { kind: 'upstream_stale', upstream: 'model', message: 'upstream model is stale' },
    ]);
    const lineage = await world.owner('GET', '/assets/lineage');
    const node = lineage.body.nodes.find((n: { key: string }) => n.key === 'features');
    expect(node).toMatchObject({ health: 'STALE', staleReason: 'code version changed: 3f2a1b9c… → 9bc1d2e3…' });
    expect((await world.owner('GET', '/assets?health=STALE')).body.items.map((a: { key: string }) => a.key)).toEqual([
      'card',
      'features',
      'model',
    ]);

    // Materialising it with the new code makes it fresh; downstream is then older than it.
    await materializeAll(api.server, world, { assets: ['features'] }, () => [
      materialization('features', null, { codeVersion: '9bc1d2e3f4a5b6c7d8e9f001' }),
    ]);
    expect((await getAsset(world, 'features')).health).toBe('FRESH');
    const after = await getAsset(world, 'model');
    expect(after.stale).toHaveLength(1);
    expect(after.stale[0]).toMatchObject({ kind: 'upstream_newer', upstream: 'features' });
    expect(after.stale[0].message).toMatch(/^upstream features materialised \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC after this$/);
  });

  test('an upstream materialised later makes its downstream stale, partition by partition when they share partitions, and the lineage counts them', async () => {
    const world = await assetWorld(api.server);
    await deployed(world, [
      asset('events', { partitions: daily }),
      asset('sessions', { deps: ['events'], partitions: daily }),
      asset('summary', { deps: ['sessions'] }),
    ]);
    for (const day of ['2026-01-02', '2026-01-03']) {
      await materializeAll(api.server, world, { assets: ['sessions'], upstream: true, partitions: { keys: [day] } });
    }
    await materializeAll(api.server, world, { assets: ['summary'] });
    expect((await getAsset(world, 'sessions')).health).toBe('FRESH');
    expect((await getAsset(world, 'summary')).health).toBe('FRESH');

    await materializeAll(api.server, world, { assets: ['events'], partitions: { keys: ['2026-01-03'] } });
    const grid = await world.owner('GET', '/assets/partitions?key=sessions');
    const byKey = new Map(grid.body.partitions.map((p: { key: string }) => [p.key, p]));
    expect(byKey.get('2026-01-02')).toMatchObject({ status: 'MATERIALIZED', staleReason: null });
    expect(byKey.get('2026-01-03')).toMatchObject({ status: 'STALE' });
    expect((byKey.get('2026-01-03') as { staleReason: string }).staleReason).toMatch(
      /^upstream events materialised .* after this$/,
    );
    expect(grid.body.counts).toEqual({ total: 31, MISSING: 29, MATERIALIZED: 1, FAILED: 0, STALE: 1, MATERIALIZING: 0 });
    const sessions = await getAsset(world, 'sessions');
    expect(sessions.health).toBe('STALE');
    expect(sessions.partitionCounts).toEqual(grid.body.counts);
    // The lineage carries the same counts for each partitioned node, for its health bar, and none for the others.
    const lineage = await world.owner('GET', '/assets/lineage');
    const counts = new Map(lineage.body.nodes.map((n: { key: string; partitionCounts: unknown }) => [n.key, n.partitionCounts]));
    expect(counts.get('sessions')).toEqual(grid.body.counts);
    expect(counts.get('summary')).toBeNull();
    // The unpartitioned summary reads every partition of sessions: one stale partition makes it stale.
    expect((await getAsset(world, 'summary')).stale).toEqual([
      { kind: 'upstream_stale', upstream: 'sessions', message: 'upstream sessions is stale' },
    ]);
  });

  test('a failure report makes the asset FAILED and keeps its last good materialisation', async () => {
    const world = await assetWorld(api.server);
    await deployed(world, [asset('a')]);
    const { run } = await materializeAll(api.server, world, { assets: ['a'] });
    const made = await materialize(world, { assets: ['a'] });
    const second = await start(api.server, world, made.body.flowRunId);
    const failed = await report(second, [
      { kind: 'failure', id: crypto.randomUUID(), assetKey: 'a', partitionKey: null, message: 'disk full' },
    ]);
    expect(failed.body).toEqual({ recorded: 1 });
    await finish(second, 'FAILED');
    const a = await getAsset(world, 'a');
    expect(a.health).toBe('FAILED');
    expect(a.latest.flowRunId).toBe(run.id);
  });
});

describe('blocking checks', () => {
  async function blockedWorld() {
    const world = await assetWorld(api.server);
    await deployed(world, [
      asset('raw', {
        checks: [
          { name: 'no_null_ids', blocking: true },
          { name: 'row_count', blocking: false, severity: 'WARN' },
        ],
      }),
      asset('features', { deps: ['raw'] }),
      asset('model', { deps: ['features'] }),
    ]);
    await materializeAll(api.server, world, { assets: ['raw'] }, () => [
      materialization('raw'),
      checkResult('raw', 'no_null_ids', false),
      checkResult('raw', 'row_count', false, null, { blocking: false, severity: 'WARN' }),
    ]);
    return world;
  }

  test('a failed blocking check blocks downstream materialisation, in the materialise route and at the gate', async () => {
    const world = await blockedWorld();
    const raw = await getAsset(world, 'raw');
    expect(raw.health).toBe('BLOCKED');
    expect(raw.checks.map((c: { name: string; blocksDownstream: boolean }) => [c.name, c.blocksDownstream])).toEqual([
      ['no_null_ids', true],
      ['row_count', false],
    ]);
    expect((await getAsset(world, 'model')).health).toBe('BLOCKED');

    const refused = await materialize(world, { assets: ['model'], upstream: false });
    expect(refused.status).toBe(409);
    expect(refused.body.detail).toBe(
      'asset "model" is blocked: the blocking check "no_null_ids" of "raw" failed; materialise it again, or have an admin waive the failure',
    );
    expect((await materialize(world, { assets: ['features'] })).status).toBe(409);
    // Re-materialising the asset that failed its check first is allowed: its check runs again.
    const withRaw = await materialize(world, { assets: ['features'], upstream: true });
    expect(withRaw.status).toBe(201);
    expect(withRaw.body.assets).toEqual(['raw', 'features']);
    // Checks alone never write data.
    expect((await materialize(world, { assets: ['model'], checksOnly: true })).status).toBe(201);

    // A run made another way (here: by hand) is stopped at its start by the gate.
    const deployment = (await getAsset(world, 'model')).deploymentId;
    const byHand = await world.owner('POST', `/deployments/${deployment}/runs`, {
      body: { parameters: { assets: ['features', 'model'] } },
    });
    const claimed = await world.worker('POST', `/work-pools/${world.pool}/claim`, {
      body: { workerId: crypto.randomUUID(), limit: 10 },
    });
    const tokenOf = (id: string) => claimed.body.runs.find((r: { flowRun: { id: string } }) => r.flowRun.id === id).token;
    const gate = await client(api.server, tokenOf(byHand.body.flowRun.id))(
      'GET',
      `/flow-runs/${byHand.body.flowRun.id}/asset-gate`,
    );
    expect(gate.body).toEqual({
      blocked: [
        { assetKey: 'features', by: { assetKey: 'raw', checkName: 'no_null_ids', partitionKey: null } },
        { assetKey: 'model', by: { assetKey: 'raw', checkName: 'no_null_ids', partitionKey: null } },
      ],
      materialized: [],
    });
    const open = await client(api.server, tokenOf(withRaw.body.flowRunId))(
      'GET',
      `/flow-runs/${withRaw.body.flowRunId}/asset-gate`,
    );
    expect(open.body).toEqual({ blocked: [], materialized: [] });
  });

  test('a waiver by a viewer is refused; by an admin it is recorded and audited, and downstream may run again', async () => {
    const world = await blockedWorld();
    const viewer = client(api.server, await world.ws.createKey('viewer'));
    const developer = client(api.server, await world.ws.createKey('developer'));
    const admin = client(api.server, await world.ws.createKey('admin'));
    const body = { assetKey: 'raw', checkName: 'no_null_ids', reason: 'known upstream outage, ids are backfilled tomorrow' };
    expect((await viewer('POST', '/assets/waivers', { body })).status).toBe(403);
    expect((await developer('POST', '/assets/waivers', { body })).status).toBe(403);
    const waived = await admin('POST', '/assets/waivers', { body });
    expect(waived.status, waived.text).toBe(201);
    const adminId = (await admin('GET', '/whoami')).body.principal.id;
    expect(waived.body).toMatchObject({ assetKey: 'raw', checkName: 'no_null_ids', partitionKey: null, reason: body.reason });
    expect(waived.body.waivedBy).toMatch(/admin/);

    const audit = await world.owner('GET', '/audit-log?action=asset.waive');
    expect(audit.body.items).toHaveLength(1);
    expect(audit.body.items[0]).toMatchObject({
      actor: { kind: 'api_key', id: adminId },
      status: 201,
      targetIds: { assetKey: 'raw', checkName: 'no_null_ids', checkResultId: waived.body.checkResultId },
      resultIds: { waiverId: waived.body.id },
      summary: { reason: body.reason },
    });
    const byAsset = await world.owner('GET', '/audit-log?objectId=raw');
    expect(byAsset.body.items.map((e: { action: string }) => e.action)).toEqual(['asset.waive']);
    // The refused attempts are in the log as calls of the route.
    const calls = await world.owner('GET', '/audit-log?action=assetsWaive');
    expect(calls.body.items.map((e: { status: number }) => e.status).sort()).toEqual([201, 403, 403]);

    const raw = await getAsset(world, 'raw');
    expect(raw.health).not.toBe('BLOCKED');
    expect(raw.checks[0]).toMatchObject({ blocksDownstream: false, waiver: { id: waived.body.id } });
    expect((await materialize(world, { assets: ['model'] })).status).toBe(201);
    // A failed check that blocks nothing may be waived too.
    const again = await admin('POST', '/assets/waivers', { body: { ...body, checkName: 'row_count' } });
    expect(again.status).toBe(201);
  });

  test('a waiver is refused when the latest result of the check is not a failure, and a new failure blocks again', async () => {
    const world = await blockedWorld();
    const body = { assetKey: 'raw', checkName: 'no_null_ids', reason: 'accepted' };
    await materializeAll(api.server, world, { assets: ['raw'] }, () => [
      materialization('raw'),
      checkResult('raw', 'no_null_ids', true),
    ]);
    expect((await getAsset(world, 'model')).health).not.toBe('BLOCKED');
    expect((await materialize(world, { assets: ['features'] })).status).toBe(201);
    const refused = await world.owner('POST', '/assets/waivers', { body });
    expect(refused.status).toBe(409);
    expect(refused.body.detail).toBe('nothing to waive: the latest result of the check "no_null_ids" of "raw" passed');
    expect((await world.owner('POST', '/assets/waivers', { body: { ...body, checkName: 'nope' } })).status).toBe(404);

    await materializeAll(api.server, world, { assets: ['raw'] }, () => [
      materialization('raw'),
      checkResult('raw', 'no_null_ids', false),
    ]);
    expect((await materialize(world, { assets: ['features'] })).status).toBe(409);
    expect((await world.owner('POST', '/assets/waivers', { body })).status).toBe(201);
    expect((await materialize(world, { assets: ['features'] })).status).toBe(201);
    await materializeAll(api.server, world, { assets: ['raw'] }, () => [
      materialization('raw'),
      checkResult('raw', 'no_null_ids', false),
    ]);
    // The waiver lifted the failure it named; a newer failure blocks again.
    expect((await materialize(world, { assets: ['features'] })).status).toBe(409);
    const results = await world.owner('GET', '/assets/check-results?key=raw&check=no_null_ids&limit=2');
    expect(results.body.items.map((r: { passed: boolean }) => r.passed)).toEqual([false, false]);
    const next = await world.owner(
      'GET',
      `/assets/check-results?key=raw&check=no_null_ids&limit=2&cursor=${results.body.nextCursor}`,
    );
    expect(next.body.items.map((r: { passed: boolean }) => r.passed)).toEqual([true, false]);
    expect(next.body.nextCursor).toBeNull();
  });

  test('a blocking check on one partition blocks that partition downstream only', async () => {
    const world = await assetWorld(api.server);
    await deployed(world, [
      asset('events', { partitions: daily, checks: [{ name: 'complete', blocking: true }] }),
      asset('sessions', { deps: ['events'], partitions: daily }),
    ]);
    await materializeAll(api.server, world, { assets: ['events'], partitions: { keys: ['2026-01-04'] } }, (_, p) => [
      materialization('events', p),
      checkResult('events', 'complete', false, p),
    ]);
    expect((await materialize(world, { assets: ['sessions'], partitions: { keys: ['2026-01-04'] } })).status).toBe(409);
    expect((await materialize(world, { assets: ['sessions'], partitions: { keys: ['2026-01-05'] } })).status).toBe(201);
    const grid = await world.owner('GET', '/assets/partitions?key=sessions');
    const blocked = grid.body.partitions.filter((p: { blocked: boolean }) => p.blocked).map((p: { key: string }) => p.key);
    expect(blocked).toEqual(['2026-01-04']);
    const waived = await world.owner('POST', '/assets/waivers', {
      body: { assetKey: 'events', checkName: 'complete', partitionKey: '2026-01-04', reason: 'partial day is fine' },
    });
    expect(waived.status).toBe(201);
    expect((await materialize(world, { assets: ['sessions'], partitions: { keys: ['2026-01-04'] } })).status).toBe(201);
  });

  test("a check's status lists the failing partition that blocks although a newer partition passed, then the waiver that lifts it", async () => {
    const world = await assetWorld(api.server);
    await deployed(world, [asset('events', { partitions: daily, checks: [{ name: 'complete', blocking: true }] })]);
    await materializeAll(api.server, world, { assets: ['events'], partitions: { keys: ['2026-01-04'] } }, (_, p) => [
      materialization('events', p),
      checkResult('events', 'complete', false, p),
    ]);
    await materializeAll(api.server, world, { assets: ['events'], partitions: { keys: ['2026-01-05'] } }, (_, p) => [
      materialization('events', p),
      checkResult('events', 'complete', true, p),
    ]);
    const blocked = await getAsset(world, 'events');
    expect(blocked.health).toBe('BLOCKED');
    const check = blocked.checks[0];
    expect(check).toMatchObject({
      blocksDownstream: true,
      latest: { passed: true, partitionKey: '2026-01-05' },
      waiver: null,
      failureCount: 1,
    });
    expect(check.failures).toHaveLength(1);
    expect(check.failures[0]).toMatchObject({
      result: { passed: false, partitionKey: '2026-01-04' },
      waiver: null,
      blocks: true,
    });

    const waived = await world.owner('POST', '/assets/waivers', {
      body: { assetKey: 'events', checkName: 'complete', partitionKey: '2026-01-04', reason: 'partial day is fine' },
    });
    expect(waived.status).toBe(201);
    const lifted = await getAsset(world, 'events');
    expect(lifted.health).not.toBe('BLOCKED');
    expect(lifted.checks[0]).toMatchObject({
      blocksDownstream: false,
      waiver: { id: waived.body.id, reason: 'partial day is fine', partitionKey: '2026-01-04' },
      failureCount: 1,
    });
    expect(lifted.checks[0].failures[0]).toMatchObject({
      result: { partitionKey: '2026-01-04' },
      waiver: { id: waived.body.id, waivedBy: waived.body.waivedBy },
      blocks: false,
    });
  });
});
