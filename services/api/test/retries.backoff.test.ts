import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, test } from 'vitest';
import { jitterSample, MAX_RETRY_DELAY_SECONDS, retryDelaySeconds } from '../src/orchestration/retry-delay.js';
import { applyRetryPolicy } from '../src/orchestration/transition-rules.js';
import type { RunSnapshot } from '../src/orchestration/types.js';
import { startTestServer, type TestServer } from '../src/testing/index.js';
import { type Call, claim, client, deploy } from './helpers.js';

describe('retryDelaySeconds', () => {
  const id = '5f0c1c2e-8a51-4d3f-9b7e-0c1d2e3f4a5b';

  it('keeps a fixed delay with the default backoff of 1 and no jitter', () => {
    for (const attempt of [1, 2, 7]) expect(retryDelaySeconds({ delaySeconds: 30, backoff: 1, jitter: 0 }, id, attempt)).toBe(30);
  });

  it('grows the delay exponentially with the attempt that failed', () => {
    const policy = { delaySeconds: 10, backoff: 2, jitter: 0 };
    expect([1, 2, 3, 4].map((n) => retryDelaySeconds(policy, id, n))).toEqual([10, 20, 40, 80]);
  });

  it('caps the delay at a day, even for exponents that would overflow', () => {
    expect(retryDelaySeconds({ delaySeconds: 3600, backoff: 10, jitter: 0 }, id, 100)).toBe(MAX_RETRY_DELAY_SECONDS);
    expect(retryDelaySeconds({ delaySeconds: 86_400, backoff: 10, jitter: 1 }, id, 1000)).toBeLessThanOrEqual(
      MAX_RETRY_DELAY_SECONDS,
    );
  });

  it('stretches the delay by up to the jitter, never shortens it, the same for the same run and attempt and different across runs', () => {
    const policy = { delaySeconds: 100, backoff: 1, jitter: 0.5 };
    const delays = Array.from({ length: 200 }, () => retryDelaySeconds(policy, randomUUID(), 1));
    for (const d of delays) {
      expect(d).toBeGreaterThanOrEqual(100);
      expect(d).toBeLessThanOrEqual(150);
    }
    expect(new Set(delays).size).toBeGreaterThan(150);
    // Spread over the whole band, not bunched on one side.
    expect(Math.min(...delays)).toBeLessThan(110);
    expect(Math.max(...delays)).toBeGreaterThan(140);
    expect(retryDelaySeconds(policy, id, 3)).toBe(retryDelaySeconds(policy, id, 3));
    expect(jitterSample(id, 3)).not.toBe(jitterSample(id, 4));
  });

  it('is applied by the retry rule to the failed attempt', () => {
    const now = new Date('2030-01-01T00:00:00.000Z');
    const run: RunSnapshot = {
      id,
      stateType: 'RUNNING',
      stateName: 'Running',
      attempt: 3,
      maxRetries: 5,
      retryDelaySeconds: 5,
      retryBackoff: 3,
      retryJitter: 0,
      expectedStartTime: now,
    };
    const decision = applyRetryPolicy(run, { state: { type: 'FAILED' }, attempt: 3, actor: 'run', now });
    expect(decision).toMatchObject({ status: 'ACCEPT', attempt: 4 });
    if (decision?.status !== 'ACCEPT') throw new Error('not accepted');
    expect(decision.expectedStartTime?.toISOString()).toBe('2030-01-01T00:00:45.000Z');
    expect(decision.states.at(-1)?.message).toBe('Retry 3 of 5 after 45 s');
  });
});

