import { unwrap } from '@outpost/sdk/client';
import { describe, expect, test } from 'vitest';
import { deployFromDir, useTestApi } from './api.support.js';

const api = useTestApi(async ({ owner }) => {
  await deployFromDir(owner, { flowName: 'train', name: 'cli', resources: { gpus: 1, gpuMemoryGb: 40 } });
});
const { outpost } = api;

describe('resources from the command line', () => {
  test('outpost run --gpus 2 asks for two GPUs over the deployment’s request, and a bad count is a usage error', async () => {
    const result = await outpost('run', 'train/cli', '--gpus', '2', '--cpus', '4');
    expect(result.code, result.stderr).toBe(0);
    const created = unwrap(await api.owner.call('flowRunsGet', { params: { id: result.stdout.trim() } }));
    expect(created.resources).toEqual({ gpus: 2, gpuMemoryGb: 40, cpus: 4 });

    const bad = await outpost('run', 'train/cli', '--gpus', '1.5');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('--gpus must be a whole number ≥ 0, got "1.5"');
  });

  test('outpost pools update sets the pool and per-tag GPU quotas, and removes the pool one with none', async () => {
    const set = await outpost('pools', 'update', 'default', '--gpu-quota', '4', '--gpu-quota-tag', 'team:vision=2');
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toContain('GPU quota 4, per tag team:vision=2');
    expect(unwrap(await api.owner.call('poolsGet', { params: { pool: 'default' } }))).toMatchObject({
      gpuQuota: 4,
      gpuQuotaByTag: { 'team:vision': 2 },
    });
    const removed = await outpost('pools', 'update', 'default', '--gpu-quota', 'none');
    expect(removed.code, removed.stderr).toBe(0);
    expect(unwrap(await api.owner.call('poolsGet', { params: { pool: 'default' } })).gpuQuota).toBeNull();

    const bad = await outpost('pools', 'update', 'default', '--gpu-quota-tag', 'team:vision');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('--gpu-quota-tag takes tag=n');
  });

  test('outpost pools update and pools get set and show what a pool does when a worker falls silent', async () => {
    const set = await outpost('pools', 'update', 'default', '--on-worker-silence', 'wait', '--disconnected-tolerance', '30m');
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toContain('on worker silence wait, disconnected tolerance 30m');
    expect(unwrap(await api.owner.call('poolsGet', { params: { pool: 'default' } }))).toMatchObject({
      onWorkerSilence: 'wait',
      disconnectedToleranceSeconds: 1800,
    });
    const forever = await outpost('pools', 'update', 'default', '--disconnected-tolerance', 'forever');
    expect(forever.code, forever.stderr).toBe(0);
    const shown = await outpost('pools', 'get', 'default');
    expect(shown.stdout).toContain('when a worker falls silent: wait for it (disconnected tolerance forever)');
    const back = await outpost('pools', 'update', 'default', '--on-worker-silence', 'retry', '--disconnected-tolerance', '600');
    expect(back.code, back.stderr).toBe(0);
    expect(back.stdout).toContain('on worker silence retry, disconnected tolerance 10m');

    const bad = await outpost('pools', 'update', 'default', '--disconnected-tolerance', 'a while');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('--disconnected-tolerance takes forever or a duration like 90s, 10m, 2h or 1d, got "a while"');
    const badPolicy = await outpost('pools', 'update', 'default', '--on-worker-silence', 'hope');
    expect(badPolicy.stderr).toContain('--on-worker-silence must be retry or wait, got "hope"');
  });
});
