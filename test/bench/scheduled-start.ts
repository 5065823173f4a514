import { randomUUID } from 'node:crypto';
import { createLogger, SchedulerLoop } from '@outpost/api';
import { OutpostClient } from '@outpost/sdk/client';
import type { ClaimedRun } from '@outpost/sdk/contracts';
import { pino } from 'pino';
import postgres from 'postgres';
import { RunApi } from '../../worker/src/executors/run-api.js';
import { RunningProposals } from '../../worker/src/executors/running-proposals.js';
import { startBenchApi } from './support/api.js';
import { pause, percentile, type Row, row, waitFor } from './support/row.js';

/**
 * Scheduled runs starting on time: 1,000 schedules all due at the same whole second, a few seconds
 * ahead, and eight workers long-polling their pool. Per run: due time → the claim that took it
 * returned to its worker, and due time → RUNNING accepted for it; p50 and p95 of the 1,000.
 *
 * The API side is the real thing: the runs are inserted ahead of time by the real SchedulerLoop
 * (its own cadence, started here against the API's database) from 1,000 interval schedules
 * (20 deployments × 50, every hour from the same anchor); eight workers with `--limit 150`
 * long-poll `POST /work-pools/default/claim` with a worker key (`waitMs` 25 s, `limit` = free slots,
 * at most 100, as worker/src/poll.ts does), claim again at once while they have free slots, and
 * propose RUNNING for each run the moment its claim returns, as the worker's `proposeRunningEarly`
 * does (RunningProposals: one request at a time, what is handed over meanwhile together). Three
 * rounds (Proposal): the worker as it claims by default, when due; the worker with `--prefetch 5s`,
 * which claims the runs up to 5 s ahead and proposes each at its due time; and a bound that claims
 * when due and proposes RUNNING once per claim.
 *
 * Clocks: both times are the claimer's `Date.now()` when the claim's response, or the RUNNING
 * answer, arrived, minus the run's `expectedStartTime` (the database's clock). Postgres runs on
 * this machine, so both read the same system clock. The notes add the database's own view (the
 * PENDING and RUNNING states' timestamps in `flow_run_states`), which says where the time goes.
 *
 * Floor, measured first in the same run: the least a queue does for the same work. A bare table
 * of 1,000 jobs due at one whole second and eight claimers on connections of their own, each
 * woken by its own timer at the due time, claiming up to 100 at a time (150 slots each) with
 * `UPDATE … FROM (SELECT … FOR UPDATE SKIP LOCKED LIMIT n) … RETURNING`, then one raw
 * `INSERT` of a RUNNING row into a bare states table per job, sent at once (for the other rounds,
 * one multi-row `INSERT` per claim; for the prefetching one, claimers woken 5 s ahead that take the
 * jobs due within 5 s and insert at the due time); same clocks. Each round has a fresh database.
 */
export const timeoutSeconds = 180;

const SCHEDULES = 1_000;
const DEPLOYMENTS = 20;
const WORKERS = 8;
/** A worker's `--limit`: runs it holds at once. Runs here never end, so it claims at most this many. */
const SLOTS = 150;
/** The most one claim asks for (worker/src/poll.ts). */
const CLAIM_MAX = 100;
/** The worker's default `--poll-wait`. */
const POLL_WAIT_MS = 25_000;
const quiet = pino({ level: 'silent' });
/** How far ahead the runs are due: room for the scheduler's first pass and the claimers to settle. */
const LEAD_MS = 12_000;
/** The prefetching round's `--prefetch`: well after the scheduler's pass inserts the runs, about 10 s ahead. */
const PREFETCH_MS = 5_000;
/** The most the runs may take to be claimed and RUNNING before the bench gives up. */
const SETTLE_MS = 60_000;

interface Sample {
  dueAt: number;
  claimedAt: number;
  runningAt: number | null;
}

interface Figures {
  claimed: number[];
  running: number[];
  claims: number;
}

function figures(samples: Map<string, Sample>): Figures {
  const all = [...samples.values()];
  return {
    claimed: all.map((s) => s.claimedAt - s.dueAt),
    running: all.filter((s) => s.runningAt !== null).map((s) => (s.runningAt as number) - s.dueAt),
    claims: 0,
  };
}

/** The next whole second at least `ms` from now. */
function wholeSecondIn(ms: number): Date {
  return new Date(Math.ceil((Date.now() + ms) / 1000) * 1000);
}

