import { randomUUID } from 'node:crypto';
import { OutpostClient, unwrap } from '@outpost/sdk/client';
import type postgres from 'postgres';
import { type BenchApi, startBenchApi } from './support/api.js';
import { pause, type Row, row, waitFor } from './support/row.js';

/**
 * A lazy backfill over 10,000 daily partitions of a deployment's partitioned schedule, at most 32
 * runs in flight, drained by 4 fast simulated workers over HTTP (worker key; claim up to 16 with a
 * long-poll, then RUNNING and COMPLETED for the batch in one call each). Measured: runs created
 * and completed per second from the backfill's creation to its last run completed (the backfill
 * loop creates each run after an earlier one finishes, woken by the finished run's NOTIFY), and,
 * sampled every few milliseconds from the database, the peak of the backfill's runs in flight and
 * of its partition rows not finished.
 *
 * Baseline, measured right after on the same API: the same 10,000 runs created through the plain
 * run-create route (`POST /deployments/:id/runs`, 16 concurrent creators) while the same workers
 * drain them — the fastest a client can push the same work through without a backfill, and what
 * it costs in rows in flight.
 */
export const timeoutSeconds = 600;

export const notes = `### backfill: what bounds it
The backfill creates each run through the same run-creation service as the plain route, inside a transaction that
also locks the backfill row, counts its runs in flight, writes the partition row and moves the cursor; a finished
run wakes the loop through a NOTIFY from a trigger on \`flow_runs\`. With 32 in flight, the workers wait for the
loop as often as the loop waits for them; the plain route has no such bound, so its runs pile up in flight.`;

const PARTITIONS = Number(process.env.BENCH_BACKFILL_PARTITIONS ?? 10_000);
const MAX_CONCURRENT = 32;
const WORKERS = 4;
const CLAIM_LIMIT = 16;
const CREATORS = 16;

interface Peaks {
  runs: number;
  rows: number;
}

/**
 * Samples every 20 ms, until stopped, the pool's runs not finished and the backfill partition rows
 * not finished, each through its partial index, so watching costs the API little.
 */
