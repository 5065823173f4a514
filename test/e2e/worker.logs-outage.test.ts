import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { unwrap } from '@outpost/sdk/client';
import { isTerminal } from '@outpost/sdk/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TcpProxy } from '../support/tcp-proxy.js';
import { buildWorkerFlows, Plane } from '../support/worker-flows.js';
import { startWorkerProcess, type WorkerProcess, waitFor, workerEnv } from '../support/worker-process.js';

/** Flow lines `line N` in stored order; the other lines are the worker's own and the runtime's. */
function flowLines(rows: Array<{ seq: number; message: string }>): number[] {
  return rows.filter((r) => /^line \d+$/.test(r.message)).map((r) => Number(r.message.slice(5)));
}

function expectContiguous(rows: Array<{ seq: number }>): void {
  expect(rows.map((r) => r.seq)).toEqual(rows.map((_, i) => i + 1));
}

describe('worker: no log line lost through faults', () => {
  let scratch: string;
  let source: string;

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'outpost-e2e-outage-'));
    source = await buildWorkerFlows(join(scratch, 'bundle'));
  });

  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  function worker(apiUrl: string, key: string, name: string): WorkerProcess {
    return startWorkerProcess(['--pool', 'default', '--name', name, '--heartbeat-interval', '1s', '--poll-wait', '1s'], {
      ...workerEnv({ url: apiUrl, key }, scratch, name),
      OUTPOST_WORKER_LOG_BATCH_INTERVAL: '200ms',
    });
  }

  it('keeps all 10,000 lines, in order and once each, while the API is unreachable for 30 s', async () => {
    // A lease longer than the outage: the run itself must survive it.
    const plane = await Plane.start({ leaseSeconds: 90 });
    const proxy = new TcpProxy({ host: '127.0.0.1', port: Number(new URL(plane.server.url).port) });
    await proxy.start();
    const w = worker(proxy.url, await plane.server.createKey('worker', ['default']), 'outage');
    try {
      const runId = await plane.run(await plane.deploy('chatty', source), { n: 10_000, perTick: 100, pauseMs: 80 });
      await waitFor(async () => flowLines(await plane.lines(runId)).length >= 200, 60_000, 'the first lines');
      await proxy.cut();
      const cutAt = Date.now();
      const spool = join(scratch, 'spool-outage');
      const spooled = () => {
        try {
          return readdirSync(spool).filter((f) => f.endsWith('.ndjson'));
        } catch {
          return [];
        }
      };
      await waitFor(() => spooled().length > 0, 20_000, 'lines spooled to disk');
      const duringOutage = flowLines(await plane.lines(runId)).length;
      expect(duringOutage).toBeLessThan(10_000);
      // The outage itself: 30 s in which the flow keeps logging (and finishes) with nobody to send to.
      await sleep(Math.max(0, 30_000 - (Date.now() - cutAt)));
      await proxy.restore();
      const run = await plane.settled(runId, 120_000);
      expect(run.state.type).toBe('COMPLETED');
      // Lines may still be on their way when the state lands (the flush before a state change waits 50 s at most).
      await waitFor(async () => flowLines(await plane.lines(runId)).length >= 10_000, 90_000, 'every line to arrive');
      const rows = await plane.lines(runId);
      expectContiguous(rows);
      const lines = flowLines(rows);
      expect(lines).toHaveLength(10_000);
      expect(lines).toEqual(Array.from({ length: 10_000 }, (_, i) => i + 1));
      await waitFor(() => spooled().length === 0, 30_000, 'the spool to empty');
    } finally {
      await w.stop();
      await proxy.close();
      await plane.close();
    }
  });

  it('loses no acknowledged line or state when every API connection to Postgres is terminated mid-run', async () => {
    const plane = await Plane.start();
    const admin = plane.admin();
    const w = worker(plane.server.url, await plane.server.createKey('worker', ['default']), 'pg');
    let terminated = 0;
    try {
      const runId = await plane.run(await plane.deploy('chatty', source), { n: 3_000, perTick: 50, pauseMs: 60 });
      await waitFor(async () => flowLines(await plane.lines(runId)).length >= 50, 60_000, 'the first lines');
      // Kill the API's database sessions again and again until the run is over: each one is a Postgres restart to the API.
      // Sessions younger than a second are spared: postgres.js (3.4) cannot recover from a kill during its connection
      // handshake (the error of its type query escapes as an unhandled rejection) — a flaw of that library, reported.
      for (;;) {
        const killed = await admin<Array<{ ok: boolean }>>`
          SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity
          WHERE datname = ${plane.databaseName} AND pid <> pg_backend_pid()
            AND backend_start < now() - interval '1 second'`;
        terminated += killed.filter((k) => k.ok).length;
        const state = await plane.get(runId).catch(() => null);
        if (state && isTerminal(state.state.type)) break;
        await sleep(400);
      }
      expect(terminated).toBeGreaterThan(0);
      const run = await plane.settled(runId);
      expect(run.state.type).toBe('COMPLETED');
      // The last sessions were terminated moments ago: a 503 ("retry") may still answer, as in settled().
      const states = await waitFor(
        async () => {
          const result = await plane.owner.call('flowRunsStates', { params: { id: runId } });
          if (!result.ok && result.kind === 'http_error' && result.status === 503) return null;
          return unwrap(result) as { items: Array<{ state: { type: string } }> };
        },
        30_000,
        'the run history',
      );
      expect(states.items.map((s) => s.state.type)).toEqual(expect.arrayContaining(['PENDING', 'RUNNING', 'COMPLETED']));
      const rows = await plane.lines(runId);
      expectContiguous(rows);
      expect(flowLines(rows)).toEqual(Array.from({ length: 3_000 }, (_, i) => i + 1));
    } finally {
      await w.stop();
      await admin.end({ timeout: 5 });
      await plane.close();
    }
  });
});
