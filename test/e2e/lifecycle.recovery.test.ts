import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '@outpost/api/testing';
import { buildBundle } from '@outpost/sdk/bundle';
import { OutpostClient, unwrap } from '@outpost/sdk/client';
import type { FlowRun } from '@outpost/sdk/contracts';
import { stop as stopEsbuild } from 'esbuild';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { writeBundle } from '../support/bundles.js';
import { repoRoot } from '../support/processes.js';
import { isAlive, runSettled, startNamedWorker, type WorkerProcess, waitFor } from '../support/worker-process.js';

/*
 * The run lifecycle with real worker processes running real flow processes: a worker killed with
 * kill -9 mid-run, a cancelled run, a cancel whose worker is gone, and deployment concurrency limits.
 * The flows leave evidence on disk (an execution counter, a pid file, a journal of start and end
 * times) that the assertions read.
 */
const FLOWS = join(repoRoot, 'test/e2e/fixtures/lifecycle-flows');
const LEASE_SECONDS = 5;
const LEASE_LOOP_IDLE_MS = 250;

describe('run lifecycle with real workers', () => {
  let scratch: string;
  let source: string;
  let server: TestServer;
  let owner: OutpostClient;
  let workerKey: string;
  const workers: WorkerProcess[] = [];
  const flowPids: number[] = [];
  let n = 0;

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'outpost-e2e-lifecycle-'));
    const built = await buildBundle({ projectDir: FLOWS, entrypoints: ['flows/lifecycle.ts'] });
    await stopEsbuild();
    source = writeBundle(built, join(scratch, 'bundle'));
    server = await startTestServer({ leaseSeconds: LEASE_SECONDS, leaseExpiry: { idleMs: LEASE_LOOP_IDLE_MS, busyMs: 100 } });
    owner = new OutpostClient({ baseUrl: server.url, token: server.ownerKey });
    workerKey = await server.createKey('worker', ['default']);
  });

  afterEach(async () => {
    for (const w of workers.splice(0)) await w.stop();
    // Leak guard: no flow process a test started outlives it.
    for (const pid of flowPids.splice(0)) await waitFor(() => !isAlive(pid), 15_000, `flow process ${pid} to be gone`);
  });

  afterAll(async () => {
    await owner?.close();
    await server?.close();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  function startWorker(extra: string[] = []): WorkerProcess {
    n++;
    const w = startNamedWorker(`life-${n}`, { apiUrl: server.url, key: workerKey, scratch, args: extra });
    workers.push(w);
    return w;
  }

  async function deploy(flowName: string, extra: Record<string, unknown> = {}): Promise<string> {
    const { deployment } = unwrap(
      await owner.call('deploymentsUpsert', {
        body: {
          flowName,
          name: `${flowName}-${n}-${Date.now()}`,
          source,
          entrypoint: 'flows/lifecycle.ts',
          workPool: 'default',
          ...extra,
        },
      }),
    );
    return deployment.id;
  }

  async function runOf(deploymentId: string, parameters: Record<string, string | number>): Promise<string> {
    return unwrap(await owner.call('deploymentsCreateRun', { params: { id: deploymentId }, body: { parameters } })).flowRun.id;
  }

  async function get(runId: string): Promise<FlowRun> {
    return unwrap(await owner.call('flowRunsGet', { params: { id: runId } }));
  }

  async function settled(runId: string, timeoutMs = 90_000): Promise<FlowRun> {
    return runSettled(owner, runId, timeoutMs);
  }

  async function history(
    runId: string,
  ): Promise<Array<{ attempt: number; type: string; name: string; at: number; message: string | null }>> {
    const { items } = unwrap(await owner.call('flowRunsStates', { params: { id: runId } }));
    return items.map((s) => ({
      attempt: s.attempt,
      type: s.state.type,
      name: s.state.name,
      at: Date.parse(s.state.timestamp),
      message: s.state.message,
    }));
  }

  async function dbNow(): Promise<number> {
    const [row] = await server.sql<{ now: Date }[]>`SELECT clock_timestamp() AS now`;
    return row?.now.getTime() ?? Number.NaN;
  }

  it('crashes a run whose worker was killed with kill -9 within the lease bound, and another worker runs its retry: two executions', async () => {
    const deploymentId = await deploy('tally', { retries: 1, retryDelaySeconds: 0 });
    const counter = join(scratch, 'tally-counter');
    const first = startWorker();
    const runId = await runOf(deploymentId, { counter, holdMs: 600_000 });
    const line = await waitFor(
      () => (existsSync(counter) ? readFileSync(counter, 'utf8').trim() : ''),
      60_000,
      'attempt 1 to start executing',
    );
    const firstPid = Number(line.split(' ')[1]);
    flowPids.push(firstPid);
    await waitFor(async () => (await get(runId)).state.type === 'RUNNING', 30_000, 'the run to be RUNNING');

    first.child.kill('SIGKILL');
    await first.exited;
    const killedAt = await dbNow();
    const second = startWorker();
    const run = await settled(runId);
    expect(run).toMatchObject({ state: { type: 'COMPLETED' }, attempt: 2 });

    const states = await history(runId);
    const crashed = states.filter((s) => s.type === 'CRASHED');
    expect(crashed).toHaveLength(1);
    expect(crashed[0]).toMatchObject({ attempt: 1, message: 'lease expired' });
    // The last renewal was at most one heartbeat before the kill, so the crash comes within a lease
    // (plus one look of the lease loop and scheduling slack) of it, on the database clock.
    expect((crashed[0]?.at ?? 0) - killedAt).toBeLessThanOrEqual(LEASE_SECONDS * 1000 + LEASE_LOOP_IDLE_MS + 3000);
    expect(states.map((s) => `${s.attempt}:${s.type}/${s.name}`)).toEqual([
      '1:SCHEDULED/Scheduled',
      '1:PENDING/Pending',
      '1:RUNNING/Running',
      '1:CRASHED/Crashed',
      '2:SCHEDULED/AwaitingRetry',
      '2:PENDING/Pending',
      '2:RUNNING/Running',
      '2:COMPLETED/Completed',
    ]);
    // The flow's side effect happened once per execution, the retry's on the second worker.
    const executions = readFileSync(counter, 'utf8').trim().split('\n');
    expect(executions).toHaveLength(2);
    expect(executions[0]).toBe(`1 ${firstPid}`);
    expect(executions[1]).toMatch(/^2 \d+$/);
    expect(executions[1]).not.toBe(`2 ${firstPid}`);
    await waitFor(() => second.output().includes(runId), 10_000, 'the second worker to report the retry');
    // The orphaned attempt-1 process stopped by itself when its worker's IPC channel closed.
    await waitFor(() => !isAlive(firstPid), 15_000, 'the orphaned attempt to exit');
  });

  it('stops the process of a running flow the user cancels and records CANCELLED', async () => {
    const deploymentId = await deploy('forever', { retries: 2 });
    const pidFile = join(scratch, 'forever-cancel.pid');
    startWorker();
    const runId = await runOf(deploymentId, { pidFile });
    const pid = Number(await waitFor(() => (existsSync(pidFile) ? readFileSync(pidFile, 'utf8') : ''), 60_000, 'the pid file'));
    flowPids.push(pid);
    await waitFor(async () => (await get(runId)).state.type === 'RUNNING', 30_000, 'the run to be RUNNING');
    expect(isAlive(pid)).toBe(true);

    const answer = unwrap(
      await owner.call('flowRunsCancel', { params: { id: runId }, body: { message: 'not needed any more' } }),
    );
    expect(answer).toMatchObject({ status: 'ACCEPT', state: { type: 'CANCELLING' } });
    const run = await settled(runId, 30_000);
    expect(run.state.type).toBe('CANCELLED');
    expect(run.attempt).toBe(1);
    await waitFor(() => !isAlive(pid), 10_000, 'the cancelled flow process to be gone');
    const states = (await history(runId)).map((s) => s.type);
    expect(states.slice(-3)).toEqual(['RUNNING', 'CANCELLING', 'CANCELLED']);
  });

  it('cancels a CANCELLING run whose worker is gone when its lease expires, without retrying it', async () => {
    const deploymentId = await deploy('forever', { retries: 2 });
    const pidFile = join(scratch, 'forever-orphan.pid');
    const w = startWorker();
    const runId = await runOf(deploymentId, { pidFile });
    const pid = Number(await waitFor(() => (existsSync(pidFile) ? readFileSync(pidFile, 'utf8') : ''), 60_000, 'the pid file'));
    flowPids.push(pid);
    await waitFor(async () => (await get(runId)).state.type === 'RUNNING', 30_000, 'the run to be RUNNING');
    w.child.kill('SIGKILL');
    await w.exited;
    unwrap(await owner.call('flowRunsCancel', { params: { id: runId }, body: {} }));
    const run = await settled(runId, LEASE_SECONDS * 1000 + 15_000);
    expect(run).toMatchObject({ state: { type: 'CANCELLED' }, attempt: 1 });
    expect(run.state.message).toContain('lease expired while cancelling');
  });

  it('with ENQUEUE a deployment limit of 1 starts the second run only after the first ends', async () => {
    const deploymentId = await deploy('span', { concurrencyLimit: 1 });
    const journal = join(scratch, 'span-enqueue');
    startWorker(['--limit', '4']);
    const first = await runOf(deploymentId, { journal, ms: 1500 });
    const second = await runOf(deploymentId, { journal, ms: 100 });
    for (const id of [first, second]) expect((await settled(id)).state.type).toBe('COMPLETED');
    const lines = readFileSync(journal, 'utf8').trim().split('\n');
    const at = (id: string, what: string) => Number(lines.find((l) => l.startsWith(`${id} ${what} `))?.split(' ')[2]);
    // The journal is in order of wall-clock events: one run at a time.
    expect(lines.map((l) => l.split(' ').slice(0, 2).join(' '))).toEqual([
      `${first} start`,
      `${first} end`,
      `${second} start`,
      `${second} end`,
    ]);
    expect(at(second, 'start')).toBeGreaterThanOrEqual(at(first, 'end'));
    expect((await history(second)).map((s) => s.name)).toContain('AwaitingConcurrencySlot');
  });

  it('with CANCEL_NEW a deployment limit of 1 cancels the run that would exceed it', async () => {
    const deploymentId = await deploy('span', { concurrencyLimit: 1, collisionStrategy: 'CANCEL_NEW' });
    const journal = join(scratch, 'span-cancel-new');
    const first = await runOf(deploymentId, { journal, ms: 1500 });
    const second = await runOf(deploymentId, { journal, ms: 100 });
    startWorker(['--limit', '4']);
    const [a, b] = [await settled(first), await settled(second)];
    expect(a.state.type).toBe('COMPLETED');
    expect(b.state.type).toBe('CANCELLED');
    expect(b.state.message).toContain('CANCEL_NEW');
    expect(b.startTime).toBeNull();
    expect(readFileSync(journal, 'utf8')).not.toContain(second);
  });
});
