import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type EmbeddedPostgres, freePort, startEmbeddedPostgres } from '@outpost/api';
import { OutpostClient, unwrap } from '@outpost/sdk/client';
import { type FlowRun, isTerminal } from '@outpost/sdk/contracts';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiProcess, startApiProcess } from '../support/api-process.js';
import { buildWorkerFlows } from '../support/worker-flows.js';
import { startWorkerProcess, type WorkerProcess, waitFor, workerEnv } from '../support/worker-process.js';

/** Short leases so an outage of one and a half leases takes seconds; the grace is the lease (the default). */
const LEASE_SECONDS = 6;

/** Flow lines `line N` in stored order. */
function flowLines(rows: Array<{ message: string }>): number[] {
  return rows.filter((r) => /^line \d+$/.test(r.message)).map((r) => Number(r.message.slice(5)));
}

describe('an outage of the API or its database longer than the lease', () => {
  let scratch: string;
  let source: string;
  /** A Postgres of the suite's own, which it may stop and start again. */
  let database: EmbeddedPostgres;
  let pgPort: number;
  let sql: postgres.Sql;
  let port: number;
  let api: ApiProcess | null = null;
  let ownerKey: string;
  let workerKey: string;

  const url = () => `http://127.0.0.1:${port}`;
  const startApi = async (first = false) => {
    api = await startApiProcess(
      database.url,
      { OUTPOST_LEASE_SECONDS: String(LEASE_SECONDS), OUTPOST_LOG_LEVEL: 'warn' },
      { expectOwnerKey: first, port },
    );
    return api;
  };
  /** The API process dies (SIGKILL): no graceful anything, as in a crash or a node lost. */
  const killApi = async () => {
    const current = api;
    api = null;
    current?.child.kill('SIGKILL');
    await current?.exited;
  };
  const owner = () => new OutpostClient({ baseUrl: url(), token: ownerKey });
  const worker = (name: string): WorkerProcess =>
    startWorkerProcess(['--pool', 'default', '--name', name, '--heartbeat-interval', '1s', '--poll-wait', '1s'], {
      ...workerEnv({ url: url(), key: workerKey }, scratch),
      OUTPOST_WORKER_LOG_BATCH_INTERVAL: '200ms',
      OUTPOST_WORKER_PRESTART: '0',
    });
  /**
   * The run, or null while the API answers 503: its database is still coming back from a restart, or
   * its pool is still replacing connections the restart closed (seen seconds after the test's own
   * connection already worked again).
   */
  const getOnceUp = async (runId: string): Promise<FlowRun | null> => {
    const client = owner();
    try {
      const result = await client.call('flowRunsGet', { params: { id: runId } });
      if (!result.ok && result.kind === 'http_error' && result.status === 503) return null;
      return unwrap(result);
    } finally {
      await client.close();
    }
  };
  const lines = (runId: string, attempt: number) =>
    sql<Array<{ seq: number; message: string }>>`
      SELECT seq, message FROM logs WHERE flow_run_id = ${runId} AND attempt = ${attempt} ORDER BY seq`;
  const states = (runId: string) =>
    sql<Array<{ attempt: number; type: string; at: Date }>>`
      SELECT attempt, type, timestamp AS at FROM flow_run_states WHERE flow_run_id = ${runId} ORDER BY timestamp, id`;
  const spooled = () => {
    try {
      return readdirSync(join(scratch, 'spool')).filter((f) => f.endsWith('.ndjson'));
    } catch {
      return [];
    }
  };

  async function deployAndRun(retries: number, parameters: Record<string, number>): Promise<string> {
    const client = owner();
    try {
      const { deployment } = unwrap(
        await client.call('deploymentsUpsert', {
          body: {
            flowName: 'chatty',
            name: `outage-${retries}`,
            source,
            entrypoint: 'flows/worker.ts',
            workPool: 'default',
            retries,
            retryDelaySeconds: 0,
          },
        }),
      );
      const { flowRun } = unwrap(
        await client.call('deploymentsCreateRun', { params: { id: deployment.id }, body: { parameters } }),
      );
      return flowRun.id;
    } finally {
      await client.close();
    }
  }

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'outpost-e2e-api-outage-'));
    source = await buildWorkerFlows(join(scratch, 'bundle'));
    const pgDir = join(scratch, 'pg');
    mkdirSync(pgDir);
    // Postgres may run as another user than the test (as root it must): it reaches its data through here.
    chmodSync(scratch, 0o755);
    chmodSync(pgDir, 0o755);
    pgPort = await freePort();
    database = await startEmbeddedPostgres({ dataDir: join(pgDir, 'data'), port: pgPort });
    sql = postgres(database.url, { max: 2, onnotice: () => {} });
    port = await freePort();
    const first = await startApi(true);
    ownerKey = first.ownerKey ?? '';
    const client = owner();
    try {
      workerKey = unwrap(
        await client.call('apiKeysCreate', { body: { name: 'outage-worker', role: 'worker', pools: ['default'] } }),
      ).key;
    } finally {
      await client.close();
    }
  });

  afterAll(async () => {
    await api?.stop();
    await sql?.end({ timeout: 5 });
    await database?.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('keeps a run going through outages of 1.5, 3 and 10 leases: it completes in attempt 1 with all 10,000 lines stored once', async () => {
    const w = worker('steady');
    try {
      // ~50 s of logging: 100 pauses of 500 ms, 100 lines each; it ends during the last outage.
      const runId = await deployAndRun(0, { n: 10_000, perTick: 100, pauseMs: 500 });
      await waitFor(async () => flowLines(await lines(runId, 1)).length >= 500, 60_000, 'the first lines');
      let recoveries = 0;
      for (const leases of [1.5, 3, 10]) {
        await killApi();
        // No control plane at all. The worker keeps the run going within the pool's disconnected
        // tolerance (10 minutes by default); the API, back, gives held leases the grace to be renewed.
        await sleep(LEASE_SECONDS * 1000 * leases);
        expect(spooled().length).toBeGreaterThan(0);
        await startApi();
        recoveries++;
        const expected = recoveries;
        await waitFor(
          () => (w.output().match(/heartbeat recovered/g)?.length ?? 0) >= expected,
          60_000,
          `the worker to renew after outage ${expected}`,
        );
      }
      await expectCompletedInAttemptOne(runId);
      await waitFor(() => spooled().length === 0, 30_000, 'the spool to empty');
      expect(w.output()).not.toContain('lease not renewed in time');
      expect(w.output()).not.toContain('refused by the API');
      expect(w.output()).toContain('the API is unreachable; the run goes on');
    } finally {
      await w.stop();
    }
  });

  /** Postgres stops (every connection dropped) until `up()`, which starts it again on the same data and port. */
  const stopPostgres = async () => {
    const dataDir = database.dataDir;
    await database.stop();
    return {
      up: async () => {
        database = await startEmbeddedPostgres({ dataDir, port: pgPort });
      },
    };
  };
  const apiAway = async () => {
    await killApi();
    return { up: async () => void (await startApi()) };
  };

  /**
   * A run of a worker that is SIGKILLed while the control plane is away (`away()`, until `up()`): found
   * within lease + grace of the return, CRASHED once and retried by another worker, which delivers
   * what the dead one had spooled.
   */
  /** The run ends COMPLETED in attempt 1, never CRASHED, with its 10,000 lines stored once each and in order. */
  async function expectCompletedInAttemptOne(runId: string): Promise<void> {
    const run = await waitFor(
      async () => {
        const r = await getOnceUp(runId);
        return r && isTerminal(r.state.type) ? r : null;
      },
      120_000,
      'the run to finish',
    );
    expect(run.state.type).toBe('COMPLETED');
    expect(run.attempt).toBe(1);
    await waitFor(async () => flowLines(await lines(runId, 1)).length >= 10_000, 90_000, 'every line to arrive');
    const rows = await lines(runId, 1);
    expect(rows.map((r) => r.seq)).toEqual(rows.map((_, i) => i + 1));
    expect(flowLines(rows)).toEqual(Array.from({ length: 10_000 }, (_, i) => i + 1));
    expect((await states(runId)).map((s) => s.type)).not.toContain('CRASHED');
  }

  async function workerDiesDuringOutage(away: () => Promise<{ up: () => Promise<void> }>, name: string): Promise<void> {
    const doomed = worker(`doomed-${name}`);
    let rescuer: WorkerProcess | null = null;
    try {
      const runId = await deployAndRun(1, { n: 200_000, perTick: 100, pauseMs: 200 });
      await waitFor(async () => flowLines(await lines(runId, 1)).length >= 500, 60_000, 'the first lines');
      const outage = await away();
      await waitFor(() => spooled().length > 0, 20_000, 'lines spooled while the API is away');
      doomed.child.kill('SIGKILL');
      await doomed.exited;
      await sleep(LEASE_SECONDS * 1500);
      await outage.up();
      const returnedAt = Date.now();
      const crashed = await waitFor(
        async () => (await states(runId)).find((s) => s.type === 'CRASHED') ?? null,
        60_000,
        'the run to be found crashed',
      );
      // Lease + grace after the return, plus the lease loop's two-second idle tick and a margin for a busy machine.
      expect(Date.now() - returnedAt).toBeLessThan((LEASE_SECONDS * 2 + 2) * 1000 + 10_000);
      expect(crashed.attempt).toBe(1);
      // A worker with the same key and spool directory: it delivers what the dead one had spooled,
      // lines of an attempt that has ended, and runs the retry.
      rescuer = worker(`rescuer-${name}`);
      await waitFor(
        async () => {
          const r = await getOnceUp(runId);
          return r !== null && r.attempt === 2 && r.state.type === 'RUNNING';
        },
        60_000,
        'the retry to run',
      );
      await waitFor(
        () => spooled().filter((f) => f.includes(`${runId}-1`)).length === 0,
        60_000,
        "the dead worker's spool to be delivered",
      );
      const first = await lines(runId, 1);
      expect(first.map((r) => r.seq)).toEqual(first.map((_, i) => i + 1));
      const numbers = flowLines(first);
      expect(numbers).toEqual(Array.from({ length: numbers.length }, (_, i) => i + 1));
      expect(rescuer.output()).toContain('spooled log lines delivered');
      expect(rescuer.output()).not.toContain('refused by the API');
      const history = (await states(runId)).map((s) => `${s.attempt}:${s.type}`);
      expect(history.filter((h) => h.endsWith('CRASHED'))).toEqual(['1:CRASHED']);
      expect(history).toContain('2:RUNNING');
      const client = owner();
      try {
        unwrap(await client.call('flowRunsCancel', { params: { id: runId }, body: {} }));
      } finally {
        await client.close();
      }
      await waitFor(
        async () => {
          const r = await getOnceUp(runId);
          return r !== null && isTerminal(r.state.type);
        },
        60_000,
        'the retry to be cancelled',
      );
    } finally {
      await doomed.stop();
      await rescuer?.stop();
    }
  }

  it('finds a worker that died during the outage within lease + grace of the return, crashes its run once and retries it', () =>
    workerDiesDuringOutage(apiAway, 'api'));

  it('keeps a run going while Postgres restarts under the API: it completes in attempt 1 with all 10,000 lines stored once', async () => {
    const w = worker('steady-pg');
    try {
      const runId = await deployAndRun(0, { n: 10_000, perTick: 100, pauseMs: 300 });
      await waitFor(async () => flowLines(await lines(runId, 1)).length >= 500, 60_000, 'the first lines');
      const outage = await stopPostgres();
      await sleep(LEASE_SECONDS * 3000);
      await outage.up();
      await expectCompletedInAttemptOne(runId);
      // The API rode the restart out: it is the same process.
      expect(api?.child.exitCode).toBeNull();
      expect(w.output()).not.toContain('lease not renewed in time');
    } finally {
      await w.stop();
    }
  });

  it('finds a worker that died while Postgres was down within lease + grace of its return, crashes its run once and retries it', () =>
    workerDiesDuringOutage(stopPostgres, 'pg'));
});
