import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, test } from 'vitest';
import { startTestServer } from '../src/testing/index.js';
import { type Call, claim, client, createRun, deploy, eventually, useServer } from './helpers.js';
import { delta, METRICS_TOKEN, type Scrape, scrape } from './metrics.support.js';

let workerKey: string;
let worker: Call;
let workspace: string;

const api = useServer({ loops: false, metricsToken: METRICS_TOKEN });

beforeAll(async () => {
  workerKey = await api.server.createKey('worker', ['default']);
  worker = client(api.server, workerKey);
  const [row] = await api.server.sql<{ slug: string }[]>`SELECT slug FROM workspaces WHERE id = ${api.server.workspaceId}`;
  workspace = row?.slug ?? '';
});

const line = (seq: number) => ({ seq, timestamp: new Date().toISOString(), level: 'info', message: `line ${seq}` });
const lines = (from: number, count: number) => Array.from({ length: count }, (_, i) => line(from + i));

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;

describe('counters and histograms', () => {
  test('a run claimed, started, logged and completed moves each counter by exactly its share', async () => {
    const deployment = await deploy(api.owner, { flowName: 'metered', name: 'm' });
    const before = await scrape(api.server);

    // Two minutes overdue when claimed: the dispatch delay lands between the 60 s and 300 s buckets.
    const run = await createRun(api.owner, deployment.id, { scheduledTime: new Date(Date.now() - 120_000).toISOString() });
    const [claimed] = await claim(worker);
    expect(claimed.flowRun.id).toBe(run.id);
    const id: string = run.id;
    const asRun = client(api.server, claimed.token);

    // RUNNING, carrying two lines; the redelivery replays the answer and is not judged again.
    const running = { transitionId: randomUUID(), state: { type: 'RUNNING' }, logs: lines(1, 2) };
    expect((await asRun('POST', `/flow-runs/${id}/set-state`, { body: running })).body.status).toBe('ACCEPT');
    expect((await asRun('POST', `/flow-runs/${id}/set-state`, { body: running })).body.status).toBe('ACCEPT');
    // Three lines through the logs route, then the same three again: duplicates are not ingested.
    expect((await asRun('POST', `/flow-runs/${id}/logs`, { body: { attempt: 1, logs: lines(3, 3) } })).body.accepted).toBe(3);
    expect((await asRun('POST', `/flow-runs/${id}/logs`, { body: { attempt: 1, logs: lines(3, 3) } })).body.accepted).toBe(0);
    // Four lines and COMPLETED through the worker's batch routes.
    const batchLogs = await worker('POST', '/work-pools/default/runs/logs', {
      body: { items: [{ flowRunId: id, attempt: 1, logs: lines(6, 4) }] },
    });
    expect(batchLogs.body.items[0].accepted).toBe(4);
    const completed = await worker('POST', '/work-pools/default/runs/set-states', {
      body: { items: [{ flowRunId: id, transitionId: randomUUID(), attempt: 1, state: { type: 'COMPLETED' } }] },
    });
    expect(completed.body.items[0].answer.status).toBe('ACCEPT');
    // A proposal the rules refuse, and one from an attempt that does not exist.
    const late = await api.owner('POST', `/flow-runs/${id}/set-state`, {
      body: { transitionId: randomUUID(), state: { type: 'RUNNING' } },
    });
    expect(late.status).toBe(200);
    const refusal: string = late.body.status;
    expect(refusal).not.toBe('ACCEPT');
    const stale = await api.owner('POST', `/flow-runs/${id}/set-state`, {
      body: { transitionId: randomUUID(), attempt: 7, state: { type: 'RUNNING' } },
    });
    expect(stale.status).toBe(409);
    // A path no route answers.
    expect((await api.owner('GET', `/flow-runs/${id}/no-such-thing`)).status).toBe(404);

    const after = await scrape(api.server);
    const moved = (name: string, labels?: Record<string, string>) => delta(before, after, name, labels);

    expect(moved('outpost_claimed_runs_total')).toBe(1);
    expect(moved('outpost_claim_duration_seconds_count')).toBe(1);
    expect(moved('outpost_dispatch_delay_seconds_count')).toBe(1);
    expect(moved('outpost_dispatch_delay_seconds_bucket', { le: '60' })).toBe(0);
    expect(moved('outpost_dispatch_delay_seconds_bucket', { le: '300' })).toBe(1);
    expect(moved('outpost_dispatch_delay_seconds_sum')).toBeGreaterThanOrEqual(119);

    expect(moved('outpost_state_transitions_total', { to: 'RUNNING', status: 'ACCEPT' })).toBe(1);
    expect(moved('outpost_state_transitions_total', { to: 'COMPLETED', status: 'ACCEPT' })).toBe(1);
    expect(moved('outpost_state_transitions_total', { to: 'RUNNING', status: refusal })).toBe(1);
    expect(moved('outpost_state_transitions_total', { to: 'RUNNING', status: 'STALE' })).toBe(1);
    const judged = after
      .labelSets('outpost_state_transitions_total')
      .reduce((sum, labels) => sum + moved('outpost_state_transitions_total', labels), 0);
    expect(judged).toBe(4);

    expect(moved('outpost_log_lines_ingested_total')).toBe(2 + 3 + 4);

    const requests = (method: string, route: string, status: string) =>
      moved('outpost_http_requests_total', { method, route, status });
    expect(requests('POST', '/api/v1/deployments/:id/runs', '201')).toBe(1);
    expect(requests('POST', '/api/v1/work-pools/:pool/claim', '200')).toBe(1);
    expect(requests('POST', '/api/v1/flow-runs/:id/set-state', '200')).toBe(3);
    expect(requests('POST', '/api/v1/flow-runs/:id/set-state', '409')).toBe(1);
    expect(requests('POST', '/api/v1/flow-runs/:id/logs', '200')).toBe(2);
    expect(requests('POST', '/api/v1/work-pools/:pool/runs/logs', '200')).toBe(1);
    expect(requests('POST', '/api/v1/work-pools/:pool/runs/set-states', '200')).toBe(1);
    expect(requests('GET', 'unmatched', '404')).toBe(1);
    // The first scrape is counted once it has been answered, so the second one shows it.
    expect(requests('GET', '/metrics', '200')).toBe(1);
    expect(
      moved('outpost_http_request_duration_seconds_count', { method: 'POST', route: '/api/v1/flow-runs/:id/set-state' }),
    ).toBe(4);

    assertNothingLeaks(after, [id, deployment.id, claimed.token, api.server.ownerKey, workerKey, METRICS_TOKEN]);
  });
});

