import { randomUUID } from 'node:crypto';
import type { Sql } from '../src/db/client.js';
import { type Call, deploy, unique } from './helpers.js';

/** A deployment in a pool of its own with the given schedules (default: hourly from an anchor). */
export async function scheduledDeployment(
  owner: Call,
  extra: Record<string, unknown> = {},
): Promise<{ pool: string; deploymentId: string; name: string }> {
  const pool = unique('pool');
  const created = await owner('POST', '/work-pools', { body: { name: pool } });
  if (created.status !== 201) throw new Error(`pool: ${created.status} ${created.text}`);
  const flowName = unique('bf');
  const d = await deploy(owner, {
    flowName,
    workPool: pool,
    parameters: { region: 'eu', day: null },
    schedules: [{ slug: 'hourly', intervalSeconds: 3600, parameters: { tier: 'gold' } }],
    ...extra,
  });
  return { pool, deploymentId: d.id as string, name: `${flowName}/nightly` };
}

/** A backfill of the deployment's hourly schedule over the first `hours` hours of 2025, and its id. */
export async function hourlyBackfill(owner: Call, deploymentId: string, hours: number, maxConcurrent: number): Promise<string> {
  const res = await owner('POST', `/deployments/${deploymentId}/backfills`, {
    body: { start: '2025-01-01T00:00:00Z', end: new Date(Date.UTC(2025, 0, 1, hours)).toISOString(), maxConcurrent },
  });
  if (res.status !== 201) throw new Error(`backfill: ${res.status} ${res.text}`);
  return res.body.id;
}

export async function setState(worker: Call, runId: string, attempt: number, type: string): Promise<void> {
  const res = await worker('POST', `/flow-runs/${runId}/set-state`, {
    body: { transitionId: randomUUID(), attempt, state: { type } },
  });
  if (res.status !== 200 || res.body.status !== 'ACCEPT') throw new Error(`set-state ${type}: ${res.status} ${res.text}`);
}

export interface ClaimedRun {
  id: string;
  attempt: number;
  partitionKey: string | null;
  parameters: Record<string, unknown>;
}

/** Claims up to `limit` runs of `pool` and moves them to RUNNING. */
export async function start(worker: Call, pool: string, limit: number): Promise<ClaimedRun[]> {
  const res = await worker('POST', `/work-pools/${pool}/claim`, { body: { workerId: randomUUID(), limit } });
  if (res.status !== 200) throw new Error(`claim: ${res.status} ${res.text}`);
  const runs = (res.body.runs as { flowRun: ClaimedRun }[]).map((r) => r.flowRun);
  for (const run of runs) await setState(worker, run.id, run.attempt, 'RUNNING');
  return runs;
}

/** The backfill's runs by whether they are finished, and its partition rows, in one snapshot. */
export async function snapshot(
  sql: Sql,
  backfillId: string,
): Promise<{ runs: number; inFlight: number; rows: number; rowsInFlight: number }> {
  const [row] = await sql<{ runs: number; in_flight: number; rows: number; rows_in_flight: number }[]>`
    SELECT (SELECT count(*)::int FROM flow_runs WHERE backfill_id = ${backfillId}) AS runs,
           (SELECT count(*)::int FROM flow_runs WHERE backfill_id = ${backfillId}
              AND state_type NOT IN ('COMPLETED', 'FAILED', 'CRASHED', 'CANCELLED')) AS in_flight,
           (SELECT count(*)::int FROM backfill_partitions WHERE backfill_id = ${backfillId}) AS rows,
           (SELECT count(*)::int FROM backfill_partitions WHERE backfill_id = ${backfillId}
              AND status IN ('PENDING', 'RUNNING')) AS rows_in_flight`;
  if (!row) throw new Error('no snapshot row');
  return { runs: row.runs, inFlight: row.in_flight, rows: row.rows, rowsInFlight: row.rows_in_flight };
}

/**
 * Samples `snapshot` back to back until `stop()` is called, keeping every sample: each one is a
 * single statement, so it sees one instant of the database.
 */
export function sampler(sql: Sql, backfillId: string) {
  const samples: Awaited<ReturnType<typeof snapshot>>[] = [];
  let running = true;
  const done = (async () => {
    while (running) samples.push(await snapshot(sql, backfillId));
  })();
  return {
    samples,
    stop: async () => {
      running = false;
      await done;
      return samples;
    },
  };
}

/** Partition keys of the backfill's runs with how many runs each has, from the database. */
export async function runsPerKey(sql: Sql, backfillId: string): Promise<Map<string, number>> {
  const rows = await sql<{ key: string; n: number }[]>`
    SELECT coalesce(partition_key, to_char(scheduled_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')) AS key,
           count(*)::int AS n
    FROM flow_runs WHERE backfill_id = ${backfillId} GROUP BY 1`;
  return new Map(rows.map((r) => [r.key, r.n]));
}
