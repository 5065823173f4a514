import { parseArgs } from 'node:util';
import { startServer } from '@outpost/api';
import { createTestWorkspace, TEST_RATE_LIMITS } from '@outpost/api/testing';
import { OutpostClient } from '@outpost/sdk/client';
import type { AssetDefinitionInput } from '@outpost/sdk/contracts';
import postgres from 'postgres';
import { assetGraph } from './asset-graph.js';

/**
 * `npm run bench -- seed`: builds a database as a year of a busy workspace leaves it, on the server
 * of TEST_DATABASE_URL / DATABASE_URL. The schema is the project's own (the API migrates the new
 * database when it starts on it); workspaces, pools, queues, deployments, tag limits and asset
 * definitions go through the API, and the volume (runs, their state history and attempts, task
 * runs, log lines, materialisations and their inputs, check results, events) is inserted set-wise
 * with `INSERT … SELECT … FROM generate_series`, one slice of the year at a time, in the order it
 * happened, so sequences and physical order follow time as they would. Every row goes through the
 * production tables with their keys, checks, indexes and triggers (the ledger's triggers write the
 * system events of the state history, task failures, materialisations and check results).
 */

/** What a year of a busy workspace leaves (the defaults; `--scale` multiplies them all). */
export const YEAR = {
  runs: 1_000_000,
  taskRuns: 20_000_000,
  logs: 100_000_000,
  events: 10_000_000,
  assets: 10_000,
  materializations: 1_000_000,
} as const;

export const DEFAULT_YEAR_DATABASE = 'outpost_year';
/** The database comment that marks a seeded database: only such a database is ever dropped. */
export const SEED_MARK = 'outpost-bench-seed';

const DAY_MS = 86_400_000;
/** Assets per deployment (the deploy request takes at most 5,000, in at most 1 MiB). */
const ASSETS_PER_DEPLOYMENT = 2_000;
/** One run in this many is an asset run of one of the asset deployments. */
const ASSET_RUN_EVERY = 10;
/** One run in this many has a hundred times the typical number of task runs. */
const HEAVY_TASKS_EVERY = 1_000;
/** One run in this many has a thousand times the typical number of log lines. */
const HEAVY_LOGS_EVERY = 10_000;
const ASSET_PREFIX = 'wh';

interface Counts {
  runs: number;
  taskRuns: number;
  logs: number;
  events: number;
  assets: number;
  materializations: number;
}

interface Deployment {
  id: string;
  name: string;
}

interface WorkspacePlan {
  label: string;
  workspaceId: string;
  counts: Counts;
  /** Deployments runs are spread over (skewed to the first ones). */
  deployments: Deployment[];
  /** Deployments defining the assets, in asset order: deployment k defines assets [k·S, (k+1)·S). */
  assetDeployments: Deployment[];
}

