import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Executor } from '../src/executors/executor.js';
import type { RunOutcome } from '../src/executors/final-state.js';
import { createProcessExecutor } from '../src/executors/process.js';
import { parseOptions, type WorkerOptions } from '../src/options.js';
import { isProcessRunning } from '../src/process-group.js';
import { startWorker, type WorkerHandle, WorkerStartError, type WorkerState } from '../src/worker.js';
import { buildDemoBundle } from './support/bundle.js';
import { overriding } from './support/executors.js';
import { FakeApi, TOO_OLD_DETAIL } from './support/fake-api.js';
import { expectNoLiveChildren } from './support/leaks.js';
import { waitFor } from './support/wait.js';

const logger = pino({ level: 'silent' });
const WORKER_ENV = {
  PATH: process.env.PATH ?? '',
  HOME: process.env.HOME ?? '/tmp',
  DB_PASSWORD: 'pg-s3cret-value',
  OUTPOST_API_KEY: 'op_worker_key_never_shown',
};

let bundle: { source: string; entrypoint: string; dir: string };
let scratch: string;

beforeAll(async () => {
  bundle = await buildDemoBundle();
});
afterAll(() => rmSync(bundle.dir, { recursive: true, force: true }));

function options(url: string, extra: string[] = []): WorkerOptions {
  return parseOptions(
    [
      '--pool',
      'default',
      '--name',
      'test-worker',
      '--label',
      'gpu=false',
      '--limit',
      '2',
      '--heartbeat-interval',
      '200ms',
      '--poll-wait',
      '200ms',
      '--cancel-grace',
      '500ms',
      ...extra,
    ],
    {
      OUTPOST_API_URL: url,
      OUTPOST_API_KEY: 'op_worker_key_never_shown',
      OUTPOST_WORKER_CACHE_DIR: join(scratch, 'cache'),
      OUTPOST_WORKER_SPOOL_DIR: join(scratch, 'spool'),
      OUTPOST_WORKER_LOG_BATCH_INTERVAL: '50ms',
      OUTPOST_WORKER_CANCEL_NOTICE: '300ms',
      HOME: '/tmp',
    },
  );
}

