import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TcpProxy } from '../support/tcp-proxy.js';
import { buildWorkerFlows, Plane } from '../support/worker-flows.js';
import { isAlive, startNamedWorker, type WorkerProcess, waitFor } from '../support/worker-process.js';

/*
 * A run whose attempt is abandoned — its worker killed, cut off for longer than the lease, or shut
 * down — is retried, and the flow's side effect (a line appended to a counter file at the end of
 * its work) happens exactly once: the abandoned attempt never finishes alongside the retry.
 */
describe('worker: exactly one attempt completes', () => {
  let scratch: string;
  let source: string;
  let plane: Plane;
  let deploymentId: string;
  let key: string;
  const workers: WorkerProcess[] = [];
  const proxies: TcpProxy[] = [];
  let n = 0;

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'outpost-e2e-once-'));
    source = await buildWorkerFlows(join(scratch, 'bundle'));
    // A short lease and grace, and a lease-expiry loop that looks often, so an abandoned attempt is
    // noticed in seconds: a worker cut off stops its run 5 s after its last renewal, before the 6 s of work end.
    plane = await Plane.start({ leaseSeconds: 4, leaseExpiry: { idleMs: 250, busyMs: 100, graceSeconds: 1 } });
    deploymentId = await plane.deploy('once', source, { retries: 2, retryDelaySeconds: 0 });
    // With no disconnected tolerance a worker that cannot reach the API stops its run at lease +
    // grace, before the API may retry it: the pool gives up riding out outages for never running
    // an attempt beside its retry (docs/outages.md).
    const pool = await plane.owner.call('poolsUpdate', {
      params: { pool: 'default' },
      body: { disconnectedToleranceSeconds: 0 },
    });
    expect(pool.ok).toBe(true);
    key = await plane.server.createKey('worker', ['default']);
  });

  afterEach(async () => {
    for (const w of workers.splice(0)) await w.stop();
    for (const p of proxies.splice(0)) await p.close();
  });

  afterAll(async () => {
    await plane?.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  function worker(apiUrl: string, extra: string[] = []): WorkerProcess {
    n++;
    const w = startNamedWorker(`w${n}`, { apiUrl, key, scratch, args: extra });
    workers.push(w);
    return w;
  }

  /** Starts a run of `once` and waits for attempt 1's flow to be at work; returns the run, counter and flow pid. */
  async function startRun(): Promise<{ runId: string; counter: string; pid: number }> {
    const counter = join(scratch, `counter-${n}-${Date.now()}`);
    const runId = await plane.run(deploymentId, { counter, ms: 6_000 });
    const line = await waitFor(
      async () => (await plane.lines(runId, 1)).find((l) => l.message.startsWith('started pid ')),
      60_000,
      'attempt 1 to start',
    );
    return { runId, counter, pid: Number(line.message.split(' ')[2]) };
  }

  async function expectExactlyOnce(runId: string, counter: string, abandonedPid: number): Promise<void> {
    const run = await plane.settled(runId, 120_000);
    expect(run.state.type).toBe('COMPLETED');
    expect(run.attempt).toBe(2);
    expect(isAlive(abandonedPid)).toBe(false);
    expect(readFileSync(counter, 'utf8')).toBe('2\n');
    const states = (await plane.owner.call('flowRunsStates', { params: { id: runId } })) as {
      ok: true;
      data: { items: Array<{ state: { type: string } }> };
    };
    expect(states.data.items.map((s) => s.state.type)).toContain('CRASHED');
  }

  it('completes exactly one attempt when the worker is killed with kill -9 mid-run', async () => {
    const first = worker(plane.server.url);
    const { runId, counter, pid } = await startRun();
    first.child.kill('SIGKILL');
    await first.exited;
    // The flow process notices its worker is gone (the IPC channel closes) and exits without finishing.
    await waitFor(() => !isAlive(pid), 15_000, 'the orphaned flow process to exit');
    expect(existsSync(counter)).toBe(false);
    worker(plane.server.url);
    await expectExactlyOnce(runId, counter, pid);
  });

  it('completes exactly one attempt when the worker of a pool without disconnected tolerance is cut off for longer than the lease and its grace', async () => {
    const proxy = new TcpProxy({ host: '127.0.0.1', port: Number(new URL(plane.server.url).port) });
    await proxy.start();
    proxies.push(proxy);
    const w = worker(proxy.url);
    const { runId, counter, pid } = await startRun();
    await proxy.cut();
    // Cut off, the worker stops the run itself once its lease and grace have run out unrenewed...
    await waitFor(() => !isAlive(pid), 15_000, 'the worker to stop the run it can no longer renew');
    // The worker logs why before it stops the run, but the line may still be in the pipe from it.
    await waitFor(() => w.output().includes('lease not renewed in time'), 5_000, 'the worker to say why it stopped the run');
    // ...and the API, on its own clock, crashes the attempt and schedules the retry.
    await waitFor(async () => (await plane.get(runId)).attempt === 2, 30_000, 'the retry to be scheduled');
    expect(existsSync(counter)).toBe(false);
    await proxy.restore();
    await expectExactlyOnce(runId, counter, pid);
  });

  it('completes exactly one attempt when the worker gets SIGTERM mid-run', async () => {
    const first = worker(plane.server.url, ['--drain-grace', '1s']);
    const { runId, counter, pid } = await startRun();
    first.child.kill('SIGTERM');
    expect((await first.exited).code).toBe(0);
    expect(isAlive(pid)).toBe(false);
    expect(existsSync(counter)).toBe(false);
    worker(plane.server.url);
    await expectExactlyOnce(runId, counter, pid);
  });
});
