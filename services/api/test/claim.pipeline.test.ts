import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { expect, test } from 'vitest';
import { claimDueRuns, LimitedPools } from '../src/runs/db/claim.js';
import { createRun, deploy, useServer } from './helpers.js';

const api = useServer();

/** A connection of its own that records the first words of every statement it sends. */
function tracedConnection(): { sql: postgres.Sql; sent: string[] } {
  const sent: string[] = [];
  const sql = postgres(api.server.databaseUrl, {
    max: 1,
    onnotice: () => {},
    debug: (_connection, query) => {
      sent.push(query.trim().split(/\s+/).slice(0, 3).join(' '));
    },
  });
  return { sql, sent };
}

async function poolWithDueRun(body: Record<string, unknown>): Promise<string> {
  const pool = `pipe-${randomUUID().slice(0, 8)}`;
  await api.owner('POST', '/work-pools', { body: { name: pool, ...body } });
  const deployment = await deploy(api.owner, { flowName: pool, name: 'd', workPool: pool });
  await createRun(api.owner, deployment.id);
  const [ids] = await api.server.sql<{ id: string }[]>`SELECT id FROM work_pools WHERE name = ${pool}`;
  return ids?.id ?? '';
}

const claimOf = (poolId: string) => ({
  workspaceId: api.server.workspaceId,
  poolId,
  workerId: randomUUID(),
  limit: 1,
  queueNames: null,
  labels: {},
  leaseSeconds: 30,
});

test('a claim of a pool where nothing is limited is one statement, with no transaction around it', async () => {
  const poolId = await poolWithDueRun({});
  const { sql, sent } = tracedConnection();
  try {
    // The connection's own start-up queries (array types) are not the claim's.
    await sql`SELECT 1`;
    sent.length = 0;
    const limitedPools = new LimitedPools();
    const rows = await claimDueRuns(sql, claimOf(poolId), limitedPools);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ state_type: 'PENDING', work_pool_id: poolId, assigned: null });
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatch(/^WITH resources AS/);
    expect(limitedPools.has(poolId)).toBe(false);
    // Nothing left: the statement answers no run, still in one statement.
    sent.length = 0;
    expect(await claimDueRuns(sql, claimOf(poolId), limitedPools)).toEqual([]);
    expect(sent).toHaveLength(1);
  } finally {
    await sql.end({ timeout: 5 });
  }
});

/**
 * The claim sends its lock statements together (runs/db/claim.ts): postgres.js sends a query when it is
 * first awaited, so the order they reach the server in is checked here, on the wire. The lock statements
 * must run inside the transaction (their advisory locks are transaction-scoped) and before the claim.
 */
test('a claim of a limited pool finds the limit in its one statement, claims nothing there, then sends BEGIN, the limit locks, the backfill locks, the claim and COMMIT', async () => {
  // A pool limit, so the limit lock statement locks something.
  const poolId = await poolWithDueRun({ concurrencyLimit: 5 });
  const { sql, sent } = tracedConnection();
  try {
    await sql`SELECT 1`;
    sent.length = 0;
    const limitedPools = new LimitedPools();
    const rows = await claimDueRuns(sql, claimOf(poolId), limitedPools);
    expect(rows).toHaveLength(1);
    const order = sent;
    // The unlocked claim probes the same keys as the lock statement (claim-locks.ts).
    expect(order[0]).toMatch(/^WITH resources AS/);
    expect(order[1]).toMatch(/^begin$/i);
    // The limit lock statement first asks whether any due run asks for resources (claim-locks.ts):
    // with none, the claim sends nothing more for them.
    expect(order[2]).toMatch(/^WITH resources AS/);
    expect(order[3]).toMatch(/^SELECT ordered.id,/);
    expect(order[4]).toMatch(/^WITH queue_room AS/);
    expect(order[5]).toMatch(/^commit$/i);
    expect(order).toHaveLength(6);
    // Remembered: the pool's next claim locks at once.
    expect(limitedPools.has(poolId)).toBe(true);
    await createRun(
      api.owner,
      (await api.server.sql<{ id: string }[]>`SELECT id FROM deployments WHERE work_pool_id = ${poolId}`)[0]?.id ?? '',
    );
    sent.length = 0;
    expect(await claimDueRuns(sql, claimOf(poolId), limitedPools)).toHaveLength(1);
    expect(sent[0]).toMatch(/^begin$/i);
    expect(sent).toHaveLength(5);
  } finally {
    await sql.end({ timeout: 5 });
  }
});