/** The floor: a bare job table drained by timer-woken SKIP LOCKED claimers, one RUNNING insert per job. */
async function floor(databaseUrl: string, proposal: Proposal): Promise<Figures> {
  // Prefetching claimers wake ahead of the due time, take the jobs due within their reach, and start them when due.
  const ahead = proposal === 'prefetch' ? PREFETCH_MS : 0;
  const admin = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  const conns = Array.from({ length: WORKERS }, () =>
    postgres(databaseUrl, { max: 1, onnotice: () => {}, connection: { application_name: 'outpost-bench-raw' } }),
  );
  try {
    await admin`DROP TABLE IF EXISTS bench_sched_states, bench_sched_jobs`;
    await admin`
      CREATE TABLE bench_sched_jobs (
        id bigserial PRIMARY KEY, state text NOT NULL, worker int, due_at timestamptz NOT NULL)`;
    await admin`CREATE INDEX bench_sched_jobs_due ON bench_sched_jobs (due_at) WHERE state = 'scheduled'`;
    await admin`
      CREATE TABLE bench_sched_states (
        id bigserial PRIMARY KEY, job_id bigint NOT NULL REFERENCES bench_sched_jobs, type text NOT NULL,
        at timestamptz NOT NULL DEFAULT clock_timestamp())`;
    const due = wholeSecondIn(3_000 + ahead);
    await admin`
      INSERT INTO bench_sched_jobs (state, due_at) SELECT 'scheduled', ${due} FROM generate_series(1, ${SCHEDULES})`;
    await admin`ANALYZE bench_sched_jobs`;
    for (const sql of conns) await sql`SELECT 1`;
    const samples = new Map<string, Sample>();
    let claims = 0;
    const running: Promise<void>[] = [];
    await Promise.all(
      conns.map(async (sql, worker) => {
        await pause(due.getTime() - ahead - Date.now());
        let held = 0;
        while (held < SLOTS) {
          const jobs = await sql<{ id: string; due_at: Date }[]>`
            UPDATE bench_sched_jobs j SET state = 'claimed', worker = ${worker}
            FROM (SELECT id FROM bench_sched_jobs WHERE state = 'scheduled'
                    AND due_at <= now() + make_interval(secs => ${ahead / 1000}::float8)
                  ORDER BY due_at, id LIMIT ${Math.min(SLOTS - held, CLAIM_MAX)} FOR UPDATE SKIP LOCKED) d
            WHERE j.id = d.id
            RETURNING j.id, j.due_at`;
          const claimedAt = Date.now();
          if (ahead > 0) await pause(due.getTime() - Date.now());
          if (jobs.length === 0) break;
          claims++;
          held += jobs.length;
          const batch = jobs.map((job) => {
            const sample: Sample = { dueAt: job.due_at.getTime(), claimedAt, runningAt: null };
            samples.set(job.id, sample);
            return { id: job.id, sample };
          });
          if (proposal !== 'worker') {
            const ids = batch.map((b) => b.id);
            running.push(
              sql`INSERT INTO bench_sched_states (job_id, type) SELECT unnest(${sql.array(ids)}::bigint[]), 'RUNNING'`.then(
                () => {
                  const at = Date.now();
                  for (const b of batch) b.sample.runningAt = at;
                },
              ),
            );
          } else {
            for (const b of batch) {
              running.push(
                sql`INSERT INTO bench_sched_states (job_id, type) VALUES (${b.id}, 'RUNNING')`.then(() => {
                  b.sample.runningAt = Date.now();
                }),
              );
            }
          }
        }
      }),
    );
    await Promise.all(running);
    if (samples.size !== SCHEDULES) throw new Error(`the floor claimed ${samples.size} of ${SCHEDULES} jobs`);
    await admin`DROP TABLE bench_sched_states, bench_sched_jobs`;
    return { ...figures(samples), claims };
  } finally {
    await Promise.all([admin.end(), ...conns.map((c) => c.end())]);
  }
}

