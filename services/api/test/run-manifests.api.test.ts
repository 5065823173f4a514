import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createLogger } from '../src/logger.js';
import { WaitsLoop } from '../src/loops/waits.js';
import { claim, client, createRun, deploy, eventually, useServer } from './helpers.js';

let loop: WaitsLoop;

const api = useServer();

beforeAll(async () => {
  loop = new WaitsLoop(api.server.sql, api.server.databaseUrl, createLogger('silent'), null);
});
afterAll(async () => {
  await loop?.stop();
});

async function pool(): Promise<string> {
  const name = `p-${randomUUID().slice(0, 8)}`;
  expect((await api.owner('POST', '/work-pools', { body: { name } })).status).toBe(201);
  return name;
}

/** A claimed run of `deploymentId` in `poolName`, RUNNING, with its token. */
async function running(deploymentId: string, poolName: string, parameters: Record<string, unknown> = {}) {
  const run = await createRun(api.owner, deploymentId, { parameters });
  const [claimed] = await claim(api.owner, poolName, 1);
  expect(claimed.flowRun.id).toBe(run.id);
  const as = client(api.server, claimed.token);
  const started = await as('POST', `/flow-runs/${run.id}/set-state`, {
    body: { transitionId: randomUUID(), state: { type: 'RUNNING' } },
  });
  expect(started.body.status).toBe('ACCEPT');
  return { run, as };
}

const ENVIRONMENT = { workerVersion: '0.1.0', executor: 'process', nodeVersion: 'v20.19.0', image: null, imageDigest: null };

describe('manifests and reproduction', () => {
  test("the manifest carries the run's pinned code, parameters, secret names and each attempt's reported environment", async () => {
    const p = await pool();
    const deployment = await deploy(api.owner, {
      flowName: `m-${p}`,
      workPool: p,
      jobVariables: { env: { DB_PASSWORD: { $secret: 'DB_PASSWORD' }, MODE: 'fast' } },
    });
    const { run, as } = await running(deployment.id, p, { rows: 3 });
    const reported = await as('PUT', `/flow-runs/${run.id}/attempts/1/environment`, { body: ENVIRONMENT });
    expect(reported.status).toBe(200);
    const manifest = await api.owner('GET', `/flow-runs/${run.id}/manifest`);
    expect(manifest.status).toBe(200);
    expect(manifest.body).toMatchObject({
      flowRunId: run.id,
      deployment: `m-${p}/nightly`,
      deploymentVersionId: run.deploymentVersionId,
      entrypoint: 'flows/etl.js',
      parameters: { rows: 3 },
      secretNames: ['DB_PASSWORD'],
      workPool: p,
      reproducedFrom: null,
      reproducedBy: [],
    });
    expect(manifest.body.attempts).toEqual([
      expect.objectContaining({
        attempt: 1,
        workerVersion: '0.1.0',
        executor: 'process',
        nodeVersion: 'v20.19.0',
        assigned: null,
      }),
    ]);
  });

  test("a run token reports only its own attempt's environment, and a user cannot report one", async () => {
    const p = await pool();
    const deployment = await deploy(api.owner, { flowName: `e-${p}`, workPool: p });
    const { run, as } = await running(deployment.id, p);
    const stale = await as('PUT', `/flow-runs/${run.id}/attempts/2/environment`, { body: ENVIRONMENT });
    expect(stale.status).toBe(409);
    const asUser = await api.owner('PUT', `/flow-runs/${run.id}/attempts/1/environment`, { body: ENVIRONMENT });
    expect(asUser.status).toBe(403);
  });

  test('a reproduction runs the original deployment version and parameters after a redeploy, and both runs show the link', async () => {
    const p = await pool();
    const flowName = `r-${p}`;
    const first = await deploy(api.owner, { flowName, workPool: p, parameters: { lr: 0.1 } });
    const original = await createRun(api.owner, first.id, { parameters: { lr: 0.5 } });
    await deploy(api.owner, { flowName, workPool: p, entrypoint: 'flows/etl-v2.js', parameters: { lr: 0.1, extra: 1 } });
    const reproduced = await api.owner('POST', `/flow-runs/${original.id}/reproduce`, { body: {} });
    expect(reproduced.status).toBe(201);
    const copy = reproduced.body.flowRun;
    expect(copy.id).not.toBe(original.id);
    expect(copy.deploymentVersionId).toBe(original.deploymentVersionId);
    expect(copy.parameters).toEqual({ lr: 0.5 });
    expect(copy.reproducedFromId).toBe(original.id);
    const claimed = await claim(api.owner, p, 2);
    const claimedCopy = claimed.find((c: { flowRun: { id: string } }) => c.flowRun.id === copy.id);
    expect(claimedCopy.deployment.entrypoint).toBe('flows/etl.js');
    const originalManifest = await api.owner('GET', `/flow-runs/${original.id}/manifest`);
    expect(originalManifest.body.reproducedBy.map((r: { id: string }) => r.id)).toEqual([copy.id]);
    const copyManifest = await api.owner('GET', `/flow-runs/${copy.id}/manifest`);
    expect(copyManifest.body.reproducedFrom).toEqual({ id: original.id, name: original.name });
  });
});