function watchPeaks(sql: postgres.Sql, poolId: string): { stop(): Promise<Peaks> } {
  const peaks: Peaks = { runs: 0, rows: 0 };
  let running = true;
  const done = (async () => {
    while (running) {
      const [s] = await sql<{ runs: number; rows: number }[]>`
        SELECT (SELECT count(*)::int FROM flow_runs WHERE work_pool_id = ${poolId} AND state_type = 'SCHEDULED')
             + (SELECT count(*)::int FROM flow_runs WHERE work_pool_id = ${poolId}
                  AND state_type IN ('PENDING', 'RUNNING', 'CANCELLING')) AS runs,
               (SELECT count(*)::int FROM backfill_partitions p JOIN backfills b ON b.id = p.backfill_id
                WHERE b.status = 'RUNNING' AND p.status IN ('PENDING', 'RUNNING')) AS rows`;
      peaks.runs = Math.max(peaks.runs, s?.runs ?? 0);
      peaks.rows = Math.max(peaks.rows, s?.rows ?? 0);
      await pause(20);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await done;
      return peaks;
    },
  };
}

/** Simulated workers taking every claimable run of the pool to COMPLETED until `total` have been. */
async function drain(api: BenchApi, pool: string, total: number): Promise<void> {
  let completed = 0;
  const deadline = Date.now() + 240_000;
  await Promise.all(
    Array.from({ length: WORKERS }, async () => {
      const client = new OutpostClient({ baseUrl: api.server.url, token: api.workerKey });
      const workerId = randomUUID();
      const params = { pool };
      try {
        while (completed < total) {
          if (Date.now() > deadline) throw new Error(`only ${completed} of ${total} runs completed in time`);
          const { runs } = unwrap(await client.call('claim', { params, body: { workerId, limit: CLAIM_LIMIT, waitMs: 500 } }));
          if (runs.length === 0) continue;
          const held = runs.map((r) => ({ flowRunId: r.flowRun.id, attempt: r.flowRun.attempt }));
          for (const type of ['RUNNING', 'COMPLETED'] as const) {
            const { items } = unwrap(
              await client.call('poolRunsSetStates', {
                params,
                body: { items: held.map((r) => ({ ...r, transitionId: randomUUID(), state: { type } })) },
              }),
            );
            if (items.some((item) => item.answer?.status !== 'ACCEPT')) throw new Error(`${type} was refused`);
          }
          completed += runs.length;
        }
      } finally {
        await client.close();
      }
    }),
  );
}

async function deployment(api: BenchApi, extra: Record<string, unknown>): Promise<string> {
  const { deployment } = unwrap(
    await api.owner.call('deploymentsUpsert', {
      body: {
        flowName: `bench-${randomUUID().slice(0, 8)}`,
        name: 'default',
        source: `dir:///${randomUUID()}`,
        entrypoint: 'flow.mjs',
        workPool: 'default',
        ...extra,
      },
    }),
  );
  return deployment.id;
}

export async function run(): Promise<Row[]> {
  const api = await startBenchApi({ loops: true });
  try {
    // 10,000 days from 1990-01-01: the daily partitions of a schedule, all closed long ago. The schedule is
    // paused, so only the backfill creates runs of the deployment.
    const first = '1990-01-01';
    const last = new Date(Date.parse(`${first}T00:00:00Z`) + (PARTITIONS - 1) * 86_400_000).toISOString().slice(0, 10);
    const lazy = await deployment(api, {
      schedules: [
        { slug: 'daily', active: false, partitions: { kind: 'time', cadence: 'daily', start: first, timezone: 'UTC' } },
      ],
    });
    const [pool] = await api.server.sql<{ id: string }[]>`
      SELECT id FROM work_pools WHERE workspace_id = ${api.server.workspaceId} AND name = 'default'`;
    if (!pool) throw new Error('the default pool is missing');
    const lazyPeaks = watchPeaks(api.server.sql, pool.id);
    const started = performance.now();
    const backfill = unwrap(
      await api.owner.call('backfillsCreate', {
        params: { id: lazy },
        body: { partitions: { range: { start: first, end: last } }, maxConcurrent: MAX_CONCURRENT },
      }),
    );
    await drain(api, 'default', PARTITIONS);
    await waitFor('the backfill to complete', async () => {
      const b = unwrap(await api.owner.call('backfillsGet', { params: { id: backfill.id } }));
      return b.status === 'COMPLETED' ? b : undefined;
    });
    const lazySeconds = (performance.now() - started) / 1000;
    if (process.env.BENCH_VERBOSE) console.error(`backfill: ${lazySeconds.toFixed(1)} s`);
    const lazyPeak = await lazyPeaks.stop();
    if (lazyPeak.runs > MAX_CONCURRENT || lazyPeak.rows > MAX_CONCURRENT)
      throw new Error(`the backfill had ${lazyPeak.runs} runs and ${lazyPeak.rows} partition rows in flight`);

    const plain = await deployment(api, {});
    const plainPeaks = watchPeaks(api.server.sql, pool.id);
    const plainStarted = performance.now();
    let made = 0;
    const creators = Array.from({ length: CREATORS }, async () => {
      while (made < PARTITIONS) {
        made++;
        unwrap(await api.owner.call('deploymentsCreateRun', { params: { id: plain }, body: {} }));
      }
    });
    await Promise.all([...creators, drain(api, 'default', PARTITIONS)]);
    const plainSeconds = (performance.now() - plainStarted) / 1000;
    if (process.env.BENCH_VERBOSE) console.error(`plain: ${plainSeconds.toFixed(1)} s`);
    const plainPeak = await plainPeaks.stop();

    const name = `backfill of ${PARTITIONS.toLocaleString('en')} partitions, ${MAX_CONCURRENT} in flight`;
    return [
      row(
        `${name}: runs created and completed`,
        PARTITIONS / lazySeconds,
        'runs/s',
        PARTITIONS / plainSeconds,
        `the same ${PARTITIONS.toLocaleString('en')} runs created through POST /deployments/:id/runs (${CREATORS} creators) and drained by the same ${WORKERS} workers`,
      ),
      row(
        `${name}: peak runs in flight`,
        lazyPeak.runs,
        'runs',
        plainPeak.runs,
        'the peak of the plain-route runs not finished while the same workers drained them',
      ),
      row(
        `${name}: peak partition rows not finished`,
        lazyPeak.rows,
        'rows',
        MAX_CONCURRENT,
        'maxConcurrent: the bound the backfill keeps (v1 wrote every run up front, and refused more than 1,000)',
      ),
    ];
  } finally {
    await api.close();
  }
}
