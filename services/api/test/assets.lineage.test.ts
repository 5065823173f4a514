import { describe, expect, test } from 'vitest';
import { type AssetWorld, asset, assetWorld, checkResult, deployed, materialization, materializeAll } from './assets.support.js';
import { client, useServer } from './helpers.js';

const api = useServer();

const daily = { kind: 'time', cadence: 'daily', start: '2026-01-01', end: '2026-02-01', timezone: 'UTC' };

/** Materialises the assets in one run, reporting `events` (each asset's materialisation by default). */
async function run(world: AssetWorld, body: Record<string, unknown>, events?: (partition: string | null) => unknown[]) {
  return materializeAll(api.server, world, body, events ? (_assets, partition) => events(partition) : undefined);
}

/** Two upstreams (one partitioned by day) feeding a model registered in MLflow, with a waived failed check. */
async function modelWorld() {
  const world = await assetWorld(api.server);
  await deployed(world, [
    asset('churn/features', { partitions: daily }),
    asset('ref/customers'),
    asset('churn/model', {
      deps: ['churn/features', 'ref/customers'],
      checks: [{ name: 'auc_floor', blocking: false, severity: 'WARN' }],
    }),
  ]);
  await run(world, { assets: ['churn/features'], partitions: { keys: ['2026-01-01'] } });
  await run(world, { assets: ['churn/features'], partitions: { keys: ['2026-01-02'] } });
  await run(world, { assets: ['ref/customers'] });
  const model = materialization('churn/model', null, {
    metadata: { auc: 0.71, 'registered.mlflow': { name: 'churn', version: '3', uri: 'models:/churn/3' } },
  });
  const check = checkResult('churn/model', 'auc_floor', false, null, {
    materializationId: model.id,
    blocking: false,
    severity: 'WARN',
    metadata: { auc: 0.71, floor: 0.75 },
  });
  const modelRun = await run(world, { assets: ['churn/model'] }, () => [model, check]);
  const lead = await world.owner('POST', '/api-keys', { body: { name: 'ana-lima', role: 'admin' } });
  expect(lead.status, lead.text).toBe(201);
  const waived = await client(api.server, lead.body.key)('POST', '/assets/waivers', {
    body: {
      assetKey: 'churn/model',
      checkName: 'auc_floor',
      reason: 'AUC dip explained by the holiday week; approved for release',
    },
  });
  expect(waived.status, waived.text).toBe(201);
  return { world, model, check, modelRun: modelRun.run, waiver: waived.body };
}

