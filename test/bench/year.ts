import { randomUUID } from 'node:crypto';
import { claimDueRuns, createApiKey, type RunningServer, startServer } from '@outpost/api';
import { TEST_RATE_LIMITS } from '@outpost/api/testing';
import { OutpostClient, unwrap } from '@outpost/sdk/client';
import { LOG_SEARCH_SCAN_LINES } from '@outpost/sdk/contracts';
import type { Browser } from 'playwright-core';
import postgres from 'postgres';
import { launchChromium } from '../support/dashboard.js';
import { longPollingClaimer, startBenchApi } from './support/api.js';
import { BackendCpu, withBackendCpu } from './support/backend-cpu.js';
import { firstLoad, sessionCookies } from './support/browser.js';
import { pause, percentile, type Row, row } from './support/row.js';
import { DEFAULT_YEAR_DATABASE, type LargestRuns, SEED_MARK } from './support/seed.js';

/**
 * The API, the claim and the dashboard on a database that has lived a year (`npm run bench -- seed`,
 * in BENCH_YEAR_DATABASE, `outpost_year` by default), each call against the same call on a fresh
 * empty database: p95 (and p50, in the notes) of the runs list with the dashboard's filters, a run
 * page (a typical run and the run with the most task runs), a run's log (first page, a level filter,
 * the whole log of the run with the most lines, which is what the run page's log tail reads, and a
 * search of that log for a text deep in it and for a common one, as the dashboard searches),
 * the events page, the asset catalog and its lineage; claim latency (one due run, one claim) and
 * dispatch latency (run created → a long-polling claim returns it); the main pages' first paint in
 * headless Chromium against their own API calls; and the bytes each run, task run, log line and
 * event takes, with the largest indexes named. For each call, the notes also give the CPU time the
 * Postgres backends spent serving it on the year database (per sample, warm-ups included).
 */
export const timeoutSeconds = 1800;
/** Filled in by run(): the seed's parameters, p50s, the largest indexes. */
export let notes = '';

const SAMPLES = 30;
const WARMUP = 2;
/** For the calls that read a whole large log: a handful, they are slow by construction. */
const DRAIN_SAMPLES = 5;
const CLAIM_SAMPLES = 40;
const DISPATCH_SAMPLES = 60;
const PAGE_SAMPLES = 5;

interface Target {
  url: string;
  ownerKey: string;
  workerKey: string;
  deploymentId: string;
  sql: postgres.Sql;
  workspaceId: string;
  poolId: string;
  createRun(): Promise<string>;
}

interface Call {
  name: string;
  /** Path under /api/v1 on the year database and on the empty one. */
  year: string;
  empty: string;
  samples?: number;
  /**
   * `every-page`: read every page of a log (`nextCursor` until a short page), as the run page's log
   * tail does; `search`: read on while the answer says `more` until a page of matches arrived, as
   * the dashboard's log search does; `identity`: one read that declines gzip; `revalidate`: one
   * read sending the ETag of the last answer (If-None-Match), as a browser revalidates what it holds.
   */
  read?: 'every-page' | 'search' | 'identity' | 'revalidate';
}

/** The last ETag each URL answered, for the `revalidate` reads. */
const etags = new Map<string, string>();

/** The matches the dashboard's log search asks for before it waits to be asked for more (use-log-search.ts). */
const SEARCH_PAGE = 1000;

