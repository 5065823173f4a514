import { randomUUID } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { materializeOrBackfill } from '../src/backfills/asset-backfill.js';
import {
  type AssetWorld,
  asset,
  assetWorld,
  checkResult,
  deployed,
  finish,
  materialization,
  materializeAll,
  paths,
  report,
} from './assets.support.js';
import { client, eventually, useServer } from './helpers.js';

/*
 * Backfills of assets: runs of the owning deployment's `assets` flow, one per partition (or one over
 * a range), planned like `POST /assets/materialize`, with partitions a failed blocking check upstream
 * forbids recorded BLOCKED instead of run.
 */

const api = useServer({ backfills: { idleMs: 3_600_000, busyMs: 3_600_000 } });

const regions = { kind: 'static', keys: ['a', 'b', 'c'] };

async function graph(world: AssetWorld, extra: Record<string, unknown> = {}) {
  return deployed(world, [
    asset('raw/events', { partitions: regions, checks: [{ name: 'no_null_ids', blocking: true }], ...extra }),
    asset('features', { deps: ['raw/events'], partitions: regions, ...extra }),
  ]);
}

async function backfill(world: AssetWorld, id: string) {
  const res = await world.owner('GET', `/backfills/${id}`);
  expect(res.status, res.text).toBe(200);
  return res.body;
}

/** Claims the world's next run (in the claim's order), reports every asset of it materialised for its partition, completes it. */
async function materializeNext(world: AssetWorld): Promise<{ partitionKey: string | null; parameters: Record<string, unknown> }> {
  const claimed = await eventually(async () => {
    const res = await world.worker('POST', `/work-pools/${world.pool}/claim`, { body: { workerId: randomUUID(), limit: 1 } });
    expect(res.status, res.text).toBe(200);
    return res.body.runs[0];
  });
  const as = client(api.server, claimed.token);
  const runId = claimed.flowRun.id as string;
  const running = await as('POST', `/flow-runs/${runId}/set-state`, {
    body: { transitionId: randomUUID(), state: { type: 'RUNNING' } },
  });
  expect(running.body.status, running.text).toBe('ACCEPT');
  const run = { id: runId, token: claimed.token, attempt: claimed.flowRun.attempt, as, claimed };
  const { partitionKey, parameters } = claimed.flowRun;
  const keys = parameters.partitionRange ? ['a', 'b', 'c'] : [partitionKey];
  const events = (parameters.assets as string[]).flatMap((key) => keys.map((k) => materialization(key, k)));
  expect((await report(run, events)).status).toBe(200);
  await finish(run);
  return { partitionKey, parameters };
}

