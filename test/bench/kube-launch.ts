import { join } from 'node:path';
import { unwrap } from '@outpost/sdk/client';
import { startKubeStage } from '../support/kube/index.js';
import type { Plane } from '../support/worker-flows.js';
import { startWorkerProcess, type WorkerProcess, waitFor, workerEnv } from '../support/worker-process.js';
import { percentile, type Row, row } from './support/row.js';

/**
 * Launch latency of the Kubernetes executor against the test control plane (kube-apiserver,
 * controller manager and scheduler v1.20.2 over etcd, test/support/kube; the node is played by this
 * process, which starts each bound Pod's command as a local process). Two workers on one API, one
 * per pool, runs alternating between them so both see the same machine:
 * - a Kubernetes worker: claim → Job created → scheduled → the pod runner dials the relay and gets
 *   the bundle → the runtime reports RUNNING;
 * - the baseline, a process worker: claim → a freshly spawned flow process (`--prestart 0`, as a pod
 *   is fresh) → the runtime reports RUNNING.
 * Times run from the worker's log (its claim, and for Kubernetes the Job's creation) to the run's
 * start time recorded by the API; the worker, the API and Postgres share this machine's clock.
 */
export const timeoutSeconds = 600;

const SAMPLES = 15;

interface Timing {
  claimToRunning: number;
  launchToRunning: number | null;
}

/** The `time` of the first JSON log line of `worker` with message `msg` about `runId`. */
function loggedAt(worker: WorkerProcess, msg: string, runId: string): number | null {
  for (const line of worker.output().split('\n')) {
    if (!line.includes(`"${msg}"`) || !line.includes(runId)) continue;
    return (JSON.parse(line) as { time: number }).time;
  }
  return null;
}

async function measureOne(plane: Plane, worker: WorkerProcess, deploymentId: string, kube: boolean): Promise<Timing> {
  const runId = await plane.run(deploymentId);
  const run = await plane.settled(runId, 60_000);
  if (run.state.type !== 'COMPLETED' || !run.startTime) {
    throw new Error(`run ${runId} ended ${run.state.type}: ${run.state.message ?? ''}\n${worker.output().slice(-3000)}`);
  }
  const running = Date.parse(run.startTime);
  const claimed = await waitFor(() => loggedAt(worker, 'claimed runs', runId), 10_000, `the claim of ${runId} in the worker log`);
  const created = kube ? await waitFor(() => loggedAt(worker, 'job created', runId), 10_000, `the Job of ${runId}`) : null;
  return { claimToRunning: running - claimed, launchToRunning: created === null ? null : running - created };
}

export async function run(): Promise<Row[]> {
  const stage = await startKubeStage({ scratchPrefix: 'outpost-bench-kube-' });
  const { cluster, plane, scratch, source } = stage;
  const workers: WorkerProcess[] = [];
  try {
    unwrap(await plane.owner.call('poolsCreate', { body: { name: 'kube', type: 'kubernetes' } }));
    unwrap(await plane.owner.call('poolsCreate', { body: { name: 'proc' } }));
    const key = await plane.server.createKey('worker', ['kube', 'proc']);
    const env = (name: string) => ({
      ...workerEnv({ url: plane.server.url, key }, scratch, name),
      OUTPOST_WORKER_RESULT_STORAGE: `file://${join(scratch, 'results')}`,
      OUTPOST_WORKER_LOG_BATCH_INTERVAL: '20ms',
    });
    const common = ['--heartbeat-interval', '2s', '--poll-wait', '10s', '--limit', '1'];
    const kubeWorker = startWorkerProcess(
      [
        '--pool',
        'kube',
        '--name',
        'bench-kube',
        '--type',
        'kubernetes',
        '--kubeconfig',
        cluster.kubeconfigPath,
        '--namespace',
        cluster.namespace,
        '--relay-listen',
        '127.0.0.1:0',
        ...common,
      ],
      env('kube'),
    );
    const processWorker = startWorkerProcess(
      ['--pool', 'proc', '--name', 'bench-process', '--prestart', '0', ...common],
      env('proc'),
    );
    workers.push(kubeWorker, processWorker);
    const onKube = await plane.deploy('stamp', source, {
      name: 'stamp-kube',
      workPool: 'kube',
      jobVariables: { image: 'outpost/runner:bench' },
    });
    const onProcess = await plane.deploy('stamp', source, { name: 'stamp-proc', workPool: 'proc' });

    const kube: Timing[] = [];
    const proc: Timing[] = [];
    // The first run of each pulls the bundle into the worker's cache and is not counted.
    for (let i = 0; i <= SAMPLES; i++) {
      const k = await measureOne(plane, kubeWorker, onKube, true);
      const p = await measureOne(plane, processWorker, onProcess, false);
      if (i > 0) {
        kube.push(k);
        proc.push(p);
      }
    }
    const base = proc.map((t) => t.claimToRunning);
    const claim = kube.map((t) => t.claimToRunning);
    const launch = kube.map((t) => t.launchToRunning ?? Number.NaN);
    const note = `the process executor on the same API, claim → RUNNING on a freshly spawned flow process (\`--prestart 0\`), runs alternating (${SAMPLES} each)`;
    return [
      row('Kubernetes Job launch → RUNNING, test control plane, p50', percentile(launch, 50), 'ms', percentile(base, 50), note),
      row('Kubernetes Job launch → RUNNING, test control plane, p95', percentile(launch, 95), 'ms', percentile(base, 95), note),
      row('Kubernetes claim → RUNNING, test control plane, p50', percentile(claim, 50), 'ms', percentile(base, 50), note),
      row('Kubernetes claim → RUNNING, test control plane, p95', percentile(claim, 95), 'ms', percentile(base, 95), note),
    ];
  } finally {
    for (const worker of workers) await worker.stop();
    await stage.stop();
  }
}