describe('worker lifecycle against a scripted control plane', () => {
  let api: FakeApi;
  let worker: WorkerHandle | null;
  let outcomes: RunOutcome[];
  let states: WorkerState[];

  beforeEach(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'outpost-worker-'));
    api = new FakeApi();
    await api.start();
    worker = null;
    outcomes = [];
    states = [];
  });

  afterEach(async () => {
    await worker?.stop({ graceMs: 0 });
    await api.close();
    rmSync(scratch, { recursive: true, force: true });
    expect(worker?.runs ?? []).toEqual([]);
    await expectNoLiveChildren();
  });

  async function start(extra: string[] = []): Promise<WorkerHandle> {
    worker = await startWorker(options(api.url, extra), {
      logger,
      env: WORKER_ENV,
      onRunFinished: (o) => outcomes.push(o),
      onStateChange: (s) => states.push(s),
    });
    return worker;
  }

  async function outcomeOf(runId: string): Promise<RunOutcome> {
    return waitFor(() => outcomes.find((o) => o.runId === runId), 30_000, `run ${runId} to finish`);
  }

  it('registers with a heartbeat carrying its name, labels and capacity, and stops cleanly', async () => {
    const w = await start();
    expect(w.state).toBe('running');
    expect(api.heartbeats[0]).toMatchObject({
      workerId: w.workerId,
      name: 'test-worker',
      capacity: 2,
      labels: { gpu: 'false' },
      runs: [],
    });
    await waitFor(() => api.heartbeats.length >= 3, 5_000, 'heartbeats on the interval');
    await w.stop();
    expect(w.state).toBe('stopped');
    // Its last heartbeat says it stopped, so the API shows it offline at once.
    expect(api.heartbeats.at(-1)).toMatchObject({ workerId: w.workerId, runs: [], stopping: true });
    await w.done;
    expect(states).toEqual(['running', 'draining', 'stopped']);
    const beats = api.heartbeats.length;
    const claims = api.claims;
    await new Promise((r) => setTimeout(r, 500));
    expect(api.heartbeats.length).toBe(beats);
    expect(api.claims).toBe(claims);
  });

  it('runs a flow to COMPLETED, forwarding task runs and logs with secrets redacted and no worker key in the flow', async () => {
    await start();
    const id = api.enqueue({ ...bundle, flowName: 'hello', jobVariables: { env: { DB_PASSWORD: { $secret: 'DB_PASSWORD' } } } });
    const outcome = await outcomeOf(id);
    expect(outcome).toMatchObject({ ending: 'reported', state: 'COMPLETED', proposed: null, exit: { code: 0 } });
    const run = api.runs.get(id)!;
    expect(run.states.map((s) => s.type)).toEqual(['RUNNING', 'COMPLETED']);
    expect([...run.taskRuns.values()].map((t) => t.state)).toEqual(['COMPLETED', 'COMPLETED', 'COMPLETED']);
    const lines = [...run.logs.values()].sort((a, b) => a.seq - b.seq);
    expect(lines.map((l) => l.seq)).toEqual(lines.map((_, i) => i + 1));
    const text = lines.map((l) => l.message).join('\n');
    expect(text).toContain('sum of squares: 14');
    expect(text).toContain('connecting with password ***');
    expect(text).not.toContain('pg-s3cret-value');
    expect(text).toContain('api key visible to the flow: no');
  });

  it('proposes CRASHED with the exit code when the flow process exits without a final state', async () => {
    await start();
    const id = api.enqueue({ ...bundle, flowName: 'crash' });
    const outcome = await outcomeOf(id);
    expect(outcome).toMatchObject({ ending: 'crashed', proposed: 'CRASHED', exit: { code: 3 } });
    const last = api.runs.get(id)!.states.at(-1)!;
    expect(last.type).toBe('CRASHED');
    expect(last.message).toContain('exited with code 3');
  });

  it('fails the run with a clear message when a referenced secret is missing, without starting a process', async () => {
    await start();
    const id = api.enqueue({ ...bundle, flowName: 'hello', jobVariables: { env: { TOKEN: { $secret: 'HF_TOKEN' } } } });
    const outcome = await outcomeOf(id);
    expect(outcome).toMatchObject({ ending: 'failed-to-start', proposed: 'FAILED', exit: null });
    expect(api.runs.get(id)!.states.at(-1)!.message).toContain('secret "HF_TOKEN" was not found on the worker');
    // No retry can fix a missing secret: the proposal says so, and the API ends the run on this attempt.
    expect(api.runs.get(id)!.states.at(-1)!.name).toBe('ConfigurationError');
  });

  it('stops as failed, saying the server’s one line, when the server it runs against no longer supports its version', async () => {
    const lines: Record<string, unknown>[] = [];
    worker = await startWorker(options(api.url), {
      logger: pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) }),
      env: WORKER_ENV,
      onStateChange: (s) => states.push(s),
    });
    expect(worker.state).toBe('running');
    api.heartbeatDown = 'too_old';
    await worker.done;
    expect(worker.state).toBe('failed');
    expect(states).toEqual(['running', 'draining', 'failed']);
    expect(lines.filter((l) => l.level === 50).map((l) => l.msg)).toEqual([TOO_OLD_DETAIL]);
  });

  it('kills the process group itself when it cannot renew the lease, and proposes nothing', async () => {
    api.leaseSeconds = 2;
    await start();
    const id = api.enqueue({ ...bundle, flowName: 'sleepy' });
    const grandchild = await grandchildOf(api, id);
    // Connections dropped unanswered: this worker may be the one cut off while the API retries the run elsewhere.
    api.heartbeatDown = 'reset';
    const outcome = await outcomeOf(id);
    expect(outcome.ending).toBe('lease-expired');
    expect(outcome.proposed).toBeNull();
    expect(isProcessRunning(grandchild)).toBe(false);
    expect(api.runs.get(id)!.state).toBe('RUNNING');
  });

  it('keeps a run going through a heartbeat outage longer than the lease but within its grace, until a heartbeat renews it', async () => {
    api.leaseSeconds = 2;
    api.leaseGraceSeconds = 30;
    await start(['--heartbeat-interval', '300ms']);
    const id = api.enqueue({ ...bundle, flowName: 'sleepy' });
    const grandchild = await grandchildOf(api, id);
    api.heartbeatDown = 'unavailable';
    // Well past the 2 s lease: every heartbeat in 3 s was refused, and the run still goes on.
    const downAt = Date.now();
    const beatsBefore = api.heartbeats.length;
    await waitFor(
      () => (Date.now() - downAt > 3_000 && api.heartbeats.length >= beatsBefore + 5 ? true : undefined),
      30_000,
      'heartbeats refused for longer than the lease',
    );
    expect(outcomes.find((o) => o.runId === id)).toBeUndefined();
    expect(isProcessRunning(grandchild)).toBe(true);
    // The API is back: the next heartbeat renews the lease, and the run is still held.
    api.heartbeatDown = false;
    const renewedFrom = api.heartbeats.length;
    await waitFor(() => (api.heartbeats.length > renewedFrom + 1 ? true : undefined), 10_000, 'heartbeats after the return');
    expect(api.heartbeats.at(-1)!.runs).toEqual([{ id, attempt: 1 }]);
    expect(isProcessRunning(grandchild)).toBe(true);
    api.runs.get(id)!.state = 'CANCELLING';
    api.cancel.add(id);
    expect((await outcomeOf(id)).ending).toBe('cancel');
  });

  it('stops a run at lease + grace when heartbeats keep failing, before a retry can start elsewhere', async () => {
    api.leaseSeconds = 2;
    api.leaseGraceSeconds = 1;
    await start(['--heartbeat-interval', '300ms']);
    const id = api.enqueue({ ...bundle, flowName: 'sleepy' });
    const grandchild = await grandchildOf(api, id);
    api.heartbeatDown = 'reset';
    const outcome = await outcomeOf(id);
    expect(outcome).toMatchObject({ ending: 'lease-expired', proposed: null });
    // Not before the lease plus the grace since the last renewal. The worker counts from when it sent
    // that heartbeat, a little before the API granted it: 300 ms allows for the request's way there.
    expect(Date.now() - api.lastRenewalAt!).toBeGreaterThanOrEqual(3_000 - 300);
    expect(isProcessRunning(grandchild)).toBe(false);
  });

  it('stops a run the API reports lost at once, proposing nothing', async () => {
    await start();
    const id = api.enqueue({ ...bundle, flowName: 'sleepy' });
    const grandchild = await grandchildOf(api, id);
    api.lost.add(id);
    const outcome = await outcomeOf(id);
    expect(outcome).toMatchObject({ ending: 'lost', proposed: null, exit: { signal: 'SIGKILL' } });
    expect(isProcessRunning(grandchild)).toBe(false);
  });

  it('says nothing of a lost run when the heartbeat that calls it lost was sent before the run completed', async () => {
    const lines: string[] = [];
    const capture = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
    let release!: () => void;
    const id = api.enqueue({ ...bundle, flowName: 'hello' });
    api.holdHeartbeatNaming = { runId: id, release: new Promise<void>((r) => (release = r)) };
    worker = await startWorker(options(api.url), { logger: capture, env: WORKER_ENV, onRunFinished: (o) => outcomes.push(o) });
    // A heartbeat naming the run is on its way while the run completes; the API then answers as the
    // real one does for a run that is no longer held.
    await waitFor(() => api.heartbeats.some((h) => h.runs.some((r) => r.id === id)), 30_000, 'a heartbeat naming the run');
    const outcome = await outcomeOf(id);
    expect(outcome).toMatchObject({ ending: 'reported', state: 'COMPLETED' });
    api.ended.set(id, 'COMPLETED');
    const answered = api.heartbeats.length;
    release();
    await waitFor(() => (api.heartbeats.length > answered ? true : undefined), 10_000, 'the next heartbeat');
    expect(lines.filter((l) => l.includes('run lost') || l.includes('ended on the API'))).toEqual([]);
    expect(api.runs.get(id)!.states.map((s) => s.type)).toEqual(['RUNNING', 'COMPLETED']);
  });

  it('stops a flow process still running when the API says its attempt ended, proposing nothing', async () => {
    await start();
    const id = api.enqueue({ ...bundle, flowName: 'sleepy' });
    const grandchild = await grandchildOf(api, id);
    // Someone set the run's state on the API: the worker's attempt is over there.
    api.runs.get(id)!.state = 'FAILED';
    api.ended.set(id, 'FAILED');
    const outcome = await outcomeOf(id);
    expect(outcome).toMatchObject({ ending: 'lost', proposed: null, state: 'FAILED' });
    expect(isProcessRunning(grandchild)).toBe(false);
    expect(api.runs.get(id)!.states.map((s) => s.type)).toEqual(['RUNNING']);
  });

  it('kills the flow process at once when a state proposal is refused as a stale attempt', async () => {
    await start();
    const id = api.enqueue({ ...bundle, flowName: 'sleepy' });
    api.stale.add(id);
    const outcome = await outcomeOf(id);
    expect(outcome).toMatchObject({ ending: 'lost', proposed: null });
    expect(api.runs.get(id)!.states).toEqual([]);
  });

  it('cancels a CANCELLING run on the next heartbeat and records CANCELLED with the group gone', async () => {
    await start();
    const id = api.enqueue({ ...bundle, flowName: 'sleepy' });
    const grandchild = await grandchildOf(api, id);
    api.runs.get(id)!.state = 'CANCELLING';
    api.cancel.add(id);
    const outcome = await outcomeOf(id);
    expect(outcome.ending).toBe('cancel');
    expect(outcome.state).toBe('CANCELLED');
    expect(api.runs.get(id)!.state).toBe('CANCELLED');
    expect(isProcessRunning(grandchild)).toBe(false);
  });

  it('on drain, hands a run still going after the grace back as CRASHED so the retry policy applies', async () => {
    const w = await start();
    const id = api.enqueue({ ...bundle, flowName: 'sleepy' });
    const grandchild = await grandchildOf(api, id);
    await w.stop({ graceMs: 300 });
    expect(w.state).toBe('stopped');
    const outcome = await outcomeOf(id);
    expect(outcome).toMatchObject({ ending: 'drain', proposed: 'CRASHED' });
    expect(api.runs.get(id)!.states.at(-1)!.message).toContain('worker shut down');
    expect(isProcessRunning(grandchild)).toBe(false);
  });

  it('on drain, keeps its executor open until the runs still going have ended, so they can end within the grace', async () => {
    const order: string[] = [];
    worker = await startWorker(options(api.url), {
      logger,
      env: WORKER_ENV,
      onRunFinished: (o) => {
        outcomes.push(o);
        order.push('run finished');
      },
      executor: (context): Executor => {
        const inner = createProcessExecutor(context);
        return overriding(inner, {
          close: async () => {
            order.push('executor closed');
            await inner.close();
          },
        });
      },
    });
    const gate = join(scratch, 'gate');
    const id = api.enqueue({ ...bundle, flowName: 'gated', parameters: { path: gate } });
    await waitFor(() => api.runs.get(id)?.state === 'RUNNING', 30_000, 'the gated run to start');
    const stopping = worker.stop({ graceMs: 60_000 });
    await waitFor(() => worker?.state === 'draining', 30_000, 'the worker to drain');
    writeFileSync(gate, '');
    await stopping;
    expect(await outcomeOf(id)).toMatchObject({ ending: 'reported', state: 'COMPLETED' });
    expect(api.runs.get(id)!.state).toBe('COMPLETED');
    expect(order).toEqual(['run finished', 'executor closed']);
  });

  it('waits for the Retry-After of a throttled claim instead of polling again at once', async () => {
    api.claimScript = [429];
    await start();
    await waitFor(() => api.claims >= 1, 5_000, 'the first claim');
    await new Promise((r) => setTimeout(r, 800));
    expect(api.claims).toBe(1);
    await waitFor(() => api.claims >= 2, 5_000, 'the claim after Retry-After');
  });
});