describe('asset backfills', () => {
  test("run the owning deployment's assets flow once per partition, the selection in dependency order, each run carrying its partition", async () => {
    const world = await assetWorld(api.server);
    const deployment = await graph(world);
    const res = await world.owner('POST', '/backfills', {
      body: { assets: ['features'], upstream: true, partitions: { all: true }, maxConcurrent: 2 },
    });
    expect(res.status, res.text).toBe(201);
    expect(res.body).toMatchObject({
      target: 'assets',
      assets: ['raw/events', 'features'],
      deploymentId: deployment.id,
      scheduleSlug: null,
      selection: { range: { start: 'a', end: 'c' } },
      partitionsDefinition: regions,
      partitions: { total: 3, PENDING: 2, notStarted: 1 },
    });
    // The grid shows the partitions whose runs exist as being materialised.
    const grid = await world.owner('GET', '/assets/partitions?key=features');
    expect(grid.body.partitions.map((p: { key: string; status: string }) => [p.key, p.status])).toEqual([
      ['a', 'MATERIALIZING'],
      ['b', 'MATERIALIZING'],
      ['c', 'MISSING'],
    ]);
    const runs = [];
    for (let i = 0; i < 3; i++) runs.push(await materializeNext(world));
    expect(runs.map((r) => r.partitionKey)).toEqual(['a', 'b', 'c']);
    for (const r of runs) {
      expect(r.parameters).toEqual({
        assets: ['raw/events', 'features'],
        checksOnly: false,
        partition: r.partitionKey,
        partitionRange: null,
      });
    }
    const done = await eventually(async () => {
      const b = await backfill(world, res.body.id);
      return b.status === 'COMPLETED' ? b : undefined;
    });
    expect(done.partitions).toMatchObject({ total: 3, COMPLETED: 3 });
    const after = await world.owner('GET', '/assets/partitions?key=features');
    expect(after.body.counts).toMatchObject({ MATERIALIZED: 3 });
  });

  test('a partition blocked by a failed blocking check upstream is BLOCKED and not run; after a waiver, retry-failed runs it', async () => {
    const world = await assetWorld(api.server);
    await graph(world);
    // raw/events fails its blocking check on partition b.
    await materializeAll(api.server, world, { assets: ['raw/events'], partitions: { keys: ['b'] } }, (assets, partition) => [
      ...assets.map((k) => materialization(k, partition)),
      checkResult('raw/events', 'no_null_ids', false, partition),
    ]);
    const res = await world.owner('POST', '/backfills', {
      body: { assets: ['features'], partitions: { all: true }, maxConcurrent: 3 },
    });
    expect(res.status, res.text).toBe(201);
    expect(res.body.partitions).toMatchObject({ PENDING: 2, BLOCKED: 1, notStarted: 0 });
    const blocked = await world.owner('GET', `/backfills/${res.body.id}/partitions?status=BLOCKED`);
    expect(blocked.body.items).toEqual([
      expect.objectContaining({
        key: 'b',
        status: 'BLOCKED',
        flowRunId: null,
        runs: 0,
        message: expect.stringContaining('no_null_ids'),
      }),
    ]);
    const ran = [await materializeNext(world), await materializeNext(world)];
    expect(ran.map((r) => r.partitionKey)).toEqual(['a', 'c']);
    const failed = await eventually(async () => {
      const b = await backfill(world, res.body.id);
      return b.status === 'FAILED' ? b : undefined;
    });
    expect(failed.partitions).toMatchObject({ COMPLETED: 2, BLOCKED: 1 });

    // Still blocked: retry-failed checks again and records it BLOCKED again.
    const again = await world.owner('POST', `/backfills/${res.body.id}/retry-failed`);
    expect(again.status).toBe(200);
    expect(
      (
        await eventually(async () => {
          const b = await backfill(world, res.body.id);
          return b.status === 'FAILED' ? b : undefined;
        })
      ).partitions,
    ).toMatchObject({ BLOCKED: 1 });

    const admin = await world.ws.createKey('admin');
    const waived = await api.server.app.request('/api/v1/assets/waivers', {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        assetKey: 'raw/events',
        checkName: 'no_null_ids',
        partitionKey: 'b',
        reason: 'known gap in the export',
      }),
    });
    expect(waived.status).toBe(201);
    expect((await world.owner('POST', `/backfills/${res.body.id}/retry-failed`)).body.status).toBe('RUNNING');
    expect(await materializeNext(world)).toMatchObject({ partitionKey: 'b' });
    const done = await eventually(async () => {
      const b = await backfill(world, res.body.id);
      return b.status === 'COMPLETED' ? b : undefined;
    });
    expect(done.partitions).toMatchObject({ COMPLETED: 3, BLOCKED: 0 });
  });

  test('with singleRun, assets that accept ranges get one run over the whole range; others are refused by field', async () => {
    const refusing = await assetWorld(api.server);
    await graph(refusing);
    const refused = await refusing.owner('POST', '/backfills', {
      body: { assets: ['features'], partitions: { all: true }, singleRun: true },
    });
    expect(refused.status).toBe(400);
    expect(paths(refused)).toEqual(['body.singleRun']);

    const world = await assetWorld(api.server);
    await graph(world, { acceptsRange: true });
    const res = await world.owner('POST', '/backfills', {
      body: {
        assets: ['raw/events', 'features'],
        partitions: { range: { start: 'a', end: 'c' } },
        singleRun: true,
        maxConcurrent: 3,
      },
    });
    expect(res.status, res.text).toBe(201);
    expect(res.body).toMatchObject({ singleRun: true, runCount: 1, partitions: { total: 3, PENDING: 3 } });
    const listed = await world.owner('GET', `/backfills/${res.body.id}/partitions`);
    const runIds = new Set(listed.body.items.map((p: { flowRunId: string }) => p.flowRunId));
    expect(runIds.size).toBe(1);
    const run = await materializeNext(world);
    expect(run).toEqual({
      partitionKey: null,
      parameters: {
        assets: ['raw/events', 'features'],
        checksOnly: false,
        partition: null,
        partitionRange: { start: 'a', end: 'c' },
      },
    });
    const done = await eventually(async () => {
      const b = await backfill(world, res.body.id);
      return b.status === 'COMPLETED' ? b : undefined;
    });
    expect(done).toMatchObject({ runCount: 1, partitions: { COMPLETED: 3 } });
  });

  test('selections materialise refuses are refused the same way, and nothing is written', async () => {
    const world = await assetWorld(api.server);
    await graph(world);
    const cases: [Record<string, unknown>, number, string[]][] = [
      [{ assets: ['nope'], partitions: { all: true } }, 404, []],
      [{ assets: ['features'], partitions: { keys: ['a', 'zz'] } }, 400, ['body.partitions.keys.1']],
      [{ assets: ['features'], partitions: { range: { start: 'c', end: 'a' } } }, 400, ['body.partitions.range']],
    ];
    for (const [body, status, fields] of cases) {
      const res = await world.owner('POST', '/backfills', { body });
      expect(res.status, JSON.stringify(body)).toBe(status);
      expect(paths(res)).toEqual(fields);
    }
    const viewer = await world.ws.createKey('viewer');
    const forbidden = await api.server.app.request('/api/v1/backfills', {
      method: 'POST',
      headers: { authorization: `Bearer ${viewer}`, 'content-type': 'application/json' },
      body: JSON.stringify({ assets: ['features'], partitions: { all: true } }),
    });
    expect(forbidden.status).toBe(403);
    const [row] = await api.server.sql<
      { n: number }[]
    >`SELECT count(*)::int AS n FROM backfills WHERE workspace_id = ${world.ws.workspaceId}`;
    expect(row?.n).toBe(0);
  });

  test('materialise with several partitions makes a backfill, and with one partition one run (what POST /assets/materialize needs)', async () => {
    const world = await assetWorld(api.server);
    await graph(world);
    const several = await materializeOrBackfill(api.server.sql, {
      workspaceId: world.ws.workspaceId,
      request: {
        assets: ['features'],
        upstream: true,
        downstream: false,
        checksOnly: false,
        partitions: { range: { start: 'a', end: 'b' } },
        maxConcurrent: 2,
      },
    });
    expect(several).toMatchObject({ assets: ['raw/events', 'features'], flowRunId: null, backfillId: expect.any(String) });
    expect(await backfill(world, several.backfillId as string)).toMatchObject({
      target: 'assets',
      runCount: 2,
      partitions: { total: 2 },
    });
    const one = await materializeOrBackfill(api.server.sql, {
      workspaceId: world.ws.workspaceId,
      request: {
        assets: ['features'],
        upstream: false,
        downstream: false,
        checksOnly: false,
        partitions: { range: { start: 'c', end: 'c' } },
      },
    });
    expect(one).toMatchObject({ assets: ['features'], flowRunId: expect.any(String), backfillId: null });
  });

  test('checks over several partitions make a checks-only backfill that a failed blocking check upstream does not stop', async () => {
    const world = await assetWorld(api.server);
    await graph(world);
    // raw/events fails its blocking check on partition a: materialising features there is blocked…
    await materializeAll(api.server, world, { assets: ['raw/events'], partitions: { keys: ['a'] } }, (assets, partition) => [
      ...assets.map((k) => materialization(k, partition)),
      checkResult('raw/events', 'no_null_ids', false, partition),
    ]);
    const res = await world.owner('POST', '/assets/materialize', {
      body: { assets: ['features'], checksOnly: true, partitions: { all: true }, maxConcurrent: 3 },
    });
    expect(res.status, res.text).toBe(201);
    expect(res.body).toMatchObject({ assets: ['features'], flowRunId: null });
    const created = await backfill(world, res.body.backfillId);
    // …but checks read data as it is: every partition gets its run, none is BLOCKED.
    expect(created).toMatchObject({ checksOnly: true, runCount: 3, partitions: { total: 3, BLOCKED: 0, PENDING: 3 } });
    const runs = await world.owner('GET', `/flow-runs?limit=10`);
    const ofBackfill = runs.body.items.filter((r: { backfillId: string | null }) => r.backfillId === res.body.backfillId);
    expect(ofBackfill.map((r: { parameters: { checksOnly: boolean } }) => r.parameters.checksOnly)).toEqual([true, true, true]);
    // Checking is not materialising: the grid shows no partition of features MATERIALIZING.
    const grid = await world.owner('GET', '/assets/partitions?key=features');
    expect(grid.body.counts.MATERIALIZING).toBe(0);
  });
});
