import { randomUUID } from 'node:crypto';
import { OutpostClient, unwrap } from '@outpost/sdk/client';
import postgres from 'postgres';
import { Agent, request } from 'undici';
import { type BenchApi, startBenchApi } from './support/api.js';
import { BackendCpu, rawBaseline, withBackendCpu } from './support/backend-cpu.js';
import { cloneRun } from './support/bulk-runs.js';
import {
  createRawTables,
  dropRawTables,
  insertRawRuns,
  logBatch,
  rawClaim,
  rawClaimMany,
  rawInsertLogs,
  rawInsertManyLogs,
  rawSetState,
  rawSetStates,
} from './support/raw-lifecycle.js';
import { type Row, row } from './support/row.js';
import { startThinServer } from './support/thin-http.js';

/**
 * Full-lifecycle throughput of no-op runs: each simulated worker loops claim (one run, no batching)
 * → RUNNING → one batch of log lines → COMPLETED, until the runs are gone. Through the API the
 * workers use the SDK client, a worker key to claim and the run token for the rest, as the real
 * worker does. Baselines: the same four steps as raw SQL, and through a bare node:http server
 * running that SQL.
 *
 * Batched, each worker claims up to 100 runs at once and takes them through the same steps with
 * one call per step for all of them (the worker key's batch routes: /work-pools/:pool/runs/set-states
 * and /runs/logs), against the same steps batched in raw SQL and in the bare server.
 *
 * Through the API and in raw SQL, the CPU time of the Postgres backends that served the workers'
 * loops (the API's pool, or the raw statements' connections) is also reported per run completed;
 * and for the unbatched pass, that of creating the runs through the API (`POST …/runs`).
 */
export const timeoutSeconds = 300;

const WORKER_COUNTS = [1, 4, 16] as const;
type Workers = (typeof WORKER_COUNTS)[number];
const RUNS: Record<Workers, number> = { 1: 150, 4: 300, 16: 600 };
/** Batched: runs per claim, and enough runs that every worker claims full batches for a while. */
const BATCH = 100;
const BATCHED_RUNS: Record<Workers, number> = { 1: 4_000, 4: 8_000, 16: 16_000 };
const LOG_LINES = 10;
/** Per configuration: workers stop claiming after this, and the rate counts what finished. */
const BUDGET_MS = 30_000;

/** One pass of a worker's loop: how many runs it took to COMPLETED (0 when none was left). */
type Step = (workerId: string) => Promise<number>;

