import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { expect, test } from 'vitest';
import { claimDueRuns } from '../src/runs/db/claim.js';
import { proposeState } from '../src/runs/db/propose-state.js';
import { deploy, useServer } from './helpers.js';

const api = useServer();

interface Limits {
  pools: Record<string, number>;
  queues: Record<string, number>;
  deployments: Record<string, number>;
  tags: Record<string, number>;
}

async function ok(reply: Promise<{ status: number; text: string }>): Promise<void> {
  const res = await reply;
  if (res.status >= 300) throw new Error(`setup call failed: ${res.status} ${res.text}`);
}

/**
 * Two pools sharing tag limits: pool A with a pool limit, two limited queues and two limited
 * deployments; pool B without limits of its own. Runs carry no tag, `gpu`, `db` or both.
 */
async function setUp(total: number): Promise<{ poolIds: { a: string; b: string }; limits: Limits }> {
  await ok(api.owner('POST', '/work-pools', { body: { name: 'cc-a', concurrencyLimit: 40 } }));
  await ok(api.owner('POST', '/work-pools', { body: { name: 'cc-b' } }));
  await ok(api.owner('POST', '/work-pools/cc-a/queues', { body: { name: 'q1', priority: 1, concurrencyLimit: 15 } }));
  await ok(api.owner('POST', '/work-pools/cc-a/queues', { body: { name: 'q2', priority: 2, concurrencyLimit: 20 } }));
  await ok(api.owner('POST', '/concurrency-limits', { body: { tag: 'gpu', limit: 8 } }));
  await ok(api.owner('POST', '/concurrency-limits', { body: { tag: 'db', limit: 6 } }));
  const specs = [
    { name: 'limited-5', workPool: 'cc-a', workQueue: 'q1', concurrencyLimit: 5 },
    { name: 'limited-10', workPool: 'cc-a', workQueue: 'q2', concurrencyLimit: 10 },
    { name: 'free-default', workPool: 'cc-a' },
    { name: 'free-q1', workPool: 'cc-a', workQueue: 'q1' },
    { name: 'pool-b', workPool: 'cc-b' },
  ];
  const deployments = [];
  for (const spec of specs) deployments.push(await deploy(api.owner, { flowName: 'contended', ...spec }));
  const ids = deployments.map((d) => d.id as string);
  await api.server.sql`
    INSERT INTO flow_runs (workspace_id, flow_id, deployment_id, work_pool_id, work_queue_id, name, tags, state_type, state_name,
                           expected_start_time)
    SELECT d.workspace_id, d.flow_id, d.id, d.work_pool_id, d.work_queue_id, 'run-' || g,
           CASE g % 4 WHEN 0 THEN '{}'::text[] WHEN 1 THEN '{gpu}' WHEN 2 THEN '{db}' ELSE '{gpu,db}' END,
           'SCHEDULED', 'Scheduled', now() - interval '1 second'
    FROM generate_series(1, ${total}) g
    JOIN deployments d ON d.id = (${api.server.sql.array(ids)}::uuid[])[1 + (g / 4) % 5]`;
  const pools = await api.server.sql<
    { id: string; name: string }[]
  >`SELECT id, name FROM work_pools WHERE name IN ('cc-a', 'cc-b')`;
  const queues = await api.server.sql<{ id: string; name: string }[]>`
    SELECT q.id, q.name FROM work_queues q JOIN work_pools p ON p.id = q.work_pool_id WHERE p.name = 'cc-a'`;
  const poolId = (name: string) => pools.find((p) => p.name === name)?.id ?? '';
  const queueId = (name: string) => queues.find((q) => q.name === name)?.id ?? '';
  return {
    poolIds: { a: poolId('cc-a'), b: poolId('cc-b') },
    limits: {
      pools: { [poolId('cc-a')]: 40 },
      queues: { [queueId('q1')]: 15, [queueId('q2')]: 20 },
      deployments: { [ids[0] ?? '']: 5, [ids[1] ?? '']: 10 },
      tags: { gpu: 8, db: 6 },
    },
  };
}

interface Interval {
  start: number;
  end: number;
  keys: string[];
}

/**
 * Replays the state history (one database clock) into the most runs holding a slot at once per
 * limit key. A slot is held from the PENDING record until the next record of another type that is
 * not RUNNING or CANCELLING; at equal timestamps an end is counted before a start, since the
 * history records a claim after the release it relied on was committed.
 */
function maxConcurrent(intervals: Interval[]): Map<string, number> {
  const events: { at: number; delta: number; keys: string[] }[] = [];
  for (const i of intervals) {
    events.push({ at: i.start, delta: 1, keys: i.keys }, { at: i.end, delta: -1, keys: i.keys });
  }
  events.sort((x, y) => x.at - y.at || x.delta - y.delta);
  const current = new Map<string, number>();
  const max = new Map<string, number>();
  for (const e of events) {
    for (const key of e.keys) {
      const n = (current.get(key) ?? 0) + e.delta;
      current.set(key, n);
      if (n > (max.get(key) ?? 0)) max.set(key, n);
    }
  }
  return max;
}

