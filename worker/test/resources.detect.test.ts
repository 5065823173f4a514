import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir, totalmem } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildChildEnv } from '../src/child-env.js';
import { OptionsError, parseOptions } from '../src/options.js';
import { detectGpus, parseNvidiaSmi, workerResources } from '../src/resources.js';

const ENV = { OUTPOST_API_URL: 'http://127.0.0.1:4200', OUTPOST_API_KEY: 'op_0123456789abcdef', HOME: '/home/w' };

// Real output of `nvidia-smi --query-gpu=index,name,memory.total --format=csv,noheader,nounits` on a
// DGX A100 (8 × 80 GB) and on a workstation with two different cards.
const DGX = `0, NVIDIA A100-SXM4-80GB, 81920
1, NVIDIA A100-SXM4-80GB, 81920
2, NVIDIA A100-SXM4-80GB, 81920
3, NVIDIA A100-SXM4-80GB, 81920
4, NVIDIA A100-SXM4-80GB, 81920
5, NVIDIA A100-SXM4-80GB, 81920
6, NVIDIA A100-SXM4-80GB, 81920
7, NVIDIA A100-SXM4-80GB, 81920
`;
const WORKSTATION = `0, NVIDIA GeForce RTX 4090, 24564
1, NVIDIA RTX A6000, 49140
`;

describe('parsing nvidia-smi', () => {
  it('reads each device with its index, model and memory in MiB', () => {
    const devices = parseNvidiaSmi(DGX);
    expect(devices).toHaveLength(8);
    expect(devices[7]).toEqual({ id: '7', model: 'NVIDIA A100-SXM4-80GB', memoryMb: 81_920 });
    expect(parseNvidiaSmi(WORKSTATION)).toEqual([
      { id: '0', model: 'NVIDIA GeForce RTX 4090', memoryMb: 24_564 },
      { id: '1', model: 'NVIDIA RTX A6000', memoryMb: 49_140 },
    ]);
  });

  it('skips lines that are not devices and keeps unknown memory as null', () => {
    const output = `WARNING: infoROM is corrupted at gpu 0000:3B:00.0\r\n0, Tesla T4, [N/A]\r\n\r\n`;
    expect(parseNvidiaSmi(output)).toEqual([{ id: '0', model: 'Tesla T4', memoryMb: null }]);
    expect(parseNvidiaSmi('')).toEqual([]);
  });
});

describe('detecting GPUs', () => {
  let bin: string;
  beforeAll(() => {
    bin = mkdtempSync(join(tmpdir(), 'outpost-fake-smi-'));
    // A stand-in nvidia-smi first on PATH: prints the workstation's devices only for the query the worker sends.
    writeFileSync(
      join(bin, 'nvidia-smi'),
      `#!/bin/sh
if [ "$1" = "--query-gpu=index,name,memory.total" ] && [ "$2" = "--format=csv,noheader,nounits" ]; then
  printf '%s' '${WORKSTATION}'
  exit 0
fi
echo "unexpected arguments: $*" >&2
exit 2
`,
    );
    chmodSync(join(bin, 'nvidia-smi'), 0o755);
  });
  afterAll(() => rmSync(bin, { recursive: true, force: true }));

  it('runs nvidia-smi found on PATH and offers the devices it reports', async () => {
    const env = { PATH: `${bin}${delimiter}${process.env.PATH ?? ''}` };
    expect(await detectGpus(env)).toEqual(parseNvidiaSmi(WORKSTATION));
    const resources = await workerResources(parseOptions(['--pool', 'gpu'], ENV), env);
    expect(resources.gpus.map((g) => g.id)).toEqual(['0', '1']);
    expect(resources.memoryGb).toBe(Math.floor(totalmem() / 1024 ** 3));
    expect(resources.cpus).toBe(availableParallelism());
  });

  it('offers no GPUs when nvidia-smi is not on PATH', async () => {
    expect(await detectGpus({ PATH: join(bin, 'nowhere') })).toEqual([]);
  });

  it('takes declared GPUs over detection, with their memory and model, and memory and CPU slots as given', async () => {
    const env = { PATH: `${bin}${delimiter}${process.env.PATH ?? ''}` };
    const options = parseOptions(
      ['--pool', 'gpu', '--gpus', '0,1,2,3', '--gpu-memory-gb', '80', '--gpu-model', 'A100', '--memory-gb', '64', '--cpus', '16'],
      ENV,
    );
    expect(await workerResources(options, env)).toEqual({
      gpus: ['0', '1', '2', '3'].map((id) => ({ id, model: 'A100', memoryMb: 81_920 })),
      memoryGb: 64,
      cpus: 16,
    });
    const fromEnv = parseOptions(['--pool', 'gpu'], { ...ENV, OUTPOST_WORKER_GPUS: '2, 3' });
    expect((await workerResources(fromEnv, env)).gpus.map((g) => g.id)).toEqual(['2', '3']);
    // Declared empty: no GPUs, and nvidia-smi is not asked.
    const none = parseOptions(['--pool', 'gpu'], { ...ENV, OUTPOST_WORKER_GPUS: '' });
    expect((await workerResources(none, env)).gpus).toEqual([]);
  });

  it('refuses a GPU memory or CPU count that is not a number, naming the flag', () => {
    expect(() => parseOptions(['--pool', 'gpu', '--gpu-memory-gb', 'lots'], ENV)).toThrow(OptionsError);
    expect(() => parseOptions(['--pool', 'gpu', '--cpus=-2'], ENV)).toThrow(/--cpus/);
  });
});

describe('the devices a flow process sees', () => {
  const run = { id: 'r', attempt: 1, flowName: 'f' };
  it('are its assigned ones, an empty list on a GPU worker when it asked for none, and unset otherwise', () => {
    const base = { workerEnv: { CUDA_VISIBLE_DEVICES: '0,1,2,3' }, passEnv: ['CUDA_VISIBLE_DEVICES'], jobEnv: {}, run };
    expect(buildChildEnv({ ...base, gpus: ['0', '2'] })).toMatchObject({
      CUDA_VISIBLE_DEVICES: '0,2',
      OUTPOST_ASSIGNED_GPUS: '0,2',
    });
    expect(buildChildEnv({ ...base, gpus: [] })).toMatchObject({ CUDA_VISIBLE_DEVICES: '', OUTPOST_ASSIGNED_GPUS: '' });
    const unset = buildChildEnv({ ...base, passEnv: [], gpus: null });
    expect(unset.CUDA_VISIBLE_DEVICES).toBeUndefined();
    expect(unset.OUTPOST_ASSIGNED_GPUS).toBeUndefined();
  });
});
