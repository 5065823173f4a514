import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '@outpost/api';
import { createTestDatabase, type TestDatabase } from '@outpost/api/testing';
import { OutpostClient, unwrap } from '@outpost/sdk/client';
import { type FlowRun, isTerminal } from '@outpost/sdk/contracts';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiProcess, startApiProcess } from '../support/api-process.js';
import { buildWorkerFlows } from '../support/worker-flows.js';
import { startWorkerProcess, type WorkerProcess, waitFor } from '../support/worker-process.js';

/** Short leases so an outage of one and a half leases takes seconds; the grace is the lease (the default). */
const LEASE_SECONDS = 6;

/** Flow lines `line N` in stored order. */
function flowLines(rows: Array<{ message: string }>): number[] {
  return rows.filter((r) => /^line \d+$/.test(r.message)).map((r) => Number(r.message.slice(5)));
}

describe('an API outage longer than the lease', () => {
  let scratch: string;
  let source: string;
  let database: TestDatabase;
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
      OUTPOST_API_URL: url(),
      OUTPOST_API_KEY: workerKey,
      HOME: scratch,
      OUTPOST_WORKER_CACHE_DIR: join(scratch, 'cache'),
      OUTPOST_WORKER_SPOOL_DIR: join(scratch, 'spool'),
      OUTPOST_WORKER_LOG_BATCH_INTERVAL: '200ms',
      OUTPOST_WORKER_PRESTART: '0',
    });
  const get = async (runId: string): Promise<FlowRun> => {
    const client = owner();
    try {
      return unwrap(await client.call('flowRunsGet', { params: { id: runId } }));
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
    database = await createTestDatabase();
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
    await database?.drop();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('lets a run that kept going through 1.5 leases of outage complete, with all 10,000 lines stored once', async () => {
    const w = worker('steady');
    try {
      // ~20 s of logging: 100 pauses of 200 ms, 100 lines each.
      const runId = await deployAndRun(0, { n: 10_000, perTick: 100, pauseMs: 200 });
      await waitFor(async () => flowLines(await lines(runId, 1)).length >= 500, 60_000, 'the first lines');
      await killApi();
      // The outage itself: one and a half leases with no control plane. The worker keeps the run going
      // for lease + grace without a renewal; the API, back, gives held leases the grace to be renewed.
      await sleep(LEASE_SECONDS * 1500);
      expect(spooled().length).toBeGreaterThan(0);
      await startApi();
      const run = await waitFor(
        async () => {
          const r = await get(runId);
          return isTerminal(r.state.type) ? r : null;
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
      await waitFor(() => spooled().length === 0, 30_000, 'the spool to empty');
      expect(w.output()).not.toContain('lease not renewed in time');
      expect(w.output()).not.toContain('refused by the API');
    } finally {
      await w.stop();
    }
  });

  it('finds a worker that died during the outage within lease + grace of the return, crashes its run once and retries it', async () => {
    const doomed = worker('doomed');
    let rescuer: WorkerProcess | null = null;
    try {
      const runId = await deployAndRun(1, { n: 200_000, perTick: 100, pauseMs: 200 });
      await waitFor(async () => flowLines(await lines(runId, 1)).length >= 500, 60_000, 'the first lines');
      await killApi();
      await waitFor(() => spooled().length > 0, 20_000, 'lines spooled while the API is away');
      doomed.child.kill('SIGKILL');
      await doomed.exited;
      await sleep(LEASE_SECONDS * 1500);
      await startApi();
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
      rescuer = worker('rescuer');
      await waitFor(
        async () => (await get(runId)).attempt === 2 && (await get(runId)).state.type === 'RUNNING',
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
    } finally {
      await doomed.stop();
      await rescuer?.stop();
    }
  });
});
