import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '@outpost/api/testing';
import { OutpostClient, unwrap } from '@outpost/sdk/client';
import type { Backfill } from '@outpost/sdk/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/processes.js';
import { writeProject } from '../support/project.js';
import { startWorkerProcess, type WorkerProcess, waitFor, workerEnv } from '../support/worker-process.js';

/*
 * A lazy backfill of a partitioned asset, every part real: `outpost deploy` of the asset graph,
 * `outpost backfills create` over a year of daily partitions with four runs in flight, a worker
 * process materialising them, killed with kill -9 halfway and replaced. Every partition ends
 * materialised exactly once, by exactly one completed run, and the control plane never held more
 * than four of the backfill's runs in flight nor a partition row for a partition it had not started.
 */

const DAYS = 365;
const CONCURRENCY = 4;

const CONFIG = (dataDir: string) => `import { defineConfig } from '@outpost/sdk';
export default defineConfig({
  project: 'yearly',
  registry: 'oci-layout:./registry',
  deployments: [
    { name: 'daily', entrypoint: 'assets.ts', assets: true, pool: 'default', retries: 2, retryDelaySeconds: 0,
      jobVariables: { env: { ASSET_DIR: '${dataDir}' } } },
  ],
});
`;

// Each partition takes a little while. The middle one's first attempt works for a minute, so the
// kill lands on a run that has started (a claimed run that never started goes back to the queue on
// its own attempt; a started one crashes and is retried).
const HELD = '2025-07-02';
const ASSETS = `import { asset, fsIO, partitions, runContext } from '@outpost/sdk';
const io = fsIO({ dir: process.env.ASSET_DIR ?? 'assets-data' });
const daily = partitions.daily({ start: '2025-01-01', end: '2026-01-01', timezone: 'UTC' });
export const events = asset({ key: 'daily/events', partitions: daily, io }, async (ctx) => {
  const held = ctx.partition.key === '${HELD}' && runContext().attempt === 1;
  await new Promise((resolve) => setTimeout(resolve, held ? 60_000 : 150));
  return { day: ctx.partition.key, rows: 3 };
});
`;

