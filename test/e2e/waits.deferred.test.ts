import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startTestServer, type TestServer } from '@outpost/api/testing';
import { OutpostClient, unwrap } from '@outpost/sdk/client';
import type { FlowRun, StateType, Wait } from '@outpost/sdk/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushCodeVersions } from '../support/bundles.js';
import { flowProcessesUnder, type Job, jobSystem, JOB_SYSTEM_TOKEN as TOKEN } from '../support/job-system.js';
import { repoRoot } from '../support/processes.js';
import { runInState, startWorkerProcess, type WorkerProcess, waitFor, workerEnv } from '../support/worker-process.js';

/*
 * Deferred jobs on real processes: the API on Postgres, workers as real `outpost-worker` processes
 * running a real bundle, and the "external system" a loopback server with a job state machine that
 * the test moves on. A run that defers a job suspends (no flow process, no slot), the job is polled
 * by the worker with a credential only the worker has, the worker is killed mid-wait, and another
 * worker polls the job to its end and finishes the run — the job started once, each task run once.
 */
const FIXTURE = join(repoRoot, 'test/e2e/fixtures/deferred-flows');
const ENTRYPOINT = 'flows/deferred.ts';

describe('deferred jobs on real workers', () => {
  let scratch: string;
  let api: TestServer;
  let owner: OutpostClient;
  let source: string;
  const system = jobSystem();
  let systemUrl: string;
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'outpost-e2e-deferred-'));
    ({ a: source } = await pushCodeVersions(FIXTURE, ENTRYPOINT, scratch, ['a']));
    api = await startTestServer({ leaseSeconds: 3 });
    owner = new OutpostClient({ baseUrl: api.url, token: api.ownerKey });
    systemUrl = await system.listen();
  }, 180_000);

  afterAll(async () => {
    for (const worker of workers) await worker.stop();
    system.server.close();
    await owner?.close();
    await api?.close();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  async function startWorker(name: string): Promise<WorkerProcess> {
    const worker = startWorkerProcess(
      [
        ...['--pool', 'default', '--name', name, '--limit', '1', '--prestart', '0', '--triggers', '2'],
        ...[
          '--heartbeat-interval',
          '500ms',
          '--poll-wait',
          '1s',
          '--result-storage',
          pathToFileURL(join(scratch, 'results')).href,
        ],
      ],
      {
        ...workerEnv({ url: api.url, key: await api.createKey('worker', ['default']) }, join(scratch, name)),
        OUTPOST_WORKER_LOG_BATCH_INTERVAL: '100ms',
        OUTPOST_WORKER_SENSOR_POLL: '200ms',
        // Only the worker has the external system's credential.
        JOB_SYSTEM_TOKEN: TOKEN,
      },
    );
    workers.push(worker);
    return worker;
  }

  async function getRun(id: string): Promise<FlowRun> {
    return unwrap(await owner.call('flowRunsGet', { params: { id } }));
  }

  const inState = (runId: string, type: StateType, what: string, ms = 120_000) =>
    runInState(owner, runId, type, what, { workers, timeoutMs: ms });

  async function externalWait(runId: string): Promise<Wait> {
    const { items } = unwrap(await owner.call('waitsList', { query: { flowRunId: runId, kind: 'external', limit: 10 } }));
    expect(items).toHaveLength(1);
    return items[0] as Wait;
  }

  it('a deferred job holds no flow process while it runs, survives its worker being killed, and ends the run once on another worker', async () => {
    const deployment = unwrap(
      await owner.call('deploymentsUpsert', {
        body: {
          flowName: 'train',
          name: 'e2e',
          source,
          entrypoint: ENTRYPOINT,
          workPool: 'default',
          jobVariables: { env: { JOB_SYSTEM_URL: systemUrl, JOB_SYSTEM_TOKEN: { $secret: 'JOB_SYSTEM_TOKEN' } } },
        },
      }),
    ).deployment;
    const w1 = await startWorker('deferred-w1');
    const sideEffects = join(scratch, 'train.side-effects');
    const run = unwrap(
      await owner.call('deploymentsCreateRun', { params: { id: deployment.id }, body: { parameters: { sideEffects } } }),
    ).flowRun;

    // Suspended on the job: PAUSED, the flow process gone, the job started once.
    const paused = await inState(run.id, 'PAUSED', 'the run to suspend on its deferred job');
    expect(paused.state.message).toContain('Stand-in training job {"id":"job-1"}');
    expect([...system.jobs.values()].map((j) => j.model)).toEqual(['churn']);
    expect(readFileSync(sideEffects, 'utf8')).toBe('before\n');
    // The worker ends the flow process once the API has accepted the suspension, so the process may
    // outlive the PAUSED state by a moment; it must then be gone, and stay gone.
    await waitFor(
      () => (flowProcessesUnder(w1.child.pid as number) === 0 ? true : null),
      15_000,
      `the flow process to end after the suspension\n${w1.output()}`,
    );

    // Polled by the worker — several times while the run holds nothing.
    const samples: number[] = [];
    const polled = await waitFor(
      async () => {
        samples.push(flowProcessesUnder(w1.child.pid as number));
        const wait = await externalWait(run.id);
        return (wait.poll?.count ?? 0) >= 3 ? wait : null;
      },
      60_000,
      `three polls of the job\n${w1.output()}`,
    );
    expect(samples.length).toBeGreaterThan(0);
    expect(Math.max(...samples)).toBe(0);
    expect((await getRun(run.id)).state.type).toBe('PAUSED');
    expect(polled.spec).toMatchObject({ kind: 'external', job: 'stand-in-training', handle: { id: 'job-1' } });
    // The job's message echoed the credential; what reached the control plane is masked.
    expect(polled.poll?.message).toMatch(/^running \(authorised as \*+\), poll \d+$/);
    expect(JSON.stringify(polled)).not.toContain(TOKEN);
    expect(system.refused).toEqual([]);

    // The worker is killed mid-wait (a poll may be leased to it), and another one takes over.
    w1.child.kill('SIGKILL');
    await w1.exited;
    const pollsBefore = system.jobs.get('job-1')?.polls ?? 0;
    const w2 = await startWorker('deferred-w2');
    await waitFor(() => ((system.jobs.get('job-1')?.polls ?? 0) > pollsBefore ? true : null), 60_000, 'a poll by the new worker');
    (system.jobs.get('job-1') as Job).state = 'succeeded';

    await inState(run.id, 'COMPLETED', 'the run to resume and complete on the new worker');
    const { items: attempts } = unwrap(await owner.call('flowRunsAttempts', { params: { id: run.id } }));
    expect(attempts).toMatchObject([
      { attempt: 1, workerName: 'deferred-w1' },
      { attempt: 2, workerName: 'deferred-w2', state: { type: 'COMPLETED' } },
    ]);
    expect(system.jobs.size).toBe(1);
    expect(system.jobs.get('job-1')?.cancels).toBe(0);
    expect(readFileSync(sideEffects, 'utf8')).toBe('before\nafter auc=0.87\n');
    const ended = await externalWait(run.id);
    expect(ended).toMatchObject({ status: 'RESOLVED', value: { state: 'succeeded', result: { auc: 0.87 } } });
    expect(w2.output()).toContain('deferred job poll reported');
  }, 300_000);

  it('cancelling a run suspended on a deferred job cancels the job in its system, once', async () => {
    const [deployment] = unwrap(await owner.call('deploymentsList', { query: { limit: 10 } })).items.filter(
      (d) => d.name === 'e2e',
    );
    if (workers.every((w) => w.child.exitCode !== null || w.child.signalCode !== null)) await startWorker('deferred-w3');
    const sideEffects = join(scratch, 'cancel.side-effects');
    const run = unwrap(
      await owner.call('deploymentsCreateRun', { params: { id: deployment!.id }, body: { parameters: { sideEffects } } }),
    ).flowRun;
    await inState(run.id, 'PAUSED', 'the run to suspend on its deferred job');
    const jobId = `job-${system.jobs.size}`;
    unwrap(await owner.call('flowRunsCancel', { params: { id: run.id }, body: {} }));
    await waitFor(() => (system.jobs.get(jobId)?.cancels === 1 ? true : null), 60_000, 'the job to be cancelled');
    const ended = await waitFor(
      async () => {
        const wait = await externalWait(run.id);
        return wait.poll?.cancelPending === false ? wait : null;
      },
      30_000,
      "the cancellation's report",
    );
    expect(ended.status).toBe('CANCELLED');
    expect(system.jobs.get(jobId)?.state).toBe('cancelled');
    expect(readFileSync(sideEffects, 'utf8')).toBe('before\n');
  }, 180_000);
});
