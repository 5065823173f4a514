import { createLogger, SchedulerLoop } from '@outpost/api';
import { startTestServer, type TestServer } from '@outpost/api/testing';
import type postgres from 'postgres';
import { type Row, row } from './support/row.js';

/**
 * One scheduler pass over 10,000 active schedules (50 per deployment, 200 deployments): a mix of
 * 40 cron patterns × zones (every 5 and 15 minutes, hourly, daily, weekdays; UTC, New York,
 * Berlin, Tokyo, Sydney) and anchored intervals from 5 minutes to an hour, the way a busy workspace
 * looks. Measured three ways on the real SchedulerLoop.tick():
 * - first fill: every schedule is new, so the pass plans and inserts every run ahead;
 * - steady state: right after, nothing is due, so the pass reads the due index and stops;
 * - re-planning all: every schedule is made due again, so the pass plans all 10,000 and writes
 *   their marks, inserting only what time has added.
 * Baseline: the same number of runs as one raw `INSERT … SELECT FROM unnest(…) ON CONFLICT DO
 * NOTHING` per batch of the same size into the same `flow_runs` table — first as new rows (for the
 * first fill), then again as all-conflicting rows (what a scheduler that simply re-inserts every
 * run each pass would pay, for the other two).
 */
export const timeoutSeconds = 240;

export const notes = `### scheduler-tick: where a first fill's time goes
Each run the scheduler creates is one \`flow_runs\` row plus its first \`flow_run_states\` row, written by one
statement per batch of 500 schedules together with the schedules' new marks. Per row, Postgres runs the foreign-key
triggers of both tables (nine checks), the row triggers on \`flow_runs\`, and the history's statement trigger, which appends
one ledger event a run (about a quarter of a batch's time); the baseline pays the run row's share only.
The runs reach their schedule by a key lookup in one jsonb object: the statement runs a generic plan, which took the
unnested arrays for 10 rows each and joined runs to schedules in a nested loop, 500 × 2,100 rows a batch (3.2× raw before).
The steady-state pass reads the partial index of due schedules and writes nothing.`;

const SCHEDULES = 10_000;
const PER_DEPLOYMENT = 50;
const BATCH = 500;

const CRONS = ['*/5 * * * *', '*/15 * * * *', '0 * * * *', '30 * * * *', '0 */2 * * *', '0 0 * * *', '30 2 * * *', '0 6 * * 1-5'];
const ZONES = ['UTC', 'America/New_York', 'Europe/Berlin', 'Asia/Tokyo', 'Australia/Sydney'];
const INTERVALS = [300, 600, 900, 1800, 3600];

async function seed(sql: postgres.Sql, workspaceId: string): Promise<void> {
  const [ids] = await sql<{ pool: string; queue: string }[]>`
    SELECT p.id AS pool, q.id AS queue FROM work_pools p JOIN work_queues q ON q.work_pool_id = p.id
    WHERE p.workspace_id = ${workspaceId} AND p.name = 'default' AND q.name = 'default'`;
  if (!ids) throw new Error('the default pool is missing');
  const [flow] = await sql<{ id: string }[]>`
    INSERT INTO flows (workspace_id, name) VALUES (${workspaceId}, 'bench-scheduled') RETURNING id`;
  // Every deployment runs the same code, so they share one version (runs are pinned to it).
  const [version] = await sql<{ id: string }[]>`
    INSERT INTO deployment_versions (workspace_id, content_hash, source, entrypoint)
    VALUES (${workspaceId}, 'bench-scheduled', 'dir:///bench', 'flow.mjs') RETURNING id`;
  const deployments = await sql<{ id: string }[]>`
    INSERT INTO deployments (workspace_id, flow_id, name, source, entrypoint, work_pool_id, work_queue_id, parameters, version_id)
    SELECT ${workspaceId}, ${flow?.id ?? ''}, 'd' || g, 'dir:///bench', 'flow.mjs', ${ids.pool}, ${ids.queue}, '{"n": 1}'::jsonb,
           ${version?.id ?? ''}
    FROM generate_series(1, ${SCHEDULES / PER_DEPLOYMENT}) g
    RETURNING id`;
  const deploymentIds: string[] = [];
  const slugs: string[] = [];
  const crons: (string | null)[] = [];
  const zones: (string | null)[] = [];
  const intervals: (number | null)[] = [];
  const anchors: (string | null)[] = [];
  for (let i = 0; i < SCHEDULES; i++) {
    deploymentIds.push(deployments[Math.floor(i / PER_DEPLOYMENT)]?.id ?? '');
    slugs.push(`s${i}`);
    if (i % 5 === 4) {
      crons.push(null);
      zones.push(null);
      intervals.push(INTERVALS[i % INTERVALS.length] as number);
      anchors.push(new Date(Date.UTC(2024, 0, 1, 0, i % 60)).toISOString());
    } else {
      crons.push(CRONS[i % CRONS.length] as string);
      zones.push(ZONES[Math.floor(i / CRONS.length) % ZONES.length] as string);
      intervals.push(null);
      anchors.push(null);
    }
  }
  await sql`
    INSERT INTO deployment_schedules (workspace_id, deployment_id, slug, cron, timezone, interval_seconds, anchor_date)
    SELECT ${workspaceId}, t.deployment_id, t.slug, t.cron, t.timezone, t.interval_seconds, t.anchor_date
    FROM unnest(${sql.array(deploymentIds)}::uuid[], ${sql.array(slugs)}::text[], ${sql.array(crons as string[])}::text[],
                ${sql.array(zones as string[])}::text[], ${sql.array(intervals as number[])}::int[],
                ${sql.array(anchors as string[])}::timestamptz[])
         AS t(deployment_id, slug, cron, timezone, interval_seconds, anchor_date)`;
}