/** Route labels are patterns or the two fixed labels, and no id or secret appears anywhere in the text. */
function assertNothingLeaks(metrics: Scrape, secrets: string[]): void {
  const routes = new Set(metrics.labelSets('outpost_http_requests_total').map((labels) => labels.route ?? ''));
  for (const route of routes) {
    expect(route).toMatch(/^(unmatched|dashboard|\/[A-Za-z0-9_./:-]*)$/);
    expect(route).not.toMatch(UUID);
  }
  expect(metrics.text).not.toMatch(UUID);
  for (const secret of secrets) expect(metrics.text).not.toContain(secret);
}

describe('queue depth', () => {
  test('the due-runs gauge counts a due run of its pool, not a future one, and drops when the run is claimed', async () => {
    const pool = `gauge-${randomUUID().slice(0, 8)}`;
    expect((await api.owner('POST', '/work-pools', { body: { name: pool } })).status).toBe(201);
    const deployment = await deploy(api.owner, { flowName: pool, name: 'g', workPool: pool });
    const labels = { workspace, pool };
    const held = (state: string) => ({ ...labels, state });

    const empty = await scrape(api.server);
    expect(empty.labelSets('outpost_runs_due')).toContainEqual(labels);
    expect(empty.value('outpost_runs_due', labels)).toBe(0);

    await createRun(api.owner, deployment.id);
    await createRun(api.owner, deployment.id, { scheduledTime: new Date(Date.now() + 3_600_000).toISOString() });
    const waiting = await scrape(api.server);
    expect(waiting.value('outpost_runs_due', labels)).toBe(1);
    expect(waiting.value('outpost_runs_active', held('PENDING'))).toBe(0);

    const [claimed] = await claim(api.owner, pool);
    const afterClaim = await scrape(api.server);
    expect(afterClaim.value('outpost_runs_due', labels)).toBe(0);
    expect(afterClaim.value('outpost_runs_active', held('PENDING'))).toBe(1);

    const asRun = client(api.server, claimed.token);
    await asRun('POST', `/flow-runs/${claimed.flowRun.id}/set-state`, {
      body: { transitionId: randomUUID(), state: { type: 'RUNNING' } },
    });
    const running = await scrape(api.server);
    expect(running.value('outpost_runs_active', held('PENDING'))).toBe(0);
    expect(running.value('outpost_runs_active', held('RUNNING'))).toBe(1);
    // Every pool of every workspace is listed, each by its workspace's slug.
    const other = await api.server.createWorkspace();
    const [slug] = await api.server.sql<{ slug: string }[]>`SELECT slug FROM workspaces WHERE id = ${other.workspaceId}`;
    expect((await scrape(api.server)).labelSets('outpost_runs_due')).toContainEqual({
      workspace: slug?.slug ?? '',
      pool: 'default',
    });
  });
});

describe('background loops', () => {
  test('transitions proposed by a loop are counted like those of requests', async () => {
    const looping = await startTestServer({
      metricsToken: METRICS_TOKEN,
      lateRuns: { lateAfterSeconds: 1, idleMs: 50, busyMs: 50 },
    });
    try {
      const call = client(looping, looping.ownerKey);
      const deployment = await deploy(call, { flowName: 'late', name: 'l' });
      const before = await scrape(looping);
      await createRun(call, deployment.id, { scheduledTime: new Date(Date.now() - 60_000).toISOString() });
      // The late-runs loop renames the overdue run to Late: a SCHEDULED proposal it makes itself.
      const late = { to: 'SCHEDULED', status: 'ACCEPT' };
      const after = await eventually(
        async () => {
          const now = await scrape(looping);
          return delta(before, now, 'outpost_state_transitions_total', late) > 0 ? now : undefined;
        },
        15_000,
        'the Late transition to be counted',
      );
      expect(delta(before, after, 'outpost_state_transitions_total', late)).toBe(1);
      const [row] = await looping.sql<{ state_name: string }[]>`SELECT state_name FROM flow_runs`;
      expect(row?.state_name).toBe('Late');
    } finally {
      await looping.close();
    }
  });
});