/** 1,000 interval schedules (every hour from `anchor`) over 20 deployments on pool `default`. */
async function seedSchedules(sql: postgres.Sql, workspaceId: string, anchor: Date): Promise<void> {
  const [ids] = await sql<{ pool: string; queue: string }[]>`
    SELECT p.id AS pool, q.id AS queue FROM work_pools p JOIN work_queues q ON q.work_pool_id = p.id
    WHERE p.workspace_id = ${workspaceId} AND p.name = 'default' AND q.name = 'default'`;
  if (!ids) throw new Error('the default pool is missing');
  const [flow] = await sql<{ id: string }[]>`
    INSERT INTO flows (workspace_id, name) VALUES (${workspaceId}, 'bench-on-time') RETURNING id`;
  const [version] = await sql<{ id: string }[]>`
    INSERT INTO deployment_versions (workspace_id, content_hash, source, entrypoint)
    VALUES (${workspaceId}, 'bench-on-time', 'dir:///bench', 'flow.mjs') RETURNING id`;
  const deployments = await sql<{ id: string }[]>`
    INSERT INTO deployments (workspace_id, flow_id, name, source, entrypoint, work_pool_id, work_queue_id, version_id)
    SELECT ${workspaceId}, ${flow?.id ?? ''}, 'on-time-' || g, 'dir:///bench', 'flow.mjs', ${ids.pool}, ${ids.queue},
           ${version?.id ?? ''}
    FROM generate_series(1, ${DEPLOYMENTS}) g
    RETURNING id`;
  const perDeployment = SCHEDULES / DEPLOYMENTS;
  const deploymentIds = Array.from({ length: SCHEDULES }, (_, i) => deployments[Math.floor(i / perDeployment)]?.id ?? '');
  const slugs = Array.from({ length: SCHEDULES }, (_, i) => `hourly-${i}`);
  await sql`
    INSERT INTO deployment_schedules (workspace_id, deployment_id, slug, interval_seconds, anchor_date)
    SELECT ${workspaceId}, t.deployment_id, t.slug, 3600, ${anchor}
    FROM unnest(${sql.array(deploymentIds)}::uuid[], ${sql.array(slugs)}::text[]) AS t(deployment_id, slug)`;
}

/**
 * How a worker claims and proposes RUNNING: `worker` as the worker does by default (claims when due;
 * worker/src/executors/running-proposals.ts: one request at a time, the runs handed over in one
 * event-loop turn together, a lone run on its own, the runs handed over meanwhile in the next);
 * `prefetch` as the worker does with `--prefetch 5s` (claims up to 5 s ahead, waits each run's
 * `dueInMs`, then proposes as `worker`); `per-claim` claims when due and proposes once per claim
 * (`POST /work-pools/:pool/runs/set-states`, worker key), a bound.
 */
type Proposal = 'worker' | 'prefetch' | 'per-claim';

/** A worker's claim loop: long-polls while it has free slots, proposes RUNNING for the runs it is handed. */
function worker(baseUrl: string, workerKey: string, dueAt: number, samples: Map<string, Sample>, proposal: Proposal) {
  const client = new OutpostClient({ baseUrl, token: workerKey });
  const aborted = new AbortController();
  const workerId = randomUUID();
  const running: Promise<void>[] = [];
  let claims = 0;
  const sampleOf = (run: ClaimedRun, claimedAt: number): Sample => {
    const sample: Sample = { dueAt: Date.parse(run.flowRun.expectedStartTime ?? ''), claimedAt, runningAt: null };
    if (sample.dueAt !== dueAt) throw new Error(`claimed a run due at ${run.flowRun.expectedStartTime}`);
    samples.set(run.flowRun.id, sample);
    return sample;
  };
  const proposals = new RunningProposals(client, 'default', quiet);
  const startOne = async (run: ClaimedRun, claimedAt: number) => {
    const sample = sampleOf(run, claimedAt);
    // As RunExecution: a run claimed ahead of its due time waits for it, counted from the claim's answer.
    if (run.dueInMs) await pause(claimedAt + Math.min(run.dueInMs, PREFETCH_MS) - Date.now());
    const answer = await proposals.propose(
      new RunApi(client, run.flowRun.id, run.flowRun.attempt, run.token, quiet, aborted.signal),
      SETTLE_MS,
    );
    if (!answer.ok || answer.data.status !== 'ACCEPT') throw new Error(`RUNNING was answered ${JSON.stringify(answer)}`);
    sample.runningAt = Date.now();
  };
  const startAll = async (runs: ClaimedRun[], claimedAt: number) => {
    const batch = runs.map((run) => sampleOf(run, claimedAt));
    const answer = await client.call('poolRunsSetStates', {
      params: { pool: 'default' },
      body: {
        items: runs.map((run) => ({
          flowRunId: run.flowRun.id,
          attempt: run.flowRun.attempt,
          transitionId: randomUUID(),
          state: { type: 'RUNNING' as const },
        })),
      },
    });
    const refused = answer.ok ? answer.data.items.find((item) => item.answer?.status !== 'ACCEPT') : answer;
    if (refused) throw new Error(`RUNNING was refused: ${JSON.stringify(refused)}`);
    const at = Date.now();
    for (const sample of batch) sample.runningAt = at;
  };
  const polling = (async () => {
    let held = 0;
    while (!aborted.signal.aborted && held < SLOTS) {
      const result = await client.call(
        'claim',
        {
          params: { pool: 'default' },
          body: {
            workerId,
            limit: Math.min(SLOTS - held, CLAIM_MAX),
            waitMs: POLL_WAIT_MS,
            ...(proposal === 'prefetch' ? { prefetchMs: PREFETCH_MS } : {}),
          },
        },
        { signal: aborted.signal },
      );
      const claimedAt = Date.now();
      if (!result.ok) {
        if (aborted.signal.aborted) return;
        throw new Error(`claim failed: ${JSON.stringify(result)}`);
      }
      if (result.data.runs.length > 0) claims++;
      held += result.data.runs.length;
      if (proposal === 'per-claim') {
        if (result.data.runs.length > 0) running.push(startAll(result.data.runs, claimedAt));
      } else for (const run of result.data.runs) running.push(startOne(run, claimedAt));
    }
  })();
  const ended = polling.then(
    () => null,
    (error: unknown) => error,
  );
  return {
    get claims() {
      return claims;
    },
    stop: async () => {
      aborted.abort();
      const failure =
        (await ended) ??
        (await Promise.all(running).then(
          () => null,
          (error: unknown) => error,
        ));
      await client.close();
      if (failure) throw failure;
    },
  };
}

