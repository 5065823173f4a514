import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createSignInLink } from '@outpost/api';
import { startTestServer, type TestServer } from '@outpost/api/testing';
import { OutpostClient, unwrap } from '@outpost/sdk/client';
import type { FlowRun, JsonObject, StateType } from '@outpost/sdk/contracts';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushCodeVersions } from '../support/bundles.js';
import { launchChromium, screenshot } from '../support/dashboard.js';
import { repoRoot } from '../support/processes.js';
import { runInState, startWorkerProcess, type WorkerProcess, waitFor, workerEnv } from '../support/worker-process.js';

/*
 * Durable waits on real processes: the API on a fresh Postgres database, workers as real
 * `outpost-worker` processes running real bundles (two builds of one project: code version A and
 * B), and a real browser for the approval. A run that waits for a person longer than its lease
 * suspends (PAUSED, its worker slot free), survives a redeploy and its worker's shutdown, is
 * approved in the dashboard, and finishes on another worker on its original code, each task having
 * run once.
 */
const FIXTURE = join(repoRoot, 'test/e2e/fixtures/waits-flows');
const ENTRYPOINT = 'flows/waits.ts';
const LEASE_SECONDS = 3;

describe('durable waits on real workers', () => {
  let scratch: string;
  let server: TestServer;
  let owner: OutpostClient;
  let browser: Browser;
  let sourceA: string;
  let sourceB: string;
  let resultStorage: string;
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'outpost-e2e-waits-'));
    ({ a: sourceA, b: sourceB } = await pushCodeVersions(FIXTURE, ENTRYPOINT, scratch, ['a', 'b']));
    // A short lease: the approval below takes many times longer than it.
    server = await startTestServer({ leaseSeconds: LEASE_SECONDS });
    owner = new OutpostClient({ baseUrl: server.url, token: server.ownerKey });
    // Every worker that may resume a run reads the results its earlier attempts recorded.
    resultStorage = pathToFileURL(join(scratch, 'results')).href;
    browser = await launchChromium();
  }, 180_000);

  afterAll(async () => {
    for (const worker of workers) await worker.stop();
    await browser?.close();
    await owner?.close();
    await server?.close();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  async function startWorker(name: string, extra: Record<string, string> = {}): Promise<WorkerProcess> {
    const worker = startWorkerProcess(
      [
        '--pool',
        'default',
        '--name',
        name,
        '--limit',
        '1',
        '--heartbeat-interval',
        '500ms',
        '--poll-wait',
        '1s',
        '--result-storage',
        resultStorage,
      ],
      {
        ...workerEnv({ url: server.url, key: await server.createKey('worker', ['default']) }, join(scratch, name)),
        OUTPOST_WORKER_LOG_BATCH_INTERVAL: '100ms',
        ...extra,
      },
    );
    workers.push(worker);
    return worker;
  }

  async function deploy(flowName: string, source: string) {
    return unwrap(
      await owner.call('deploymentsUpsert', {
        body: { flowName, name: 'e2e', source, entrypoint: ENTRYPOINT, workPool: 'default' },
      }),
    ).deployment;
  }

  async function createRun(deploymentId: string, parameters: JsonObject): Promise<FlowRun> {
    return unwrap(await owner.call('deploymentsCreateRun', { params: { id: deploymentId }, body: { parameters } })).flowRun;
  }

  async function getRun(id: string): Promise<FlowRun> {
    return unwrap(await owner.call('flowRunsGet', { params: { id } }));
  }

  const inState = (runId: string, type: StateType, what: string, ms = 90_000) =>
    runInState(owner, runId, type, what, { workers, timeoutMs: ms });

  async function messages(runId: string): Promise<{ attempt: number; message: string }[]> {
    const { items } = unwrap(await owner.call('logsRead', { params: { id: runId }, query: { limit: 5000 } }));
    return items.map((line) => ({ attempt: line.attempt, message: line.message }));
  }

  it('an approval longer than the lease suspends the run, frees its slot, survives a redeploy, and resumes on another worker with each task run once', async () => {
    const w1 = await startWorker('waits-w1');
    const releaseA = await deploy('release', sourceA);
    const quick = await deploy('quick', sourceA);
    const sideEffects = join(scratch, 'release.side-effects');
    const run = await createRun(releaseA.id, { sideEffects });

    // Suspended: PAUSED on the approval, with both tasks done and the process gone.
    const paused = await inState(run.id, 'PAUSED', 'the run to suspend on its approval');
    expect(paused.state.message).toContain('Publish model-3?');
    expect(readFileSync(sideEffects, 'utf8')).toBe('prepare\ntrain\n');
    const suspendedAt = Date.now();

    // Its worker slot is free: with capacity 1, another run completes on the same worker meanwhile.
    const quickEffects = join(scratch, 'quick.side-effects');
    const other = await createRun(quick.id, { sideEffects: quickEffects });
    const otherDone = await inState(other.id, 'COMPLETED', 'another run to complete while the first waits');
    expect(readFileSync(quickEffects, 'utf8')).toBe('quick\n');
    const { items: otherAttempts } = unwrap(await owner.call('flowRunsAttempts', { params: { id: otherDone.id } }));
    expect(otherAttempts).toMatchObject([{ workerName: 'waits-w1' }]);

    // Redeploy while it waits: the run keeps the code it started with.
    const releaseB = await deploy('release', sourceB);
    expect(releaseB.versionId).not.toBe(releaseA.versionId);

    // Well past lease and grace, the run is still parked, not crashed nor retried.
    await waitFor(() => Date.now() > suspendedAt + 2 * 2 * LEASE_SECONDS * 1000, 60_000, 'two leases and graces to pass');
    expect((await getRun(run.id)).state.type).toBe('PAUSED');

    // The first worker goes away; a second one will resume the run.
    await w1.stop();
    await startWorker('waits-w2');

    // A person approves in the dashboard, filling in the form.
    const context = await browser.newContext({ viewport: { width: 1360, height: 900 } });
    try {
      const page = await context.newPage();
      const link = await createSignInLink(server.sql, { workspaceId: server.workspaceId, role: 'owner' });
      await page.goto(`${server.url}${link.path}`);
      await page.getByTestId('workspace-name').getByText('Default').waitFor();
      await page.goto(`${server.url}/#/runs/${run.id}`);
      const banner = page.getByTestId('run-waiting-banner');
      await banner.getByText('Publish model-3?').waitFor();
      await banner.getByTestId('param-rollout').fill('25');
      await banner.getByTestId('approval-comment').fill('looks good');
      await banner.getByTestId('approval-approve').click();
      await page.getByTestId('run-approval-decided').getByTestId('approval-decision').getByText('Approved').waitFor();
      await screenshot(page, 'waits-approval-decided');
    } finally {
      await context.close();
    }

    const done = await inState(run.id, 'COMPLETED', 'the approved run to finish on the second worker');
    expect(done.deploymentVersionId).toBe(releaseA.versionId);
    // Each task ran exactly once across both attempts; the third with the approver's data.
    expect(readFileSync(sideEffects, 'utf8')).toBe('prepare\ntrain\npublish model-3 at 25%\n');
    const { items: attempts } = unwrap(await owner.call('flowRunsAttempts', { params: { id: run.id } }));
    const digestA = sourceA.slice(sourceA.lastIndexOf('@') + 1);
    expect(attempts).toMatchObject([
      { attempt: 1, workerName: 'waits-w1', sourceDigest: digestA },
      { attempt: 2, workerName: 'waits-w2', sourceDigest: digestA, state: { type: 'COMPLETED' } },
    ]);
    const lines = await messages(run.id);
    expect(lines.filter((l) => l.message.startsWith('code version'))).toEqual([
      { attempt: 1, message: 'code version A on attempt 1' },
      { attempt: 2, message: 'code version A on attempt 2' },
    ]);
    expect(lines).toContainEqual({ attempt: 2, message: 'task prepare-0 answered from the recorded result' });
    expect(lines).toContainEqual({ attempt: 2, message: 'task train-0 answered from the recorded result' });
    expect(lines.some((l) => l.attempt === 2 && /^published model-3@25 approved by /.test(l.message))).toBe(true);
    // No task run was recorded again: one each of prepare and train, and publish once.
    const { items: taskRuns } = unwrap(await owner.call('taskRunsList', { params: { id: run.id }, query: { limit: 100 } }));
    expect(taskRuns.map((t) => t.taskKey).sort()).toEqual(['prepare-0', 'publish-0', 'train-0']);
  }, 300_000);

  it('wait.for finds an event stored before the wait began', async () => {
    if (!workers.some((w) => w.child.exitCode === null)) await startWorker('waits-w3');
    const listen = await deploy('listen', sourceA);
    const gate = join(scratch, 'listen.gate');
    const run = await createRun(listen.id, { gate, signal: 'signal-1' });
    await inState(run.id, 'RUNNING', 'the listener to start');
    // The event comes first: a deployment created while the flow is still before its wait.
    await owner.call('deploymentsUpsert', {
      body: { flowName: 'quick', name: 'signal-1', source: sourceA, entrypoint: ENTRYPOINT, workPool: 'default' },
    });
    writeFileSync(gate, '');

    const done = await inState(run.id, 'COMPLETED', 'the listener to hear the earlier event');
    expect(done.attempt).toBe(1);
    expect((await messages(run.id)).map((l) => l.message)).toContain('heard deployment.created of quick/signal-1');
  }, 120_000);

  it('a wait.until a few seconds off is held in the process: the run never suspends', async () => {
    if (!workers.some((w) => w.child.exitCode === null)) await startWorker('waits-w4');
    const nap = await deploy('nap', sourceA);
    const run = await createRun(nap.id, { seconds: 3 });

    const done = await inState(run.id, 'COMPLETED', 'the nap to end');
    expect(done.attempt).toBe(1);
    const lines = (await messages(run.id)).map((l) => l.message);
    const napped = Number(lines.find((l) => l.startsWith('napped '))?.match(/^napped ([\d.]+)s$/)?.[1]);
    // At least the three seconds asked (a tenth is rounding), however soon the API's time loop resolves it.
    expect(napped).toBeGreaterThanOrEqual(2.9);
    expect(lines.some((l) => l.startsWith('suspending'))).toBe(false);
    const { items: states } = unwrap(await owner.call('flowRunsStates', { params: { id: run.id } }));
    expect(states.map((s) => s.state.type)).not.toContain('PAUSED');
  }, 120_000);

  it('wait.token returns the value the token is completed with through the API', async () => {
    if (!workers.some((w) => w.child.exitCode === null)) await startWorker('waits-w5');
    const callback = await deploy('callback', sourceA);
    const token = `job-${Date.now()}`;
    const run = await createRun(callback.id, { token });
    await inState(run.id, 'PAUSED', 'the run to suspend on its token');

    const completed = unwrap(
      await owner.call('waitTokensComplete', { params: { token }, body: { value: { rows: 42, ok: true } } }),
    );
    expect(completed.wait?.status).toBe('RESOLVED');

    const done = await inState(run.id, 'COMPLETED', 'the run to finish with the token value');
    expect(done.attempt).toBe(2);
    const line = (await messages(run.id)).find((l) => l.message.startsWith('token completed with '));
    expect(line?.attempt).toBe(2);
    expect(JSON.parse(line?.message.slice('token completed with '.length) ?? 'null')).toEqual({ rows: 42, ok: true });
  }, 120_000);
});