class Tally {
  readonly rows = new Map<string, number>();
  readonly ms = new Map<string, number>();
  add(table: string, rows: number, ms: number): void {
    this.rows.set(table, (this.rows.get(table) ?? 0) + rows);
    this.ms.set(table, (this.ms.get(table) ?? 0) + ms);
  }
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;
const log = (line: string) => process.stdout.write(`${line}\n`);

function databaseUrl(adminUrl: string, database: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

/** A uniform number in [0, 1) from an integer expression and a salt, stable across runs. */
const u = (sql: postgres.Sql, expr: string, salt: number) =>
  sql.unsafe(`((hashint8((${expr})::bigint * 16 + ${salt}) & 2147483647)::float8 / 2147483648.0)`);

export function parseSeedArgs(argv: string[]): { counts: Counts; database: string; scale: number } {
  const { values } = parseArgs({
    args: argv,
    options: {
      runs: { type: 'string' },
      'task-runs': { type: 'string' },
      logs: { type: 'string' },
      events: { type: 'string' },
      assets: { type: 'string' },
      materializations: { type: 'string' },
      scale: { type: 'string' },
      database: { type: 'string' },
    },
  });
  const scale = values.scale === undefined ? 1 : Number(values.scale);
  if (!(scale > 0)) throw new Error(`--scale must be a positive number (got ${values.scale})`);
  const count = (value: string | undefined, year: number, name: string) => {
    const n = Math.round((value === undefined ? year : Number(value)) * scale);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a count (got ${value})`);
    return n;
  };
  const counts: Counts = {
    runs: Math.max(1, count(values.runs, YEAR.runs, 'runs')),
    taskRuns: count(values['task-runs'], YEAR.taskRuns, 'task-runs'),
    logs: count(values.logs, YEAR.logs, 'logs'),
    events: count(values.events, YEAR.events, 'events'),
    assets: count(values.assets, YEAR.assets, 'assets'),
    materializations: count(values.materializations, YEAR.materializations, 'materializations'),
  };
  const database = values.database ?? DEFAULT_YEAR_DATABASE;
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(database)) throw new Error(`--database must be a plain lower-case name (got ${database})`);
  return { counts, database, scale };
}

/** Drops the named database when it is one this command made (its comment says so), and creates it empty. */
async function recreateDatabase(adminUrl: string, database: string): Promise<void> {
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    const [current] = await admin<{ name: string }[]>`SELECT current_database() AS name`;
    if (current?.name === database || ['postgres', 'template0', 'template1'].includes(database)) {
      throw new Error(`refusing to recreate database ${database}: pick another --database`);
    }
    const [existing] = await admin<{ comment: string | null }[]>`
      SELECT shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE datname = ${database}`;
    if (existing && !existing.comment?.startsWith(SEED_MARK)) {
      throw new Error(
        `database ${database} exists and was not made by this command; drop it yourself or pick another --database`,
      );
    }
    await admin.unsafe(`DROP DATABASE IF EXISTS ${quote(database)} WITH (FORCE)`);
    await admin.unsafe(`CREATE DATABASE ${quote(database)}`);
    await admin.unsafe(`COMMENT ON DATABASE ${quote(database)} IS '${SEED_MARK} (incomplete)'`);
  } finally {
    await admin.end({ timeout: 5 });
  }
}

/**
 * Gives the new database the partitions of `parent` (`logs`, `events` or `task_runs`) a year of use
 * leaves: one a month from `since` on, with the first partition (`<parent>_history`, empty in a new
 * database) ending where they start. Each month as `ensure_partitions` (migrations 0042, 0044 and
 * 0045) makes it, listed in `table_partitions`.
 */
export async function monthlyPartitions(sql: postgres.Sql, parent: 'logs' | 'events' | 'task_runs', since: Date): Promise<void> {
  const first = new Date(Date.UTC(since.getUTCFullYear(), since.getUTCMonth(), 1));
  const historyName = `${parent}_history`;
  await sql.begin(async (tx) => {
    const [history] = await tx<{ n: number; ends: Date }[]>`
      SELECT (SELECT count(*)::int FROM ${tx(historyName)}) AS n, ends FROM table_partitions WHERE name = ${historyName}`;
    if (!history || history.n > 0) throw new Error(`seed: ${historyName} is not the empty partition of a new database`);
    await tx`DROP TABLE ${tx(historyName)}`;
    await tx`DELETE FROM table_partitions WHERE name = ${historyName}`;
    await tx.unsafe(
      `CREATE TABLE ${historyName} PARTITION OF ${parent} FOR VALUES FROM (MINVALUE) TO ('${first.toISOString()}')`,
    );
    await tx`INSERT INTO table_partitions (name, parent, starts, ends) VALUES (${historyName}, ${parent}, '-infinity', ${first})`;
    for (let start = first; start < history.ends; ) {
      const end = new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1, 1));
      const name = `${parent}_${start.toISOString().slice(0, 7).replace('-', '_')}`;
      await tx.unsafe(
        `CREATE TABLE ${name} PARTITION OF ${parent} FOR VALUES FROM ('${start.toISOString()}') TO ('${end.toISOString()}')`,
      );
      await tx`INSERT INTO table_partitions (name, parent, starts, ends) VALUES (${name}, ${parent}, ${start}, ${end})`;
      start = end;
    }
  });
}

async function call<T>(what: string, promise: Promise<{ ok: true; data: T } | { ok: false }>): Promise<T> {
  const result = await promise;
  if (!result.ok) throw new Error(`${what} failed: ${JSON.stringify(result)}`);
  return result.data;
}

const FLOWS = [
  'orders-etl',
  'customer-sync',
  'daily-report',
  'ml-train',
  'ml-score',
  'events-compaction',
  'billing-export',
  'crm-import',
  'search-index',
  'backup-verify',
  'feature-store',
  'alerts-digest',
];

/** Pools, queues, a tag limit and `count` deployments spread over them, through the API. */
async function shapeWorkspace(client: OutpostClient, count: number, busy: boolean): Promise<Deployment[]> {
  if (busy) {
    await call('pool etl', client.call('poolsCreate', { body: { name: 'etl', description: 'Batch ETL workers' } }));
    await call('pool ml', client.call('poolsCreate', { body: { name: 'ml', concurrencyLimit: 20 } }));
    for (const [queue, priority] of [
      ['high', 1],
      ['low', 10],
    ] as const) {
      await call(`queue ${queue}`, client.call('queuesCreate', { params: { pool: 'etl' }, body: { name: queue, priority } }));
    }
    await call('tag limit', client.call('concurrencyLimitsCreate', { body: { tag: 'warehouse', limit: 10 } }));
  }
  const pools = busy ? ['default', 'etl', 'etl', 'ml'] : ['default'];
  const deployments: Deployment[] = [];
  for (let i = 0; i < count; i++) {
    const flowName = FLOWS[i % FLOWS.length] as string;
    const pool = pools[i % pools.length] as string;
    const name = i < FLOWS.length ? 'prod' : `prod-${Math.floor(i / FLOWS.length)}`;
    const tags = [`team:${['data', 'growth', 'ml', 'platform'][i % 4]}`, i % 3 === 0 ? 'warehouse' : 'prod'];
    const { deployment } = await call(
      `deployment ${flowName}/${name}`,
      client.call('deploymentsUpsert', {
        body: {
          flowName,
          name,
          source: `dir:///srv/flows/${flowName}`,
          entrypoint: `flows/${flowName}.ts`,
          workPool: pool,
          ...(pool === 'etl' ? { workQueue: i % 2 === 0 ? 'high' : 'low' } : {}),
          tags,
          parameters: { region: i % 2 === 0 ? 'eu-west-1' : 'us-east-1', batchSize: 500 },
          retries: i % 4 === 0 ? 2 : 0,
          retryDelaySeconds: 30,
        },
      }),
    );
    deployments.push({ id: deployment.id, name: `${flowName}/${name}` });
  }
  return deployments;
}

/** The asset graph, deployed in slices of ASSETS_PER_DEPLOYMENT (a slice's deps are all in earlier slices or itself). */
async function deployAssets(client: OutpostClient, assets: AssetDefinitionInput[]): Promise<Deployment[]> {
  const deployments: Deployment[] = [];
  for (let k = 0; k * ASSETS_PER_DEPLOYMENT < assets.length; k++) {
    const slice = assets.slice(k * ASSETS_PER_DEPLOYMENT, (k + 1) * ASSETS_PER_DEPLOYMENT);
    const { deployment } = await call(
      `asset deployment ${k}`,
      client.call('deploymentsUpsert', {
        body: {
          flowName: 'assets',
          name: `slice-${k}`,
          source: 'dir:///srv/flows/warehouse',
          entrypoint: 'assets.ts',
          workPool: 'etl',
          tags: ['warehouse', 'assets'],
          assets: slice,
        },
      }),
    );
    deployments.push({ id: deployment.id, name: `assets/slice-${k}` });
  }
  return deployments;
}

const ADJECTIVES = ['calm', 'brave', 'swift', 'quiet', 'bold', 'eager', 'gentle', 'lucky', 'proud', 'witty', 'bright', 'keen'];
const ANIMALS = ['otter', 'falcon', 'lynx', 'heron', 'badger', 'marten', 'ibis', 'puffin', 'gecko', 'bison', 'crane', 'stoat'];

/**
 * One workspace's year, slice by slice in time order. `t0` is a year before `now`; run n of R is
 * created at t0 + (n − 1 + jitter)/R of the year.
 */
/** The busy workspace's largest runs, which the `year` module opens as a run page and reads the log of. */
export interface LargestRuns {
  taskRuns: { id: string; count: number } | null;
  logLines: { id: string; count: number } | null;
}

