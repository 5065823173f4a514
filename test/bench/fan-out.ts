import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '@outpost/api/testing';
import { OutpostClient, unwrap } from '@outpost/sdk/client';
import { isTerminal } from '@outpost/sdk/contracts';
import postgres from 'postgres';
import type { Spawned } from '../support/processes.js';
import { BackendCpu, rawBaseline } from './support/backend-cpu.js';
import { startBenchWorker } from './support/bench-worker.js';
import { cliInProject, writeFlowProject } from './support/flow-project.js';
import { cpuSecondsOf, procStatFields } from './support/proc.js';
import { pause, type Row, row, waitFor } from './support/row.js';
import { monthlyPartitions } from './support/seed.js';

/**
 * Fan-out through the whole system: one flow run on a real worker process maps a trivial task over
 * 10,000 and 100,000 items (concurrency 64), end to end from the run's creation to COMPLETED with
 * every task run stored COMPLETED. Baseline: the same task-run rows written straight into Postgres
 * by this process, as 500-row `INSERT … SELECT FROM jsonb_to_recordset` statements and as many
 * `UPDATE`s (the least a recorder of creation and completion can do). Also: 40 sequential tasks in
 * one run, and the job queues BullMQ (on the machine's Redis) and graphile-worker (on the same
 * Postgres) running 10,000 no-op jobs, as peers doing the same fan-out without task-run history.
 * CPU and resident memory of the API (this process) and of the worker and flow processes are sampled,
 * and the CPU time of the Postgres backends serving the API (and the baseline's connection).
 *
 * `task_runs` has the partitions a year leaves (BENCH_TASK_RUN_MONTHS months before the current one,
 * default 12; 0 for a new database's two), so every lookup of a task run by id meets a year of
 * months and must be bounded to its run's.
 */
export const timeoutSeconds = 900;

const CONCURRENCY = 64;
const MONTHS = Number(process.env.BENCH_TASK_RUN_MONTHS ?? 12);
const RAW_BATCH = 500;

export const notes = `### External reference: 40 sequential tasks elsewhere (not measured here)

Windmill's public benchmark (https://www.windmill.dev/docs/misc/benchmarks/competitors) ran one flow
of 40 lightweight tasks, each started after the previous finished, on an AWS m4.large (2 vCPU):
**Hatchet 1.22 s, Temporal 2.97 s, Prefect 4.87 s** end to end. The row "40 sequential tasks in one
run" is the same shape here (run creation to COMPLETED through the API and a real worker), on the
machine above; the external figures are quoted for orientation, not reproduced.`;

const CONFIG = `import { defineConfig } from '@outpost/sdk';
export default defineConfig({
  project: 'bench-fanout',
  registry: process.env.OUTPOST_REGISTRY ?? 'oci-layout:./registry',
  deployments: [
    { flow: 'fanout', name: 'default', entrypoint: 'flows/fanout.ts', pool: 'default' },
    { flow: 'chain', name: 'default', entrypoint: 'flows/fanout.ts', pool: 'default' },
  ],
});
`;
const FLOW = `import { flow, task, z } from '@outpost/sdk';
const double = task('double', async (i: number) => i * 2);
const fibo = (n: number): number => (n <= 1 ? n : fibo(n - 1) + fibo(n - 2));
const step = task('fibo', async (n: number) => fibo(n));
export const fanout = flow(
  { name: 'fanout', params: z.object({ n: z.number().int(), concurrency: z.number().int() }) },
  async ({ n, concurrency }) => (await double.map(Array.from({ length: n }, (_, i) => i), { concurrency })).length,
);
export const chain = flow({ name: 'chain' }, async () => {
  let total = 0;
  for (let i = 0; i < 40; i++) total += await step(10);
  return total;
});
`;

interface Usage {
  cpuSeconds: number;
  maxRssMb: number;
  /** RSS when a tenth of the items were done, to show growth (or its absence) as the map goes on. */
  earlyRssMb: number;
}

/** CPU seconds (user + system) and resident memory of a process, from /proc. */
function procUsage(pid: number): { cpu: number; rssMb: number } | null {
  const fields = procStatFields(pid);
  if (!fields) return null;
  const rssPages = Number(fields[21]);
  return { cpu: cpuSecondsOf(fields), rssMb: (rssPages * 4096) / 1024 / 1024 };
}