function adminUrl(): string {
  const url = process.env.TEST_DATABASE_URL || process.env.DATABASE_URL;
  if (!url) throw new Error('year needs TEST_DATABASE_URL or DATABASE_URL (the server `npm run bench -- seed` seeded)');
  return url;
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

interface SeedMark {
  scale: number;
  runs: number;
  taskRuns: number;
  logs: number;
  events: number;
  assets: number;
  materializations: number;
  seededAt: string;
  seconds: number;
  largest?: LargestRuns;
}

async function seededDatabase(admin: string, database: string): Promise<SeedMark> {
  const sql = postgres(admin, { max: 1, onnotice: () => {} });
  try {
    const [found] = await sql<{ comment: string | null }[]>`
      SELECT shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE datname = ${database}`;
    const comment = found?.comment ?? '';
    if (!found || !comment.startsWith(`${SEED_MARK} {`)) {
      throw new Error(
        `no seeded database ${database} on ${new URL(admin).host}: run \`npm run bench -- seed\` first (or set BENCH_YEAR_DATABASE)`,
      );
    }
    return JSON.parse(comment.slice(SEED_MARK.length + 1)) as SeedMark;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

async function get(target: Target, path: string, read?: Call['read']): Promise<number> {
  const started = performance.now();
  let cursor: string | null = null;
  let found = 0;
  for (;;) {
    const full: string = cursor ? `${path}&cursor=${encodeURIComponent(cursor)}` : path;
    const url = `${target.url}/api/v1${full}`;
    const headers: Record<string, string> = { authorization: `Bearer ${target.ownerKey}` };
    if (read === 'identity') headers['accept-encoding'] = 'identity';
    const held = read === 'revalidate' ? etags.get(url) : undefined;
    if (held) headers['if-none-match'] = held;
    const res = await fetch(url, { headers });
    const text = await res.text();
    if (held && res.status === 304) break;
    if (res.status !== 200) throw new Error(`GET ${full} answered ${res.status}: ${text.slice(0, 300)}`);
    if (read === 'revalidate') etags.set(url, res.headers.get('etag') ?? '');
    if (!read || read === 'identity' || read === 'revalidate') break;
    const body = JSON.parse(text) as { items: unknown[]; nextCursor: string; more?: boolean };
    found += body.items.length;
    if (read === 'every-page' ? body.items.length < 5000 : !body.more || found >= SEARCH_PAGE) break;
    cursor = body.nextCursor;
  }
  return performance.now() - started;
}

/** Several calls started together, as a page starts them: the time until the slowest returns. */
async function together(target: Target, paths: string[]): Promise<number> {
  const started = performance.now();
  await Promise.all(paths.map((p) => get(target, p)));
  return performance.now() - started;
}

/** Samples of `year` and `empty`, alternated so the machine's load touches both alike. */
async function paired(
  year: () => Promise<number>,
  empty: () => Promise<number>,
  samples: number,
): Promise<{ year: number[]; empty: number[] }> {
  for (let i = 0; i < WARMUP; i++) {
    await year();
    await empty();
  }
  const out = { year: [] as number[], empty: [] as number[] };
  for (let i = 0; i < samples; i++) {
    out.year.push(await year());
    out.empty.push(await empty());
  }
  return out;
}

/** Claim latency: `count` due runs, then one claim per run (HTTP, or the claim function), each timed. */
async function claimLatency(target: Target, via: 'http' | 'function', count: number): Promise<number[]> {
  for (let i = 0; i < count; i++) await target.createRun();
  const worker = new OutpostClient({ baseUrl: target.url, token: target.workerKey });
  const workerId = randomUUID();
  const latencies: number[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const started = performance.now();
      let claimed: number;
      if (via === 'http') {
        const res = unwrap(await worker.call('claim', { params: { pool: 'default' }, body: { workerId, limit: 1, waitMs: 0 } }));
        claimed = res.runs.length;
      } else {
        claimed = (
          await claimDueRuns(target.sql, {
            workspaceId: target.workspaceId,
            poolId: target.poolId,
            workerId,
            limit: 1,
            queueNames: null,
            labels: {},
            leaseSeconds: 300,
          })
        ).length;
      }
      const ms = performance.now() - started;
      if (claimed !== 1) throw new Error(`claim ${i} returned ${claimed} runs`);
      latencies.push(ms);
    }
    return latencies;
  } finally {
    await worker.close();
  }
}

/** Dispatch latency: a long-polling claimer parked, a run created, until its claim returns it. */
async function dispatchLatency(target: Target, samples: number): Promise<number[]> {
  const claimer = longPollingClaimer(target.url, target.workerKey);
  const { claimed } = claimer;
  const latencies: number[] = [];
  try {
    for (let i = 0; i < samples + WARMUP; i++) {
      await pause(25 + Math.random() * 10);
      const started = performance.now();
      const id = await target.createRun();
      const at = await claimed.wait(id, 10_000);
      if (i >= WARMUP) latencies.push(at - started);
    }
    return latencies;
  } finally {
    await claimer.stop().catch(() => {});
  }
}

interface Storage {
  rows: Row[];
  indexes: { name: string; table: string; bytes: number }[];
  databaseBytes: number;
}

/** Bytes per row of each table (its heap, TOAST and indexes, over every partition), against the rows' own data. */
async function storage(sql: postgres.Sql): Promise<Storage> {
  // A table's leaves: its partitions when it is partitioned (the parent holds nothing), else itself.
  const leaves = (tables: string[]) => sql`
    SELECT l.relid FROM unnest(string_to_array(${tables.join(',')}::text, ',')) t
    CROSS JOIN LATERAL (
      SELECT p.relid FROM pg_partition_tree(t::regclass) p WHERE p.isleaf
      UNION ALL SELECT t::regclass WHERE NOT EXISTS (SELECT 1 FROM pg_partition_tree(t::regclass))
    ) l`;
  const rowCount = async (table: string) => {
    const [r] = await sql<{ rows: string | null }[]>`
      SELECT sum(greatest(c.reltuples, 0)) AS rows FROM pg_class c WHERE c.oid IN (${leaves([table])})`;
    return Number(r?.rows ?? 0);
  };
  const measure = async (tables: string[]) => {
    const [r] = await sql<{ bytes: string | null }[]>`
      SELECT sum(pg_total_relation_size(relid)) AS bytes FROM (${leaves(tables)}) l`;
    return { bytes: Number(r?.bytes ?? 0), rows: await rowCount(tables[0] as string) };
  };
  /** The average size of a row's own data, from a sample (what a row would take in a bare heap without indexes). */
  const dataBytes = async (tables: string[], rows: number) => {
    let total = 0;
    for (const table of tables) {
      const [r] = await sql<{ avg: string | null }[]>`
        SELECT avg(pg_column_size(t.*)) AS avg FROM (SELECT * FROM ${sql(table)} LIMIT 20000) t`;
      total += Number(r?.avg ?? 0) * (await rowCount(table));
    }
    return rows > 0 ? total / rows : 0;
  };
  const specs: { name: string; tables: string[] }[] = [
    { name: 'run (flow_runs)', tables: ['flow_runs'] },
    { name: 'run with its state history and attempts', tables: ['flow_runs', 'flow_run_states', 'flow_run_attempts'] },
    { name: 'task run', tables: ['task_runs'] },
    { name: 'log line', tables: ['logs'] },
    { name: 'event', tables: ['events'] },
    { name: 'materialisation with its inputs', tables: ['asset_materializations', 'asset_materialization_inputs'] },
  ];
  const rows: Row[] = [];
  for (const spec of specs) {
    const { bytes, rows: count } = await measure(spec.tables);
    const data = await dataBytes(spec.tables, count);
    if (count > 0) {
      rows.push(
        row(
          `storage: bytes per ${spec.name}`,
          Math.round(bytes / count),
          'B',
          Math.round(data),
          `pg_total_relation_size (heap, TOAST, every index, every partition) of ${spec.tables.join(' + ')} over ${spec.tables[0]}'s rows (reltuples after ANALYZE); baseline: the rows' own data (avg pg_column_size of 20,000 rows), so the ratio is what pages, indexes and TOAST add`,
        ),
      );
    }
  }
  const indexes = await sql<{ name: string; table: string; bytes: string }[]>`
    SELECT c.relname AS name, t.relname AS table, pg_relation_size(c.oid) AS bytes
    FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid JOIN pg_class t ON t.oid = i.indrelid
    WHERE c.relkind = 'i' AND c.relnamespace = 'public'::regnamespace
    ORDER BY pg_relation_size(c.oid) DESC LIMIT 10`;
  const [db] = await sql<{ bytes: string }[]>`SELECT pg_database_size(current_database()) AS bytes`;
  return {
    rows,
    indexes: indexes.map((i) => ({ name: i.name, table: i.table, bytes: Number(i.bytes) })),
    databaseBytes: Number(db?.bytes ?? 0),
  };
}

const round1 = (value: number) => Math.round(value * 10) / 10;
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
const ms = (value: number) => `${value.toFixed(1)} ms`;

export async function run(): Promise<Row[]> {
  const admin = adminUrl();
  const database = process.env.BENCH_YEAR_DATABASE || DEFAULT_YEAR_DATABASE;
  const mark = await seededDatabase(admin, database);
  const yearUrl = withDatabase(admin, database);

  let yearServer: RunningServer | null = null;
  let benchDeploymentId = '';
  const empty = await startBenchApi();
  let browser: Browser | null = null;
  const rows: Row[] = [];
  const p50s: string[] = [];
  try {
    yearServer = await startServer({
      databaseUrl: yearUrl,
      host: '127.0.0.1',
      port: 0,
      loops: false,
      logLevel: 'silent',
      rateLimits: TEST_RATE_LIMITS,
      validateResponses: false,
    });
    const ysql = yearServer.sql;
    const [ws] = await ysql<{ id: string }[]>`SELECT id FROM workspaces WHERE slug = 'default'`;
    if (!ws) throw new Error(`${database} has no workspace "default": seed it again`);
    const ownerKey = (await createApiKey(ysql, { workspaceId: ws.id, name: `bench-year-${Date.now()}`, role: 'owner' })).key;
    const workerKey = (
      await createApiKey(ysql, {
        workspaceId: ws.id,
        name: `bench-year-worker-${Date.now()}`,
        role: 'worker',
        pools: ['default'],
      })
    ).key;
    const owner = new OutpostClient({ baseUrl: yearServer.url, token: ownerKey });
    const { deployment } = unwrap(
      await owner.call('deploymentsUpsert', {
        body: {
          flowName: 'bench-noop',
          name: 'default',
          source: 'dir:///bench-noop',
          entrypoint: 'flow.mjs',
          workPool: 'default',
        },
      }),
    );
    await owner.close();
    benchDeploymentId = deployment.id;
    const ownerClient = new OutpostClient({ baseUrl: yearServer.url, token: ownerKey });
    const [pool] = await ysql<{ id: string }[]>`SELECT id FROM work_pools WHERE workspace_id = ${ws.id} AND name = 'default'`;
    const year: Target = {
      url: yearServer.url,
      ownerKey,
      workerKey,
      deploymentId: deployment.id,
      sql: ysql,
      workspaceId: ws.id,
      poolId: pool?.id ?? '',
      createRun: async () =>
        unwrap(await ownerClient.call('deploymentsCreateRun', { params: { id: deployment.id }, body: {} })).flowRun.id,
    };
    const [emptyPool] = await empty.server.sql<{ id: string }[]>`
      SELECT id FROM work_pools WHERE workspace_id = ${empty.server.workspaceId} AND name = 'default'`;
    const bare: Target = {
      url: empty.server.url,
      ownerKey: empty.server.ownerKey,
      workerKey: empty.workerKey,
      deploymentId: empty.deploymentId,
      sql: empty.server.sql,
      workspaceId: empty.server.workspaceId,
      poolId: emptyPool?.id ?? '',
      createRun: empty.createRun,
    };

    // What the year's calls are about: its busiest deployment, a typical run of a week ago, its largest runs, a mid-graph asset.
    const [busy] = await ysql<{ id: string }[]>`
      SELECT d.id FROM deployments d JOIN flows f ON f.id = d.flow_id
      WHERE d.workspace_id = ${ws.id} AND f.name = 'orders-etl' AND d.name = 'prod'`;
    const [typical] = await ysql<{ id: string; name: string }[]>`
      SELECT id, name FROM flow_runs WHERE workspace_id = ${ws.id} AND created_at < now() - interval '7 days'
      ORDER BY created_at DESC, id DESC LIMIT 1`;
    const [asset] = await ysql<{ key: string }[]>`
      SELECT key FROM asset_definitions WHERE workspace_id = ${ws.id} ORDER BY key OFFSET (SELECT count(*) / 2 FROM asset_definitions WHERE workspace_id = ${ws.id}) LIMIT 1`;
    const bigTasks = mark.largest?.taskRuns;
    const bigLogs = mark.largest?.logLines;
    if (!busy || !typical || !bigTasks || !bigLogs)
      throw new Error(`${database} lacks the seeded deployments or runs: seed it again`);
    const emptyRun = await bare.createRun();
    // The seed writes "Fetched page <s> of <lines> …" on every sixth line (support/seed.ts): the last such line is one of the log's last six.
    const deepText = `Fetched page ${bigLogs.count - (bigLogs.count % 6)} of ${bigLogs.count} `;
    const assetKey = encodeURIComponent(asset?.key ?? 'wh/l5/a5000');
    const day = new Date(Date.now() - 86_400_000).toISOString();
    const week = new Date(Date.now() - 7 * 86_400_000).toISOString();
    const [firstPage] = await Promise.all([
      fetch(`${year.url}/api/v1/flow-runs?limit=100`, { headers: { authorization: `Bearer ${ownerKey}` } }).then(
        (r) => r.json() as Promise<{ nextCursor: string | null }>,
      ),
    ]);
    const cursor = encodeURIComponent(firstPage?.nextCursor ?? '');
    const runPage = (id: string) => [
      `/flow-runs/${id}`,
      `/flow-runs/${id}/states`,
      `/flow-runs/${id}/artifacts`,
      `/flow-runs/${id}/child-runs`,
      `/flow-runs/${id}/task-runs?limit=200`,
      `/flow-runs/${id}/task-runs/summary`,
    ];
    const calls: Call[] = [
      { name: 'runs list: the dashboard default (newest 100)', year: '/flow-runs?limit=100', empty: '/flow-runs?limit=100' },
      {
        name: 'runs list: second page (cursor)',
        year: `/flow-runs?limit=100&cursor=${cursor}`,
        empty: '/flow-runs?limit=100',
      },
      {
        name: 'runs list: state FAILED,CRASHED',
        year: '/flow-runs?limit=100&state=FAILED,CRASHED',
        empty: '/flow-runs?limit=100&state=FAILED,CRASHED',
      },
      {
        name: 'runs list: state RUNNING,PENDING (rare)',
        year: '/flow-runs?limit=100&state=RUNNING,PENDING',
        empty: '/flow-runs?limit=100&state=RUNNING,PENDING',
      },
      {
        name: 'runs list: one deployment',
        year: `/flow-runs?limit=100&deploymentId=${busy.id}`,
        empty: `/flow-runs?limit=100&deploymentId=${bare.deploymentId}`,
      },
      {
        name: 'runs list: tag warehouse',
        year: '/flow-runs?limit=100&tag=warehouse',
        empty: '/flow-runs?limit=100&tag=warehouse',
      },
      {
        name: 'runs list: last 24 h',
        year: `/flow-runs?limit=100&createdAfter=${day}`,
        empty: `/flow-runs?limit=100&createdAfter=${day}`,
      },
      {
        name: 'runs list: FAILED of one deployment, last 7 days',
        year: `/flow-runs?limit=100&state=FAILED&deploymentId=${busy.id}&createdAfter=${week}`,
        empty: `/flow-runs?limit=100&state=FAILED&deploymentId=${bare.deploymentId}&createdAfter=${week}`,
      },
      {
        name: 'runs list: work pool ml',
        year: '/flow-runs?limit=100&workPool=ml',
        empty: '/flow-runs?limit=100&workPool=default',
      },
      {
        name: 'runs list: by name',
        year: `/flow-runs?limit=100&name=${typical.name}`,
        empty: `/flow-runs?limit=100&name=${typical.name}`,
      },
      {
        name: 'run page: a typical run (its 6 calls together)',
        year: runPage(typical.id).join('\n'),
        empty: runPage(emptyRun).join('\n'),
      },
      {
        name: `run page: ${bigTasks.count.toLocaleString('en-US')} task runs (its 6 calls together)`,
        year: runPage(bigTasks.id).join('\n'),
        empty: runPage(emptyRun).join('\n'),
      },
      {
        name: `task runs summary of the ${bigTasks.count.toLocaleString('en-US')}-task run`,
        year: `/flow-runs/${bigTasks.id}/task-runs/summary`,
        empty: `/flow-runs/${emptyRun}/task-runs/summary`,
      },
      {
        name: 'log of a typical run (first 5,000 lines)',
        year: `/flow-runs/${typical.id}/logs?limit=5000`,
        empty: `/flow-runs/${emptyRun}/logs?limit=5000`,
      },
      {
        name: `log of the ${bigLogs.count.toLocaleString('en-US')}-line run: first 5,000 lines`,
        year: `/flow-runs/${bigLogs.id}/logs?limit=5000`,
        empty: `/flow-runs/${emptyRun}/logs?limit=5000`,
      },
      {
        name: `log of the ${bigLogs.count.toLocaleString('en-US')}-line run: level error (server-side filter)`,
        year: `/flow-runs/${bigLogs.id}/logs?limit=5000&level=error`,
        empty: `/flow-runs/${emptyRun}/logs?limit=5000&level=error`,
      },
      {
        name: `log of the ${bigLogs.count.toLocaleString('en-US')}-line run: every page read, as the run page's tail does`,
        year: `/flow-runs/${bigLogs.id}/logs?limit=5000`,
        empty: `/flow-runs/${emptyRun}/logs?limit=5000`,
        samples: DRAIN_SAMPLES,
        read: 'every-page',
      },
      {
        name: `log search in the ${bigLogs.count.toLocaleString('en-US')}-line run: a text in one of its last lines (server-side, as the dashboard searches)`,
        year: `/flow-runs/${bigLogs.id}/logs?limit=${SEARCH_PAGE}&q=${encodeURIComponent(deepText)}`,
        empty: `/flow-runs/${emptyRun}/logs?limit=${SEARCH_PAGE}&q=${encodeURIComponent(deepText)}`,
        read: 'search',
      },
      {
        name: `log search in the ${bigLogs.count.toLocaleString('en-US')}-line run: "warehouse", in a third of its lines (server-side, first ${SEARCH_PAGE.toLocaleString('en-US')} matches)`,
        year: `/flow-runs/${bigLogs.id}/logs?limit=${SEARCH_PAGE}&q=warehouse`,
        empty: `/flow-runs/${emptyRun}/logs?limit=${SEARCH_PAGE}&q=warehouse`,
        read: 'search',
      },
      { name: 'events page (newest 100)', year: '/events?limit=100', empty: '/events?limit=100' },
      {
        name: 'events: kind flow-run.failed',
        year: '/events?limit=100&kind=flow-run.failed',
        empty: '/events?limit=100&kind=flow-run.failed',
      },
      {
        name: 'events: one run (resource)',
        year: `/events?limit=100&resourceId=${typical.id}`,
        empty: `/events?limit=100&resourceId=${emptyRun}`,
      },
      { name: 'events: internal included', year: '/events?limit=100&internal=true', empty: '/events?limit=100&internal=true' },
      { name: 'asset catalog (first 200)', year: '/assets?limit=200', empty: '/assets?limit=200' },
      { name: 'asset catalog: search "l9"', year: '/assets?limit=200&q=l9', empty: '/assets?limit=200&q=l9' },
      {
        name: `asset lineage (${mark.assets.toLocaleString('en-US')} assets)`,
        year: '/assets/lineage',
        empty: '/assets/lineage',
      },
      {
        name: `asset lineage (${mark.assets.toLocaleString('en-US')} assets), not gzipped`,
        year: '/assets/lineage',
        empty: '/assets/lineage',
        read: 'identity',
      },
      {
        name: `asset lineage (${mark.assets.toLocaleString('en-US')} assets), revalidated with the last answer's ETag`,
        year: '/assets/lineage',
        empty: '/assets/lineage',
        read: 'revalidate',
      },
    ];

    const sample = (target: Target, call: Call, which: 'year' | 'empty') => {
      const paths = call[which].split('\n');
      return paths.length > 1 ? together(target, paths) : get(target, paths[0] as string, call.read);
    };
    const yearCpu = new BackendCpu(yearUrl, 'outpost-api');
    for (const call of calls) {
      const measured = await withBackendCpu(yearCpu, () =>
        paired(
          () => sample(year, call, 'year'),
          () => sample(bare, call, 'empty'),
          call.samples ?? SAMPLES,
        ),
      );
      const result = measured.result;
      const cpu = measured.cpuMs === null ? '' : ms(measured.cpuMs / (WARMUP + result.year.length));
      const [yp95, ep95] = [percentile(result.year, 95), percentile(result.empty, 95)];
      rows.push(
        row(
          `year: ${call.name}, p95`,
          Math.round(yp95 * 10) / 10,
          'ms',
          Math.round(ep95 * 10) / 10,
          'the same call on a fresh empty database (a new run of the bench deployment where a run is named), same API code, samples alternated',
        ),
      );
      p50s.push(
        `| ${call.name} | ${ms(percentile(result.year, 50))} | ${ms(yp95)} | ${ms(percentile(result.empty, 50))} | ${ms(ep95)} | ${result.year.length} | ${cpu} |`,
      );
    }
    await yearCpu.close();

    // Claim and dispatch on both.
    for (const via of ['http', 'function'] as const) {
      const y = await claimLatency(year, via, CLAIM_SAMPLES);
      const e = await claimLatency(bare, via, CLAIM_SAMPLES);
      const label =
        via === 'http'
          ? 'claim over HTTP (POST /work-pools/default/claim, one due run)'
          : 'claim function (claimDueRuns, one due run)';
      rows.push(
        row(
          `year: ${label}, p95`,
          round1(percentile(y, 95)),
          'ms',
          round1(percentile(e, 95)),
          'the same on a fresh empty database',
        ),
      );
      p50s.push(
        `| ${label} | ${ms(percentile(y, 50))} | ${ms(percentile(y, 95))} | ${ms(percentile(e, 50))} | ${ms(percentile(e, 95))} | ${y.length} | |`,
      );
    }
    {
      const y = await dispatchLatency(year, DISPATCH_SAMPLES);
      const e = await dispatchLatency(bare, DISPATCH_SAMPLES);
      const label = 'dispatch (run created → long-polling claim returns it)';
      rows.push(
        row(
          `year: ${label}, p95`,
          round1(percentile(y, 95)),
          'ms',
          round1(percentile(e, 95)),
          'the same on a fresh empty database',
        ),
      );
      p50s.push(
        `| ${label} | ${ms(percentile(y, 50))} | ${ms(percentile(y, 95))} | ${ms(percentile(e, 50))} | ${ms(percentile(e, 95))} | ${y.length} | |`,
      );
    }
    await ownerClient.close();

    // The dashboard's main pages, first paint, against their own API calls.
    browser = await launchChromium();
    const cookies = await sessionCookies(year.url, ownerKey);
    const pages = [
      { name: 'runs page', hash: '/runs', ready: '[data-testid="run-row"]', calls: ['/flow-runs?limit=100'] },
      {
        name: `run page (${bigTasks.count.toLocaleString('en-US')} task runs)`,
        hash: `/runs/${bigTasks.id}`,
        ready: '[data-testid="run-name"]',
        calls: runPage(bigTasks.id).slice(0, 4),
      },
      { name: 'events page', hash: '/events', ready: '[data-testid="event-row"]', calls: ['/events?limit=100'] },
      { name: 'assets list', hash: '/assets', ready: '[data-testid="asset-row"]', calls: ['/assets?limit=200'] },
      {
        name: 'asset page',
        hash: `/assets/${assetKey}`,
        ready: '[data-testid="asset-key"]',
        calls: [`/assets/detail?key=${assetKey}`],
      },
      {
        name: `lineage page (${mark.assets.toLocaleString('en-US')} assets)`,
        hash: '/lineage',
        ready: '[data-testid="lineage-graph"][data-ready="true"] [data-testid="lineage-node"]',
        calls: ['/assets/lineage'],
      },
      {
        name: 'deployments page',
        hash: '/deployments',
        ready: '[data-testid="deployment-row"]',
        calls: ['/deployments?limit=100'],
      },
    ];
    for (const spec of pages) {
      const load = () => firstLoad(browser as Browser, `${year.url}/#${spec.hash}`, spec.ready, cookies);
      await load();
      const loads: number[] = [];
      const apiCalls: number[] = [];
      for (let i = 0; i < PAGE_SAMPLES; i++) {
        loads.push((await load()).ms);
        apiCalls.push(await together(year, spec.calls));
      }
      rows.push(
        row(
          `year: ${spec.name}, first paint (p50)`,
          Math.round(percentile(loads, 50)),
          'ms',
          Math.round(percentile(apiCalls, 50)),
          "the page's own main API call(s) from Node on the same database; the page from navigation to its rows visible, fresh Chromium context",
        ),
      );
      p50s.push(
        `| first paint: ${spec.name} (max of ${PAGE_SAMPLES}: ${ms(Math.max(...loads))}) | ${ms(percentile(loads, 50))} | ${ms(percentile(loads, 95))} | | | ${loads.length} | |`,
      );
    }

    const store = await storage(ysql);
    rows.push(...store.rows);
    notes = [
      `Seeded database \`${database}\`: scale ${mark.scale} — ${mark.runs.toLocaleString('en-US')} runs, ${mark.taskRuns.toLocaleString('en-US')} task runs, ${mark.logs.toLocaleString('en-US')} log lines, ${mark.events.toLocaleString('en-US')} events, ${mark.assets.toLocaleString('en-US')} assets, ${mark.materializations.toLocaleString('en-US')} materialisations (asked for; the seed prints what it made), seeded ${mark.seededAt} in ${mark.seconds} s; ${mb(store.databaseBytes)} in all.`,
      '',
      `Log search is the API's own (\`q\`): a request reads at most ${LOG_SEARCH_SCAN_LINES.toLocaleString('en-US')} lines past its cursor, and the dashboard reads on while the answer says \`more\` until ${SEARCH_PAGE.toLocaleString('en-US')} matches arrived, as timed here. The whole-log read is what the run page's tail still does to show the log without a search.`,
      '',
      '| call | year p50 | year p95 | empty p50 | empty p95 | samples | Postgres backend CPU per sample (year) |',
      '|---|---|---|---|---|---|---|',
      ...p50s,
      '',
      'Largest indexes:',
      '',
      '| index | table | size |',
      '|---|---|---|',
      ...store.indexes.map((i) => `| \`${i.name}\` | ${i.table} | ${mb(i.bytes)} |`),
    ].join('\n');
    return rows;
  } finally {
    await browser?.close();
    if (yearServer) {
      // The bench's own runs go, so the seeded database stays as seeded for the next measurement.
      const ysql = yearServer.sql;
      if (benchDeploymentId) {
        await ysql`DELETE FROM flow_run_states WHERE flow_run_id IN (SELECT id FROM flow_runs WHERE deployment_id = ${benchDeploymentId})`;
        await ysql`DELETE FROM flow_run_attempts WHERE flow_run_id IN (SELECT id FROM flow_runs WHERE deployment_id = ${benchDeploymentId})`;
        await ysql`DELETE FROM flow_runs WHERE deployment_id = ${benchDeploymentId}`;
      }
      await ysql`UPDATE api_keys SET revoked_at = now() WHERE name LIKE 'bench-year-%' AND revoked_at IS NULL`;
      await yearServer.close();
    }
    await empty.close();
  }
}