async function seedWorkspace(sql: postgres.Sql, plan: WorkspacePlan, now: Date, tally: Tally): Promise<LargestRuns> {
  const largest: LargestRuns = { taskRuns: null, logLines: null };
  const { counts, workspaceId: ws } = plan;
  const R = counts.runs;
  const t0 = new Date(now.getTime() - 365 * DAY_MS);
  const meanTasks = counts.taskRuns / R;
  const meanLines = counts.logs / R;
  const deploymentIds = plan.deployments.map((d) => d.id);
  const assetIds = plan.assetDeployments.map((d) => d.id);
  const K = assetIds.length;
  const assetRuns = K > 0 ? Math.floor(R / ASSET_RUN_EVERY) : 0;
  const sliceSizes = plan.assetDeployments.map((_, k) =>
    Math.min(ASSETS_PER_DEPLOYMENT, counts.assets - k * ASSETS_PER_DEPLOYMENT),
  );
  // Only completed asset runs write (about 93.5 % of them; the rest record failures); a run writes an
  // asset once, so never more than its deployment's smallest slice.
  const perAssetRun = assetRuns > 0 ? Math.min(...sliceSizes, Math.ceil(counts.materializations / (assetRuns * 0.935))) : 0;
  const chunk = Math.max(500, Math.min(10_000, Math.ceil(R / 20)));
  let topUpPerRun: number | null = null;
  let runsDone = 0;

  const timed = async (table: string, statement: () => Promise<{ count: number }>) => {
    const started = performance.now();
    const result = await statement();
    const ms = performance.now() - started;
    tally.add(table, result.count, ms);
    return { table, rows: result.count, ms };
  };

  for (let a = 1; a <= R; a += chunk) {
    const b = Math.min(R, a + chunk - 1);
    const steps: { table: string; rows: number; ms: number }[] = [];
    await sql`TRUNCATE bench_seed_runs, bench_seed_mats`;
    // The slice's runs, every attribute drawn from hashes of n: deployment, times, outcome, sizes.
    steps.push(
      await timed(
        '(plan)',
        () => sql`
      INSERT INTO bench_seed_runs (n, id, deployment_id, created_at, start_time, end_time, state_type, attempts, tasks, lines,
                                   asset_k, asset_seq, name)
      SELECT n, gen_random_uuid(),
             CASE WHEN ${K}::int > 0 AND n % ${ASSET_RUN_EVERY}::int = 0 THEN (${sql.array(assetIds)}::uuid[])[1 + (n / ${ASSET_RUN_EVERY}::int) % ${Math.max(K, 1)}::int]
                  ELSE (${sql.array(deploymentIds)}::uuid[])[1 + floor(${deploymentIds.length}::int * ${u(sql, 'n', 6)} ^ 2)::int] END,
             c, s,
             CASE WHEN e > ${now} THEN NULL ELSE e END,
             CASE WHEN s > ${now} THEN 'PENDING' WHEN e > ${now} THEN 'RUNNING'
                  WHEN h < 40 THEN 'FAILED' WHEN h < 55 THEN 'CANCELLED' WHEN h < 65 THEN 'CRASHED' ELSE 'COMPLETED' END,
             CASE WHEN h >= 65 AND h < 95 AND e <= ${now} THEN 2 ELSE 1 END,
             CASE WHEN n % ${HEAVY_TASKS_EVERY}::int = ${HEAVY_TASKS_EVERY / 2}::int THEN round(100 * ${meanTasks}::float8)::int
                  ELSE floor(-ln(1 - ${u(sql, 'n', 4)}) * greatest(0, 0.9 * ${meanTasks}::float8 - 0.5))::int END,
             CASE WHEN n % ${HEAVY_LOGS_EVERY}::int = ${HEAVY_LOGS_EVERY / 2}::int THEN round(1000 * ${meanLines}::float8)::int
                  ELSE floor(-ln(1 - ${u(sql, 'n', 5)}) * greatest(0, 0.9 * ${meanLines}::float8 - 0.5))::int END,
             CASE WHEN ${K}::int > 0 AND n % ${ASSET_RUN_EVERY}::int = 0 THEN (n / ${ASSET_RUN_EVERY}::int) % ${Math.max(K, 1)}::int END,
             CASE WHEN ${K}::int > 0 AND n % ${ASSET_RUN_EVERY}::int = 0 THEN (n / ${ASSET_RUN_EVERY}::int) / ${Math.max(K, 1)}::int END,
             (${ADJECTIVES}::text[])[1 + (hashint4(n) & 2147483647) % ${ADJECTIVES.length}] || '-' ||
               (${ANIMALS}::text[])[1 + (hashint4(n + 7) & 2147483647) % ${ANIMALS.length}]
      FROM (
        SELECT n, c, s, s + make_interval(secs => CASE WHEN n % ${HEAVY_TASKS_EVERY}::int = ${HEAVY_TASKS_EVERY / 2}::int THEN 7200
                                                      ELSE exp(ln(5) + ${u(sql, 'n', 2)} * ln(720)) END) AS e, h
        FROM (
          SELECT n, c, c + make_interval(secs => 0.2 + 3 * ${u(sql, 'n', 3)}) AS s, floor(1000 * ${u(sql, 'n', 7)})::int AS h
          FROM (SELECT n, ${t0}::timestamptz + ((n - 1 + ${u(sql, 'n', 1)}) / ${R}::float8) * interval '365 days' AS c
                FROM generate_series(${a}::int, ${b}::int) n) g
        ) g
      ) g`,
      ),
    );
    await sql`ANALYZE bench_seed_runs`;
    steps.push(
      await timed(
        'flow_runs',
        () => sql`
      INSERT INTO flow_runs (id, workspace_id, flow_id, deployment_id, deployment_version_id, scheduled_time, work_pool_id,
                             work_queue_id, name, parameters, tags, labels, state_type, state_name, state_message,
                             state_timestamp, attempt, max_retries, retry_delay_seconds, expected_start_time, start_time,
                             end_time, worker_id, created_at, updated_at)
      SELECT r.id, ${ws}, d.flow_id, d.id, d.version_id, r.created_at, d.work_pool_id, d.work_queue_id, r.name,
             d.parameters || jsonb_build_object('date', to_char(r.created_at, 'YYYY-MM-DD')), d.tags, d.labels,
             r.state_type, initcap(r.state_type),
             CASE r.state_type WHEN 'FAILED' THEN 'Flow run failed: ValueError: upstream returned 503 for batch ' || r.n
                               WHEN 'CRASHED' THEN 'The flow process exited with code 137 (out of memory)'
                               WHEN 'CANCELLED' THEN 'Cancelled by a user' END,
             coalesce(r.end_time, r.start_time), r.attempts, d.retries, d.retry_delay_seconds, r.created_at,
             CASE WHEN r.state_type <> 'PENDING' THEN r.start_time END, r.end_time,
             overlay(overlay(md5('worker:' || d.work_pool_id || ':' || r.n % 3) placing '4' from 13) placing '8' from 17)::uuid, r.created_at, coalesce(r.end_time, r.start_time)
      FROM bench_seed_runs r JOIN deployments d ON d.id = r.deployment_id
      ORDER BY r.n`,
      ),
    );
    // The history: scheduled, claimed, running, (a retry's second attempt), (cancelling), the end.
    steps.push(
      await timed(
        'flow_run_states',
        () => sql`
      INSERT INTO flow_run_states (workspace_id, flow_run_id, attempt, type, name, message, timestamp)
      SELECT ${ws}, r.id, v.attempt, v.type, v.name, v.message, v.ts
      FROM bench_seed_runs r
      CROSS JOIN LATERAL (VALUES
        (1, 1, 'SCHEDULED', 'Scheduled', NULL, r.created_at, true),
        (2, 1, 'PENDING', 'Pending', NULL, r.start_time - interval '100 milliseconds', true),
        (3, 1, 'RUNNING', 'Running', NULL, r.start_time, r.state_type <> 'PENDING'),
        (4, 2, 'SCHEDULED', 'AwaitingRetry', 'Retry 1 of 2: ValueError: upstream returned 503',
           r.start_time + (r.end_time - r.start_time) * 0.4, r.attempts = 2),
        (5, 2, 'PENDING', 'Pending', NULL, r.start_time + (r.end_time - r.start_time) * 0.45, r.attempts = 2),
        (6, 2, 'RUNNING', 'Running', NULL, r.start_time + (r.end_time - r.start_time) * 0.46, r.attempts = 2),
        (7, r.attempts, 'CANCELLING', 'Cancelling', NULL, r.end_time - interval '2 seconds', r.state_type = 'CANCELLED'),
        (8, r.attempts, r.state_type, initcap(r.state_type),
           CASE r.state_type WHEN 'FAILED' THEN 'Flow run failed: ValueError: upstream returned 503 for batch ' || r.n
                             WHEN 'CRASHED' THEN 'The flow process exited with code 137 (out of memory)' END,
           r.end_time, r.end_time IS NOT NULL)
      ) v(k, attempt, type, name, message, ts, present)
      WHERE v.present
      ORDER BY r.n, v.k`,
      ),
    );
    steps.push(
      await timed(
        'flow_run_attempts',
        () => sql`
      INSERT INTO flow_run_attempts (workspace_id, flow_run_id, attempt, worker_id, worker_name, claimed_at, source_digest,
                                     started_at, ended_at, state_type, state_name, exit_code, worker_version, executor,
                                     node_version, environment_reported_at)
      SELECT ${ws}, r.id, a.attempt, overlay(overlay(md5('worker:' || d.work_pool_id || ':' || r.n % 3) placing '4' from 13) placing '8' from 17)::uuid, 'worker-' || r.n % 3,
             a.claimed, NULL, a.started, a.ended, a.state, initcap(a.state),
             CASE a.state WHEN 'COMPLETED' THEN 0 WHEN 'FAILED' THEN 1 WHEN 'CRASHED' THEN 137 END,
             '0.1.0', 'process', 'v20.18.0', a.started
      FROM bench_seed_runs r
      JOIN deployments d ON d.id = r.deployment_id
      CROSS JOIN LATERAL (VALUES
        (1, r.start_time - interval '100 milliseconds', CASE WHEN r.state_type <> 'PENDING' THEN r.start_time END,
           CASE WHEN r.attempts = 2 THEN r.start_time + (r.end_time - r.start_time) * 0.4 ELSE r.end_time END,
           CASE WHEN r.attempts = 2 THEN 'FAILED' WHEN r.end_time IS NOT NULL THEN r.state_type END, true),
        (2, r.start_time + (r.end_time - r.start_time) * 0.45, r.start_time + (r.end_time - r.start_time) * 0.46,
           r.end_time, r.state_type, r.attempts = 2)
      ) a(attempt, claimed, started, ended, state, present)
      WHERE a.present`,
      ),
    );
    // Task runs within the run's lifetime, one after another; the last one ends as the run did. Their ids
    // (and the workers') are md5 of what they belong to, with a v4 version and variant so they are
    // UUIDs the contracts accept, and log lines can name their task without a lookup.
    steps.push(
      await timed(
        'task_runs',
        () => sql`
      INSERT INTO task_runs (id, workspace_id, flow_run_id, flow_run_attempt, name, task_key, dynamic_key, run_count,
                             state_type, state_name, state_message, state_timestamp, state_seq, start_time, end_time,
                             created_at, updated_at)
      SELECT overlay(overlay(md5(r.id::text || ':' || j) placing '4' from 13) placing '8' from 17)::uuid, ${ws}, r.id, r.attempts, t.name, 'flows/tasks.ts:' || t.name, j::text, 1,
             t.state, initcap(t.state), CASE WHEN t.state = 'FAILED' THEN 'ValueError: upstream returned 503' END,
             coalesce(t.ended, t.started), 2, t.started, t.ended, t.started, coalesce(t.ended, t.started)
      FROM bench_seed_runs r
      CROSS JOIN LATERAL generate_series(1, r.tasks) j
      CROSS JOIN LATERAL (
        SELECT (ARRAY['extract','transform','load','validate','fetch_page','write_partition','notify','score'])[1 + j % 8] AS name,
               r.start_time + (coalesce(r.end_time, ${now}) - r.start_time) * ((j - 1)::float8 / r.tasks) AS started,
               CASE WHEN j = r.tasks AND r.end_time IS NULL THEN NULL
                    ELSE r.start_time + (coalesce(r.end_time, ${now}) - r.start_time) * (j::float8 / r.tasks) END AS ended,
               CASE WHEN j < r.tasks THEN 'COMPLETED' WHEN r.end_time IS NULL THEN 'RUNNING'
                    WHEN r.state_type IN ('FAILED', 'CRASHED') THEN 'FAILED'
                    WHEN r.state_type = 'CANCELLED' THEN 'CANCELLED' ELSE 'COMPLETED' END AS state
      ) t
      WHERE r.state_type <> 'PENDING'`,
      ),
    );
    // Log lines within the run's lifetime; most name the task running at the time.
    steps.push(
      await timed(
        'logs',
        () => sql`
      INSERT INTO logs (flow_run_id, attempt, seq, workspace_id, timestamp, level, message, task_run_id, stream)
      SELECT r.id, r.attempts, s, ${ws},
             r.start_time + (coalesce(r.end_time, ${now}) - r.start_time) * (s::float8 / (r.lines + 1)),
             l.level,
             CASE s % 6
               WHEN 0 THEN 'Fetched page ' || s || ' of ' || r.lines || ' from https://api.example.com/v2/orders?cursor=' || to_hex(s::bigint * 40503 + r.n)
               WHEN 1 THEN 'Wrote ' || (s * 131 + r.n) % 10000 || ' rows to warehouse.analytics.orders_' || r.n % 50
               WHEN 2 THEN 'Task finished in ' || (s * 17 + r.n) % 5000 || ' ms'
               WHEN 3 THEN 'Connecting to postgres://warehouse.internal:5432/analytics (pool 4/16)'
               WHEN 4 THEN CASE WHEN l.level IN ('warning', 'error') THEN 'Retrying request after HTTP 503 (attempt ' || 1 + s % 3 || ' of 3)'
                                ELSE 'Processed batch ' || s || ': ok=' || (s * 7) % 500 || ' skipped=' || s % 3 END
               ELSE 'Memory in use: ' || 200 + (s * 13) % 800 || ' MB; cpu ' || (s * 29) % 100 || '%'
             END,
             CASE WHEN r.tasks > 0 AND s % 10 <> 0 THEN overlay(overlay(md5(r.id::text || ':' || (1 + (s::bigint * r.tasks) / (r.lines + 1))) placing '4' from 13) placing '8' from 17)::uuid END,
             CASE WHEN l.level IN ('warning', 'error') THEN 'stderr' WHEN s = 1 THEN 'worker' ELSE 'flow' END
      FROM bench_seed_runs r
      CROSS JOIN LATERAL generate_series(1, r.lines) s
      CROSS JOIN LATERAL (
        SELECT CASE WHEN s = r.lines AND r.state_type IN ('FAILED', 'CRASHED') THEN 'error'
                    WHEN (s * 37 + r.n * 11) % 200 < 10 THEN 'debug'
                    WHEN (s * 37 + r.n * 11) % 200 < 186 THEN 'info'
                    WHEN (s * 37 + r.n * 11) % 200 < 197 THEN 'warning' ELSE 'error' END AS level
      ) l
      WHERE r.state_type <> 'PENDING'`,
      ),
    );
    if (perAssetRun > 0) {
      // An asset run that completed writes its share of its deployment's assets, cycling through them over the year.
      const assetRows = () => sql`
        SELECT r.id AS run_id, r.attempts, r.n, r.state_type, r.start_time, r.end_time, a.i, a.key, a.partitioned, a.has_check,
               j, r.start_time + (r.end_time - r.start_time) * ((j + 1)::float8 / (${perAssetRun}::int + 1)) AS at
        FROM bench_seed_runs r
        CROSS JOIN LATERAL generate_series(0, ${perAssetRun}::int - 1) j
        JOIN bench_seed_assets a
          ON a.k = r.asset_k AND a.local = (r.asset_seq * ${perAssetRun}::int + j) % (${sql.array(sliceSizes)}::int[])[1 + r.asset_k]
        WHERE r.asset_k IS NOT NULL AND r.end_time IS NOT NULL`;
      steps.push(
        await timed(
          'asset_materializations',
          () => sql`
        WITH written AS (
        INSERT INTO asset_materializations (id, workspace_id, asset_key, partition_key, flow_run_id, attempt, code_version,
                                            data_version, metadata, duration_ms, created_at)
        SELECT gen_random_uuid(), ${ws}, m.key,
               CASE WHEN m.partitioned THEN to_char((m.at - interval '1 day') AT TIME ZONE 'UTC', 'YYYY-MM-DD') END,
               m.run_id, m.attempts, 'v1', left(md5(m.key || m.n), 16),
               jsonb_build_object('rows', (m.n * 31 + m.i) % 1000000, 'bytes', (m.n * 977 + m.i) % 100000000, 'table', replace(m.key, '/', '.')),
               (m.n * 13 + m.i) % 60000, m.at
        FROM (${assetRows()}) m
        WHERE m.state_type = 'COMPLETED'
        ORDER BY m.at
        RETURNING id, asset_key, partition_key, flow_run_id, attempt, seq, created_at, metadata
        )
        INSERT INTO bench_seed_mats SELECT * FROM written`,
        ),
      );
      await sql`ANALYZE bench_seed_mats`;
      steps.push(
        await timed(
          'asset_failures',
          () => sql`
        INSERT INTO asset_failures (id, workspace_id, asset_key, partition_key, flow_run_id, attempt, message, created_at)
        SELECT gen_random_uuid(), ${ws}, m.key,
               CASE WHEN m.partitioned THEN to_char((m.at - interval '1 day') AT TIME ZONE 'UTC', 'YYYY-MM-DD') END,
               m.run_id, m.attempts, 'ValueError: upstream returned 503', m.at
        FROM (${assetRows()}) m
        WHERE m.state_type IN ('FAILED', 'CRASHED')`,
        ),
      );
      // What each consumed: the latest materialisation of each upstream written before it.
      steps.push(
        await timed(
          'asset_materialization_inputs',
          () => sql`
        INSERT INTO asset_materialization_inputs (materialization_id, workspace_id, upstream_key, partition_key, partitioned,
                                                  partition_count, partitions, created_at)
        SELECT m.id, ${ws}, up.key, CASE WHEN a.partitioned AND up.partitioned THEN m.partition_key END, up.partitioned,
               CASE WHEN l.id IS NULL THEN 0 ELSE 1 END,
               CASE WHEN l.id IS NULL THEN '[]'::jsonb ELSE jsonb_build_array(jsonb_build_object(
                 'partitionKey', l.partition_key, 'materializationId', l.id, 'codeVersion', l.code_version,
                 'dataVersion', l.data_version, 'materializedAt', to_char(l.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))) END,
               m.created_at
        FROM bench_seed_mats m
        JOIN bench_seed_assets a ON a.key = m.asset_key
        CROSS JOIN LATERAL unnest(a.deps) dep
        JOIN bench_seed_assets up ON up.key = dep
        LEFT JOIN LATERAL (
          SELECT x.id, x.partition_key, x.code_version, x.data_version, x.created_at FROM asset_materializations x
          WHERE x.workspace_id = ${ws} AND x.asset_key = dep AND x.seq < m.seq ORDER BY x.seq DESC LIMIT 1
        ) l ON true`,
        ),
      );
      steps.push(
        await timed(
          'asset_check_results',
          () => sql`
        INSERT INTO asset_check_results (id, workspace_id, asset_key, check_name, partition_key, flow_run_id, attempt,
                                         materialization_id, passed, severity, blocking, metadata, created_at)
        SELECT gen_random_uuid(), ${ws}, m.asset_key, 'not_empty', m.partition_key, m.flow_run_id, m.attempt, m.id,
               (hashtext(m.id::text) & 1023) >= 20, 'WARN', false, jsonb_build_object('rows', m.metadata->'rows'),
               m.created_at + interval '1 second'
        FROM bench_seed_mats m
        JOIN bench_seed_assets a ON a.key = m.asset_key
        WHERE a.has_check
        ORDER BY m.seq`,
        ),
      );
    }
    // Events the system did not write: custom events and the worker protocol's bookkeeping, spread over the slice.
    const runsInChunk = b - a + 1;
    if (topUpPerRun === null) {
      const [row] = await sql<{ n: string }[]>`SELECT count(*) AS n FROM events WHERE workspace_id = ${ws}`;
      topUpPerRun = Math.max(0, counts.events / R - Number(row?.n ?? 0) / runsInChunk);
    }
    const topUp = Math.round(topUpPerRun * runsInChunk);
    if (topUp > 0) {
      const [span] = await sql<
        { first: Date; last: Date }[]
      >`SELECT min(created_at) AS first, max(created_at) AS last FROM bench_seed_runs`;
      const first = span?.first ?? now;
      const last = span?.last ?? now;
      steps.push(
        await timed(
          'events',
          // With their ids in event_ids, as the ingest statement stores the events code writes.
          () => sql`
        WITH e AS (
        INSERT INTO events (workspace_id, occurred_at, received_at, kind, resource_kind, resource_id, resource_name, related,
                            payload, source, source_id)
        SELECT ${ws}, t, t + interval '40 milliseconds', e.kind, e.resource_kind, e.resource_id, e.resource_name, '[]'::jsonb,
               e.payload, e.source, e.source_id
        FROM (SELECT g, ${first}::timestamptz + (${last}::timestamptz - ${first}::timestamptz) * (g::float8 / ${topUp}::int) AS t
              FROM generate_series(1, ${topUp}::int) g) g
        CROSS JOIN LATERAL (
          SELECT CASE WHEN g % 10 < 3 THEN 'audit.sensorticksclaim' WHEN g % 10 < 6 THEN 'model.metrics'
                      WHEN g % 10 < 8 THEN 'data.arrived' WHEN g % 10 = 8 THEN 'file.detected' ELSE 'report.published' END AS kind,
                 CASE WHEN g % 10 < 3 THEN 'audit-entry' WHEN g % 10 < 6 THEN 'model' WHEN g % 10 < 8 THEN 's3-object'
                      WHEN g % 10 = 8 THEN 'path' ELSE 'report' END AS resource_kind,
                 CASE WHEN g % 10 < 3 THEN overlay(overlay(md5('audit' || g || ${String(a)}::text) placing '4' from 13) placing '8' from 17)::uuid::text WHEN g % 10 < 6 THEN 'churn-v' || g % 9
                      WHEN g % 10 < 8 THEN 's3://landing/orders/' || to_char(t, 'YYYY/MM/DD') || '/part-' || g % 1000 || '.parquet'
                      WHEN g % 10 = 8 THEN '/mnt/drop/invoices/' || to_char(t, 'YYYYMMDD') || '-' || g % 100 || '.csv'
                      ELSE 'weekly-kpis' END AS resource_id,
                 CASE WHEN g % 10 < 3 THEN 'sensor-ticks.claim' END AS resource_name,
                 CASE WHEN g % 10 < 3 THEN jsonb_build_object('actorKind', 'api_key', 'method', 'POST',
                                                             'path', '/api/v1/work-pools/default/sensor-ticks/claim', 'status', 200)
                      WHEN g % 10 < 6 THEN jsonb_build_object('step', g, 'loss', round((1.0 / (1 + g % 977))::numeric, 6), 'auc', 0.91)
                      WHEN g % 10 < 8 THEN jsonb_build_object('bytes', g * 7919 % 100000000, 'etag', md5(g::text))
                      ELSE jsonb_build_object('rows', g % 5000) END AS payload,
                 CASE WHEN g % 10 < 3 THEN 'system' WHEN g % 10 < 6 THEN 'api' WHEN g % 10 < 8 THEN 'webhook'
                      WHEN g % 10 = 8 THEN 'sensor' ELSE 'run' END AS source,
                 CASE WHEN g % 10 BETWEEN 3 AND 5 THEN 'ml-training-key' END AS source_id
        ) e
        ORDER BY t
        RETURNING workspace_id, id, received_at)
        INSERT INTO event_ids (workspace_id, id, received_at) SELECT workspace_id, id, received_at FROM e`,
        ),
      );
    }
    const [big] = await sql<{ tasks_id: string; tasks: number; lines_id: string; lines: number }[]>`
      SELECT (SELECT id FROM bench_seed_runs WHERE state_type = 'COMPLETED' ORDER BY tasks DESC LIMIT 1) AS tasks_id,
             (SELECT max(tasks) FROM bench_seed_runs WHERE state_type = 'COMPLETED') AS tasks,
             (SELECT id FROM bench_seed_runs WHERE state_type = 'COMPLETED' ORDER BY lines DESC LIMIT 1) AS lines_id,
             (SELECT max(lines) FROM bench_seed_runs WHERE state_type = 'COMPLETED') AS lines`;
    if (big?.tasks_id && big.tasks > (largest.taskRuns?.count ?? -1)) largest.taskRuns = { id: big.tasks_id, count: big.tasks };
    if (big?.lines_id && big.lines > (largest.logLines?.count ?? -1)) largest.logLines = { id: big.lines_id, count: big.lines };
    runsDone += runsInChunk;
    const parts = steps
      .filter((s) => s.table !== '(plan)')
      .map((s) => `${s.table} ${fmt(s.rows)} (${fmt(s.rows / Math.max(s.ms / 1000, 0.001))}/s)`);
    log(`  ${plan.label}: runs ${fmt(a)}–${fmt(b)} of ${fmt(R)} (${Math.round((100 * runsDone) / R)} %): ${parts.join(', ')}`);
  }
  return largest;
}

