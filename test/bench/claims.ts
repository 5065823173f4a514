import { randomUUID } from 'node:crypto';
import { type ClaimInput, claimDueRuns } from '@outpost/api';
import { startTestServer, type TestServer } from '@outpost/api/testing';
import { OutpostClient } from '@outpost/sdk/client';
import postgres from 'postgres';
import { deployWithDueRuns } from './support/bulk-runs.js';
import { type Row, row } from './support/row.js';

/**
 * Claims per second at 1, 4 and 16 concurrent claimers, one run per claim, each claimer on a
 * connection of its own:
 * - through the real claim function (`claimDueRuns`) on a pool without limits;
 * - the same with every kind of limit in play (pool, queue, deployment and tag, all generous so they
 *   never bind), which makes each claim take its ordered advisory locks and count slots: the price
 *   of exact limits. Claimed runs stay PENDING here, so the slots counted grow to 1,200 by the end,
 *   where real limits keep them at most the limit;
 * - through `POST /work-pools/:pool/claim` over HTTP on 127.0.0.1 (run tokens signed, contract checked).
 * Baseline, in the same database and the same run, right before each: a bare job table drained by
 * the same number of connections with `UPDATE … FROM (SELECT … ORDER BY … LIMIT 1 FOR UPDATE SKIP
 * LOCKED) … RETURNING`, the least a SKIP LOCKED queue can do per claim.
 */
export const timeoutSeconds = 300;

const CLAIMERS = [1, 4, 16] as const;
/** Runs (and raw jobs) per measurement: enough for a steady rate, few enough for the time limit. */
const RUNS = 1200;
/** A measurement stops claiming after this and rates what it claimed. */
const BUDGET_MS = 10_000;

interface Scenario {
  name: string;
  /** Seeds RUNS due runs and returns one claim for a claimer (true while it got a run). */
  prepare(): Promise<(claimer: Claimer) => Promise<boolean>>;
}

interface Claimer {
  sql: postgres.Sql;
  workerId: string;
  http: OutpostClient;
}

/** Drives `count` claimers until each finds nothing or the budget is spent; claims per second. */
async function measure(claimers: Claimer[], claim: (c: Claimer) => Promise<boolean>): Promise<number> {
  let claims = 0;
  const started = performance.now();
  const deadline = Date.now() + BUDGET_MS;
  await Promise.all(
    claimers.map(async (c) => {
      while (Date.now() < deadline && (await claim(c))) claims++;
    }),
  );
  return claims / ((performance.now() - started) / 1000);
}

async function rawBaseline(sql: postgres.Sql, claimers: Claimer[]): Promise<number> {
  await sql`DROP TABLE IF EXISTS bench_claim_jobs`;
  await sql`
    CREATE TABLE bench_claim_jobs (
      id bigserial PRIMARY KEY, state text NOT NULL, worker uuid, lease_expires_at timestamptz,
      run_at timestamptz NOT NULL DEFAULT now() - interval '1 second')`;
  await sql`CREATE INDEX bench_claim_jobs_due ON bench_claim_jobs (run_at) WHERE state = 'queued'`;
  await sql`INSERT INTO bench_claim_jobs (state) SELECT 'queued' FROM generate_series(1, ${RUNS})`;
  await sql`ANALYZE bench_claim_jobs`;
  return measure(claimers, async (c) => {
    const rows = await c.sql`
      UPDATE bench_claim_jobs j SET state = 'claimed', worker = ${c.workerId}, lease_expires_at = now() + interval '30 seconds'
      FROM (SELECT id FROM bench_claim_jobs WHERE state = 'queued' AND run_at <= now()
            ORDER BY run_at, id LIMIT 1 FOR UPDATE SKIP LOCKED) due
      WHERE j.id = due.id
      RETURNING j.id`;
    return rows.length > 0;
  });
}

