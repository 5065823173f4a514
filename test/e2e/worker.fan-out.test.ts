import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildWorkerFlows, Plane } from '../support/worker-flows.js';
import { startWorkerProcess, type WorkerProcess, waitFor, workerEnv } from '../support/worker-process.js';

/** Task runs of a run attempt as stored: how many, and how many in each state. */
async function stored(plane: Plane, runId: string, attempt: number) {
  const rows = await plane.server.sql<{ state_type: string; n: number; keys: number }[]>`
    SELECT state_type, count(*)::int AS n, count(DISTINCT task_key)::int AS keys
    FROM task_runs WHERE flow_run_id = ${runId} AND flow_run_attempt = ${attempt} GROUP BY state_type`;
  return {
    total: rows.reduce((a, r) => a + r.n, 0),
    completed: rows.find((r) => r.state_type === 'COMPLETED')?.n ?? 0,
    distinctKeys: rows.reduce((a, r) => a + r.keys, 0),
  };
}

describe('worker: fan-out in batches', () => {
  let scratch: string;
  let source: string;
  let plane: Plane;
  let key: string;
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'outpost-e2e-fanout-'));
    source = await buildWorkerFlows(join(scratch, 'bundle'));
    // The server's default rate limits, not the test suite's: a real map must not meet a 429.
    plane = await Plane.start({ leaseSeconds: 6, leaseExpiry: { idleMs: 250, busyMs: 100, graceSeconds: 2 }, rateLimits: {} });
    key = await plane.server.createKey('worker', ['default']);
  });

  afterAll(async () => {
    for (const w of workers.splice(0)) await w.stop();
    await plane?.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  function worker(name: string): WorkerProcess {
    const w = startWorkerProcess(['--pool', 'default', '--name', name, '--heartbeat-interval', '1s', '--poll-wait', '1s'], {
      ...workerEnv({ url: plane.server.url, key }, scratch, name),
    });
    workers.push(w);
    return w;
  }

  it('records all 10,000 task runs of a map, each once and COMPLETED, at the default rate limits and with no listener warning', async () => {
    const w = worker('fanout');
    const runId = await plane.run(await plane.deploy('fanout', source), { n: 10_000, concurrency: 64 });
    const run = await plane.settled(runId, 180_000);
    expect(run.state.type).toBe('COMPLETED');
    expect(await stored(plane, runId, 1)).toEqual({ total: 10_000, completed: 10_000, distinctKeys: 10_000 });
    expect(w.output()).not.toContain('MaxListenersExceededWarning');
    // A 429 would show as a retried call with the problem's title (digits alone would match timestamps and ids).
    expect(w.output()).not.toMatch(/too many requests|rate_limited|\bHTTP 429\b/i);
    await w.stop();
    workers.splice(workers.indexOf(w), 1);
  });

  it('loses no acknowledged task-run state when the worker is killed mid-map, and the retry records its own', async () => {
    const doomed = worker('doomed');
    const deploymentId = await plane.deploy('fanout', source, { name: 'fanout-retried', retries: 1, retryDelaySeconds: 0 });
    const runId = await plane.run(deploymentId, { n: 10_000, concurrency: 16, pauseEvery: 5 });
    await waitFor(async () => (await stored(plane, runId, 1)).completed >= 2_000, 120_000, 'a fifth of the map done');
    doomed.child.kill('SIGKILL');
    await doomed.exited;
    // Once the API has crashed attempt 1 (its lease and grace ran out), nothing can change its task
    // runs any more (writes of a stale attempt are refused): what it acknowledged is what is stored.
    await waitFor(async () => (await plane.get(runId)).attempt === 2, 60_000, 'attempt 1 to be crashed');
    const atKill = await stored(plane, runId, 1);
    expect(atKill.completed).toBeGreaterThanOrEqual(2_000);
    const rescuer = worker('rescuer');
    const run = await plane.settled(runId, 240_000);
    expect(run).toMatchObject({ state: { type: 'COMPLETED' }, attempt: 2 });
    const first = await stored(plane, runId, 1);
    expect(first.total).toBe(atKill.total);
    expect(first.completed).toBe(atKill.completed);
    expect(first.distinctKeys).toBe(first.total);
    expect(await stored(plane, runId, 2)).toEqual({ total: 10_000, completed: 10_000, distinctKeys: 10_000 });
    await rescuer.stop();
  });
});