/** Runs the scheduler made ahead: due over the next day, never claimed. */
async function seedScheduledAhead(sql: postgres.Sql, plan: WorkspacePlan, now: Date, tally: Tally): Promise<void> {
  const count = Math.max(3, Math.round(plan.counts.runs * 0.0005));
  const ids = plan.deployments.map((d) => d.id);
  const started = performance.now();
  const rows = await sql`
    WITH runs AS (
      INSERT INTO flow_runs (workspace_id, flow_id, deployment_id, deployment_version_id, work_pool_id, work_queue_id, name,
                             parameters, tags, labels, state_type, state_name, state_timestamp, max_retries,
                             retry_delay_seconds, expected_start_time, idempotency_key, created_at, updated_at)
      SELECT ${plan.workspaceId}, d.flow_id, d.id, d.version_id, d.work_pool_id, d.work_queue_id, 'scheduled-' || g, d.parameters,
             d.tags, d.labels, 'SCHEDULED', 'Scheduled', ${now}::timestamptz - interval '1 hour', d.retries,
             d.retry_delay_seconds, ${now}::timestamptz + (g::float8 / ${count}::int) * interval '1 day',
             'scheduled:hourly:' || g, ${now}::timestamptz - interval '1 hour', ${now}::timestamptz - interval '1 hour'
      FROM generate_series(1, ${count}::int) g
      JOIN deployments d ON d.id = (${sql.array(ids)}::uuid[])[1 + g % ${ids.length}::int]
      RETURNING id, workspace_id, created_at
    )
    INSERT INTO flow_run_states (workspace_id, flow_run_id, attempt, type, name, timestamp)
    SELECT workspace_id, id, 1, 'SCHEDULED', 'Scheduled', created_at FROM runs`;
  tally.add('flow_runs', rows.count, performance.now() - started);
}

