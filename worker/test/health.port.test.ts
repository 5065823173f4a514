import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestReplica, TestServer } from '@outpost/api/testing';
import { OutpostClient, unwrap } from '@outpost/sdk/client';
import type { StateType } from '@outpost/sdk/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HealthReport } from '../src/health.js';
import { WORKER_VERSION } from '../src/version.js';
import { startTestServer } from './support/api-testing.js';
import { buildDemoBundle } from './support/bundle.js';
import { expectNoLiveChildren } from './support/leaks.js';
import { type MainProcess, runMain } from './support/main-process.js';
import { parseExposition, type Scrape } from './support/prometheus.js';
import { QUICK_WORKER_ARGS } from './support/test-worker.js';
import { waitFor } from './support/wait.js';

const apiIndex = '@outpost/api';
const { freePort } = (await import(apiIndex)) as typeof import('@outpost/api');

/** A short lease, so "has not reached the API for longer than its lease" takes seconds. */
const LEASE_SECONDS = 2;

interface Probe {
  status: number;
  type: string | null;
  body: string;
}

async function get(url: string, method = 'GET'): Promise<Probe> {
  const res = await fetch(url, { method });
  return { status: res.status, type: res.headers.get('content-type'), body: await res.text() };
}

async function healthz(base: string): Promise<{ status: number; report: HealthReport }> {
  const res = await get(`${base}/healthz`);
  return { status: res.status, report: JSON.parse(res.body) as HealthReport };
}

async function scrape(base: string): Promise<Scrape> {
  const res = await get(`${base}/metrics`);
  expect(res.status).toBe(200);
  expect(res.type).toContain('text/plain');
  return parseExposition(res.body);
}