async function grandchildOf(api: FakeApi, runId: string): Promise<number> {
  const line = await waitFor(
    () => [...(api.runs.get(runId)?.logs.values() ?? [])].find((l) => l.message.startsWith('grandchild ')),
    30_000,
    'the flow to report its grandchild',
  );
  return Number(line.message.split(' ')[1]);
}

describe('worker start', () => {
  beforeEach(() => {
    scratch = mkdtempSync(join(tmpdir(), 'outpost-worker-'));
  });
  afterEach(() => rmSync(scratch, { recursive: true, force: true }));

  it('fails when the API refuses its key', async () => {
    const server = createServer((_req, res) => {
      res.writeHead(401, { 'content-type': 'application/problem+json' });
      res.end(JSON.stringify({ type: 'about:blank', title: 'Unauthenticated', status: 401, code: 'unauthenticated' }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const states: WorkerState[] = [];
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      await expect(startWorker(options(url), { logger, env: WORKER_ENV, onStateChange: (s) => states.push(s) })).rejects.toThrow(
        WorkerStartError,
      );
      expect(states).toEqual(['failed']);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('keeps trying while the API is unreachable until the start is aborted', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const abort = new AbortController();
    const states: WorkerState[] = [];
    const starting = startWorker(options(url), {
      logger,
      env: WORKER_ENV,
      signal: abort.signal,
      onStateChange: (s) => states.push(s),
    });
    await new Promise((r) => setTimeout(r, 700));
    expect(states).toEqual([]);
    abort.abort();
    await expect(starting).rejects.toThrow(/aborted/);
    expect(states).toEqual(['stopped']);
  });
});
