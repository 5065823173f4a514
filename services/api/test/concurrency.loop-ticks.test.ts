import { randomUUID } from 'node:crypto';
import { afterAll, expect, test } from 'vitest';
import { createLogger } from '../src/logger.js';
import { LeaseExpiryLoop } from '../src/loops/lease-expiry.js';
import { claim, client, deploy, eventually, useServer } from './helpers.js';

const loops: LeaseExpiryLoop[] = [];

const api = useServer({ loops: false, leaseSeconds: 1 });

afterAll(async () => {
  await Promise.all(loops.map((l) => l.stop()));
});

test('lease-expiry ticks racing each other (as on two replicas without leadership) crash each expired run once', async () => {
  const pool = `ticks-${randomUUID().slice(0, 8)}`;
  await api.owner('POST', '/work-pools', { body: { name: pool } });
  const d = await deploy(api.owner, { flowName: pool, name: 'd', workPool: pool, retries: 1 });
  for (let i = 0; i < 40; i++) await api.owner('POST', `/deployments/${d.id}/runs`, { body: {} });
  const claimed = await claim(api.owner, pool, 40);
  expect(claimed).toHaveLength(40);
  const ids = claimed.map((c: { flowRun: { id: string } }) => c.flowRun.id);
  // Started runs: a claimed run that never started would go back to the queue instead.
  for (const c of claimed as { flowRun: { id: string }; token: string }[]) {
    await client(api.server, c.token)('POST', `/flow-runs/${c.flowRun.id}/set-state`, {
      body: { transitionId: randomUUID(), state: { type: 'RUNNING' } },
    });
  }
  await eventually(
    async () => {
      const [row] = await api.server.sql<{ live: number }[]>`
        SELECT count(*)::int AS live FROM flow_runs WHERE id = ANY(${api.server.sql.array(ids)}::uuid[]) AND lease_expires_at >= now()`;
      return row?.live === 0 ? true : undefined;
    },
    10_000,
    'every lease to expire',
  );

  for (let i = 0; i < 4; i++) loops.push(new LeaseExpiryLoop(api.server.sql, api.server.databaseUrl, createLogger('silent')));
  const moved = await Promise.all(loops.map((l) => l.tick()));
  // Every run moved once in total, whichever tick got to it first.
  expect(moved.reduce((a, b) => a + b, 0)).toBe(40);
  const rows = await api.server.sql<{ flow_run_id: string; crashed: number; retries: number }[]>`
    SELECT flow_run_id, count(*) FILTER (WHERE type = 'CRASHED')::int AS crashed,
           count(*) FILTER (WHERE name = 'AwaitingRetry')::int AS retries
    FROM flow_run_states WHERE flow_run_id = ANY(${api.server.sql.array(ids)}::uuid[])
    GROUP BY flow_run_id`;
  expect(rows).toHaveLength(40);
  for (const r of rows) expect(r).toMatchObject({ crashed: 1, retries: 1 });
});
