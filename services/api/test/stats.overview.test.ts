import type { StatsOverviewResponse } from '@outpost/sdk/contracts';
import { describe, expect, test } from 'vitest';
import { type Call, client, deploy, useServer } from './helpers.js';

const api = useServer();

interface Deployed {
  id: string;
  flowId: string;
}

/** Inserts runs behind the API's back at exact times and states (the dashboard only reads them). */
async function insertRuns(
  workspaceId: string,
  deployment: Deployed,
  runs: { minutesAgo: number; state: string; name?: string }[],
): Promise<void> {
  for (const run of runs) {
    await api.server.sql`
      INSERT INTO flow_runs (workspace_id, flow_id, deployment_id, work_pool_id, work_queue_id, name, state_type, state_name,
                             expected_start_time)
      SELECT ${workspaceId}, ${deployment.flowId}, d.id, d.work_pool_id, d.work_queue_id, ${run.name ?? 'r'},
             ${run.state}, ${run.name === 'late' ? 'Late' : run.state.charAt(0) + run.state.slice(1).toLowerCase()},
             now() - make_interval(mins => ${run.minutesAgo})
      FROM deployments d WHERE d.id = ${deployment.id}`;
  }
}

async function overview(window?: string, call: Call = api.owner): Promise<StatsOverviewResponse> {
  const res = await call('GET', `/stats/overview${window ? `?window=${window}` : ''}`);
  expect(res.status, res.text).toBe(200);
  return res.body;
}

describe('overview statistics', () => {
  test('counts, buckets, failure rate, late runs and busiest deployments match the runs in the window', async () => {
    const etl = await deploy(api.owner, { flowName: 'etl', name: 'hourly' });
    const train = await deploy(api.owner, { flowName: 'train', name: 'nightly' });
    await insertRuns(api.server.workspaceId, etl, [
      { minutesAgo: 10, state: 'COMPLETED' },
      { minutesAgo: 20, state: 'COMPLETED' },
      { minutesAgo: 30, state: 'FAILED' },
      { minutesAgo: 90, state: 'CRASHED' },
      { minutesAgo: 5, state: 'RUNNING' },
      { minutesAgo: 60 * 30, state: 'COMPLETED' }, // outside 24h, inside 7d
    ]);
    await insertRuns(api.server.workspaceId, train, [
      { minutesAgo: 15, state: 'COMPLETED' },
      { minutesAgo: 45, state: 'SCHEDULED', name: 'late' },
      { minutesAgo: 600, state: 'CANCELLED' },
    ]);

    const day = await overview();
    expect(day.window).toBe('24h');
    expect(day.bucketSeconds).toBe(3600);
    expect(day.buckets).toHaveLength(24);
    expect(Date.parse(day.to) - Date.parse(day.from)).toBe(24 * 3600 * 1000);
    expect(Date.parse(day.to) % (3600 * 1000)).toBe(0);
    expect(Date.parse(day.to)).toBeGreaterThan(Date.now() - 60_000);
    expect(day.totals.runs).toBe(8);
    expect(day.totals.counts).toEqual({ COMPLETED: 3, FAILED: 1, CRASHED: 1, RUNNING: 1, SCHEDULED: 1, CANCELLED: 1 });
    // (FAILED + CRASHED) / terminal runs = 2 / 6
    expect(day.totals.failureRate).toBeCloseTo(2 / 6, 10);
    const perBucket = day.buckets.reduce((sum, b) => sum + Object.values(b.counts).reduce((s, n) => s + (n ?? 0), 0), 0);
    expect(perBucket).toBe(8);
    // Each run sits in the bucket holding its expected start time.
    const tenHoursAgo = day.buckets.find((b) => b.counts.CANCELLED);
    const start = Date.parse(tenHoursAgo?.start ?? '');
    expect(Date.now() - 600 * 60_000).toBeGreaterThanOrEqual(start);
    expect(Date.now() - 600 * 60_000).toBeLessThan(start + 3600 * 1000);
    expect(day.busiestDeployments).toEqual([
      { deploymentId: etl.id, flowName: 'etl', deploymentName: 'hourly', runs: 5, failed: 2 },
      { deploymentId: train.id, flowName: 'train', deploymentName: 'nightly', runs: 3, failed: 0 },
    ]);
    expect(day.late.count).toBe(1);
    expect(day.late.items).toEqual([expect.objectContaining({ name: 'late', flowName: 'train', deploymentName: 'nightly' })]);

    const hour = await overview('1h');
    expect(hour.bucketSeconds).toBe(300);
    expect(hour.buckets).toHaveLength(12);
    expect(hour.totals.runs).toBe(6);
    const week = await overview('7d');
    expect(week.bucketSeconds).toBe(21600);
    expect(week.buckets).toHaveLength(28);
    expect(week.totals.runs).toBe(9);
    expect(week.totals.counts.COMPLETED).toBe(4);
  });

  test('another workspace sees none of it, and an unknown window is a 400', async () => {
    const other = client(api.server, (await api.server.createWorkspace()).ownerKey);
    const theirs = await overview('7d', other);
    expect(theirs.totals).toEqual({ runs: 0, counts: {}, failureRate: null });
    expect(theirs.late).toEqual({ count: 0, items: [] });
    expect(theirs.busiestDeployments).toEqual([]);
    expect(theirs.buckets.every((b) => Object.keys(b.counts).length === 0)).toBe(true);
    const bad = await api.owner('GET', '/stats/overview?window=2d');
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: { path: string }) => e.path)).toEqual(['query.window']);
  });
});

describe('with 100,000 runs', () => {
  // Measured on a 2-core machine with Postgres 15, vacuumed as autovacuum would: ~60 ms for 24h (~14,000
  // runs in the window) and ~180 ms for 7d (all 100,000), index-only scans of flow_runs_stats_idx; before
  // vacuum, with heap visibility checks, ~90 ms and ~310 ms.
  test('the overview aggregates 100,000 runs across windows and keeps the ten busiest deployments', async () => {
    const ws = await api.server.createWorkspace();
    const call = client(api.server, ws.ownerKey);
    const deployments = await Promise.all(
      Array.from({ length: 20 }, (_, i) => deploy(call, { flowName: `bulk-${i % 5}`, name: `d${i}` })),
    );
    await api.server.sql`
      INSERT INTO flow_runs (workspace_id, flow_id, deployment_id, work_pool_id, work_queue_id, name, state_type, state_name,
                             expected_start_time)
      SELECT ${ws.workspaceId}, d.flow_id, d.id, d.work_pool_id, d.work_queue_id, 'bulk-' || g,
             (ARRAY['COMPLETED','COMPLETED','COMPLETED','FAILED','RUNNING','SCHEDULED','CRASHED','CANCELLED'])[1 + g % 8],
             'x', now() - make_interval(secs => (g * 6) % 604800)
      FROM generate_series(1, 100000) g
      JOIN deployments d ON d.id = (${api.server.sql.array(deployments.map((d) => d.id))}::uuid[])[1 + g % 20]`;
    await api.server.sql`VACUUM ANALYZE flow_runs`;
    for (const window of ['24h', '7d']) {
      const stats = await overview(window, call);
      expect(stats.totals.runs).toBeGreaterThan(window === '7d' ? 95_000 : 13_000);
      expect(stats.busiestDeployments).toHaveLength(10);
    }
  });
});