/** A new pool (optionally limited) with RUNS due runs of one deployment, inserted in one statement. */
async function seedPool(server: TestServer, owner: OutpostClient, limited: boolean): Promise<{ pool: string; poolId: string }> {
  const pool = `bench-${randomUUID().slice(0, 8)}`;
  const tag = `bench-tag-${pool}`;
  const ok = (r: { ok: boolean }) => {
    if (!r.ok) throw new Error(`bench setup failed: ${JSON.stringify(r)}`);
  };
  ok(await owner.call('poolsCreate', { body: { name: pool, ...(limited ? { concurrencyLimit: 100_000 } : {}) } }));
  if (limited) {
    ok(await owner.call('queuesUpdate', { params: { pool, queue: 'default' }, body: { concurrencyLimit: 100_000 } }));
    ok(await owner.call('concurrencyLimitsCreate', { body: { tag, limit: 100_000 } }));
  }
  const poolId = await deployWithDueRuns(
    owner,
    server.sql,
    pool,
    limited ? { concurrencyLimit: 100_000, tags: [tag] } : {},
    RUNS,
  );
  await server.sql`ANALYZE flow_runs`;
  return { pool, poolId };
}

function claimInput(server: TestServer, poolId: string, workerId: string): ClaimInput {
  return { workspaceId: server.workspaceId, poolId, workerId, limit: 1, queueNames: null, labels: {}, leaseSeconds: 300 };
}

export async function run(): Promise<Row[]> {
  const server = await startTestServer({ loops: false, logLevel: 'silent' });
  const owner = new OutpostClient({ baseUrl: server.url, token: server.ownerKey });
  const workerKey = await server.createKey('worker');
  const connections: postgres.Sql[] = [];
  const claimers: Claimer[] = [];
  const rows: Row[] = [];
  try {
    for (let i = 0; i < Math.max(...CLAIMERS); i++) {
      const sql = postgres(server.databaseUrl, { max: 1, onnotice: () => {} });
      connections.push(sql);
      claimers.push({ sql, workerId: randomUUID(), http: new OutpostClient({ baseUrl: server.url, token: workerKey }) });
    }
    const scenarios: Scenario[] = [
      {
        name: 'claim function, no limits',
        prepare: async () => {
          const { poolId } = await seedPool(server, owner, false);
          return async (c) => (await claimDueRuns(c.sql, claimInput(server, poolId, c.workerId))).length > 0;
        },
      },
      {
        name: 'claim function, pool+queue+deployment+tag limits',
        prepare: async () => {
          const { poolId } = await seedPool(server, owner, true);
          return async (c) => (await claimDueRuns(c.sql, claimInput(server, poolId, c.workerId))).length > 0;
        },
      },
      {
        name: 'claim over HTTP, no limits',
        prepare: async () => {
          const { pool } = await seedPool(server, owner, false);
          return async (c) => {
            const res = await c.http.call('claim', { params: { pool }, body: { workerId: c.workerId, limit: 1 } });
            if (!res.ok) throw new Error(`claim failed: ${JSON.stringify(res)}`);
            return res.data.runs.length > 0;
          };
        },
      },
    ];
    for (const scenario of scenarios) {
      for (const count of CLAIMERS) {
        const active = claimers.slice(0, count);
        const baseline = await rawBaseline(server.sql, active);
        const claim = await scenario.prepare();
        const value = await measure(active, claim);
        rows.push(
          row(
            `${scenario.name}, ${count} claimer${count === 1 ? '' : 's'}`,
            Math.round(value),
            'claims/s',
            Math.round(baseline),
            'raw UPDATE … FROM (SELECT … FOR UPDATE SKIP LOCKED LIMIT 1) on a bare job table, same database, same claimers',
          ),
        );
      }
    }
    await server.sql`DROP TABLE IF EXISTS bench_claim_jobs`;
    return rows;
  } finally {
    await Promise.all(claimers.map((c) => c.http.close()));
    await Promise.all(connections.map((c) => c.end({ timeout: 5 })));
    await owner.close();
    await server.close();
  }
}
