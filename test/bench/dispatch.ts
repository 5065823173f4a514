import postgres from 'postgres';
import { longPollingClaimer, Rendezvous, startBenchApi } from './support/api.js';
import { pause, percentile, type Row, row } from './support/row.js';

/**
 * Dispatch latency: from the moment a run is created to the moment a waiting worker's claim
 * returns it. The worker long-polls `POST /work-pools/default/claim` (the API wakes it with
 * LISTEN/NOTIFY); the baseline is the same pattern with nothing in between: a raw
 * `INSERT … pg_notify` and a claimer that LISTENs and runs one `UPDATE … FOR UPDATE SKIP LOCKED`.
 * Both measure on the client clock, in this process, from before the create call.
 */
export const timeoutSeconds = 180;

/** Filled by run(): the trace of one dispatch (test/bench/README.md, "notes"). */
export let notes: string | null = null;

const SAMPLES = 200;
const WARMUP = 10;
const BUDGET_MS = 60_000;
/** Between samples, so the claimer is parked in its long-poll again (the case being measured). */
const GAP_MS = 25;
/** Dispatches traced statement by statement after the measured ones. */
const TRACED = 21;

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

interface Traced {
  /** Client clock, from before the create call. */
  createReturned: number;
  claimReturned: number;
  /** Statements the API sent, in order: when (same clock), on which connection, what. */
  statements: { at: number; connection: number; text: string }[];
}

/** A statement's first words, enough to tell which query it is. */
function headline(text: string): string {
  const flat = text
    .replace(/--[^\n]*/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return flat.length > 90 ? `${flat.slice(0, 90)}…` : flat;
}

/** Samples and, for TRACED of them after the rest, every statement the API sent (postgres.js `debug`). */
async function throughApi(): Promise<{ latencies: number[]; traces: Traced[] }> {
  const api = await startBenchApi();
  const claimer = longPollingClaimer(api.server.url, api.workerKey);
  const { claimed } = claimer;
  try {
    const latencies = await measure(api.createRun, claimed);
    // The same dispatch again, with postgres.js reporting each statement as it is sent.
    let sent: Traced['statements'] = [];
    api.server.sql.options.debug = (connection: number, text: string) =>
      void sent.push({ at: performance.now(), connection, text: headline(text) });
    const traces: Traced[] = [];
    for (let i = 0; i < TRACED; i++) {
      await pause(GAP_MS + Math.random() * 10);
      sent = [];
      const started = performance.now();
      const id = await api.createRun();
      const createReturned = performance.now() - started;
      const at = await claimed.wait(id, 10_000);
      await pause(5);
      traces.push({
        createReturned,
        claimReturned: at - started,
        statements: sent.map((st) => ({ ...st, at: st.at - started })).filter((st) => st.at <= at - started),
      });
    }
    api.server.sql.options.debug = false as never;
    return { latencies, traces };
  } finally {
    await claimer.stop();
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

/** The median traced dispatch as a markdown table: what the API sent to Postgres, and when. */
function traceNotes(traces: Traced[]): string {
  const sorted = [...traces].sort((a, b) => a.claimReturned - b.claimReturned);
  const median = sorted[Math.floor(sorted.length / 2)];
  if (!median) return '';
  const connections = new Map<number, string>();
  const name = (c: number) => {
    if (!connections.has(c)) connections.set(c, String.fromCharCode(65 + connections.size));
    return connections.get(c);
  };
  const lines = [
    '### dispatch: a trace of one dispatch',
    `The median of ${traces.length} dispatches traced after the measured ones (postgres.js reports each statement`,
    'as the API sends it; times on the client clock from before the create call). A statement ends',
    "roughly when the next one on its connection is sent; a commit's time is the gap after it.",
    `The create call returned at ${median.createReturned.toFixed(1)} ms; the claim at ${median.claimReturned.toFixed(1)} ms.`,
    '',
    '| ms | connection | statement |',
    '|---:|---|---|',
    ...median.statements.map((st) => `| ${st.at.toFixed(1)} | ${name(st.connection)} | \`${st.text.replace(/\|/g, '\\|')}\` |`),
    `| ${median.createReturned.toFixed(1)} | client | create call returned |`,
    `| ${median.claimReturned.toFixed(1)} | client | claim returned the run |`,
  ];
  return lines.join('\n');
}

export async function run(): Promise<Row[]> {
  const { latencies: api, traces } = await throughApi();
  notes = traceNotes(traces);
  const url = process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL;
  if (!url) throw new Error('TEST_DATABASE_URL is not set');
  const raw = await rawBaseline(url);
  const note = `raw INSERT + pg_notify and a LISTENing claimer running one UPDATE … SKIP LOCKED, same database (${raw.length} samples; API ${api.length})`;
  return [
    row('dispatch latency p50 (create → claim returns)', percentile(api, 50), 'ms', percentile(raw, 50), note),
    row('dispatch latency p99 (create → claim returns)', percentile(api, 99), 'ms', percentile(raw, 99), note),
    row(
      'dispatch: the create call alone (p50 of the traced)',
      percentile(
        traces.map((t) => t.createReturned),
        50,
      ),
      'ms',
      percentile(raw, 50),
      note,
    ),
  ];
}