/** Each asset partition's latest status: its newest materialisation, or a failure after it. */
async function seedAssetPartitions(sql: postgres.Sql, workspaceId: string, tally: Tally): Promise<void> {
  const started = performance.now();
  const written = await sql`
    INSERT INTO asset_partitions (workspace_id, asset_key, partition_key, status, flow_run_id, materialization_id, code_version,
                                  data_version, materialized_at, updated_at)
    SELECT DISTINCT ON (asset_key, coalesce(partition_key, ''))
           workspace_id, asset_key, coalesce(partition_key, ''), 'MATERIALIZED', flow_run_id, id, code_version, data_version,
           created_at, created_at
    FROM asset_materializations WHERE workspace_id = ${workspaceId}
    ORDER BY asset_key, coalesce(partition_key, ''), seq DESC`;
  const failed = await sql`
    INSERT INTO asset_partitions AS p (workspace_id, asset_key, partition_key, status, flow_run_id, updated_at)
    SELECT DISTINCT ON (asset_key, coalesce(partition_key, ''))
           workspace_id, asset_key, coalesce(partition_key, ''), 'FAILED', flow_run_id, created_at
    FROM asset_failures WHERE workspace_id = ${workspaceId}
    ORDER BY asset_key, coalesce(partition_key, ''), created_at DESC
    ON CONFLICT (workspace_id, asset_key, partition_key) DO UPDATE SET
      status = 'FAILED', flow_run_id = excluded.flow_run_id, updated_at = excluded.updated_at
    WHERE p.materialized_at < excluded.updated_at`;
  tally.add('asset_partitions', written.count + failed.count, performance.now() - started);
}

