import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startTestServer, type TestReplica, type TestServer } from '../src/testing/index.js';
import { type Call, client, createRun, deploy } from './helpers.js';
import { delta, METRICS_TOKEN, scrape } from './metrics.support.js';

// Two apps in one process, on one database and one connection pool: whatever one app caches or
// counts (AppDeps) must stay its own, as it would on two replicas on two machines.

let a: TestServer;
let b: TestReplica;
let ownerA: Call;
let workerA: Call;
let workerB: Call;

beforeAll(async () => {
  a = await startTestServer({ loops: false, metricsToken: METRICS_TOKEN });
  b = await a.startReplica({ loops: false, metricsToken: METRICS_TOKEN });
  ownerA = client(a, a.ownerKey);
  const workerKey = await a.createKey('worker');
  workerA = client(a, workerKey);
  workerB = client(b, workerKey);
});
afterAll(async () => {
  await a?.close();
});

async function viewerKey(): Promise<{ id: string; key: string }> {
  const created = await ownerA('POST', '/api-keys', { body: { name: `viewer-${randomUUID()}`, role: 'viewer' } });
  expect(created.status).toBe(201);
  return { id: created.body.apiKey.id, key: created.body.key };
}

test('a key app A verified moments ago is looked up afresh by app B, which refuses it once it is revoked', async () => {
  const { id, key } = await viewerKey();
  expect((await client(a, key)('GET', '/whoami')).status).toBe(200);
  // Revoked behind both apps' backs, as by another replica.
  await a.sql`UPDATE api_keys SET revoked_at = now() WHERE id = ${id}`;
  // A still believes its own entry for a few seconds (db/api-keys.ts)...
  expect((await client(a, key)('GET', '/whoami')).status).toBe(200);
  // ...but B never saw the key, so it asks the database.
  expect((await client(b, key)('GET', '/whoami')).status).toBe(401);
});

test('a key revoked through app A is forgotten by A at once, while app B keeps its own entry as another replica would', async () => {
  const { id, key } = await viewerKey();
  expect((await client(a, key)('GET', '/whoami')).status).toBe(200);
  expect((await client(b, key)('GET', '/whoami')).status).toBe(200);
  expect((await ownerA('DELETE', `/api-keys/${id}`)).status).toBe(200);
  expect((await client(a, key)('GET', '/whoami')).status).toBe(401);
  expect((await client(b, key)('GET', '/whoami')).status).toBe(200);
});

test("a worker row app A's claim wrote moments ago does not spare app B's claim its own write", async () => {
  const workerId = randomUUID();
  const body = { workerId, limit: 1 };
  const heartbeatAge = async () => {
    const [row] = await a.sql<{ age: number }[]>`
      SELECT extract(epoch FROM now() - last_heartbeat_at)::float8 AS age FROM workers WHERE id = ${workerId}`;
    return row?.age ?? Number.NaN;
  };
  expect((await workerA('POST', '/work-pools/default/claim', { body })).status).toBe(200);
  await a.sql`UPDATE workers SET last_heartbeat_at = now() - interval '1 hour' WHERE id = ${workerId}`;
  // A wrote this row from a claim seconds ago, so its next claim leaves it alone (db/workers.ts).
  expect((await workerA('POST', '/work-pools/default/claim', { body })).status).toBe(200);
  expect(await heartbeatAge()).toBeGreaterThan(3000);
  // B has written nothing for this worker: its claim writes the row.
  expect((await workerB('POST', '/work-pools/default/claim', { body })).status).toBe(200);
  expect(await heartbeatAge()).toBeLessThan(60);
});

test("a worker whose long-poll came back empty on app A is idle to A only: app B's first poll runs the claim", async () => {
  const pool = `idle-${randomUUID().slice(0, 8)}`;
  expect((await ownerA('POST', '/work-pools', { body: { name: pool } })).status).toBe(201);
  const body = { workerId: randomUUID(), limit: 1, waitMs: 50 };
  const claims = 'outpost_claim_duration_seconds_count';

  const beforeA = await scrape(a);
  expect((await workerA('POST', `/work-pools/${pool}/claim`, { body })).body.runs).toEqual([]);
  const afterFirst = await scrape(a);
  expect(delta(beforeA, afterFirst, claims)).toBe(1);
  // Now idle on A: its next poll only looks at the pool's due runs (runs/claim-runs.ts).
  expect((await workerA('POST', `/work-pools/${pool}/claim`, { body })).body.runs).toEqual([]);
  expect(delta(afterFirst, await scrape(a), claims)).toBe(0);

  const beforeB = await scrape(b);
  expect((await workerB('POST', `/work-pools/${pool}/claim`, { body })).body.runs).toEqual([]);
  expect(delta(beforeB, await scrape(b), claims)).toBe(1);
});

test("a transition judged through app A is counted on A's /metrics and not on app B's", async () => {
  const deployment = await deploy(ownerA, { flowName: `counted-${randomUUID().slice(0, 8)}`, name: 'd' });
  const run = await createRun(ownerA, deployment.id);
  // A user's cancel proposes CANCELLING; the rules take a waiting run straight to CANCELLED.
  const cancelled = { to: 'CANCELLING', status: 'ACCEPT' };
  const [beforeA, beforeB] = await Promise.all([scrape(a), scrape(b)]);
  const answer = await ownerA('POST', `/flow-runs/${run.id}/cancel`, { body: {} });
  expect(answer.body.status).toBe('ACCEPT');
  const [afterA, afterB] = await Promise.all([scrape(a), scrape(b)]);
  expect(delta(beforeA, afterA, 'outpost_state_transitions_total', cancelled)).toBe(1);
  expect(delta(beforeB, afterB, 'outpost_state_transitions_total', cancelled)).toBe(0);
});
