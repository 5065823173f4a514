import { randomUUID } from 'node:crypto';
import { MAX_EXTERNAL_JSON_BYTES, MAX_FAILED_EXTERNAL_POLLS } from '@outpost/sdk/contracts';
import { beforeAll, describe, expect, test } from 'vitest';
import { createLogger } from '../src/logger.js';
import { WaitsLoop } from '../src/loops/waits.js';
import { backoffSeconds } from '../src/waits/external-polls.js';
import { type Call, client, createRun, deploy, runInOwnPool, unique, useDrivenLoop, useServer } from './helpers.js';

let worker: Call;

const api = useServer({ loops: false, leaseSeconds: 2 });
// No background loops: each test drives time itself (a due poll is made due in the database).
const loop = useDrivenLoop(() => new WaitsLoop(api.server.sql, api.server.databaseUrl, createLogger('silent'), null));

beforeAll(async () => {
  worker = client(api.server, await api.server.createKey('worker'));
});

/** A RUNNING run in a pool of its own, claimed by the worker, with the run token's client. */
const runningRun = () => runInOwnPool(api.server, { owner: api.owner, worker }, { deployment: { flowName: unique('deferred') } });

const externalSpec = (handle: unknown = { runId: 981 }, pollSeconds = 60) => ({
  kind: 'external',
  job: 'nightly-training',
  handle,
  pollSeconds,
  label: 'Databricks run',
  link: 'https://dbc.example.com/#job/7/run/981',
});

/** Begins an external wait and suspends the run on it. */
async function deferred(options: { timeoutSeconds?: number } = {}) {
  const held = await runningRun();
  const begun = await held.token('POST', `/flow-runs/${held.runId}/waits`, {
    body: { key: 'wait-1', spec: externalSpec(), ...options },
  });
  expect(begun.status).toBe(200);
  const wait = begun.body.wait;
  const parked = await held.token('POST', `/flow-runs/${held.runId}/suspend`, { body: { waitId: wait.id, results: [] } });
  expect(parked.body.suspended).toBe(true);
  return { held, wait };
}

async function makeDue(waitId: string): Promise<void> {
  await api.server.sql`UPDATE waits SET poll_at = now() - interval '1 second' WHERE id = ${waitId}`;
}

async function claimPolls(pool: string, workerId = randomUUID(), labels: Record<string, string> = {}) {
  const res = await worker('POST', `/work-pools/${pool}/external-polls/claim`, { body: { workerId, limit: 4, labels } });
  expect(res.status).toBe(200);
  return res.body.polls as {
    waitId: string;
    leaseId: string;
    action: string;
    spec: { handle: unknown };
    deployment: { source: string };
    polls: number;
  }[];
}

async function report(pool: string, poll: { waitId: string; leaseId: string }, outcome: unknown, logs: string[] = []) {
  return worker('POST', `/work-pools/${pool}/external-polls/${poll.waitId}/complete`, {
    body: { workerId: randomUUID(), leaseId: poll.leaseId, outcome, logs },
  });
}

async function waitOf(id: string) {
  return (await api.owner('GET', `/waits/${id}`)).body.wait;
}