export async function seed(argv: string[]): Promise<void> {
  const adminUrl = process.env.TEST_DATABASE_URL || process.env.DATABASE_URL;
  if (!adminUrl) {
    throw new Error(
      'a Postgres server is needed: set TEST_DATABASE_URL (or DATABASE_URL), e.g. postgres://postgres@127.0.0.1:5432/postgres',
    );
  }
  const { counts, database, scale } = parseSeedArgs(argv);
  const url = databaseUrl(adminUrl, database);
  const started = performance.now();
  log(
    `seed: database ${database} on ${new URL(adminUrl).host}, scale ${scale}: ${fmt(counts.runs)} runs, ${fmt(counts.taskRuns)} task runs, ` +
      `${fmt(counts.logs)} log lines, ${fmt(counts.events)} events, ${fmt(counts.assets)} assets, ${fmt(counts.materializations)} materialisations`,
  );
  await recreateDatabase(adminUrl, database);

  // The API migrates the database and makes workspace `default` with its owner key, as in production.
  const server = await startServer({
    databaseUrl: url,
    host: '127.0.0.1',
    port: 0,
    loops: false,
    logLevel: 'silent',
    rateLimits: TEST_RATE_LIMITS,
    validateResponses: false,
  });
  const plans: WorkspacePlan[] = [];
  const clients: OutpostClient[] = [];
  try {
    const boot = await server.bootstrap();
    if (!boot.ownerKey) throw new Error('the new database already had an owner key');
    const owner = new OutpostClient({ baseUrl: server.url, token: boot.ownerKey });
    clients.push(owner);
    const shapeStarted = performance.now();
    const deployments = await shapeWorkspace(owner, 36, true);
    const t0 = new Date(Date.now() - 365 * DAY_MS);
    const partitionsStart = new Date(t0.getTime() - DAY_MS).toISOString().slice(0, 10);
    const assets = assetGraph(counts.assets, ASSET_PREFIX, {
      kind: 'time',
      cadence: 'daily',
      start: partitionsStart,
      timezone: 'UTC',
    });
    const assetDeployments = await deployAssets(owner, assets);
    plans.push({ label: 'default', workspaceId: boot.workspaceId, counts, deployments, assetDeployments });
    // A few small workspaces beside it, so every read is scoped among tenants as it is in production.
    for (let i = 1; i <= 3; i++) {
      const other = await createTestWorkspace(server.sql);
      const client = new OutpostClient({ baseUrl: server.url, token: other.ownerKey });
      clients.push(client);
      const small = (n: number) => Math.round(n / 500);
      plans.push({
        label: `small-${i}`,
        workspaceId: other.workspaceId,
        counts: {
          runs: Math.max(20, small(counts.runs)),
          taskRuns: small(counts.taskRuns),
          logs: small(counts.logs),
          events: small(counts.events),
          assets: 0,
          materializations: 0,
        },
        deployments: await shapeWorkspace(client, 3, false),
        assetDeployments: [],
      });
    }
    log(
      `seed: migrated, ${plans.length} workspaces, deployments and ${fmt(assets.length)} asset definitions through the API in ${((performance.now() - shapeStarted) / 1000).toFixed(1)} s`,
    );

    const sql = postgres(url, { max: 1, onnotice: () => {}, connection: { application_name: 'outpost-bench-seed' } });
    const tally = new Tally();
    try {
      // A lost last commit only loses seed rows; nothing here needs to wait for the disk.
      await sql`SET synchronous_commit = off`;
      await sql`SET work_mem = '64MB'`;
      await monthlyPartitions(sql, 'logs', t0);
      await monthlyPartitions(sql, 'events', t0);
      await monthlyPartitions(sql, 'task_runs', t0);
      await sql`CREATE UNLOGGED TABLE bench_seed_runs (
        n int PRIMARY KEY, id uuid NOT NULL, deployment_id uuid NOT NULL, created_at timestamptz NOT NULL,
        start_time timestamptz, end_time timestamptz, state_type text NOT NULL, attempts int NOT NULL, tasks int NOT NULL,
        lines int NOT NULL, asset_k int, asset_seq int, name text NOT NULL)`;
      // The slice's materialisations, so their inputs and check results need not be found again among all of them.
      await sql`CREATE UNLOGGED TABLE bench_seed_mats (
        id uuid PRIMARY KEY, asset_key text NOT NULL, partition_key text, flow_run_id uuid NOT NULL, attempt int NOT NULL,
        seq bigint NOT NULL, created_at timestamptz NOT NULL, metadata jsonb NOT NULL)`;
      await sql`CREATE UNLOGGED TABLE bench_seed_assets (
        i int PRIMARY KEY, key text NOT NULL UNIQUE, k int NOT NULL, local int NOT NULL, deps text[] NOT NULL,
        partitioned boolean NOT NULL, has_check boolean NOT NULL)`;
      await sql`CREATE INDEX ON bench_seed_assets (k, local)`;
      const assetRows = assets.map((asset, i) => ({
        i,
        key: asset.key,
        k: Math.floor(i / ASSETS_PER_DEPLOYMENT),
        local: i % ASSETS_PER_DEPLOYMENT,
        deps: asset.deps ?? [],
        partitioned: asset.partitions !== undefined,
        has_check: (asset.checks?.length ?? 0) > 0,
      }));
      for (let i = 0; i < assetRows.length; i += 2_000) {
        await sql`
          INSERT INTO bench_seed_assets (i, key, k, local, deps, partitioned, has_check)
          SELECT i, key, k, local, ARRAY(SELECT jsonb_array_elements_text(deps)), partitioned, has_check
          FROM jsonb_to_recordset(${sql.json(assetRows.slice(i, i + 2_000))}::jsonb)
            AS r(i int, key text, k int, local int, deps jsonb, partitioned boolean, has_check boolean)`;
      }
      await sql`ANALYZE bench_seed_assets`;

      const now = new Date();
      let largest: LargestRuns = { taskRuns: null, logLines: null };
      // The small workspaces first: the busy one's year then ends at the newest sequence numbers.
      for (const plan of [...plans.slice(1), plans[0] as WorkspacePlan]) {
        log(`seed: workspace ${plan.label}…`);
        const runs = await seedWorkspace(sql, plan, now, tally);
        if (plan === plans[0]) largest = runs;
        await seedScheduledAhead(sql, plan, now, tally);
        if (plan.assetDeployments.length > 0) await seedAssetPartitions(sql, plan.workspaceId, tally);
      }
      await sql`DROP TABLE bench_seed_runs, bench_seed_mats, bench_seed_assets`;
      const analyzeStarted = performance.now();
      log('seed: ANALYZE…');
      await sql`ANALYZE`;
      const analyzeSeconds = (performance.now() - analyzeStarted) / 1000;
      const tables = [
        'flow_runs',
        'flow_run_states',
        'flow_run_attempts',
        'task_runs',
        'logs',
        'events',
        'asset_definitions',
        'asset_materializations',
        'asset_materialization_inputs',
        'asset_check_results',
        'asset_failures',
        'asset_partitions',
      ];
      log('');
      log(`${'table'.padEnd(30)} ${'rows'.padStart(13)} ${'seconds'.padStart(9)} ${'rows/s'.padStart(10)}`);
      for (const table of tables) {
        const [row] = await sql<{ n: string }[]>`SELECT count(*) AS n FROM ${sql(table)}`;
        const ms = tally.ms.get(table);
        const inserted = tally.rows.get(table);
        const rate = ms && inserted ? fmt(inserted / (ms / 1000)) : '';
        log(
          `${table.padEnd(30)} ${fmt(Number(row?.n ?? 0)).padStart(13)} ${(ms ? (ms / 1000).toFixed(1) : '').padStart(9)} ${rate.padStart(10)}`,
        );
      }
      const seconds = (performance.now() - started) / 1000;
      log(`(events include those the ledger's triggers wrote; ANALYZE ${analyzeSeconds.toFixed(1)} s)`);
      log(`total ${seconds.toFixed(1)} s`);
      const mark = JSON.stringify({ scale, ...counts, seededAt: now.toISOString(), seconds: Math.round(seconds), largest });
      await sql.unsafe(`COMMENT ON DATABASE ${quote(database)} IS '${SEED_MARK} ${mark.replace(/'/g, "''")}'`);
    } finally {
      await sql.end({ timeout: 5 });
    }
  } finally {
    for (const client of clients) await client.close();
    await server.close();
  }
}
