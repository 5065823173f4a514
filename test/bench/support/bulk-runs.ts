import { randomUUID } from 'node:crypto';
import type { OutpostClient } from '@outpost/sdk/client';
import type { DeploymentUpsertRequest } from '@outpost/sdk/contracts';
import type postgres from 'postgres';

/**
 * Copies a run the API created `count` times, each with a new id and name and its own SCHEDULED
 * history row, in two statements: a batched benchmark needs tens of thousands of due runs, and
 * creating them one request at a time would take longer than the measurement. Not measured.
 */
export async function cloneRun(sql: postgres.Sql, runId: string, count: number): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`
      CREATE TEMP TABLE bench_clones ON COMMIT DROP AS
      SELECT gen_random_uuid() AS id, n FROM generate_series(1, ${count}::int) AS n`;
    await tx`
      INSERT INTO flow_runs (id, workspace_id, flow_id, deployment_id, work_pool_id, work_queue_id, name, parameters, tags,
                             labels, state_type, state_name, state_timestamp, attempt, max_retries, retry_delay_seconds,
                             expected_start_time, created_at, updated_at, retry_backoff, retry_jitter)
      SELECT c.id, r.workspace_id, r.flow_id, r.deployment_id, r.work_pool_id, r.work_queue_id, r.name || '-' || c.n, r.parameters,
             r.tags, r.labels, 'SCHEDULED', 'Scheduled', r.state_timestamp, 1, r.max_retries, r.retry_delay_seconds,
             r.expected_start_time, r.created_at, r.updated_at, r.retry_backoff, r.retry_jitter
      FROM flow_runs r CROSS JOIN bench_clones c
      WHERE r.id = ${runId}`;
    await tx`
      INSERT INTO flow_run_states (workspace_id, flow_run_id, attempt, type, name, timestamp)
      SELECT r.workspace_id, c.id, 1, 'SCHEDULED', 'Scheduled', r.state_timestamp
      FROM flow_runs r CROSS JOIN bench_clones c
      WHERE r.id = ${runId}`;
  });
  // A database cloned from the empty template has statistics of empty tables until autovacuum gets
  // to it; a production database has current ones, and without them the plans measured are not its.
  await sql`ANALYZE flow_runs, flow_run_states`;
}

/**
 * `count` SCHEDULED runs of deployment `deploymentId`, all due a second ago, in one statement: the
 * claim benchmarks' backlog. The insert trigger gives each its deployment's resource request.
 */
export async function insertDueRuns(sql: postgres.Sql, deploymentId: string, count: number): Promise<void> {
  await sql`
    INSERT INTO flow_runs (workspace_id, flow_id, deployment_id, work_pool_id, work_queue_id, name, tags, state_type, state_name,
                           expected_start_time)
    SELECT d.workspace_id, d.flow_id, d.id, d.work_pool_id, d.work_queue_id, 'bench-' || g, d.tags, 'SCHEDULED', 'Scheduled',
           now() - interval '1 second'
    FROM deployments d CROSS JOIN generate_series(1, ${count}::int) g
    WHERE d.id = ${deploymentId}`;
}

/**
 * A deployment `d` of flow `pool` on work pool `pool`, whose code is never fetched (`body` adds its
 * tags, limits or resources), with `count` due runs of it inserted by `insertDueRuns`; answers the
 * pool's id.
 */
export async function deployWithDueRuns(
  owner: OutpostClient,
  sql: postgres.Sql,
  pool: string,
  body: Partial<DeploymentUpsertRequest>,
  count: number,
): Promise<string> {
  const deployed = await owner.call('deploymentsUpsert', {
    body: { flowName: pool, name: 'd', source: `dir:///${randomUUID()}`, entrypoint: 'flow.mjs', workPool: pool, ...body },
  });
  if (!deployed.ok) throw new Error(`deploy failed: ${JSON.stringify(deployed)}`);
  const deploymentId = deployed.data.deployment.id;
  await insertDueRuns(sql, deploymentId, count);
  const [row] = await sql<{ id: string }[]>`SELECT work_pool_id AS id FROM deployments WHERE id = ${deploymentId}`;
  return row?.id ?? '';
}

/**
 * `count` runs of deployment `deploymentId` spread evenly over the last week, in every state (three
 * in eight COMPLETED), in one statement: the history the dashboard benchmarks' pages list.
 */
export async function insertWeekOfRuns(sql: postgres.Sql, deploymentId: string, count: number): Promise<void> {
  const spacingSeconds = Math.max(1, Math.floor(600_000 / count));
  await sql`
    INSERT INTO flow_runs (workspace_id, flow_id, deployment_id, work_pool_id, work_queue_id, name, state_type, state_name,
                           expected_start_time, start_time, end_time, created_at, updated_at)
    SELECT d.workspace_id, d.flow_id, d.id, d.work_pool_id, d.work_queue_id, 'bench-run-' || g,
           (ARRAY['COMPLETED','COMPLETED','COMPLETED','FAILED','RUNNING','SCHEDULED','CRASHED','CANCELLED'])[1 + g % 8],
           'Bench', t, t, t + interval '3 seconds', t, t
    FROM generate_series(1, ${count}::int) g
    CROSS JOIN LATERAL (SELECT now() - make_interval(secs => (g * ${spacingSeconds}::int) % 604800) AS t) times
    JOIN deployments d ON d.id = ${deploymentId}`;
}
