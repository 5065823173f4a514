import { randomUUID } from 'node:crypto';
import { OutpostClient } from '@outpost/sdk/client';
import postgres from 'postgres';
import { Rendezvous, startBenchApi } from './support/api.js';
import { pause, percentile, type Row, row } from './support/row.js';

/**
 * Dispatch latency: from the moment a run is created to the moment a waiting worker's claim
 * returns it. The worker long-polls `POST /work-pools/default/claim` (the API wakes it with
 * LISTEN/NOTIFY); the baseline is the same pattern with nothing in between: a raw
 * `INSERT … pg_notify` and a claimer that LISTENs and runs one `UPDATE … FOR UPDATE SKIP LOCKED`.
 * Both measure on the client clock, in this process, from before the create call.
 */
export const timeoutSeconds = 180;

const SAMPLES = 200;
const WARMUP = 10;
const BUDGET_MS = 60_000;
/** Between samples, so the claimer is parked in its long-poll again (the case being measured). */
const GAP_MS = 25;

async function measure(create: () => Promise<string>, claimed: Rendezvous<number>): Promise<number[]> {
  const latencies: number[] = [];
  const deadline = Date.now() + BUDGET_MS;
  for (let i = 0; i < SAMPLES + WARMUP && Date.now() < deadline; i++) {
    await pause(GAP_MS + Math.random() * 10);
    const started = performance.now();
    const id = await create();
    const at = await claimed.wait(id, 10_000);
    if (i >= WARMUP) latencies.push(at - started);
  }
  return latencies;
}

async function throughApi(): Promise<number[]> {
  const api = await startBenchApi();
  const worker = new OutpostClient({ baseUrl: api.server.url, token: api.workerKey });
  const claimed = new Rendezvous<number>();
  const stop = new AbortController();
  const workerId = randomUUID();
  const claimer = (async () => {
    while (!stop.signal.aborted) {
      const result = await worker.call(
        'claim',
        { params: { pool: 'default' }, body: { workerId, limit: 1, waitMs: 10_000 } },
        { signal: stop.signal },
      );
      const at = performance.now();
      if (!result.ok) {
        if (stop.signal.aborted) return;
        throw new Error(`claim failed: ${JSON.stringify(result)}`);
      }
      for (const run of result.data.runs) claimed.arrive(run.flowRun.id, at);
    }
  })();
  try {
    return await measure(api.createRun, claimed);
  } finally {
    stop.abort();
    await claimer;
    await worker.close();
    await api.close();
  }
}

async function rawBaseline(url: string): Promise<number[]> {
  const sql = postgres(url, { max: 2, onnotice: () => {} });
  const listener = postgres(url, { max: 1, onnotice: () => {} });
  const claimed = new Rendezvous<number>();
  let stopped = false;
  let pending = false;
  // An object, so the claimer's closure and this function see the same slot.
  const waiter: { wake: (() => void) | null } = { wake: null };
  try {
    await sql`CREATE TABLE bench_dispatch_jobs (id bigserial PRIMARY KEY, state text NOT NULL DEFAULT 'queued')`;
    await listener.listen('bench_dispatch', () => {
      pending = true;
      waiter.wake?.();
    });
    const claimer = (async () => {
      while (!stopped) {
        const rows = await sql<{ id: string }[]>`
          UPDATE bench_dispatch_jobs SET state = 'claimed'
          WHERE id IN (SELECT id FROM bench_dispatch_jobs WHERE state = 'queued' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
          RETURNING id`;
        const at = performance.now();
        for (const r of rows) claimed.arrive(String(r.id), at);
        if (rows.length > 0 || pending) {
          pending = false;
          continue;
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, 1000);
          function done() {
            clearTimeout(timer);
            waiter.wake = null;
            pending = false;
            resolve();
          }
          waiter.wake = done;
        });
      }
    })();
    try {
      return await measure(async () => {
        const [job] = await sql<{ id: string }[]>`
          WITH job AS (INSERT INTO bench_dispatch_jobs DEFAULT VALUES RETURNING id)
          SELECT id, pg_notify('bench_dispatch', id::text) FROM job`;
        return String(job?.id);
      }, claimed);
    } finally {
      stopped = true;
      waiter.wake?.();
      await claimer;
    }
  } finally {
    await sql`DROP TABLE IF EXISTS bench_dispatch_jobs`.catch(() => {});
    await listener.end({ timeout: 5 });
    await sql.end({ timeout: 5 });
  }
}

export async function run(): Promise<Row[]> {
  const api = await throughApi();
  const url = process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL;
  if (!url) throw new Error('TEST_DATABASE_URL is not set');
  const raw = await rawBaseline(url);
  const note = `raw INSERT + pg_notify and a LISTENing claimer running one UPDATE … SKIP LOCKED, same database (${raw.length} samples; API ${api.length})`;
  return [
    row('dispatch latency p50 (create → claim returns)', percentile(api, 50), 'ms', percentile(raw, 50), note),
    row('dispatch latency p99 (create → claim returns)', percentile(api, 99), 'ms', percentile(raw, 99), note),
  ];
}
