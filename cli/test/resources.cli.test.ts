import { randomUUID } from 'node:crypto';
import { startTestServer, type TestServer } from '@outpost/api/testing';
import { OutpostClient, unwrap } from '@outpost/sdk/client';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { outpost as run } from './cli.support.js';

let server: TestServer;
let owner: OutpostClient;

function outpost(...args: string[]) {
  return run(args, { env: { OUTPOST_API_URL: server.url, OUTPOST_API_KEY: server.ownerKey } });
}

beforeAll(async () => {
  server = await startTestServer({ loops: false });
  owner = new OutpostClient({ baseUrl: server.url, token: server.ownerKey });
  unwrap(
    await owner.call('deploymentsUpsert', {
      body: {
        flowName: 'train',
        name: 'cli',
        source: `dir:///${randomUUID()}`,
        entrypoint: 'flow.mjs',
        workPool: 'default',
        resources: { gpus: 1, gpuMemoryGb: 40 },
      },
    }),
  );
}, 120_000);
afterAll(async () => {
  await owner?.close();
  await server?.close();
});

describe('resources from the command line', () => {
  test('outpost run --gpus 2 asks for two GPUs over the deployment’s request, and a bad count is a usage error', async () => {
    const result = await outpost('run', 'train/cli', '--gpus', '2', '--cpus', '4');
    expect(result.code, result.stderr).toBe(0);
    const created = unwrap(await owner.call('flowRunsGet', { params: { id: result.stdout.trim() } }));
    expect(created.resources).toEqual({ gpus: 2, gpuMemoryGb: 40, cpus: 4 });

    const bad = await outpost('run', 'train/cli', '--gpus', '1.5');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('--gpus must be a whole number ≥ 0, got "1.5"');
  });

  test('outpost pools update sets the pool and per-tag GPU quotas, and removes the pool one with none', async () => {
    const set = await outpost('pools', 'update', 'default', '--gpu-quota', '4', '--gpu-quota-tag', 'team:vision=2');
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toContain('GPU quota 4, per tag team:vision=2');
    expect(unwrap(await owner.call('poolsGet', { params: { pool: 'default' } }))).toMatchObject({
      gpuQuota: 4,
      gpuQuotaByTag: { 'team:vision': 2 },
    });
    const removed = await outpost('pools', 'update', 'default', '--gpu-quota', 'none');
    expect(removed.code, removed.stderr).toBe(0);
    expect(unwrap(await owner.call('poolsGet', { params: { pool: 'default' } })).gpuQuota).toBeNull();

    const bad = await outpost('pools', 'update', 'default', '--gpu-quota-tag', 'team:vision');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('--gpu-quota-tag takes tag=n');
  });
});