describe('retries through the API', () => {
  let server: TestServer;
  let owner: Call;

  beforeAll(async () => {
    server = await startTestServer({ loops: false });
    owner = client(server, server.ownerKey);
  });
  afterAll(async () => {
    await server?.close();
  });

  /** Claims the run, starts it and fails it; returns the run as it is afterwards and the seconds until its retry. */
  async function failOnce(pool: string, runId: string): Promise<{ attempt: number; waitSeconds: number; state: string }> {
    const [claimed] = await claim(owner, pool);
    expect(claimed?.flowRun.id).toBe(runId);
    const asRun = client(server, claimed.token);
    await asRun('POST', `/flow-runs/${runId}/set-state`, { body: { transitionId: randomUUID(), state: { type: 'RUNNING' } } });
    const failed = await asRun('POST', `/flow-runs/${runId}/set-state`, {
      body: { transitionId: randomUUID(), state: { type: 'FAILED', message: 'boom' } },
    });
    expect(failed.body.status).toBe('ACCEPT');
    const run = (await owner('GET', `/flow-runs/${runId}`)).body;
    const waitSeconds = (Date.parse(run.expectedStartTime) - Date.parse(run.state.timestamp)) / 1000;
    // Make the retry due now, so the next claim can take it without waiting out the delay.
    await server.sql`UPDATE flow_runs SET expected_start_time = now() WHERE id = ${runId}`;
    return { attempt: run.attempt, waitSeconds, state: `${run.state.type}/${run.state.name}` };
  }

  test('a deployment with backoff retries after 10 s, then 20 s, then 40 s, then gives up', async () => {
    const pool = `retry-${randomUUID().slice(0, 8)}`;
    await owner('POST', '/work-pools', { body: { name: pool } });
    const d = await deploy(owner, {
      flowName: pool,
      name: 'd',
      workPool: pool,
      retries: 3,
      retryDelaySeconds: 10,
      retryBackoff: 2,
    });
    expect(d).toMatchObject({ retries: 3, retryDelaySeconds: 10, retryBackoff: 2, retryJitter: 0 });
    const runId = (await owner('POST', `/deployments/${d.id}/runs`, { body: {} })).body.flowRun.id;
    const seen = [];
    for (let i = 0; i < 4; i++) seen.push(await failOnce(pool, runId));
    expect(seen).toEqual([
      { attempt: 2, waitSeconds: 10, state: 'SCHEDULED/AwaitingRetry' },
      { attempt: 3, waitSeconds: 20, state: 'SCHEDULED/AwaitingRetry' },
      { attempt: 4, waitSeconds: 40, state: 'SCHEDULED/AwaitingRetry' },
      { attempt: 4, waitSeconds: expect.any(Number), state: 'FAILED/Failed' },
    ]);
  });

  test('jitter keeps each retry within its band, and redeploying changes the policy only for new runs', async () => {
    const pool = `jitter-${randomUUID().slice(0, 8)}`;
    await owner('POST', '/work-pools', { body: { name: pool } });
    const spec = { flowName: pool, name: 'd', workPool: pool, retries: 1, retryDelaySeconds: 100, retryJitter: 0.25 };
    const d = await deploy(owner, spec);
    const runId = (await owner('POST', `/deployments/${d.id}/runs`, { body: {} })).body.flowRun.id;
    await deploy(owner, { ...spec, retryJitter: 0 });
    const { waitSeconds } = await failOnce(pool, runId);
    expect(waitSeconds).toBeGreaterThanOrEqual(100);
    expect(waitSeconds).toBeLessThanOrEqual(125);
    expect(waitSeconds).toBe(retryDelaySeconds({ delaySeconds: 100, backoff: 1, jitter: 0.25 }, runId, 1));
  });

  test('retry policy fields are validated', async () => {
    const res = await owner('PUT', '/deployments', {
      body: {
        flowName: 'bad',
        name: 'd',
        source: 'dir:///tmp/x',
        entrypoint: 'f.js',
        workPool: 'default',
        retryBackoff: 0.5,
        retryJitter: 2,
        collisionStrategy: 'DROP',
      },
    });
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { path: string }) => e.path).sort()).toEqual([
      'body.collisionStrategy',
      'body.retryBackoff',
      'body.retryJitter',
    ]);
  });

  test('a user retry of a finished run through POST /flow-runs/:id/retry creates the next attempt, due now', async () => {
    const pool = `user-retry-${randomUUID().slice(0, 8)}`;
    await owner('POST', '/work-pools', { body: { name: pool } });
    const d = await deploy(owner, { flowName: pool, name: 'd', workPool: pool });
    const runId = (await owner('POST', `/deployments/${d.id}/runs`, { body: {} })).body.flowRun.id;

    const early = await owner('POST', `/flow-runs/${runId}/retry`, { body: {} });
    expect(early.status).toBe(200);
    expect(early.body).toMatchObject({ status: 'REJECT', state: { type: 'SCHEDULED' }, attempt: 1 });

    const { state } = await failOnce(pool, runId);
    expect(state).toBe('FAILED/Failed');
    const transitionId = randomUUID();
    const retried = await owner('POST', `/flow-runs/${runId}/retry`, { body: { transitionId, message: 'fixed upstream' } });
    expect(retried.body).toMatchObject({
      status: 'ACCEPT',
      attempt: 2,
      state: { type: 'SCHEDULED', name: 'AwaitingRetry', message: 'fixed upstream' },
    });
    // Repeating the same transition id replays the answer instead of retrying twice.
    const again = await owner('POST', `/flow-runs/${runId}/retry`, { body: { transitionId } });
    expect(again.body).toEqual(retried.body);
    const [claimed] = await claim(owner, pool);
    expect(claimed.flowRun).toMatchObject({ id: runId, attempt: 2 });

    const runner = client(server, await server.createKey('runner'));
    const viewer = client(server, await server.createKey('viewer'));
    expect((await viewer('POST', `/flow-runs/${runId}/retry`, { body: {} })).status).toBe(403);
    expect((await runner('POST', `/flow-runs/${randomUUID()}/retry`, { body: {} })).status).toBe(404);
  });
});
