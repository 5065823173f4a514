import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildWorkerFlows, Plane } from '../support/worker-flows.js';
import { startWorkerProcess, waitFor } from '../support/worker-process.js';
import { percentile, type Row, row } from './support/row.js';

/**
 * Start latency of a run on the worker: from the moment the worker's claim returned the run to the
 * first line of flow code (a flow whose first statement prints `Date.now()`), both on this machine's
 * clock. It includes everything in between: bundle lookup in the cache, process start (or not), the
 * runner loading the bundle, and the runtime's RUNNING proposal to the API. The same flow, the same
 * API, sequential runs: once with a freshly spawned flow process per run (`--prestart 0`), once with
 * the worker's default of two pre-started flow processes. Baseline for the fresh spawn: a bare
 * `node -e 0` process start and exit.
 */
export const timeoutSeconds = 300;

const SAMPLES = 25;

async function measure(plane: Plane, source: string, scratch: string, prestart: number): Promise<number[]> {
  const deploymentId = await plane.deploy('stamp', source, { name: `stamp-${prestart}` });
  const worker = startWorkerProcess(
    ['--pool', 'default', '--prestart', String(prestart), '--heartbeat-interval', '2s', '--poll-wait', '10s'],
    {
      OUTPOST_API_URL: plane.server.url,
      OUTPOST_API_KEY: await plane.server.createKey('worker', ['default']),
      HOME: scratch,
      OUTPOST_WORKER_CACHE_DIR: join(scratch, `cache-${prestart}`),
      OUTPOST_WORKER_SPOOL_DIR: join(scratch, `spool-${prestart}`),
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
    const source = await buildWorkerFlows(join(scratch, 'bundle'));
    const fresh = await measure(plane, source, scratch, 0);
    const pooled = await measure(plane, source, scratch, 2);
    const bare = await bareStarts();
    const freshNote = 'the same run on a freshly spawned flow process (`--prestart 0`)';
    const bareNote = 'a bare `node -e 0` process start and exit';
    return [
      row('claim → first flow line, pre-started process, p50', percentile(pooled, 50), 'ms', percentile(fresh, 50), freshNote),
      row('claim → first flow line, pre-started process, p95', percentile(pooled, 95), 'ms', percentile(fresh, 95), freshNote),
      row('claim → first flow line, fresh spawn, p50', percentile(fresh, 50), 'ms', percentile(bare, 50), bareNote),
    ];
  } finally {
    await plane.close();
    await rm(scratch, { recursive: true, force: true });
  }
}