describe('an external wait', () => {
  test('is polled first one interval after it began, by one worker of the pool at a time, from the run’s pinned code', async () => {
    const { held, wait } = await deferred();
    expect(wait.poll).toMatchObject({ count: 0, failed: 0, cancelPending: false });
    const firstPollIn = Date.parse(wait.poll.nextAt) - Date.parse(wait.createdAt);
    expect(firstPollIn).toBe(60_000);
    expect(await claimPolls(held.pool)).toEqual([]);

    await makeDue(wait.id);
    const [poll, ...more] = await claimPolls(held.pool);
    expect(more).toEqual([]);
    expect(poll).toMatchObject({ waitId: wait.id, action: 'poll', spec: { handle: { runId: 981 } }, polls: 0 });
    expect(poll?.deployment.source).toBe(held.source);
    // Leased: another worker of the pool gets nothing while the lease holds.
    expect(await claimPolls(held.pool)).toEqual([]);
  });

  test('a worker whose labels the deployment requires is the only one that polls it', async () => {
    const pool = unique('pool');
    await api.owner('POST', '/work-pools', { body: { name: pool } });
    const d = await deploy(api.owner, { flowName: unique('deferred'), workPool: pool, labels: { region: 'eu' } });
    const run = await createRun(api.owner, d.id, {});
    const claimedRes = await worker('POST', `/work-pools/${pool}/claim`, {
      body: { workerId: randomUUID(), limit: 1, labels: { region: 'eu' } },
    });
    const [claimed] = claimedRes.body.runs;
    expect(claimed.flowRun.id).toBe(run.id);
    const token = client(api.server, claimed.token);
    await token('POST', `/flow-runs/${run.id}/set-state`, { body: { transitionId: randomUUID(), state: { type: 'RUNNING' } } });
    const wait = (await token('POST', `/flow-runs/${run.id}/waits`, { body: { key: 'wait-1', spec: externalSpec() } })).body.wait;
    await makeDue(wait.id);
    expect(await claimPolls(pool, randomUUID(), { region: 'us' })).toEqual([]);
    expect((await claimPolls(pool, randomUUID(), { region: 'eu' })).map((p) => p.waitId)).toEqual([wait.id]);
  });

  test('a running report puts the next poll an interval away and keeps what the poll said', async () => {
    const { held, wait } = await deferred();
    await makeDue(wait.id);
    const [poll] = await claimPolls(held.pool);
    const res = await report(held.pool, poll!, { state: 'running', message: 'RUNNING: 3 of 9 tasks' }, ['polled run 981']);
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('WAITING');
    // Relative to the answer too, so a worker whose clock differs from the server's asks when it is due.
    expect(res.body.nextPollInSeconds).toBe(60);
    expect(res.body.nextPollAt).toEqual(expect.any(String));
    const after = await waitOf(wait.id);
    expect(after.poll).toMatchObject({ count: 1, failed: 0, message: 'RUNNING: 3 of 9 tasks', logs: ['polled run 981'] });
    expect(Date.parse(after.poll.nextAt) - Date.now()).toBeGreaterThan(50_000);
    expect(await claimPolls(held.pool)).toEqual([]);
    expect((await runOf(held.runId)).state.type).toBe('PAUSED');
  });

  test('a job that ended resolves the wait with its outcome and resumes the suspended run on a new attempt', async () => {
    const { held, wait } = await deferred();
    await makeDue(wait.id);
    const [poll] = await claimPolls(held.pool);
    const outcome = { state: 'succeeded', result: { modelUri: 's3://models/churn/981' }, message: 'TERMINATED: SUCCESS' };
    const res = await report(held.pool, poll!, outcome);
    expect(res.body).toEqual({ status: 'RESOLVED', nextPollAt: null, nextPollInSeconds: null });
    const after = await waitOf(wait.id);
    expect(after).toMatchObject({ status: 'RESOLVED', value: outcome, poll: { count: 1, nextAt: null, cancelPending: false } });
    const run = await runOf(held.runId);
    expect(run.state).toMatchObject({ type: 'SCHEDULED', name: 'Resuming' });
    // Nothing more is due for it: not a poll, not a cancellation.
    expect(await claimPolls(held.pool)).toEqual([]);
  });

  test('a report after the lease ran out and another worker took the poll over is refused; the new holder’s lands once', async () => {
    const { held, wait } = await deferred();
    await makeDue(wait.id);
    const [first] = await claimPolls(held.pool);
    await api.server.sql`UPDATE waits SET poll_lease_expires_at = now() - interval '1 second' WHERE id = ${wait.id}`;
    const [second] = await claimPolls(held.pool);
    expect(second?.leaseId).not.toBe(first?.leaseId);

    const late = await report(held.pool, first!, { state: 'failed', message: 'stale view' });
    expect(late.status).toBe(409);
    expect(late.body.detail).toContain('lease is no longer held');
    const ok = await report(held.pool, second!, { state: 'succeeded', result: 1 });
    expect(ok.body.status).toBe('RESOLVED');
    const again = await report(held.pool, second!, { state: 'succeeded', result: 2 });
    expect(again.status).toBe(409);
    expect((await waitOf(wait.id)).value).toEqual({ state: 'succeeded', result: 1 });
  });

  test('polls that fail back off, doubling, and the job counts as failed after the limit in a row', async () => {
    const { held, wait } = await deferred();
    expect([1, 2, 3, 4].map((n) => backoffSeconds(60, n))).toEqual([60, 120, 240, 480]);
    expect(backoffSeconds(60, 9)).toBe(3600);
    for (let n = 1; n <= MAX_FAILED_EXTERNAL_POLLS; n++) {
      await makeDue(wait.id);
      const [poll] = await claimPolls(held.pool);
      const res = await report(held.pool, poll!, { state: 'error', error: `connect ECONNREFUSED (try ${n})` });
      expect(res.status).toBe(200);
      if (n < MAX_FAILED_EXTERNAL_POLLS) {
        const after = await waitOf(wait.id);
        expect(after.poll.failed).toBe(n);
        const delay = Date.parse(after.poll.nextAt) - Date.now();
        expect(delay).toBeGreaterThan((backoffSeconds(60, n) - 5) * 1000);
        expect(delay).toBeLessThanOrEqual(backoffSeconds(60, n) * 1000);
      } else {
        expect(res.body.status).toBe('RESOLVED');
      }
    }
    const ended = await waitOf(wait.id);
    expect(ended.value.state).toBe('failed');
    expect(ended.value.message).toContain(`could not be polled ${MAX_FAILED_EXTERNAL_POLLS} times in a row`);
    expect(ended.value.message).toContain(`try ${MAX_FAILED_EXTERNAL_POLLS}`);
    expect((await runOf(held.runId)).state.name).toBe('Resuming');
  });

  test('cancelling the suspended run makes one cancellation of the job due, and its report ends it', async () => {
    const { held, wait } = await deferred();
    const cancelled = await api.owner('POST', `/flow-runs/${held.runId}/cancel`, { body: {} });
    expect(cancelled.body.state.type).toBe('CANCELLED');
    expect((await waitOf(wait.id)).poll.cancelPending).toBe(true);
    const [cancel] = await claimPolls(held.pool);
    expect(cancel).toMatchObject({ waitId: wait.id, action: 'cancel', spec: { handle: { runId: 981 } } });
    const res = await report(held.pool, cancel!, { state: 'cancelled', message: 'cancellation requested' });
    expect(res.body).toEqual({ status: 'CANCELLED', nextPollAt: null, nextPollInSeconds: null });
    const after = await waitOf(wait.id);
    expect(after.poll).toMatchObject({ cancelPending: false, nextAt: null, message: 'cancellation requested' });
    await api.server.sql`UPDATE waits SET poll_lease_expires_at = NULL WHERE id = ${wait.id}`;
    expect(await claimPolls(held.pool)).toEqual([]);
  });

  test('a cancellation that fails is tried again later', async () => {
    const { held, wait } = await deferred();
    await api.owner('POST', `/flow-runs/${held.runId}/cancel`, { body: {} });
    const [cancel] = await claimPolls(held.pool);
    const res = await report(held.pool, cancel!, { state: 'error', error: 'HTTP 503 from the jobs API' });
    expect(res.status).toBe(200);
    const after = await waitOf(wait.id);
    expect(after.poll).toMatchObject({ cancelPending: true, failed: 1 });
    await makeDue(wait.id);
    const [retry] = await claimPolls(held.pool);
    expect(retry?.action).toBe('cancel');
  });

  test('a timeout ends the wait TIMED_OUT, resumes the run, and makes the job’s cancellation due', async () => {
    const { held, wait } = await deferred({ timeoutSeconds: 60 });
    await api.server
      .sql`UPDATE waits SET due_at = now() - interval '1 second', expires_at = now() - interval '1 second' WHERE id = ${wait.id}`;
    await loop().tick();
    const after = await waitOf(wait.id);
    expect(after.status).toBe('TIMED_OUT');
    expect(after.poll.cancelPending).toBe(true);
    expect((await runOf(held.runId)).state.name).toBe('Resuming');
    const [cancel] = await claimPolls(held.pool);
    expect(cancel?.action).toBe('cancel');
  });

  test('another pool’s workers neither claim its polls nor report them', async () => {
    const { held, wait } = await deferred();
    await makeDue(wait.id);
    const other = unique('pool');
    await api.owner('POST', '/work-pools', { body: { name: other } });
    expect(await claimPolls(other)).toEqual([]);
    const [poll] = await claimPolls(held.pool);
    const res = await report(other, poll!, { state: 'succeeded', result: null });
    expect(res.status).toBe(404);
    expect((await waitOf(wait.id)).status).toBe('WAITING');
  });

  test('a handle over the size limit, an interval out of range and a job name that is not a key are refused with their paths', async () => {
    const held = await runningRun();
    const begin = (spec: unknown) => held.token('POST', `/flow-runs/${held.runId}/waits`, { body: { key: 'wait-1', spec } });
    const big = await begin(externalSpec({ blob: 'x'.repeat(MAX_EXTERNAL_JSON_BYTES) }));
    expect(big.status).toBe(400);
    expect(big.body.errors).toContainEqual(expect.objectContaining({ path: 'body.spec.handle' }));
    const fast = await begin(externalSpec({ runId: 1 }, 0));
    expect(fast.status).toBe(400);
    expect(fast.body.errors).toContainEqual(expect.objectContaining({ path: 'body.spec.pollSeconds' }));
    const badName = await begin({ ...externalSpec(), job: '../etc' });
    expect(badName.status).toBe(400);
    expect(badName.body.errors).toContainEqual(expect.objectContaining({ path: 'body.spec.job' }));
    const badReport = await worker('POST', `/work-pools/${held.pool}/external-polls/${randomUUID()}/complete`, {
      body: { workerId: randomUUID(), leaseId: randomUUID(), outcome: { state: 'succeeded' } },
    });
    expect(badReport.status).toBe(400);
    expect(badReport.body.errors).toContainEqual(expect.objectContaining({ path: expect.stringContaining('body.outcome') }));
  });
});

async function runOf(runId: string) {
  return (await api.owner('GET', `/flow-runs/${runId}`)).body;
}