describe('a lazy backfill of 365 daily partitions on a real worker killed once', () => {
  let server: TestServer;
  let scratch: string;
  let env: Record<string, string>;
  let client: OutpostClient;
  let workerKey: string;
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    // Short leases and a lease loop that looks often: the runs of the killed worker crash and are retried in seconds.
    server = await startTestServer({ leaseSeconds: 4, leaseExpiry: { idleMs: 250, busyMs: 100, graceSeconds: 1 } });
    scratch = await mkdtemp(join(tmpdir(), 'outpost-e2e-backfill-'));
    env = { OUTPOST_API_URL: server.url, OUTPOST_API_KEY: server.ownerKey };
    client = new OutpostClient({ baseUrl: server.url, token: server.ownerKey });
    workerKey = await server.createKey('worker', ['default']);
    await writeProject(join(scratch, 'yearly'), { 'outpost.config.ts': CONFIG(join(scratch, 'data')), 'assets.ts': ASSETS });
  });

  afterAll(async () => {
    for (const w of workers) await w.stop(5_000);
    await client?.close();
    await server?.close();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  function startWorker(name: string): WorkerProcess {
    const w = startWorkerProcess(
      ['--pool', 'default', '--name', name, '--limit', String(CONCURRENCY), '--heartbeat-interval', '1s', '--poll-wait', '1s'],
      {
        ...workerEnv({ url: server.url, key: workerKey }, scratch, name),
        OUTPOST_WORKER_RESULT_STORAGE: `file://${join(scratch, 'results')}`,
      },
    );
    workers.push(w);
    return w;
  }

  const backfill = async (id: string): Promise<Backfill> => unwrap(await client.call('backfillsGet', { params: { id } }));

  it('materialises every partition exactly once with at most four runs in flight', async () => {
    const deployed = await runCli(['deploy'], env, join(scratch, 'yearly'));
    expect(deployed.code, deployed.output).toBe(0);

    const first = startWorker('first');
    const created = await runCli(
      ['backfills', 'create', '--asset', 'daily/events', '--all-partitions', '--max-concurrent', String(CONCURRENCY)],
      env,
    );
    expect(created.code, created.output).toBe(0);
    // The id is printed alone on stdout; stderr's dashboard link names the deployment's id.
    const id = /^([0-9a-f-]{36})$/m.exec(created.output)?.[1] as string;
    expect(created.output).toContain(
      `covers 2025-01-01..2025-12-31 (${DAYS} partitions): ${CONCURRENCY} runs started, ${CONCURRENCY} at a time`,
    );

    // Watch the control plane's own rows the whole time, one snapshot per statement.
    let watching = true;
    const samples: { inFlight: number; rows: number; runs: number; finished: number }[] = [];
    const watcher = (async () => {
      while (watching) {
        const [s] = await server.sql<{ in_flight: number; rows: number; runs: number; finished: number }[]>`
          SELECT (SELECT count(*)::int FROM flow_runs WHERE backfill_id = ${id}
                    AND state_type NOT IN ('COMPLETED', 'FAILED', 'CRASHED', 'CANCELLED')) AS in_flight,
                 (SELECT count(*)::int FROM backfill_partitions WHERE backfill_id = ${id}) AS rows,
                 (SELECT count(*)::int FROM flow_runs WHERE backfill_id = ${id}) AS runs,
                 (SELECT count(*)::int FROM backfill_partitions WHERE backfill_id = ${id}
                    AND status NOT IN ('PENDING', 'RUNNING')) AS finished`;
        if (s) samples.push({ inFlight: s.in_flight, rows: s.rows, runs: s.runs, finished: s.finished });
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();

    try {
      // Halfway, with the held partition's run at work on the worker, it dies without a word.
      await waitFor(
        async () => {
          const b = await backfill(id);
          const [held] = await server.sql<{ state_type: string }[]>`
            SELECT state_type FROM flow_runs WHERE backfill_id = ${id} AND partition_key = ${HELD}`;
          return b.partitions.COMPLETED >= DAYS / 3 && held?.state_type === 'RUNNING';
        },
        240_000,
        `a third of the partitions to complete and the held partition to start:\n${first.output().slice(-2_000)}`,
      );
      first.child.kill('SIGKILL');
      await first.exited;
      const atKill = await backfill(id);
      expect(atKill.partitions.notStarted).toBeGreaterThan(0);
      startWorker('second');

      const done = await waitFor(
        async () => {
          const b = await backfill(id);
          return b.status === 'RUNNING' ? null : b;
        },
        300_000,
        'the backfill to finish',
      );
      expect(done).toMatchObject({
        status: 'COMPLETED',
        runCount: DAYS,
        partitions: { total: DAYS, notStarted: 0, COMPLETED: DAYS, FAILED: 0, PENDING: 0, RUNNING: 0 },
      });
    } finally {
      watching = false;
      await watcher;
    }

    expect(samples.length).toBeGreaterThan(100);
    for (const s of samples) {
      expect(s.inFlight).toBeLessThanOrEqual(CONCURRENCY);
      // A partition row exists only for a partition whose run was created, never ahead of it.
      expect(s.rows).toBe(s.runs);
      expect(s.rows).toBeLessThanOrEqual(s.finished + CONCURRENCY);
    }

    // Exactly one run per partition, completed; the killed worker's runs were retried, not duplicated.
    const runs = await server.sql<{ partition_key: string; n: number; completed: number; retried: number }[]>`
      SELECT partition_key, count(*)::int AS n, count(*) FILTER (WHERE state_type = 'COMPLETED')::int AS completed,
             count(*) FILTER (WHERE attempt > 1)::int AS retried
      FROM flow_runs WHERE backfill_id = ${id} GROUP BY partition_key`;
    expect(runs).toHaveLength(DAYS);
    expect(runs.every((r) => r.n === 1 && r.completed === 1)).toBe(true);
    expect(runs.find((r) => r.partition_key === HELD)?.retried).toBe(1);

    // Exactly one materialisation per partition, and the partition grid agrees.
    const materialized = await server.sql<{ partition_key: string; n: number }[]>`
      SELECT partition_key, count(*)::int AS n FROM asset_materializations
      WHERE asset_key = 'daily/events' GROUP BY partition_key`;
    expect(materialized).toHaveLength(DAYS);
    expect(materialized.every((m) => m.n === 1)).toBe(true);
    const grid = unwrap(await client.call('assetsPartitions', { query: { key: 'daily/events' } }));
    expect(grid.counts).toMatchObject({ total: DAYS, MATERIALIZED: DAYS, MISSING: 0, FAILED: 0, MATERIALIZING: 0 });
  }, 600_000);
});
