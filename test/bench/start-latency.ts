import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildBundle, pushBundle } from '@outpost/sdk/bundle';
import { stop as stopEsbuild } from 'esbuild';
import { Plane, WORKER_FLOWS } from '../support/worker-flows.js';
import { startWorkerProcess, waitFor, workerEnv } from '../support/worker-process.js';
import { percentile, type Row, row } from './support/row.js';

/**
 * Start latency of a run on the worker: from the moment the worker's claim returned the run to the
 * first line of flow code (a flow whose first statement prints `Date.now()`), both on this machine's
 * clock. It includes everything in between: bundle lookup in the cache, process start (or not), the
 * runner loading the bundle, and the runtime's RUNNING proposal to the API. The same flow, the same
 * API, sequential runs: once with a freshly spawned flow process per run (`--prestart 0`), once with
 * the worker's default of two pre-started flow processes, once with warm starts (`--warm 2`: the
 * deployment's bundle already imported). The bundle is pulled by digest from an OCI image layout, as
 * a deployed one is. Baseline for the fresh spawn: a bare `node -e 0` process start and exit.
 */
export const timeoutSeconds = 300;

const SAMPLES = 25;

async function measure(plane: Plane, source: string, scratch: string, prestart: number, warm = 0): Promise<number[]> {
  const name = `stamp-${prestart}-${warm}`;
  const deploymentId = await plane.deploy('stamp', source, { name });
  const worker = startWorkerProcess(
    [
      '--pool',
      'default',
      '--prestart',
      String(prestart),
      '--warm',
      String(warm),
      '--heartbeat-interval',
      '2s',
      '--poll-wait',
      '10s',
    ],
    {
      ...workerEnv({ url: plane.server.url, key: await plane.server.createKey('worker', ['default']) }, scratch, name),
      OUTPOST_WORKER_RESULT_STORAGE: `file://${join(scratch, 'results')}`,
      OUTPOST_WORKER_LOG_BATCH_INTERVAL: '20ms',
    },
  );
  const claimedAt = (runId: string): number | null => {
    for (const line of worker.output().split('\n')) {
      if (!line.includes('"claimed runs"') || !line.includes(runId)) continue;
      return (JSON.parse(line) as { time: number }).time;
    }
    return null;
  };
  try {
    const samples: number[] = [];
    // The first run pulls the bundle into the cache and is not counted.
    for (let i = 0; i <= SAMPLES; i++) {
      const runId = await plane.run(deploymentId);
      const run = await plane.settled(runId, 30_000);
      if (run.state.type !== 'COMPLETED') throw new Error(`run ${runId} ended ${run.state.type}: ${run.state.message ?? ''}`);
      const first = await waitFor(
        async () => (await plane.lines(runId)).find((l) => l.message.startsWith('first-line ')),
        10_000,
        `the first line of run ${runId}`,
      );
      const claimed = await waitFor(() => claimedAt(runId), 10_000, `the claim of run ${runId} in the worker log`);
      if (i > 0) samples.push(Number(first.message.slice('first-line '.length)) - claimed);
    }
    return samples;
  } catch (error) {
    throw new Error(`${(error as Error).message}\nworker output:\n${worker.output().slice(-3000)}`, { cause: error });
  } finally {
    await worker.stop();
  }
}

async function bareStarts(): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const started = performance.now();
    const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
    await once(child, 'exit');
    times.push(performance.now() - started);
  }
  return times;
}

export async function run(): Promise<Row[]> {
  const plane = await Plane.start();
  const scratch = await mkdtemp(join(tmpdir(), 'outpost-bench-start-'));
  try {
    const built = await buildBundle({ projectDir: WORKER_FLOWS, entrypoints: ['flows/worker.ts'] });
    await stopEsbuild();
    const { source } = await pushBundle(built, `oci-layout://${join(scratch, 'layout')}`);
    const fresh = await measure(plane, source, scratch, 0);
    const pooled = await measure(plane, source, scratch, 2);
    const warm = await measure(plane, source, scratch, 2, 2);
    const bare = await bareStarts();
    const freshNote = 'the same run on a freshly spawned flow process (`--prestart 0`)';
    const bareNote = 'a bare `node -e 0` process start and exit';
    const pooledNote = "the same run on one of the worker's default pre-started processes";
    return [
      row(
        'claim → first flow line, warm start (`--warm 2`), p50',
        percentile(warm, 50),
        'ms',
        percentile(pooled, 50),
        pooledNote,
      ),
      row(
        'claim → first flow line, warm start (`--warm 2`), p95',
        percentile(warm, 95),
        'ms',
        percentile(pooled, 95),
        pooledNote,
      ),
      row('claim → first flow line, pre-started process, p50', percentile(pooled, 50), 'ms', percentile(fresh, 50), freshNote),
      row('claim → first flow line, pre-started process, p95', percentile(pooled, 95), 'ms', percentile(fresh, 95), freshNote),
      row('claim → first flow line, fresh spawn, p50', percentile(fresh, 50), 'ms', percentile(bare, 50), bareNote),
    ];
  } finally {
    await plane.close();
    await rm(scratch, { recursive: true, force: true });
  }
}
