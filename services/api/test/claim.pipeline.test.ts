import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { claimDueRuns } from '../src/db/claim.js';
import { startTestServer, type TestServer } from '../src/testing.js';
import { type Call, client, createRun, deploy } from './helpers.js';

let server: TestServer;
let owner: Call;

beforeAll(async () => {
  server = await startTestServer({ loops: false });
  owner = client(server, server.ownerKey);
});
afterAll(async () => {
  await server?.close();
});

/**
 * The claim sends its lock statements together (db/claim.ts): postgres.js sends a query when it is
 * first awaited, so the order they reach the server in is checked here, on the wire. The lock statements
 * must run inside the transaction (their advisory locks are transaction-scoped) and before the claim.
 */
test('a claim sends BEGIN, the limit locks, the backfill locks, the claim and COMMIT, in that order', async () => {
  const pool = `pipe-${randomUUID().slice(0, 8)}`;
  // A pool limit, so the limit lock statement locks something.
  await owner('POST', '/work-pools', { body: { name: pool, concurrencyLimit: 5 } });
  const deployment = await deploy(owner, { flowName: pool, name: 'd', workPool: pool });
  await createRun(owner, deployment.id);
  const [ids] = await server.sql<{ id: string }[]>`SELECT id FROM work_pools WHERE name = ${pool}`;
  const sent: string[] = [];
  const sql = postgres(server.databaseUrl, {
    max: 1,
    onnotice: () => {},
    debug: (_connection, query) => {
      sent.push(query.trim().split(/\s+/).slice(0, 3).join(' '));
    },
  });
  try {
    // The connection's own start-up queries (array types) are not the claim's.
    await sql`SELECT 1`;
    sent.length = 0;
    const rows = await claimDueRuns(sql, {
      workspaceId: server.workspaceId,
      poolId: ids?.id ?? '',
      workerId: randomUUID(),
      limit: 1,
      queueNames: null,
      labels: {},
      leaseSeconds: 30,
    });
    expect(rows).toHaveLength(1);
    const order = sent;
    expect(order[0]).toMatch(/^begin$/i);
    // The limit lock statement first asks whether any due run asks for resources (claim-locks.ts):
    // with none, the claim sends nothing more for them.
    expect(order[1]).toMatch(/^WITH resources AS/);
    expect(order[2]).toMatch(/^SELECT ordered.id,/);
    expect(order[3]).toMatch(/^WITH queue_room AS/);
    expect(order[4]).toMatch(/^commit$/i);
    expect(order).toHaveLength(5);
  } finally {
    await sql.end({ timeout: 5 });
  }
});