/** The flow process the worker started: a child of the worker's process. */
async function childOf(pid: number): Promise<number | null> {
  for (const entry of await readdir('/proc')) {
    if (/^\d+$/.test(entry) && Number(procStatFields(entry)?.[1]) === pid) return Number(entry);
  }
  return null;
}

interface Outpost {
  server: TestServer;
  client: OutpostClient;
  worker: Spawned;
  deployment(flow: string): Promise<string>;
}

/** One run end to end: created, claimed, run, COMPLETED. Returns seconds and the process usage sampled meanwhile. */
async function timedRun(o: Outpost, flow: string, parameters: Record<string, number>, items: number) {
  const deploymentId = await o.deployment(flow);
  const sql = o.server.sql;
  const apiBefore = process.cpuUsage();
  const workerPid = o.worker.child.pid ?? 0;
  const workerBefore = procUsage(workerPid)?.cpu ?? 0;
  const backends = new BackendCpu(o.server.databaseUrl, 'outpost-api');
  const backendsBefore = await backends.read();
  const started = performance.now();
  const { flowRun } = unwrap(await o.client.call('deploymentsCreateRun', { params: { id: deploymentId }, body: { parameters } }));
  let flowPid: number | null = null;
  let flowCpu = 0;
  const rss = { api: 0, worker: 0, flow: 0, apiEarly: 0, workerEarly: 0, flowEarly: 0 };
  const final = await waitFor(
    `run ${flowRun.id} to finish`,
    async () => {
      flowPid ??= await childOf(workerPid);
      const api = process.memoryUsage.rss() / 1024 / 1024;
      const worker = procUsage(workerPid);
      const flowProc = flowPid ? procUsage(flowPid) : null;
      if (flowProc) flowCpu = flowProc.cpu;
      rss.api = Math.max(rss.api, api);
      rss.worker = Math.max(rss.worker, worker?.rssMb ?? 0);
      rss.flow = Math.max(rss.flow, flowProc?.rssMb ?? 0);
      if (rss.flowEarly === 0 && items > 0) {
        const [done] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM task_runs WHERE flow_run_id = ${flowRun.id}`;
        if ((done?.n ?? 0) >= items / 10) {
          rss.apiEarly = api;
          rss.workerEarly = worker?.rssMb ?? 0;
          rss.flowEarly = flowProc?.rssMb ?? 0;
        }
      }
      const run = unwrap(await o.client.call('flowRunsGet', { params: { id: flowRun.id } }));
      return isTerminal(run.state.type) ? run : undefined;
    },
    600_000,
    200,
  );
  const seconds = (performance.now() - started) / 1000;
  if (final.state.type !== 'COMPLETED') throw new Error(`run ended ${final.state.type}: ${final.state.message ?? ''}`);
  // Every task run is stored, each COMPLETED (the run's end waits for its task runs to be recorded).
  const [count] = await sql<{ n: number; done: number }[]>`
    SELECT count(*)::int AS n, count(*) FILTER (WHERE state_type = 'COMPLETED')::int AS done FROM task_runs WHERE flow_run_id = ${flowRun.id}`;
  if (count?.n !== items || count.done !== items)
    throw new Error(`expected ${items} completed task runs, found ${JSON.stringify(count)}`);
  const api = process.cpuUsage(apiBefore);
  const backendsAfter = await backends.read();
  await backends.close();
  const usage = (cpuSeconds: number, maxRssMb: number, earlyRssMb: number): Usage => ({ cpuSeconds, maxRssMb, earlyRssMb });
  return {
    seconds,
    api: usage((api.user + api.system) / 1e6, rss.api, rss.apiEarly),
    worker: usage((procUsage(workerPid)?.cpu ?? 0) - workerBefore, rss.worker, rss.workerEarly),
    flow: usage(flowCpu, rss.flow, rss.flowEarly),
    backendCpuMs: backendsBefore === null || backendsAfter === null ? null : backendsAfter - backendsBefore,
  };
}

/** The same rows written straight into Postgres: creations, then completions, 500 a statement; rows/s and the backend's CPU. */
async function rawRows(server: TestServer, items: number): Promise<{ perSecond: number; backendCpuMs: number | null }> {
  const baseline = rawBaseline(server.databaseUrl, 1);
  const { sql, cpu: backends } = baseline;
  try {
    const [run] = await sql<{ id: string; workspace_id: string }[]>`SELECT id, workspace_id FROM flow_runs LIMIT 1`;
    if (!run) throw new Error('no flow run to hang task runs on');
    const backendsBefore = await backends.read();
    const started = performance.now();
    for (let from = 0; from < items; from += RAW_BATCH) {
      const rows = Array.from({ length: Math.min(RAW_BATCH, items - from) }, (_, i) => ({
        id: crypto.randomUUID(),
        key: `double-0[${from + i}]`,
        dynamic: String(from + i),
      }));
      await sql`
        INSERT INTO task_runs (id, workspace_id, flow_run_id, flow_run_attempt, name, task_key, dynamic_key, state_type, state_name, start_time)
        SELECT r.id, ${run.workspace_id}::uuid, ${run.id}::uuid, 1, 'double', r.key, r.dynamic, 'RUNNING', 'Running', now()
        FROM jsonb_to_recordset(${sql.json(rows)}::jsonb) AS r(id uuid, key text, dynamic text)`;
      await sql`
        UPDATE task_runs t SET state_type = 'COMPLETED', state_name = 'Completed', end_time = now(), state_seq = 1
        FROM jsonb_to_recordset(${sql.json(rows.map((r) => ({ id: r.id })))}::jsonb) AS r(id uuid) WHERE t.id = r.id`;
    }
    const perSecond = items / ((performance.now() - started) / 1000);
    const backendsAfter = await backends.read();
    return { perSecond, backendCpuMs: backendsBefore === null || backendsAfter === null ? null : backendsAfter - backendsBefore };
  } finally {
    await baseline.close();
  }
}

/** BullMQ on the machine's Redis: 10,000 no-op jobs added in bulk and run by one worker of concurrency 64. */
async function bullmq(items: number): Promise<number | null> {
  const { Queue, Worker } = await import('bullmq');
  const connection = { host: '127.0.0.1', port: 6379, maxRetriesPerRequest: null };
  const name = `outpost-bench-${Date.now()}`;
  const queue = new Queue(name, { connection });
  try {
    await queue.waitUntilReady();
  } catch {
    await queue.close();
    return null;
  }
  let done = 0;
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const started = performance.now();
  const worker = new Worker(name, async (job) => (job.data as { i: number }).i * 2, { connection, concurrency: CONCURRENCY });
  worker.on('completed', () => {
    if (++done === items) finish();
  });
  for (let from = 0; from < items; from += 1000) {
    await queue.addBulk(
      Array.from({ length: Math.min(1000, items - from) }, (_, i) => ({ name: 'double', data: { i: from + i } })),
    );
  }
  await finished;
  const seconds = (performance.now() - started) / 1000;
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  return items / seconds;
}

/** graphile-worker on the same Postgres: 10,000 no-op jobs added in one call and run with concurrency 64. */
async function graphileWorker(databaseUrl: string, items: number): Promise<number> {
  const { run, makeWorkerUtils } = await import('graphile-worker');
  const url = new URL(databaseUrl);
  const schema = `graphile_bench_${Date.now()}`;
  const utils = await makeWorkerUtils({ connectionString: url.toString(), schema });
  let done = 0;
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  try {
    await utils.migrate();
    const started = performance.now();
    const runner = await run({
      connectionString: url.toString(),
      schema,
      concurrency: CONCURRENCY,
      noHandleSignals: true,
      pollInterval: 100,
      logger: new (await import('graphile-worker')).Logger(() => () => {}),
      taskList: {
        double: async () => {
          if (++done === items) finish();
        },
      },
    });
    await utils.addJobs(Array.from({ length: items }, (_, i) => ({ identifier: 'double', payload: { i } })));
    await finished;
    const seconds = (performance.now() - started) / 1000;
    await runner.stop();
    return items / seconds;
  } finally {
    const admin = postgres(url.toString(), { max: 1, onnotice: () => {} });
    await admin.unsafe(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {});
    await admin.end({ timeout: 5 });
    await utils.release();
  }
}

export async function run(): Promise<Row[]> {
  const server = await startTestServer({ validateResponses: false });
  if (MONTHS > 0) {
    const now = new Date();
    await monthlyPartitions(server.sql, 'task_runs', new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - MONTHS, 1)));
  }
  const scratch = await mkdtemp(join(tmpdir(), 'outpost-bench-fanout-'));
  const client = new OutpostClient({ baseUrl: server.url, token: server.ownerKey });
  let worker: Spawned | null = null;
  try {
    const { project, env } = await writeFlowProject(server, scratch, CONFIG, { 'fanout.ts': FLOW });
    await cliInProject(['deploy'], env, project);
    worker = startBenchWorker(server, await server.createKey('worker', ['default']), scratch);
    await waitFor('the worker to come online', async () => {
      const { items } = unwrap(await client.call('workersList', { params: { pool: 'default' } }));
      return items.some((w) => w.status === 'ONLINE') ? true : undefined;
    });
    const o: Outpost = {
      server,
      client,
      worker,
      deployment: async (flow) => unwrap(await client.call('deploymentsGetByName', { params: { flow, name: 'default' } })).id,
    };
    // Not counted: the first run pulls the bundle into the worker's cache.
    await timedRun(o, 'fanout', { n: 10, concurrency: CONCURRENCY }, 10);

    const rows: Row[] = [];
    const rawNote = `the same task-run rows written by this process straight into Postgres: ${RAW_BATCH}-row INSERT … SELECT FROM jsonb_to_recordset, then as many UPDATEs`;
    for (const items of [10_000, 100_000]) {
      const r = await timedRun(o, 'fanout', { n: items, concurrency: CONCURRENCY }, items);
      const raw = await rawRows(server, items);
      const label = `${items.toLocaleString('en')}-item map`;
      rows.push(row(`${label}, run creation to COMPLETED (task runs/s)`, items / r.seconds, 'runs/s', raw.perSecond, rawNote));
      rows.push(row(`${label}: seconds end to end`, r.seconds, 's', null));
      rows.push(row(`${label}: API CPU (this process)`, r.api.cpuSeconds, 's', null));
      rows.push(row(`${label}: worker CPU`, r.worker.cpuSeconds, 's', null));
      rows.push(row(`${label}: flow process CPU`, r.flow.cpuSeconds, 's', null));
      if (r.backendCpuMs !== null && raw.backendCpuMs !== null) {
        rows.push(
          row(
            `${label}: Postgres backend CPU`,
            (r.backendCpuMs / items) * 1000,
            'ms/1,000 task runs',
            (raw.backendCpuMs / items) * 1000,
            `${rawNote} (CPU of the backend serving it; the API's backends also served the run, its worker and this benchmark's polling)`,
          ),
        );
      }
      const rssNote = 'baseline: the same process at a tenth of the items (flat memory: ratio near 1)';
      rows.push(row(`${label}: worker peak RSS`, r.worker.maxRssMb, 'MB', r.worker.earlyRssMb || null, rssNote));
      rows.push(row(`${label}: flow process peak RSS`, r.flow.maxRssMb, 'MB', r.flow.earlyRssMb || null, rssNote));
      rows.push(row(`${label}: API peak RSS (this process)`, r.api.maxRssMb, 'MB', r.api.earlyRssMb || null, rssNote));
    }

    const chain = await timedRun(o, 'chain', {}, 40);
    rows.push(row('40 sequential tasks in one run, creation to COMPLETED', chain.seconds, 's', null));

    const peers = 10_000;
    const ours = rows[0]?.value ?? 0;
    const bull = await bullmq(peers);
    if (bull !== null) {
      rows.push(
        row(
          `BullMQ (Redis): ${peers.toLocaleString('en')} no-op jobs, concurrency ${CONCURRENCY}`,
          bull,
          'jobs/s',
          ours,
          'baseline: the 10,000-item map above (task runs/s)',
        ),
      );
    }
    const graphile = await graphileWorker(server.databaseUrl, peers);
    rows.push(
      row(
        `graphile-worker (Postgres): ${peers.toLocaleString('en')} no-op jobs, concurrency ${CONCURRENCY}`,
        graphile,
        'jobs/s',
        ours,
        'baseline: the 10,000-item map above (task runs/s)',
      ),
    );
    return rows;
  } catch (error) {
    throw new Error(`${(error as Error).message}\nworker output:\n${worker?.output().slice(-3000) ?? ''}`, { cause: error });
  } finally {
    await worker?.stop('SIGTERM');
    await client.close();
    await server.close();
    await pause(0);
    await rm(scratch, { recursive: true, force: true });
  }
}
