import { randomUUID } from 'node:crypto';
import { OutpostClient, unwrap } from '@outpost/sdk/client';
import postgres from 'postgres';
import { Agent, request } from 'undici';
import { startBenchApi } from './support/api.js';
import {
  createRawTables,
  dropRawTables,
  insertRawRuns,
  logBatch,
  rawClaim,
  rawInsertLogs,
  rawSetState,
} from './support/raw-lifecycle.js';
import { type Row, row } from './support/row.js';
import { startThinServer } from './support/thin-http.js';

/**
 * Full-lifecycle throughput of no-op runs: each simulated worker loops claim (one run, no batching)
 * → RUNNING → one batch of log lines → COMPLETED, until the runs are gone. Through the API the
 * workers use the SDK client, a worker key to claim and the run token for the rest, as the real
 * worker does. Baselines: the same four steps as raw SQL, and through a bare node:http server
 * running that SQL.
 */
export const timeoutSeconds = 300;

const WORKER_COUNTS = [1, 4, 16] as const;
const RUNS: Record<(typeof WORKER_COUNTS)[number], number> = { 1: 150, 4: 300, 16: 600 };
const LOG_LINES = 10;
/** Per configuration: workers stop claiming after this, and the rate counts what finished. */
const BUDGET_MS = 30_000;

type Step = (workerId: string) => Promise<boolean>;

/** Runs `workers` loops of `step` until each finds no run or the budget is spent; runs per second. */
async function drive(workers: number, step: Step): Promise<{ perSecond: number; completed: number }> {
  let completed = 0;
  const started = performance.now();
  const deadline = Date.now() + BUDGET_MS;
  await Promise.all(
    Array.from({ length: workers }, async () => {
      const workerId = randomUUID();
      while (Date.now() < deadline && (await step(workerId))) completed++;
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { perSecond: completed / seconds, completed };
}

async function throughApi(): Promise<Map<number, number>> {
  const api = await startBenchApi();
  const rates = new Map<number, number>();
  try {
    for (const workers of WORKER_COUNTS) {
      for (let i = 0; i < RUNS[workers]; i += 20) {
        await Promise.all(Array.from({ length: Math.min(20, RUNS[workers] - i) }, () => api.createRun()));
      }
      const clients = new Map<string, OutpostClient>();
      const step: Step = async (workerId) => {
        let client = clients.get(workerId);
        if (!client) {
          client = new OutpostClient({ baseUrl: api.server.url, token: api.workerKey });
          clients.set(workerId, client);
        }
        const { runs } = unwrap(
          await client.call('claim', { params: { pool: 'default' }, body: { workerId, limit: 1, waitMs: 0 } }),
        );
        const claimed = runs[0];
        if (!claimed) return false;
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
        return true;
      };
      try {
        rates.set(workers, (await drive(workers, step)).perSecond);
      } finally {
        for (const client of clients.values()) await client.close();
      }
    }
  } finally {
    await api.close();
  }
  return rates;
}

async function rawSql(url: string): Promise<Map<number, number>> {
  const sql = postgres(url, { max: 20, onnotice: () => {} });
  const rates = new Map<number, number>();
  try {
    await createRawTables(sql);
    for (const workers of WORKER_COUNTS) {
      await insertRawRuns(sql, RUNS[workers]);
      const step: Step = async (workerId) => {
        const run = await rawClaim(sql, workerId);
        if (!run) return false;
        if (!(await rawSetState(sql, { runId: run.id, attempt: run.attempt, workerId, state: 'RUNNING' })))
          throw new Error('lost run');
        await rawInsertLogs(sql, run.id, run.attempt, logBatch(LOG_LINES));
        if (!(await rawSetState(sql, { runId: run.id, attempt: run.attempt, workerId, state: 'COMPLETED' })))
          throw new Error('lost run');
        return true;
      };
      rates.set(workers, (await drive(workers, step)).perSecond);
    }
  } finally {
    await dropRawTables(sql).catch(() => {});
    await sql.end({ timeout: 5 });
  }
  return rates;
}

async function thinHttp(url: string): Promise<Map<number, number>> {
  const sql = postgres(url, { max: 2, onnotice: () => {} });
  const server = await startThinServer(url);
  const rates = new Map<number, number>();
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
      await insertRawRuns(sql, RUNS[workers]);
      const step: Step = async (workerId) => {
        const { run } = (await post(workerId, '/claim', { workerId })) as { run: { id: string; attempt: number } | null };
        if (!run) return false;
        const { id, attempt } = run;
        await post(workerId, `/runs/${id}/state`, { workerId, attempt, state: 'RUNNING' });
        await post(workerId, `/runs/${id}/logs`, { attempt, logs: logBatch(LOG_LINES) });
        await post(workerId, `/runs/${id}/state`, { workerId, attempt, state: 'COMPLETED' });
        return true;
      };
      rates.set(workers, (await drive(workers, step)).perSecond);
    }
  } finally {
    for (const agent of agents.values()) await agent.close();
    await server.close();
    await dropRawTables(sql).catch(() => {});
    await sql.end({ timeout: 5 });
  }
  return rates;
}

export async function run(): Promise<Row[]> {
  const url = process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL;
  if (!url) throw new Error('TEST_DATABASE_URL is not set');
  const api = await throughApi();
  const raw = await rawSql(url);
  const thin = await thinHttp(url);
  const rows: Row[] = [];
  for (const workers of WORKER_COUNTS) {
    const label = `${workers} worker${workers === 1 ? '' : 's'}`;
    const value = api.get(workers) ?? Number.NaN;
    rows.push(
      row(
        `lifecycle throughput, ${label} (vs raw SQL)`,
        value,
        'runs/s',
        raw.get(workers) ?? null,
        'the same claim → RUNNING → log batch → COMPLETED as four SQL statements on bare tables (with state history and holder check), one shared pool of 20',
      ),
      row(
        `lifecycle throughput, ${label} (vs bare HTTP)`,
        value,
        'runs/s',
        thin.get(workers) ?? null,
        'node:http + postgres.js serving the same four calls with the raw-SQL statements: no auth, validation, rules or tokens',
      ),
    );
  }
  return rows;
}