interface ApiFigures extends Figures {
  /** The database's view: PENDING (claimed) and RUNNING state timestamps minus the due time, ms. */
  dbPending: number[];
  dbRunning: number[];
  /** When the scheduler's first pass had inserted every run due, ms before the due time. */
  insertedAheadMs: number;
}

async function throughApi(proposal: Proposal): Promise<ApiFigures> {
  const api = await startBenchApi();
  const scheduler = new SchedulerLoop(api.server.sql, api.server.databaseUrl, createLogger('silent'));
  const samples = new Map<string, Sample>();
  const due = wholeSecondIn(LEAD_MS);
  const workers: ReturnType<typeof worker>[] = [];
  try {
    const sql = api.server.sql;
    await seedSchedules(sql, api.server.workspaceId, due);
    await sql`ANALYZE`;
    // The workers wait on an empty pool first, as they would; the scheduler's NOTIFY tells them what is coming.
    for (let i = 0; i < WORKERS; i++) workers.push(worker(api.server.url, api.workerKey, due.getTime(), samples, proposal));
    scheduler.start();
    await waitFor(
      'the scheduler to insert every run due',
      async () => {
        const [c] = await sql<{ n: number }[]>`
          SELECT count(*)::int AS n FROM flow_runs WHERE workspace_id = ${api.server.workspaceId} AND expected_start_time = ${due}`;
        return (c?.n ?? 0) >= SCHEDULES ? true : undefined;
      },
      LEAD_MS,
      50,
    );
    const insertedAheadMs = due.getTime() - Date.now();
    if (insertedAheadMs <= 0) throw new Error(`the scheduler inserted the runs ${-insertedAheadMs} ms after they were due`);
    await waitFor(
      'every run due to be RUNNING',
      async () => ([...samples.values()].filter((s) => s.runningAt !== null).length >= SCHEDULES ? true : undefined),
      LEAD_MS + SETTLE_MS,
      50,
    );
    const claims = workers.reduce((n, w) => n + w.claims, 0);
    const stopping = workers.splice(0);
    await Promise.all(stopping.map((w) => w.stop()));
    const db = await sql<{ pending: number; running: number }[]>`
      SELECT extract(epoch FROM p.timestamp - r.expected_start_time) * 1000 AS pending,
             extract(epoch FROM s.timestamp - r.expected_start_time) * 1000 AS running
      FROM flow_runs r
      JOIN flow_run_states p ON p.flow_run_id = r.id AND p.type = 'PENDING'
      JOIN flow_run_states s ON s.flow_run_id = r.id AND s.type = 'RUNNING'
      WHERE r.workspace_id = ${api.server.workspaceId} AND r.expected_start_time = ${due}`;
    return {
      ...figures(samples),
      claims,
      dbPending: db.map((r) => Number(r.pending)),
      dbRunning: db.map((r) => Number(r.running)),
      insertedAheadMs,
    };
  } finally {
    await Promise.allSettled(workers.map((w) => w.stop()));
    await scheduler.stop();
    await api.close();
  }
}