/** `count` runs of one deployment as raw multi-row inserts, `perStatement` rows each; keys `raw:<i>`. */
async function rawInsert(sql: postgres.Sql, workspaceId: string, count: number, perStatement: number): Promise<number> {
  const [d] = await sql<{ id: string; flow_id: string; work_pool_id: string; work_queue_id: string }[]>`
    SELECT id, flow_id, work_pool_id, work_queue_id FROM deployments WHERE workspace_id = ${workspaceId} ORDER BY name LIMIT 1`;
  if (!d) throw new Error('no deployment');
  const started = performance.now();
  for (let from = 0; from < count; from += perStatement) {
    const n = Math.min(perStatement, count - from);
    const keys = Array.from({ length: n }, (_, i) => `raw:${from + i}`);
    const times = Array.from({ length: n }, (_, i) => new Date(Date.now() + (from + i) * 60_000).toISOString());
    await sql`
      INSERT INTO flow_runs (workspace_id, flow_id, deployment_id, work_pool_id, work_queue_id, name, parameters,
                             state_type, state_name, expected_start_time, idempotency_key)
      SELECT ${workspaceId}, ${d.flow_id}, ${d.id}, ${d.work_pool_id}, ${d.work_queue_id}, t.key, '{"n": 1}'::jsonb,
             'SCHEDULED', 'Scheduled', t.at, t.key
      FROM unnest(${sql.array(keys)}::text[], ${sql.array(times)}::timestamptz[]) AS t(key, at)
      ON CONFLICT (workspace_id, deployment_id, idempotency_key) DO NOTHING`;
  }
  return performance.now() - started;
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await fn();
  return { ms: performance.now() - started, value };
}

export async function run(): Promise<Row[]> {
  const server: TestServer = await startTestServer({ loops: false });
  const scheduler = new SchedulerLoop(server.sql, server.databaseUrl, createLogger('silent'), { batchSize: BATCH });
  try {
    await seed(server.sql, server.workspaceId);
    await server.sql`ANALYZE`;
    const first = await timed(() => scheduler.tick());
    const created = first.value.created;
    const steady = await timed(() => scheduler.tick());
    await server.sql`UPDATE deployment_schedules SET next_fill_at = now()`;
    const replan = await timed(() => scheduler.tick());
    if (first.value.schedules !== SCHEDULES || replan.value.schedules !== SCHEDULES) {
      throw new Error(
        `expected every schedule in the first and re-planning passes: ${first.value.schedules}, ${replan.value.schedules}`,
      );
    }
    // The tick writes one statement per batch of 500 schedules; the baseline uses batches of the same row count.
    const perStatement = Math.ceil(created / (SCHEDULES / BATCH));
    const rawNew = await rawInsert(server.sql, server.workspaceId, created, perStatement);
    const rawConflicting = await rawInsert(server.sql, server.workspaceId, created, perStatement);
    const baselineNote = `raw INSERT … ON CONFLICT DO NOTHING of ${created.toLocaleString('en-US')} runs, ${perStatement} rows a statement`;
    return [
      row(
        `scheduler first fill: 10,000 schedules → ${created.toLocaleString('en-US')} runs`,
        first.ms,
        'ms',
        rawNew,
        `${baselineNote}, all new`,
      ),
      row('scheduler steady-state tick (nothing due)', steady.ms, 'ms', rawConflicting, `${baselineNote}, all conflicting`),
      row(
        `scheduler tick re-planning all 10,000 schedules (+${replan.value.created} runs)`,
        replan.ms,
        'ms',
        rawConflicting,
        `${baselineNote}, all conflicting`,
      ),
    ];
  } finally {
    await scheduler.stop();
    await server.close();
  }
}