describe('deployment runs started by a flow', () => {
  test('a running flow starts a run of a deployment in another pool, once per call key, linked as its child', async () => {
    const parentPool = await pool();
    const childPool = await pool();
    const parentDeployment = await deploy(api.owner, { flowName: `parent-${parentPool}`, workPool: parentPool });
    await deploy(api.owner, { flowName: 'train', name: `gpu-${childPool}`, workPool: childPool });
    const { run: parent, as } = await running(parentDeployment.id, parentPool);
    const body = { deployment: `train/gpu-${childPool}`, parameters: { epochs: 2 }, key: 'wait-1' };
    const first = await as('POST', `/flow-runs/${parent.id}/deployment-runs`, { body });
    expect(first.status).toBe(201);
    expect(first.body.flowRun).toMatchObject({ parentFlowRunId: parent.id, workPool: childPool, parameters: { epochs: 2 } });
    expect(first.body.flowRun.state.type).toBe('SCHEDULED');
    const again = await as('POST', `/flow-runs/${parent.id}/deployment-runs`, { body });
    expect(again.status).toBe(200);
    expect(again.body.flowRun.id).toBe(first.body.flowRun.id);
    const other = await as('POST', `/flow-runs/${parent.id}/deployment-runs`, { body: { ...body, key: 'wait-2' } });
    expect(other.body.flowRun.id).not.toBe(first.body.flowRun.id);
    const children = await api.owner('GET', `/flow-runs/${parent.id}/child-runs`);
    expect(children.body.items.map((r: { id: string }) => r.id).sort()).toEqual(
      [first.body.flowRun.id, other.body.flowRun.id].sort(),
    );
    const missing = await as('POST', `/flow-runs/${parent.id}/deployment-runs`, { body: { ...body, deployment: 'train/none' } });
    expect(missing.status).toBe(404);
  });

  test('a parent-run key cannot be taken by a run created through the public route', async () => {
    const p = await pool();
    const deployment = await deploy(api.owner, { flowName: `k-${p}`, workPool: p });
    const res = await api.owner('POST', `/deployments/${deployment.id}/runs`, {
      body: {},
      headers: { 'idempotency-key': `parent:${randomUUID()}:wait-1` },
    });
    expect(res.status).toBe(400);
  });

  test("a run wait resolves with the child's terminal state once the child ends", async () => {
    const parentPool = await pool();
    const childPool = await pool();
    const parentDeployment = await deploy(api.owner, { flowName: `wp-${parentPool}`, workPool: parentPool });
    await deploy(api.owner, { flowName: 'child', name: childPool, workPool: childPool });
    const { run: parent, as } = await running(parentDeployment.id, parentPool);
    const created = await as('POST', `/flow-runs/${parent.id}/deployment-runs`, {
      body: { deployment: `child/${childPool}`, key: 'wait-1' },
    });
    const childId = created.body.flowRun.id as string;
    const wait = await as('POST', `/flow-runs/${parent.id}/waits`, {
      body: { key: 'wait-1', spec: { kind: 'run', flowRunId: childId } },
    });
    expect(wait.status).toBeLessThan(300);
    expect(wait.body.wait.status).toBe('WAITING');
    await loop.tick();
    const [claimedChild] = await claim(api.owner, childPool, 1);
    const asChild = client(api.server, claimedChild.token);
    for (const type of ['RUNNING', 'COMPLETED']) {
      const res = await asChild('POST', `/flow-runs/${childId}/set-state`, {
        body: { transitionId: randomUUID(), state: { type } },
      });
      expect(res.body.status).toBe('ACCEPT');
    }
    // The loop reads events only below the oldest transaction still open, which other test files'
    // transactions on the same cluster may hold back for a moment: rounds until it has read them.
    const resolved = await eventually(
      async () => {
        await loop.tick();
        const current = (await as('GET', `/waits/${wait.body.wait.id}`)).body.wait;
        return current.status === 'WAITING' ? undefined : current;
      },
      30_000,
      'the waits loop to read the child run ending',
    );
    expect(resolved.status).toBe('RESOLVED');
    expect(resolved.value).toMatchObject({ id: childId, state: { type: 'COMPLETED' } });
  });
});