const ms = (v: number) => `${v.toFixed(0)} ms`;
const p = (values: number[], q: number) => percentile(values, q);

function describe(label: string, api: ApiFigures, raw: Figures): string {
  const runningSpan = Math.max(...api.dbRunning) - Math.min(...api.dbRunning);
  return `- **${label}**: ${SCHEDULES.toLocaleString('en-US')} runs inserted by the scheduler ${ms(api.insertedAheadMs)} before they were due; \
${api.claims} claims with runs. Database clock (\`flow_run_states\` − expected start): PENDING p50 ${ms(p(api.dbPending, 50))}, \
p95 ${ms(p(api.dbPending, 95))}, max ${ms(Math.max(...api.dbPending))}; RUNNING p50 ${ms(p(api.dbRunning, 50))}, p95 ${ms(p(api.dbRunning, 95))}, \
max ${ms(Math.max(...api.dbRunning))}, the first to the last RUNNING ${ms(runningSpan)} (${(SCHEDULES / (runningSpan / 1000)).toFixed(0)}/s). \
Workers' clock: claim returned p50 ${ms(p(api.claimed, 50))}, p95 ${ms(p(api.claimed, 95))}; RUNNING accepted p50 ${ms(p(api.running, 50))}, \
p95 ${ms(p(api.running, 95))}. Floor (${raw.claims} claims): claimed p50 ${ms(p(raw.claimed, 50))}, p95 ${ms(p(raw.claimed, 95))}; \
RUNNING p50 ${ms(p(raw.running, 50))}, p95 ${ms(p(raw.running, 95))}.`;
}

export let notes = '';

/** The floor on a database of its own, then the API on another. */
async function round(proposal: Proposal): Promise<{ raw: Figures; api: ApiFigures }> {
  const base = await startBenchApi();
  let raw: Figures;
  try {
    raw = await floor(base.server.databaseUrl, proposal);
  } finally {
    await base.close();
  }
  return { raw, api: await throughApi(proposal) };
}

export async function run(): Promise<Row[]> {
  const asWorker = await round('worker');
  const prefetching = await round('prefetch');
  const perClaim = await round('per-claim');
  const name = 'scheduled runs, 1,000 due in one second';
  const floorNote = (proposal: Proposal) =>
    `bare job table, ${WORKERS} timer-woken claimers, UPDATE … SKIP LOCKED (≤ ${CLAIM_MAX} a claim${
      proposal === 'prefetch' ? `, ${PREFETCH_MS / 1000} s ahead` : ''
    }), then ${proposal === 'worker' ? 'one RUNNING INSERT per job' : 'one multi-row RUNNING INSERT per claim'}${
      proposal === 'prefetch' ? ' at the due time' : ''
    }`;
  const rows = (label: string, r: { raw: Figures; api: ApiFigures }, proposal: Proposal, claimed: boolean) => [
    ...(claimed
      ? [50, 95].map((q) =>
          row(`${label}: due → claim returned, p${q}`, p(r.api.claimed, q), 'ms', p(r.raw.claimed, q), floorNote(proposal)),
        )
      : []),
    ...[50, 95].map((q) =>
      row(`${label}: due → RUNNING accepted, p${q}`, p(r.api.running, q), 'ms', p(r.raw.running, q), floorNote(proposal)),
    ),
  ];
  notes = `### scheduled-start: where the time goes
Goal: a scheduled run RUNNING within 100 ms of its due time (p95). ${WORKERS} workers with ${SLOTS} slots, claims of at most ${CLAIM_MAX}.
${describe('claimed when due, RUNNING proposed as the worker does (one request at a time; what queues meanwhile goes together)', asWorker.api, asWorker.raw)}
${describe(`claimed up to ${PREFETCH_MS / 1000} s ahead (\`--prefetch ${PREFETCH_MS / 1000}s\`), each started at its due time, RUNNING proposed as the worker does`, prefetching.api, prefetching.raw)}
${describe('claimed when due, RUNNING proposed once per claim (`POST /work-pools/:pool/runs/set-states`)', perClaim.api, perClaim.raw)}`;
  return [
    ...rows(`${name}, as the worker claims by default`, asWorker, 'worker', true),
    ...rows(`${name}, --prefetch ${PREFETCH_MS / 1000}s`, prefetching, 'prefetch', false),
    ...rows(`${name}, RUNNING once per claim`, perClaim, 'per-claim', false),
  ];
}