describe('the worker health port, a real worker process against a real API', () => {
  let server: TestServer;
  let owner: OutpostClient;
  let bundle: { dir: string; source: string; entrypoint: string };
  let scratch: string;
  let apiPort: number;
  /** The API the worker talks to: a server of the test database on a fixed port, stopped and started again. */
  let api: TestReplica | null = null;
  let workerKey: string;
  const deployments = new Map<string, string>();

  const startApi = async () => {
    api = await server.startReplica({ port: apiPort, leaseSeconds: LEASE_SECONDS, loops: false });
  };
  const stopApi = async () => {
    const current = api;
    api = null;
    await current?.close();
  };

  const workerEnv = (name: string) => ({
    OUTPOST_API_URL: `http://127.0.0.1:${apiPort}`,
    OUTPOST_API_KEY: workerKey,
    OUTPOST_WORKER_CACHE_DIR: join(scratch, name, 'cache'),
    OUTPOST_WORKER_SPOOL_DIR: join(scratch, name, 'spool'),
    OUTPOST_WORKER_LOG_BATCH_INTERVAL: '50ms',
    HOME: scratch,
  });
  const workerArgs = (name: string, ...more: string[]) => [
    'start',
    '--pool',
    'default',
    '--name',
    name,
    ...QUICK_WORKER_ARGS,
    '--prestart',
    '0',
    ...more,
  ];
  /** The health URL the worker logs once it listens (it was given port 0: any free port). */
  const healthUrlOf = (worker: MainProcess) =>
    waitFor(() => /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(worker.output())?.[1], 30_000, 'the health port to listen');

  const runTo = async (flowName: string, states: StateType[]) => {
    const id = deployments.get(flowName)!;
    const { flowRun } = unwrap(await owner.call('deploymentsCreateRun', { params: { id }, body: {} }));
    return waitFor(
      async () => {
        const run = unwrap(await owner.call('flowRunsGet', { params: { id: flowRun.id } }));
        return states.includes(run.state.type) ? run : null;
      },
      60_000,
      `${flowName} to reach ${states.join(' or ')}`,
    );
  };

  beforeAll(async () => {
    server = await startTestServer();
    owner = new OutpostClient({ baseUrl: server.url, token: server.ownerKey });
    bundle = await buildDemoBundle();
    scratch = mkdtempSync(join(tmpdir(), 'outpost-worker-health-'));
    workerKey = await server.createKey('worker', ['default']);
    for (const flowName of ['hello', 'fails', 'sleepy']) {
      const { deployment } = unwrap(
        await owner.call('deploymentsUpsert', {
          body: { flowName, name: 'health', source: bundle.source, entrypoint: bundle.entrypoint, workPool: 'default' },
        }),
      );
      deployments.set(flowName, deployment.id);
    }
    apiPort = await freePort();
    await startApi();
  });

  afterAll(async () => {
    await stopApi();
    await owner?.close();
    await server?.close();
    if (bundle) rmSync(bundle.dir, { recursive: true, force: true });
    if (scratch) rmSync(scratch, { recursive: true, force: true });
    await expectNoLiveChildren();
  });

  it('answers 200 while healthy, 503 once the API has been away longer than the lease, and 200 again when it is back', async () => {
    const worker = runMain(workerArgs('health-probe', '--health-port', '0'), workerEnv('probe'));
    try {
      const base = await healthUrlOf(worker);
      const healthy = await waitFor(
        async () => {
          const probe = await healthz(base);
          return probe.status === 200 ? probe : null;
        },
        30_000,
        'the worker to be healthy',
      );
      expect(healthy.report).toMatchObject({
        status: 'ok',
        worker: 'health-probe',
        pool: 'default',
        leaseSeconds: LEASE_SECONDS,
        runningAttempts: 0,
      });
      expect(healthy.report.workerId).toMatch(/^[0-9a-f-]{36}$/);
      expect(healthy.report.lastHeartbeatAgeSeconds).toBeLessThanOrEqual(LEASE_SECONDS);

      // The API goes away: the worker stays healthy through the lease, then says it cannot reach it.
      await stopApi();
      const unreachable = await waitFor(
        async () => {
          const probe = await healthz(base);
          return probe.status === 503 ? probe : null;
        },
        30_000,
        'the worker to report the API unreachable',
      );
      expect(unreachable.report.status).toBe('unreachable');
      const lastContact = Math.min(
        unreachable.report.lastHeartbeatAgeSeconds ?? Number.POSITIVE_INFINITY,
        unreachable.report.lastPollAgeSeconds ?? Number.POSITIVE_INFINITY,
      );
      expect(lastContact).toBeGreaterThan(LEASE_SECONDS);
      const outage = await scrape(base);
      expect(
        outage.value('outpost_worker_api_errors_total', { route: 'workersHeartbeat', code: 'network_error' }),
      ).toBeGreaterThan(0);
      expect(outage.value('outpost_worker_heartbeat_duration_seconds_count', { result: 'error' })).toBeGreaterThan(0);

      // Back on the same address: the next heartbeat gets through and the worker is healthy again.
      await startApi();
      const recovered = await waitFor(
        async () => {
          const probe = await healthz(base);
          return probe.status === 200 ? probe : null;
        },
        30_000,
        'the worker to be healthy again',
      );
      expect(recovered.report.status).toBe('ok');
      expect(recovered.report.lastHeartbeatAgeSeconds).toBeLessThanOrEqual(LEASE_SECONDS);
    } finally {
      worker.child.kill('SIGKILL');
      await worker.exited;
    }
  });

  it('answers 503 "starting" while it waits for an API it cannot reach, and 200 once the API has it registered', async () => {
    await stopApi();
    const worker = runMain(workerArgs('health-start', '--health-port', '0'), workerEnv('start'));
    try {
      const base = await healthUrlOf(worker);
      const starting = await healthz(base);
      expect(starting.status).toBe(503);
      expect(starting.report).toMatchObject({ status: 'starting', worker: 'health-start', lastHeartbeatAgeSeconds: null });
      expect((await scrape(base)).value('outpost_worker_last_api_contact_timestamp_seconds')).toBe(0);
      await startApi();
      const registered = await waitFor(
        async () => {
          const probe = await healthz(base);
          return probe.status === 200 ? probe : null;
        },
        60_000,
        'the worker to register',
      );
      expect(registered.report.status).toBe('ok');
    } finally {
      if (!api) await startApi();
      worker.child.kill('SIGKILL');
      await worker.exited;
    }
  });

  it('counts claimed, completed and failed runs, shipped log lines and claim and heartbeat latency in /metrics', async () => {
    const worker = runMain(workerArgs('health-metrics', '--health-port', '0'), workerEnv('metrics'));
    try {
      const base = await healthUrlOf(worker);
      await waitFor(async () => (await healthz(base)).status === 200, 30_000, 'the worker to be healthy');
      const before = await scrape(base);
      expect(before.value('outpost_worker_runs_claimed_total')).toBe(0);
      expect(before.value('outpost_worker_runs_finished_total', { state: 'COMPLETED' })).toBe(0);
      expect(before.value('outpost_worker_running_attempts')).toBe(0);
      expect(before.value('outpost_worker_info', { worker: 'health-metrics', pool: 'default', version: WORKER_VERSION })).toBe(1);
      // The process's own metrics come along, as on the API.
      expect(before.value('process_cpu_user_seconds_total')).toBeGreaterThan(0);

      await runTo('hello', ['COMPLETED']);
      await runTo('fails', ['FAILED']);
      // The worker counts a run once its attempt is over, which is just after the API has its final state.
      const after = await waitFor(
        async () => {
          const s = await scrape(base);
          return s.value('outpost_worker_runs_finished_total', { state: 'FAILED' }) === 1 ? s : null;
        },
        30_000,
        'the failed run to be counted',
      );
      expect(after.value('outpost_worker_runs_claimed_total')).toBe(2);
      expect(after.value('outpost_worker_runs_finished_total', { state: 'COMPLETED' })).toBe(1);
      expect(after.value('outpost_worker_runs_finished_total', { state: 'CRASHED' })).toBe(0);
      expect(after.value('outpost_worker_log_lines_shipped_total')).toBeGreaterThan(0);
      expect(after.value('outpost_worker_log_lines_spooled_total')).toBe(0);
      expect(after.value('outpost_worker_claim_duration_seconds_count', { result: 'runs' })).toBeGreaterThanOrEqual(1);
      expect(after.value('outpost_worker_heartbeat_duration_seconds_count', { result: 'ok' })).toBeGreaterThan(0);
      expect(after.value('outpost_worker_last_api_contact_timestamp_seconds')).toBeGreaterThan(Date.now() / 1000 - 60);
      expect(after.text).not.toContain(workerKey);

      // Only the two paths, and only GET and HEAD on them.
      for (const path of ['/', '/metrics/', '/healthz/x', '/readyz', '/api/v1/whoami']) {
        expect((await get(`${base}${path}`)).status, path).toBe(404);
      }
      const post = await fetch(`${base}/healthz`, { method: 'POST' });
      expect(post.status).toBe(405);
      expect(post.headers.get('allow')).toBe('GET, HEAD');
      await post.text();
      const head = await get(`${base}/healthz`, 'HEAD');
      expect(head.status).toBe(200);
      expect(head.body).toBe('');
    } finally {
      worker.child.kill('SIGKILL');
      await worker.exited;
    }
  });

  it('answers 503 "draining" with the running attempt while a SIGTERM drains the worker', async () => {
    const worker = runMain(workerArgs('health-drain', '--health-port', '0', '--drain-grace', '60s'), workerEnv('drain'));
    try {
      const base = await healthUrlOf(worker);
      await waitFor(async () => (await healthz(base)).status === 200, 30_000, 'the worker to be healthy');
      await runTo('sleepy', ['RUNNING']);
      const running = await waitFor(
        async () => {
          const probe = await healthz(base);
          return probe.report.runningAttempts === 1 ? probe : null;
        },
        30_000,
        'the attempt to show',
      );
      expect(running.status).toBe(200);
      expect((await scrape(base)).value('outpost_worker_running_attempts')).toBe(1);

      worker.child.kill('SIGTERM');
      const draining = await waitFor(
        async () => {
          const probe = await healthz(base);
          return probe.status === 503 ? probe : null;
        },
        30_000,
        'the worker to report draining',
      );
      expect(draining.report).toMatchObject({ status: 'draining', runningAttempts: 1 });
      // A second signal stops the run at once; the worker exits and its port with it.
      worker.child.kill('SIGTERM');
      expect(await worker.exited).toBe(0);
      await expect(fetch(`${base}/healthz`)).rejects.toThrow();
    } finally {
      if (worker.child.exitCode === null) worker.child.kill('SIGKILL');
      await worker.exited;
    }
  });

  it('stops at once with one line naming the port when the health port is in use', async () => {
    const taken: Server = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', () => resolve()));
    const port = (taken.address() as { port: number }).port;
    try {
      const worker = runMain(workerArgs('health-busy', '--health-port', String(port)), workerEnv('busy'));
      expect(await worker.exited).toBe(1);
      const lines = worker.output().trim().split('\n');
      const error = lines.filter((line) => line.startsWith('error: '));
      expect(error).toEqual([
        `error: the health port ${port} on 127.0.0.1 is in use (is another worker or exporter running there?) — stop it, or pass another --health-port (OUTPOST_WORKER_HEALTH_PORT)`,
      ]);
      expect(worker.output()).not.toMatch(/\n\s+at /);
    } finally {
      await new Promise<void>((resolve) => taken.close(() => resolve()));
    }
  });
});