test('20 concurrent claimers over 5,000 due runs claim each once and never exceed a pool, queue, deployment or tag limit', async () => {
  const total = 5000;
  const { poolIds, limits } = await setUp(total);
  const connections = Array.from({ length: 20 }, () => postgres(api.server.databaseUrl, { max: 1, onnotice: () => {} }));
  let completed = 0;
  const deadline = Date.now() + 240_000;
  try {
    const started = performance.now();
    const claimedBy = await Promise.all(
      connections.map(async (sql, i) => {
        const poolId = i < 14 ? poolIds.a : poolIds.b;
        const workerId = randomUUID();
        const got: string[] = [];
        while (completed < total) {
          if (Date.now() > deadline) throw new Error(`only ${completed} of ${total} runs completed in time`);
          const rows = await claimDueRuns(sql, {
            workspaceId: api.server.workspaceId,
            poolId,
            workerId,
            limit: 1 + (i % 8),
            queueNames: null,
            labels: {},
            leaseSeconds: 300,
          });
          if (rows.length === 0) {
            // Nothing claimable for now (limits full or pool drained): poll again shortly. Every claim of
            // these pools takes the same limit locks, so idle claimers back off to let busy ones through.
            await new Promise((resolve) => setTimeout(resolve, 25));
            continue;
          }
          for (const row of rows) {
            got.push(row.id);
            for (const type of ['RUNNING', 'COMPLETED'] as const) {
              const answer = await proposeState(sql, null, {
                workspaceId: api.server.workspaceId,
                runId: row.id,
                transitionId: randomUUID(),
                state: { type },
                attempt: row.attempt,
                actor: 'worker',
              });
              expect(answer?.status).toBe('ACCEPT');
            }
            completed++;
          }
        }
        return got;
      }),
    );
    const elapsed = performance.now() - started;
    const all = claimedBy.flat();
    expect(all).toHaveLength(total);
    expect(new Set(all).size).toBe(total);
    console.info(`20 claimers completed ${total} limited runs in ${Math.round(elapsed)} ms`);
  } finally {
    await Promise.all(connections.map((sql) => sql.end({ timeout: 5 })));
  }

  const history = await api.server.sql<
    {
      flow_run_id: string;
      type: string;
      at: number;
      work_pool_id: string;
      work_queue_id: string;
      deployment_id: string;
      tags: string[];
    }[]
  >`
    -- A transition's record carries the database clock rounded to the millisecond (run-states.ts),
    -- a claim's the exact statement time: compared on the coarser grid, so a release rounded up can
    -- not seem to end after the claim that relied on it (rounding keeps the order).
    SELECT s.flow_run_id, s.type, (extract(epoch FROM s.timestamp::timestamptz(3)) * 1000)::float8 AS at,
           r.work_pool_id, r.work_queue_id, r.deployment_id, r.tags
    FROM flow_run_states s JOIN flow_runs r ON r.id = s.flow_run_id
    WHERE r.workspace_id = ${api.server.workspaceId}
    ORDER BY s.flow_run_id, s.seq`;
  const intervals: Interval[] = [];
  const pendingCount = new Map<string, number>();
  let open: { runId: string; start: number; keys: string[] } | null = null;
  for (const h of history) {
    if (open && open.runId !== h.flow_run_id) throw new Error(`run ${open.runId} never left its slot`);
    if (h.type === 'PENDING') {
      pendingCount.set(h.flow_run_id, (pendingCount.get(h.flow_run_id) ?? 0) + 1);
      open = {
        runId: h.flow_run_id,
        start: h.at,
        keys: [
          `pool:${h.work_pool_id}`,
          `queue:${h.work_queue_id}`,
          `deployment:${h.deployment_id}`,
          ...h.tags.map((t) => `tag:${t}`),
        ],
      };
    } else if (open && !['RUNNING', 'CANCELLING'].includes(h.type)) {
      intervals.push({ start: open.start, end: h.at, keys: open.keys });
      open = null;
    }
  }
  expect(open).toBeNull();
  expect(pendingCount.size).toBe(total);
  expect([...pendingCount.values()].every((n) => n === 1)).toBe(true);

  const max = maxConcurrent(intervals);
  const observed: Record<string, { max: number; limit: number }> = {};
  const check = (kind: string, table: Record<string, number>) => {
    for (const [id, limit] of Object.entries(table)) {
      const peak = max.get(`${kind}:${id}`) ?? 0;
      observed[`${kind}:${id.slice(0, 8)}`] = { max: peak, limit };
      expect(peak, `${kind} ${id}`).toBeLessThanOrEqual(limit);
      // The limit was in play: it held runs back at some point rather than never being reached.
      expect(peak, `${kind} ${id}`).toBeGreaterThan(0);
    }
  };
  check('pool', limits.pools);
  check('queue', limits.queues);
  check('deployment', limits.deployments);
  check('tag', limits.tags);
  console.info(`peak slots per limit: ${JSON.stringify(observed)}`);
  // The shared tag limits were filled to the brim at some point by claimers of both pools.
  expect(max.get('tag:gpu')).toBe(8);
  expect(max.get('tag:db')).toBe(6);
}, 300_000);
