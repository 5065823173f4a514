import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startTestServer } from '@outpost/api/testing';
import { buildBundle, pushBundle } from '@outpost/sdk/bundle';
import { OutpostClient, unwrap } from '@outpost/sdk/client';
import type { FlowRun, StateType } from '@outpost/sdk/contracts';
import { stop as stopEsbuild } from 'esbuild';
import { flowProcessesUnder, JOB_SYSTEM_TOKEN, type Job, jobSystem } from '../support/job-system.js';
import { repoRoot } from '../support/processes.js';
import { startWorkerProcess, workerEnv } from '../support/worker-process.js';
import { pause, percentile, type Row, row, waitFor } from './support/row.js';

/**
 * A deferred job against the same job waited for in the flow's process (`runExternalJob`), on one
 * real worker process, with the loopback job system of the deferred-jobs suite
 * (test/e2e/fixtures/deferred-flows). Two measures:
 *
 * - flow processes held while the job runs: sampled every second over a job of
 *   BENCH_DEFER_JOB_SECONDS (600 unless set), against the held flow over 20 s;
 * - resume latency: from the moment the job system says the job ended to the run's end time (the
 *   API's clock, on this machine), both polled every second (`pollSeconds: 1`, `pollIntervalMs:
 *   1000`), the deferred run's claim interval 200 ms.
 */
export const timeoutSeconds = 1500;

export const notes = `### deferred-wait: what a deferred job holds, and what resuming costs
A deferred run suspends while its job runs; the worker polls the job in a short process from the
run's code every pollSeconds and, once it ends, the run is queued again and replays (its start task
answered from the record). The baseline is the same job waited for inside the flow's process with
runExternalJob, which holds a process and a slot for the job's whole length.`;

const JOB_SECONDS = Number(process.env.BENCH_DEFER_JOB_SECONDS ?? 600);
const SAMPLES = 8;
const FIXTURE = join(repoRoot, 'test/e2e/fixtures/deferred-flows');
const ENTRYPOINT = 'flows/deferred.ts';

export async function run(): Promise<Row[]> {
  const scratch = await mkdtemp(join(tmpdir(), 'outpost-bench-deferred-'));
  const built = await buildBundle({ projectDir: FIXTURE, entrypoints: [ENTRYPOINT] });
  const { source } = await pushBundle(built, `oci-layout://${join(scratch, 'registry')}`, { tag: 'bench' });
  await stopEsbuild();
  const server = await startTestServer({ leaseSeconds: 10 });
  const owner = new OutpostClient({ baseUrl: server.url, token: server.ownerKey });
  const system = jobSystem();
  const systemUrl = await system.listen();
  const worker = startWorkerProcess(
    [...['--pool', 'default', '--limit', '4', '--prestart', '0', '--triggers', '4'], ...['--heartbeat-interval', '2s']],
    {
      ...workerEnv({ url: server.url, key: await server.createKey('worker', ['default']) }, scratch),
      OUTPOST_WORKER_RESULT_STORAGE: pathToFileURL(join(scratch, 'results')).href,
      OUTPOST_WORKER_SENSOR_POLL: '200ms',
      JOB_SYSTEM_TOKEN,
    },
  );
  const deploy = async (flowName: string) =>
    unwrap(
      await owner.call('deploymentsUpsert', {
        body: {
          flowName,
          name: 'bench',
          source,
          entrypoint: ENTRYPOINT,
          workPool: 'default',
          jobVariables: { env: { JOB_SYSTEM_URL: systemUrl, JOB_SYSTEM_TOKEN: { $secret: 'JOB_SYSTEM_TOKEN' } } },
        },
      }),
    ).deployment.id;
  const getRun = async (id: string): Promise<FlowRun> => unwrap(await owner.call('flowRunsGet', { params: { id } }));
  const inState = (id: string, type: StateType) =>
    waitFor(
      `run ${id} ${type}`,
      async () => {
        const run = await getRun(id);
        if (run.state.type === type) return run;
        if (['FAILED', 'CRASHED', 'CANCELLED'].includes(run.state.type)) {
          throw new Error(`run ${id} ended ${run.state.type}: ${run.state.message}\n${worker.output().slice(-4000)}`);
        }
        return undefined;
      },
      120_000,
    );
  /** Starts a run and resolves with it and its job once the job exists (and, deferred, the run has suspended). */
  const started = async (deploymentId: string, deferred: boolean): Promise<{ id: string; job: Job }> => {
    const jobsBefore = system.jobs.size;
    const sideEffects = join(scratch, `${deploymentId}-${Date.now()}.txt`);
    const runId = unwrap(
      await owner.call('deploymentsCreateRun', { params: { id: deploymentId }, body: { parameters: { sideEffects } } }),
    ).flowRun.id;
    if (deferred) await inState(runId, 'PAUSED');
    const job = await waitFor('the job to start', async () => system.jobs.get(`job-${jobsBefore + 1}`), 60_000);
    // Steady state: the job has been polled at least once.
    await waitFor('a first poll', async () => (job.polls > 0 ? true : undefined), 60_000);
    return { id: runId, job };
  };
  /** Ends the job and measures how long until its run ended (the run's end time, the API's clock). */
  const resume = async (runId: string, job: Job): Promise<number> => {
    const endedAt = Date.now();
    job.state = 'succeeded';
    const done = await inState(runId, 'COMPLETED');
    return Date.parse(done.endTime as string) - endedAt;
  };
  const sample = async (seconds: number): Promise<number> => {
    let most = 0;
    for (let t = 0; t < seconds; t++) {
      most = Math.max(most, flowProcessesUnder(worker.child.pid as number));
      await pause(1000);
    }
    return most;
  };

  try {
    const deferredId = await deploy('train');
    const heldId = await deploy('train-held');

    // What the job holds while it runs: the deferred run over the whole job, the held one over 20 s.
    const long = await started(deferredId, true);
    const deferredHeld = await sample(JOB_SECONDS);
    const longPolls = long.job.polls;
    await resume(long.id, long.job);
    const held = await started(heldId, false);
    const heldHeld = await sample(20);
    await resume(held.id, held.job);

    const deferredLatency: number[] = [];
    const heldLatency: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      const d = await started(deferredId, true);
      deferredLatency.push(await resume(d.id, d.job));
      const h = await started(heldId, false);
      heldLatency.push(await resume(h.id, h.job));
    }
    const note = 'the same job waited for in the flow process (runExternalJob), same worker, same run';
    return [
      row(
        `flow processes held while a deferred job runs (max, ${JOB_SECONDS} s job, ${longPolls} polls)`,
        deferredHeld,
        'processes',
        heldHeld,
        note,
      ),
      row('job ended → deferred run completed (p50)', percentile(deferredLatency, 50), 'ms', percentile(heldLatency, 50), note),
      row('job ended → deferred run completed (max)', Math.max(...deferredLatency), 'ms', Math.max(...heldLatency), note),
    ];
  } finally {
    await worker.stop();
    system.server.close();
    await owner.close();
    await server.close();
    await rm(scratch, { recursive: true, force: true });
  }
}
