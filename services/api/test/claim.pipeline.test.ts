import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { expect, onTestFinished, test } from 'vitest';
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

/**
 * The pool's first claim through a traced connection of its own, closed when the test ends: `sent`
 * holds the claim's statements only, not the connection's own start-up queries (array types).
 */
async function tracedFirstClaim(poolId: string) {
  const { sql, sent } = tracedConnection();
  onTestFinished(() => sql.end({ timeout: 5 }));
  await sql`SELECT 1`;
  sent.length = 0;
  const limitedPools = new LimitedPools();
  const rows = await claimDueRuns(sql, claimOf(poolId), limitedPools);
  expect(rows).toHaveLength(1);
  return { sql, sent, limitedPools, rows };
}

test('a claim of a pool where nothing is limited is one statement, with no transaction around it', async () => {
  const poolId = await poolWithDueRun({});
  const { sql, sent, limitedPools, rows } = await tracedFirstClaim(poolId);
  expect(rows[0]).toMatchObject({ state_type: 'PENDING', work_pool_id: poolId, assigned: null });
  expect(sent).toHaveLength(1);
  expect(sent[0]).toMatch(/^WITH resources AS/);
  expect(limitedPools.has(poolId)).toBe(false);
  // Nothing left: the statement answers no run, still in one statement.
  sent.length = 0;
  expect(await claimDueRuns(sql, claimOf(poolId), limitedPools)).toEqual([]);
  expect(sent).toHaveLength(1);
});

/**
 * The claim sends its lock statements together (runs/db/claim.ts): postgres.js sends a query when it is
 * first awaited, so the order they reach the server in is checked here, on the wire. The lock statements
 * must run inside the transaction (their advisory locks are transaction-scoped) and before the claim.
 */
test('a claim of a limited pool finds the limit in its one statement, claims nothing there, then sends BEGIN, the limit locks, the backfill locks, the claim and COMMIT', async () => {
  // A pool limit, so the limit lock statement locks something.
  const poolId = await poolWithDueRun({ concurrencyLimit: 5 });
  const { sql, sent, limitedPools } = await tracedFirstClaim(poolId);
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
});