describe('the lineage of a materialisation', () => {
  test('names the upstream materialisations, partitions and versions a model consumed, its checks, waivers and registrations', async () => {
    const { world, model, check, modelRun, waiver } = await modelWorld();
    const features = (await world.owner('GET', '/assets/materializations?key=churn/features')).body.items;
    const customers = (await world.owner('GET', '/assets/materializations?key=ref/customers')).body.items;
    expect(features).toHaveLength(2);

    // The run by its name too, as the dashboard shows it.
    const runName = (await world.owner('GET', `/flow-runs/${modelRun.id}`)).body.name;
    expect(runName).toMatch(/^[a-z]+-[a-z]+/);

    const res = await world.owner('GET', '/assets/materializations/lineage?key=churn/model');
    expect(res.status, res.text).toBe(200);
    const doc = res.body;
    expect(doc).toMatchObject({
      materializationId: model.id,
      truncated: false,
      omitted: 0,
      limits: { maxDepth: 10, maxNodes: 100 },
    });
    const [root, ...upstream] = doc.materializations;
    expect(root).toMatchObject({
      id: model.id,
      assetKey: 'churn/model',
      partitionKey: null,
      depth: 0,
      codeVersion: 'v1-churn/model',
      dataVersion: model.dataVersion,
      run: { id: modelRun.id, name: runName, entrypoint: 'assets.js' },
      inputsRecorded: true,
      registrations: [{ registry: 'mlflow', details: { name: 'churn', version: '3', uri: 'models:/churn/3' } }],
    });
    expect(root.run.source).toMatch(/^oci:\/\//);
    expect(root.run.deploymentVersionId).toEqual(expect.any(String));
    expect(root.inputs).toEqual([
      {
        assetKey: 'churn/features',
        partitioned: true,
        partitionKey: null,
        partitionCount: 2,
        partitions: features.map((m: Record<string, unknown>) => ({
          partitionKey: m.partitionKey,
          materializationId: m.id,
          codeVersion: m.codeVersion,
          dataVersion: m.dataVersion,
          materializedAt: m.createdAt,
        })),
      },
      {
        assetKey: 'ref/customers',
        partitioned: false,
        partitionKey: null,
        partitionCount: 1,
        partitions: [
          {
            partitionKey: null,
            materializationId: customers[0].id,
            codeVersion: 'v1-ref/customers',
            dataVersion: customers[0].dataVersion,
            materializedAt: customers[0].createdAt,
          },
        ],
      },
    ]);
    expect(root.checks).toEqual([
      {
        resultId: check.id,
        checkName: 'auc_floor',
        passed: false,
        severity: 'WARN',
        blocking: false,
        metadata: { auc: 0.71, floor: 0.75 },
        createdAt: expect.any(String),
        waivers: [
          {
            id: waiver.id,
            reason: 'AUC dip explained by the holiday week; approved for release',
            waivedBy: 'ana-lima',
            partitionKey: null,
            createdAt: waiver.createdAt,
          },
        ],
      },
    ]);
    // One level up: each upstream materialisation once, as the inputs list them, with no inputs of their own.
    expect(upstream.map((m: { id: string; depth: number }) => [m.id, m.depth])).toEqual([
      [features[0].id, 1],
      [features[1].id, 1],
      [customers[0].id, 1],
    ]);
    expect(upstream.every((m: { inputsRecorded: boolean; inputs: unknown[] }) => m.inputsRecorded && m.inputs.length === 0)).toBe(
      true,
    );

    // Asking for it by id answers the same document.
    const byId = await world.owner('GET', `/assets/materializations/lineage?key=churn/model&at=${model.id}`);
    expect({ ...byId.body, generatedAt: null }).toEqual({ ...doc, generatedAt: null });
  });

  test('a partitioned asset consumes the same partition of an upstream partitioned alike, and a missing one is counted as none', async () => {
    const world = await assetWorld(api.server);
    await deployed(world, [asset('events', { partitions: daily }), asset('sessions', { deps: ['events'], partitions: daily })]);
    await run(world, { assets: ['events'], partitions: { keys: ['2026-01-01'] } });
    await run(world, { assets: ['events'], partitions: { keys: ['2026-01-02'] } });
    await run(world, { assets: ['sessions'], partitions: { keys: ['2026-01-01'] } });
    await run(world, { assets: ['sessions'], partitions: { keys: ['2026-01-03'] } });

    const one = await world.owner('GET', '/assets/materializations/lineage?key=sessions&partition=2026-01-01');
    expect(one.status, one.text).toBe(200);
    expect(one.body.materializations[0].inputs).toEqual([
      expect.objectContaining({ assetKey: 'events', partitionKey: '2026-01-01', partitionCount: 1 }),
    ]);
    expect(one.body.materializations[0].inputs[0].partitions.map((p: { partitionKey: string }) => p.partitionKey)).toEqual([
      '2026-01-01',
    ]);
    const missing = await world.owner('GET', '/assets/materializations/lineage?key=sessions');
    expect(missing.body.materializations[0]).toMatchObject({
      partitionKey: '2026-01-03',
      inputs: [{ assetKey: 'events', partitionKey: '2026-01-03', partitionCount: 0, partitions: [] }],
    });
  });

  test('another workspace, another asset or an unknown id gets a 404 that says what is missing', async () => {
    const { world, model } = await modelWorld();
    const other = client(api.server, (await api.server.createWorkspace()).ownerKey);
    const foreign = await other('GET', `/assets/materializations/lineage?key=churn/model&at=${model.id}`);
    expect(foreign.status).toBe(404);
    expect(foreign.body.detail).toBe('asset "churn/model" not found');
    // Even an asset of the same key in the other workspace does not reach this one's materialisation.
    const otherWorld = await assetWorld(api.server);
    await deployed(otherWorld, [asset('churn/model')]);
    const sameKey = await otherWorld.owner('GET', `/assets/materializations/lineage?key=churn/model&at=${model.id}`);
    expect(sameKey.status).toBe(404);
    expect(sameKey.body.detail).toBe(`materialisation "${model.id}" of asset "churn/model" not found`);
    const never = await otherWorld.owner('GET', '/assets/materializations/lineage?key=churn/model');
    expect(never.status).toBe(404);
    expect(never.body.detail).toBe('a materialisation of asset "churn/model" not found');

    const wrongAsset = await world.owner('GET', `/assets/materializations/lineage?key=ref/customers&at=${model.id}`);
    expect(wrongAsset.status).toBe(404);
    const unknown = await world.owner('GET', '/assets/materializations/lineage?key=nope');
    expect(unknown.status).toBe(404);
    const bad = await world.owner('GET', '/assets/materializations/lineage?key=churn/model&maxDepth=21');
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('query.maxDepth');
  });

  test('the walk upstream stops at its depth and node bounds and says what it left out', async () => {
    const world = await assetWorld(api.server);
    await deployed(world, [asset('a'), asset('b', { deps: ['a'] }), asset('c', { deps: ['b'] }), asset('d', { deps: ['c'] })]);
    await run(world, { assets: ['d'], upstream: true });

    const full = await world.owner('GET', '/assets/materializations/lineage?key=d');
    expect(full.body.materializations.map((m: { assetKey: string }) => m.assetKey)).toEqual(['d', 'c', 'b', 'a']);
    expect(full.body).toMatchObject({ truncated: false, omitted: 0 });

    const shallow = await world.owner('GET', '/assets/materializations/lineage?key=d&maxDepth=1');
    expect(shallow.body.materializations.map((m: { assetKey: string }) => m.assetKey)).toEqual(['d', 'c']);
    expect(shallow.body).toMatchObject({ truncated: true, omitted: 1, limits: { maxDepth: 1, maxNodes: 100 } });

    const few = await world.owner('GET', '/assets/materializations/lineage?key=d&maxNodes=3');
    expect(few.body.materializations.map((m: { assetKey: string }) => m.assetKey)).toEqual(['d', 'c', 'b']);
    expect(few.body).toMatchObject({ truncated: true, omitted: 1 });

    const alone = await world.owner('GET', '/assets/materializations/lineage?key=d&maxDepth=0');
    expect(alone.body.materializations).toHaveLength(1);
    expect(alone.body).toMatchObject({ truncated: true, omitted: 1 });
  });
});
