import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createLogger } from '../src/logger.js';
import { LeaseExpiryLoop } from '../src/loops/lease-expiry.js';
import { startTestServer, type TestServer } from '../src/testing/index.js';
import { type Call, claim, client, deploy, eventually } from './helpers.js';

let server: TestServer;
let owner: Call;
const loops: LeaseExpiryLoop[] = [];

beforeAll(async () => {
  server = await startTestServer({ loops: false, leaseSeconds: 1 });
  owner = client(server, server.ownerKey);
});
afterAll(async () => {
  await Promise.all(loops.map((l) => l.stop()));
  await server?.close();
});

test('lease-expiry ticks racing each other (as on two replicas without leadership) crash each expired run once', async () => {
  const pool = `ticks-${randomUUID().slice(0, 8)}`;
  await owner('POST', '/work-pools', { body: { name: pool } });
  const d = await deploy(owner, { flowName: pool, name: 'd', workPool: pool, retries: 1 });
  for (let i = 0; i < 40; i++) await owner('POST', `/deployments/${d.id}/runs`, { body: {} });
  const claimed = await claim(owner, pool, 40);
  expect(claimed).toHaveLength(40);
  const ids = claimed.map((c: { flowRun: { id: string } }) => c.flowRun.id);
  // Started runs: a claimed run that never started would go back to the queue instead.
  for (const c of claimed as { flowRun: { id: string }; token: string }[]) {
    await client(server, c.token)('POST', `/flow-runs/${c.flowRun.id}/set-state`, {
      body: { transitionId: randomUUID(), state: { type: 'RUNNING' } },
    });
  }
  await eventually(
    async () => {
      const [row] = await server.sql<{ live: number }[]>`
        SELECT count(*)::int AS live FROM flow_runs WHERE id = ANY(${server.sql.array(ids)}::uuid[]) AND lease_expires_at >= now()`;
      return row?.live === 0 ? true : undefined;
    },
    10_000,
    'every lease to expire',
  );

  for (let i = 0; i < 4; i++) loops.push(new LeaseExpiryLoop(server.sql, server.databaseUrl, createLogger('silent')));
  const moved = await Promise.all(loops.map((l) => l.tick()));
  // Every run moved once in total, whichever tick got to it first.
  expect(moved.reduce((a, b) => a + b, 0)).toBe(40);
  const rows = await server.sql<{ flow_run_id: string; crashed: number; retries: number }[]>`
    SELECT flow_run_id, count(*) FILTER (WHERE type = 'CRASHED')::int AS crashed,
           count(*) FILTER (WHERE name = 'AwaitingRetry')::int AS retries
    FROM flow_run_states WHERE flow_run_id = ANY(${server.sql.array(ids)}::uuid[])
    GROUP BY flow_run_id`;
  expect(rows).toHaveLength(40);
  for (const r of rows) expect(r).toMatchObject({ crashed: 1, retries: 1 });
});
