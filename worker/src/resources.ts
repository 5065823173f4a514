import { execFile } from 'node:child_process';
import { availableParallelism, totalmem } from 'node:os';
import type { GpuDevice, WorkerResources } from '@outpost/sdk/contracts';
import type { Logger } from 'pino';
import type { WorkerOptions } from './options.js';

/** The query the worker asks `nvidia-smi`: one line per device, `index, name, memory.total` (MiB). */
export const NVIDIA_SMI_ARGS = ['--query-gpu=index,name,memory.total', '--format=csv,noheader,nounits'];

/** How long `nvidia-smi` may take; a wedged driver must not hold the worker's start. */
const NVIDIA_SMI_TIMEOUT_MS = 10_000;

/**
 * The devices in `nvidia-smi --query-gpu=index,name,memory.total --format=csv,noheader,nounits`
 * output: `0, NVIDIA A100-SXM4-80GB, 81920` per line. Lines that do not parse are skipped (a
 * driver may print a warning first); a memory of `[N/A]` is unknown.
 */
export function parseNvidiaSmi(output: string): GpuDevice[] {
  const devices: GpuDevice[] = [];
  for (const line of output.split(/\r?\n/)) {
    const fields = line.split(',').map((f) => f.trim());
    if (fields.length < 3) continue;
    const [id, ...rest] = fields;
    const memory = rest.pop() as string;
    const model = rest.join(', ');
    if (!id || !/^\d+$/.test(id)) continue;
    const memoryMb = /^\d+(\.\d+)?$/.test(memory) ? Math.round(Number(memory)) : null;
    devices.push({ id, model: model === '' ? null : model, memoryMb });
  }
  return devices;
}

/** Runs `nvidia-smi` from PATH; no devices when it is not there or fails. */
export function detectGpus(env: NodeJS.ProcessEnv, logger?: Logger): Promise<GpuDevice[]> {
  return new Promise((resolve) => {
    execFile(
      'nvidia-smi',
      NVIDIA_SMI_ARGS,
      { env: { PATH: env.PATH ?? '' }, timeout: NVIDIA_SMI_TIMEOUT_MS, windowsHide: true },
      (error, stdout) => {
        if (error) {
          // ENOENT: no NVIDIA driver here, the common case; anything else is worth a line.
          if ((error as NodeJS.ErrnoException).code !== 'ENOENT')
            logger?.warn({ err: error }, 'nvidia-smi failed; the worker offers no GPUs (declare them with --gpus)');
          resolve([]);
          return;
        }
        resolve(parseNvidiaSmi(stdout));
      },
    );
  });
}

/**
 * What the worker offers runs: declared GPUs (`--gpus`, with `--gpu-memory-gb` and `--gpu-model`)
 * or those `nvidia-smi` reports, host memory (`--memory-gb`, else the machine's total) and CPU
 * slots (`--cpus`, else `os.availableParallelism()`).
 */
export async function workerResources(
  options: Pick<WorkerOptions, 'gpus' | 'gpuMemoryGb' | 'gpuModel' | 'memoryGb' | 'cpus'>,
  env: NodeJS.ProcessEnv,
  logger?: Logger,
): Promise<WorkerResources> {
  const gpus =
    options.gpus !== null
      ? options.gpus.map((id) => ({
          id,
          model: options.gpuModel,
          memoryMb: options.gpuMemoryGb === null ? null : Math.round(options.gpuMemoryGb * 1024),
        }))
      : await detectGpus(env, logger);
  return {
    gpus,
    memoryGb: options.memoryGb ?? Math.floor(totalmem() / 1024 ** 3),
    cpus: options.cpus ?? availableParallelism(),
  };
}