/** Runs `workers` loops of `step` until each finds no run or the budget is spent; runs per second. */
async function drive(workers: number, step: Step): Promise<{ perSecond: number; completed: number }> {
  let completed = 0;
  const started = performance.now();
  const deadline = Date.now() + BUDGET_MS;
  await Promise.all(
    Array.from({ length: workers }, async () => {
      const workerId = randomUUID();
      while (Date.now() < deadline) {
        const done = await step(workerId);
        if (done === 0) break;
        completed += done;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { perSecond: completed / seconds, completed };
}

interface Rate {
  perSecond: number;
  /** CPU of the Postgres backends per run completed; null when not visible from here. */
  cpuMsPerRun: number | null;
}
type Rates = Map<Workers, Rate>;

/** The backends' CPU of `phase` per run it completed. */
async function measured(cpu: BackendCpu, phase: () => Promise<{ perSecond: number; completed: number }>): Promise<Rate> {
  const { result, cpuMs } = await withBackendCpu(cpu, phase);
  return { perSecond: result.perSecond, cpuMsPerRun: cpuMs === null ? null : cpuMs / result.completed };
}

/** CPU of the Postgres backends per run the API created (unbatched pass), when measured. */
let creationCpuMs: { cpuMs: number; runs: number } | null = null;

/**
 * Runs the workers' loops through the API for each worker count: `fill` creates that pass's runs,
 * and `step` is one pass of a worker's loop with its own client (a worker key, as real workers use).
 */
async function overApi(
  fill: (api: BenchApi, workers: Workers) => Promise<void>,
  step: (client: OutpostClient, workerId: string) => Promise<number>,
): Promise<Rates> {
  const api = await startBenchApi();
  const cpu = new BackendCpu(api.server.databaseUrl, 'outpost-api');
  const rates: Rates = new Map();
  try {
    for (const workers of WORKER_COUNTS) {
      await fill(api, workers);
      const clients = new Map<string, OutpostClient>();
      const clientOf = (workerId: string) => {
        let client = clients.get(workerId);
        if (!client) {
          client = new OutpostClient({ baseUrl: api.server.url, token: api.workerKey });
          clients.set(workerId, client);
        }
        return client;
      };
      try {
        rates.set(workers, await measured(cpu, () => drive(workers, (workerId) => step(clientOf(workerId), workerId))));
      } finally {
        for (const client of clients.values()) await client.close();
      }
    }
  } finally {
    await cpu.close();
    await api.close();
  }
  return rates;
}

/** The lifecycle as the real worker runs it: claim one run, then the run token for the rest. */
function throughApi(): Promise<Rates> {
  const fill = async (api: BenchApi, workers: Workers) => {
    const cpu = new BackendCpu(api.server.databaseUrl, 'outpost-api');
    try {
      const { cpuMs } = await withBackendCpu(cpu, async () => {
        for (let i = 0; i < RUNS[workers]; i += 20) {
          await Promise.all(Array.from({ length: Math.min(20, RUNS[workers] - i) }, () => api.createRun()));
        }
      });
      if (cpuMs !== null) {
        creationCpuMs = { cpuMs: (creationCpuMs?.cpuMs ?? 0) + cpuMs, runs: (creationCpuMs?.runs ?? 0) + RUNS[workers] };
      }
    } finally {
      await cpu.close();
    }
  };
  return overApi(fill, async (client, workerId) => {
    const { runs } = unwrap(await client.call('claim', { params: { pool: 'default' }, body: { workerId, limit: 1, waitMs: 0 } }));
    const claimed = runs[0];
    if (!claimed) return 0;
    const runClient = client.withToken(claimed.token);
    const { id, attempt } = claimed.flowRun;
    const propose = async (type: 'RUNNING' | 'COMPLETED') => {
      const answer = unwrap(
        await runClient.call('flowRunsSetState', {
          params: { id },
          body: { transitionId: randomUUID(), attempt, state: { type } },
        }),
      );
      if (answer.status !== 'ACCEPT') throw new Error(`${type} was answered ${answer.status}: ${answer.reason}`);
    };
    await propose('RUNNING');
    unwrap(await runClient.call('logsWrite', { params: { id }, body: { attempt, logs: logBatch(LOG_LINES) } }));
    await propose('COMPLETED');
    return 1;
  });
}

/** The batched lifecycle through the API: claim up to 100, then one batch call per step for all of them. */
function throughApiBatched(): Promise<Rates> {
  let template: string | null = null;
  const fill = async (api: BenchApi, workers: Workers) => {
    template ??= await api.createRun();
    await cloneRun(api.server.sql, template, BATCHED_RUNS[workers]);
  };
  const params = { pool: 'default' };
  return overApi(fill, async (client, workerId) => {
    const { runs } = unwrap(await client.call('claim', { params, body: { workerId, limit: BATCH, waitMs: 0 } }));
    if (runs.length === 0) return 0;
    const held = runs.map((r) => ({ flowRunId: r.flowRun.id, attempt: r.flowRun.attempt }));
    const propose = async (type: 'RUNNING' | 'COMPLETED') => {
      const { items } = unwrap(
        await client.call('poolRunsSetStates', {
          params,
          body: { items: held.map((r) => ({ ...r, transitionId: randomUUID(), state: { type } })) },
        }),
      );
      const refused = items.find((item) => item.answer?.status !== 'ACCEPT');
      if (refused) throw new Error(`${type} was refused: ${JSON.stringify(refused)}`);
    };
    await propose('RUNNING');
    const logs = logBatch(LOG_LINES);
    const written = unwrap(
      await client.call('poolRunsLogsWrite', { params, body: { items: held.map((r) => ({ ...r, logs })) } }),
    );
    if (written.items.some((item) => item.accepted !== LOG_LINES)) throw new Error('log lines were refused');
    await propose('COMPLETED');
    return runs.length;
  });
}

/** The four steps as raw SQL, one run (or with `batch`, up to that many) per statement. */
async function rawSql(url: string, batch: number | null): Promise<Rates> {
  const baseline = rawBaseline(url, 20);
  const { sql, cpu } = baseline;
  const rates: Rates = new Map();
  try {
    await createRawTables(sql);
    for (const workers of WORKER_COUNTS) {
      await insertRawRuns(sql, batch ? BATCHED_RUNS[workers] : RUNS[workers]);
      const single: Step = async (workerId) => {
        const run = await rawClaim(sql, workerId);
        if (!run) return 0;
        if (!(await rawSetState(sql, { runId: run.id, attempt: run.attempt, workerId, state: 'RUNNING' })))
          throw new Error('lost run');
        await rawInsertLogs(sql, run.id, run.attempt, logBatch(LOG_LINES));
        if (!(await rawSetState(sql, { runId: run.id, attempt: run.attempt, workerId, state: 'COMPLETED' })))
          throw new Error('lost run');
        return 1;
      };
      const many =
        (limit: number): Step =>
        async (workerId) => {
          const runs = await rawClaimMany(sql, workerId, limit);
          if (runs.length === 0) return 0;
          if ((await rawSetStates(sql, { runs, workerId, state: 'RUNNING' })) !== runs.length) throw new Error('lost runs');
          await rawInsertManyLogs(sql, runs, logBatch(LOG_LINES));
          if ((await rawSetStates(sql, { runs, workerId, state: 'COMPLETED' })) !== runs.length) throw new Error('lost runs');
          return runs.length;
        };
      rates.set(workers, await measured(cpu, () => drive(workers, batch ? many(batch) : single)));
    }
  } finally {
    await dropRawTables(sql).catch(() => {});
    await baseline.close();
  }
  return rates;
}

/** The four steps through the bare node:http server, one run (or with `batch`, up to that many) per call. */
async function thinHttp(url: string, batch: number | null): Promise<Rates> {
  const sql = postgres(url, { max: 2, onnotice: () => {} });
  const server = await startThinServer(url);
  const rates: Rates = new Map();
  const agents = new Map<string, Agent>();
  const post = async (workerId: string, path: string, body: unknown) => {
    let agent = agents.get(workerId);
    if (!agent) {
      agent = new Agent({ keepAliveTimeout: 10_000, connections: 32 });
      agents.set(workerId, agent);
    }
    const res = await request(`${server.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      dispatcher: agent,
    });
    const json = (await res.body.json()) as Record<string, unknown>;
    if (res.statusCode !== 200) throw new Error(`${path}: HTTP ${res.statusCode} ${JSON.stringify(json)}`);
    return json;
  };
  try {
    await createRawTables(sql);
    for (const workers of WORKER_COUNTS) {
      await insertRawRuns(sql, batch ? BATCHED_RUNS[workers] : RUNS[workers]);
      const single: Step = async (workerId) => {
        const { run } = (await post(workerId, '/claim', { workerId })) as { run: { id: string; attempt: number } | null };
        if (!run) return 0;
        const { id, attempt } = run;
        await post(workerId, `/runs/${id}/state`, { workerId, attempt, state: 'RUNNING' });
        await post(workerId, `/runs/${id}/logs`, { attempt, logs: logBatch(LOG_LINES) });
        await post(workerId, `/runs/${id}/state`, { workerId, attempt, state: 'COMPLETED' });
        return 1;
      };
      const many =
        (limit: number): Step =>
        async (workerId) => {
          const { runs } = (await post(workerId, '/claim-many', { workerId, limit })) as {
            runs: { id: string; attempt: number }[];
          };
          if (runs.length === 0) return 0;
          await post(workerId, '/states', { workerId, runs, state: 'RUNNING' });
          await post(workerId, '/logs-many', { runs, logs: logBatch(LOG_LINES) });
          await post(workerId, '/states', { workerId, runs, state: 'COMPLETED' });
          return runs.length;
        };
      rates.set(workers, { perSecond: (await drive(workers, batch ? many(batch) : single)).perSecond, cpuMsPerRun: null });
    }
  } finally {
    for (const agent of agents.values()) await agent.close();
    await server.close();
    await dropRawTables(sql).catch(() => {});
    await sql.end({ timeout: 5 });
  }
  return rates;
}

const RAW_NOTE =
  'the same claim → RUNNING → log batch → COMPLETED as four SQL statements on bare tables (with state history and holder check), one shared pool of 20';
const THIN_NOTE =
  'node:http + postgres.js serving the same four calls with the raw-SQL statements: no auth, validation, rules or tokens';

function rows(mode: string, api: Rates, raw: Rates, thin: Rates, notes: { raw: string; thin: string }): Row[] {
  const rates = WORKER_COUNTS.flatMap((workers) => {
    const label = `${mode}, ${workers} worker${workers === 1 ? '' : 's'}`;
    const value = api.get(workers)?.perSecond ?? Number.NaN;
    return [
      row(`${label} (vs raw SQL)`, value, 'runs/s', raw.get(workers)?.perSecond ?? null, notes.raw),
      row(`${label} (vs bare HTTP)`, value, 'runs/s', thin.get(workers)?.perSecond ?? null, notes.thin),
    ];
  });
  const cpu = WORKER_COUNTS.flatMap((workers) => {
    const value = api.get(workers)?.cpuMsPerRun ?? null;
    const base = raw.get(workers)?.cpuMsPerRun ?? null;
    if (value === null || base === null) return [];
    const label = `${mode}, ${workers} worker${workers === 1 ? '' : 's'}: Postgres backend CPU`;
    return [row(label, value, 'ms/run', base, `${notes.raw} (CPU of the backends serving each, from /proc)`)];
  });
  return [...rates, ...cpu];
}

export async function run(): Promise<Row[]> {
  const url = process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL;
  if (!url) throw new Error('TEST_DATABASE_URL is not set');
  const single = rows('lifecycle throughput', await throughApi(), await rawSql(url, null), await thinHttp(url, null), {
    raw: RAW_NOTE,
    thin: THIN_NOTE,
  });
  const batched = rows(
    `batched lifecycle throughput (${BATCH} runs a call)`,
    await throughApiBatched(),
    await rawSql(url, BATCH),
    await thinHttp(url, BATCH),
    {
      raw: `the same four steps for up to ${BATCH} runs a statement on the same bare tables`,
      thin: `the bare node:http server serving the same four steps for up to ${BATCH} runs a call`,
    },
  );
  const creation = creationCpuMs
    ? [
        row(
          'run created through the API (POST /deployments/:id/runs): Postgres backend CPU',
          creationCpuMs.cpuMs / creationCpuMs.runs,
          'ms/run',
          null,
        ),
      ]
    : [];
  return [...single, ...batched, ...creation];
}
