import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createLogger } from '../src/logger.js';
import { LeaseExpiryLoop } from '../src/loops/lease-expiry.js';
import { startTestServer } from '../src/testing/index.js';
import { claim, client, deploy, eventually, leaseExpired, useServer } from './helpers.js';

let loop: LeaseExpiryLoop;

const api = useServer({ loops: false, leaseSeconds: 2 });

beforeAll(async () => {
  // Two-second leases, and no background loop: the test drives tick() itself, with no grace period
  // (its ticks are seconds apart, which the grace test below makes look like an outage on purpose).
  loop = new LeaseExpiryLoop(api.server.sql, api.server.databaseUrl, createLogger('silent'), { graceSeconds: 0 });
});
afterAll(async () => {
  await loop?.stop();
});

async function claimedRun(retries: number, poolSettings: Record<string, unknown> = {}) {
  const pool = `lease-${randomUUID().slice(0, 8)}`;
  expect((await api.owner('POST', '/work-pools', { body: { name: pool, ...poolSettings } })).status).toBe(201);
  const deployment = await deploy(api.owner, { flowName: pool, name: 'd', workPool: pool, retries });
  const run = (await api.owner('POST', `/deployments/${deployment.id}/runs`, { body: {} })).body.flowRun;
  const [claimed] = await claim(api.owner, pool);
  expect(claimed.flowRun.id).toBe(run.id);
  return { runId: run.id as string, pool, token: claimed.token as string, workerId: claimed.flowRun.workerId as string };
}

/** The run's process started: its runtime reported RUNNING with the run token. */
async function started(runId: string, token: string): Promise<void> {
  const res = await client(api.server, token)('POST', `/flow-runs/${runId}/set-state`, {
    body: { transitionId: randomUUID(), state: { type: 'RUNNING' } },
  });
  expect(res.body.status).toBe('ACCEPT');
}

async function history(runId: string): Promise<string[]> {
  const res = await api.owner('GET', `/flow-runs/${runId}/states`);
  return res.body.items.map(
    (s: { attempt: number; state: { type: string; name: string } }) => `${s.attempt}:${s.state.type}/${s.state.name}`,
  );
}

describe('lease expiry', () => {
  test('a started run whose lease expires becomes CRASHED, then AwaitingRetry while retries remain', async () => {
    const { runId, pool, token } = await claimedRun(1);
    await started(runId, token);
    await leaseExpired(api.server, runId);
    expect(await loop.tick()).toBeGreaterThanOrEqual(1);
    const retried = (await api.owner('GET', `/flow-runs/${runId}`)).body;
    expect(retried).toMatchObject({
      state: { type: 'SCHEDULED', name: 'AwaitingRetry' },
      attempt: 2,
      workerId: null,
      leaseExpiresAt: null,
    });
    expect(await history(runId)).toEqual([
      '1:SCHEDULED/Scheduled',
      '1:PENDING/Pending',
      '1:RUNNING/Running',
      '1:CRASHED/Crashed',
      '2:SCHEDULED/AwaitingRetry',
    ]);

    const [second] = await claim(api.owner, pool);
    expect(second.flowRun).toMatchObject({ id: runId, attempt: 2 });
    await started(runId, second.token);
    await leaseExpired(api.server, runId);
    await loop.tick();
    const final = (await api.owner('GET', `/flow-runs/${runId}`)).body;
    expect(final).toMatchObject({ state: { type: 'CRASHED', message: 'lease expired' }, attempt: 2 });
    expect(final.endTime).not.toBeNull();
  });

  test('a claimed run that never started goes back to the queue on the same attempt, spending no retry', async () => {
    const { runId, pool } = await claimedRun(1);
    await leaseExpired(api.server, runId);
    expect(await loop.tick()).toBeGreaterThanOrEqual(1);
    const back = (await api.owner('GET', `/flow-runs/${runId}`)).body;
    expect(back).toMatchObject({
      state: { type: 'SCHEDULED', name: 'Scheduled' },
      attempt: 1,
      workerId: null,
      leaseExpiresAt: null,
    });
    expect(back.state.message).toContain('never started it');
    expect(await history(runId)).toEqual(['1:SCHEDULED/Scheduled', '1:PENDING/Pending', '1:SCHEDULED/Scheduled']);
    // Claimed again, on the same attempt: the retry it has is still there.
    const [again] = await claim(api.owner, pool);
    expect(again.flowRun).toMatchObject({ id: runId, attempt: 1, maxRetries: 1 });
  });

  test('the worker that lost an unstarted run to its lease may no longer write to the attempt the next worker claimed', async () => {
    const { runId, pool, token: lostToken } = await claimedRun(1);
    await leaseExpired(api.server, runId);
    expect(await loop.tick()).toBeGreaterThanOrEqual(1);
    const [again] = await claim(api.owner, pool);
    expect(again.flowRun).toMatchObject({ id: runId, attempt: 1 });
    const line = (message: string) => ({
      attempt: 1,
      logs: [{ seq: 1, timestamp: new Date().toISOString(), level: 'info', message, stream: 'worker' }],
    });
    const lost = client(api.server, lostToken);
    const refusedLine = await lost('POST', `/flow-runs/${runId}/logs`, { body: line('from the worker that lost it') });
    expect(refusedLine.status).toBe(409);
    expect(refusedLine.body.code).toBe('stale_attempt');
    expect(refusedLine.body.detail).toContain('claimed again by another worker');
    const refusedState = await lost('POST', `/flow-runs/${runId}/set-state`, {
      body: { transitionId: randomUUID(), state: { type: 'RUNNING' } },
    });
    expect(refusedState.status).toBe(409);
    expect(refusedState.body.detail).toContain('claimed again by another worker');
    // A route whose handler does not check the fence itself is refused the same way before it runs.
    const refusedTasks = await lost('POST', `/flow-runs/${runId}/task-runs/batch`, {
      body: {
        flowRunAttempt: 1,
        events: [
          {
            kind: 'create',
            id: randomUUID(),
            name: 'score',
            taskKey: 'score-0',
            dynamicKey: '0',
            state: { type: 'RUNNING' },
            at: new Date().toISOString(),
          },
        ],
      },
    });
    expect(refusedTasks.status).toBe(409);
    expect(refusedTasks.body.detail).toContain('claimed again by another worker');
    // The attempt's own claimer writes the same seq, and it is its line that is stored.
    const kept = await client(api.server, again.token)('POST', `/flow-runs/${runId}/logs`, { body: line('from the claimer') });
    expect(kept.body).toEqual({ accepted: 1, duplicates: 0 });
    await started(runId, again.token);
    const lines = (await api.owner('GET', `/flow-runs/${runId}/logs`)).body.items.map((l: { message: string }) => l.message);
    expect(lines).toEqual(['from the claimer']);
    expect((await api.owner('GET', `/flow-runs/${runId}`)).body.state.type).toBe('RUNNING');
  });

  test("lines a worker key delivers from a spool wait while another claim holds the attempt, and never take the seq of the claimer's lines", async () => {
    const pool = `spool-${randomUUID().slice(0, 8)}`;
    expect((await api.owner('POST', '/work-pools', { body: { name: pool } })).status).toBe(201);
    const deployment = await deploy(api.owner, { flowName: pool, name: 'd', workPool: pool, retries: 1 });
    const runId = (await api.owner('POST', `/deployments/${deployment.id}/runs`, { body: {} })).body.flowRun.id as string;
    // Both claims are made with one worker key, the key spool recovery delivers with.
    const worker = client(api.server, await api.server.createKey('worker', [pool]));
    const [first] = await claim(worker, pool);
    const firstToken = first.token as string;
    const line = (seq: number, message: string) => ({
      attempt: 1,
      logs: [{ seq, timestamp: new Date().toISOString(), level: 'info', message, stream: 'worker' }],
    });
    // The first claimer logs, then loses the unstarted run to its lease.
    expect(
      (await client(api.server, firstToken)('POST', `/flow-runs/${runId}/logs`, { body: line(1, 'first claim') })).status,
    ).toBe(200);
    await leaseExpired(api.server, runId);
    expect(await loop.tick()).toBeGreaterThanOrEqual(1);
    const [again] = await claim(worker, pool);
    expect(again.flowRun).toMatchObject({ id: runId, attempt: 1 });
    // The new claimer numbers its lines after what the attempt holds.
    expect(again.logSeqAfter).toBe(1);
    // The first worker's spool, delivered with its key, must not take seq 2 before the claimer's line.
    const early = await worker('POST', `/flow-runs/${runId}/logs`, { body: line(2, 'note from a spool') });
    expect(early.status).toBe(409);
    expect(early.body.code).toBe('conflict');
    expect(early.body.detail).toContain('held by a worker');
    const claimer = client(api.server, again.token);
    expect((await claimer('POST', `/flow-runs/${runId}/logs`, { body: line(2, 'line 1 of the run') })).body).toEqual({
      accepted: 1,
      duplicates: 0,
    });
    await started(runId, again.token);
    const done = await claimer('POST', `/flow-runs/${runId}/set-state`, {
      body: { transitionId: randomUUID(), state: { type: 'COMPLETED' } },
    });
    expect(done.body.status).toBe('ACCEPT');
    // Once the attempt ended the spool's lines are taken: the one on a seq the claimer used is a duplicate.
    expect((await worker('POST', `/flow-runs/${runId}/logs`, { body: line(2, 'note from a spool') })).body).toEqual({
      accepted: 0,
      duplicates: 1,
    });
    expect((await worker('POST', `/flow-runs/${runId}/logs`, { body: line(3, 'late note') })).body).toEqual({
      accepted: 1,
      duplicates: 0,
    });
    const lines = (await api.owner('GET', `/flow-runs/${runId}/logs`)).body.items.map((l: { message: string }) => l.message);
    expect(lines).toEqual(['first claim', 'line 1 of the run', 'late note']);
  });

  test('a renewed lease does not expire, and a run lost to expiry is reported lost to its worker', async () => {
    const { runId, workerId, token } = await claimedRun(0);
    await started(runId, token);
    const worker = client(api.server, api.server.ownerKey);
    const beat = () =>
      worker('POST', '/work-pools/default/workers/heartbeat', {
        body: { workerId, name: 'w', capacity: 1, runs: [{ id: runId, attempt: 1 }] },
      });
    const renewed = await beat();
    expect(renewed.body.renewed.map((r: { id: string }) => r.id)).toEqual([runId]);
    expect(renewed.body.renewed[0].token).toMatch(/^eyJ/);
    expect(renewed.body.lost).toEqual([]);
    await loop.tick();
    expect((await api.owner('GET', `/flow-runs/${runId}`)).body.state.type).toBe('RUNNING');

    await leaseExpired(api.server, runId);
    await loop.tick();
    expect((await api.owner('GET', `/flow-runs/${runId}`)).body.state.type).toBe('CRASHED');
    const lost = await beat();
    // The attempt ended there (CRASHED, no retries left): it is listed as ended too, with its state.
    expect(lost.body).toMatchObject({
      renewed: [],
      lost: [{ id: runId, attempt: 1 }],
      ended: [{ id: runId, attempt: 1, stateType: 'CRASHED' }],
    });
  });

  test('a heartbeat sent as its run completes reports the run ended with its state, not merely lost', async () => {
    const { runId, workerId, token } = await claimedRun(0);
    await started(runId, token);
    const worker = client(api.server, api.server.ownerKey);
    const beat = () =>
      worker('POST', '/work-pools/default/workers/heartbeat', {
        body: {
          workerId,
          name: 'w',
          capacity: 1,
          runs: [
            { id: runId, attempt: 1 },
            { id: randomUUID(), attempt: 1 },
          ],
        },
      });
    const done = await client(api.server, token)('POST', `/flow-runs/${runId}/set-state`, {
      body: { transitionId: randomUUID(), state: { type: 'COMPLETED' } },
    });
    expect(done.body.status).toBe('ACCEPT');
    const answer = await beat();
    expect(answer.body.renewed).toEqual([]);
    expect(answer.body.lost).toHaveLength(2);
    // A run nobody knows is lost, not ended.
    expect(answer.body.ended).toEqual([{ id: runId, attempt: 1, stateType: 'COMPLETED' }]);
  });

  test('a heartbeat names runs to cancel, and an abandoned CANCELLING run becomes CANCELLED', async () => {
    const { runId, workerId, token } = await claimedRun(3);
    await client(api.server, token)('POST', `/flow-runs/${runId}/set-state`, {
      body: { transitionId: randomUUID(), state: { type: 'RUNNING' } },
    });
    const cancel = await api.owner('POST', `/flow-runs/${runId}/set-state`, {
      body: { transitionId: randomUUID(), state: { type: 'CANCELLING' } },
    });
    expect(cancel.body).toMatchObject({ status: 'ACCEPT', state: { type: 'CANCELLING' } });
    const beat = await api.owner('POST', '/work-pools/default/workers/heartbeat', {
      body: { workerId, name: 'w', capacity: 1, runs: [{ id: runId, attempt: 1 }] },
    });
    expect(beat.body.cancel).toEqual([{ id: runId, attempt: 1 }]);
    await leaseExpired(api.server, runId);
    await loop.tick();
    // Cancelled, not retried, even with retries left.
    expect((await api.owner('GET', `/flow-runs/${runId}`)).body).toMatchObject({ state: { type: 'CANCELLED' }, attempt: 1 });
  });

  test('another worker cannot renew a lease it does not hold', async () => {
    const { runId } = await claimedRun(0);
    const res = await api.owner('POST', '/work-pools/default/workers/heartbeat', {
      body: { workerId: randomUUID(), name: 'impostor', capacity: 1, runs: [{ id: runId, attempt: 1 }] },
    });
    expect(res.body).toMatchObject({ renewed: [], lost: [{ id: runId, attempt: 1 }] });
  });
});

test('the server’s own loop recovers expired leases without help', async () => {
  const own = await startTestServer({ leaseSeconds: 1, leaseExpiry: { idleMs: 100, busyMs: 50 } });
  try {
    const ownOwner = client(own, own.ownerKey);
    const deployment = await deploy(ownOwner, { flowName: 'auto', name: 'a' });
    const run = (await ownOwner('POST', `/deployments/${deployment.id}/runs`, { body: {} })).body.flowRun;
    const [claimed] = await claim(ownOwner);
    await client(own, claimed.token)('POST', `/flow-runs/${run.id}/set-state`, {
      body: { transitionId: randomUUID(), state: { type: 'RUNNING' } },
    });
    const crashed = await eventually(
      async () => {
        const res = await ownOwner('GET', `/flow-runs/${run.id}`);
        return res.body.state.type === 'CRASHED' ? res.body : undefined;
      },
      15_000,
      'the loop to crash the run',
    );
    expect(crashed.state.message).toBe('lease expired');
  } finally {
    await own.close();
  }
});

describe('after the control plane was away', () => {
  test('held leases get a grace period before any expires, and a worker that comes back renews its run', async () => {
    const graced = new LeaseExpiryLoop(api.server.sql, api.server.databaseUrl, createLogger('silent'), {
      graceSeconds: 30,
      awayAfterSeconds: 10,
    });
    await graced.tick();
    const back = await claimedRun(0);
    const gone = await claimedRun(1);
    await started(back.runId, back.token);
    await started(gone.runId, gone.token);
    await leaseExpired(api.server, back.runId);
    await leaseExpired(api.server, gone.runId);
    // Nobody ticked for a minute: every replica was down, or the database.
    await api.server.sql`UPDATE loop_marks SET ticked_at = now() - interval '60 seconds' WHERE name = 'lease-expiry'`;
    await graced.tick();
    for (const { runId } of [back, gone]) {
      const [row] = await api.server.sql<{ state_type: string; left: number }[]>`
        SELECT state_type, extract(epoch FROM lease_expires_at - now())::float8 AS left FROM flow_runs WHERE id = ${runId}`;
      expect(row?.state_type).toBe('RUNNING');
      expect(row?.left).toBeGreaterThan(25);
    }
    // One worker reconnects and renews, fenced by its attempt; the other never comes back.
    const beat = await api.owner('POST', `/work-pools/${back.pool}/workers/heartbeat`, {
      body: { workerId: back.workerId, name: 'w-back', capacity: 1, runs: [{ id: back.runId, attempt: 1 }] },
    });
    expect(beat.body.renewed.map((r: { id: string }) => r.id)).toEqual([back.runId]);
    // The grace runs out for the one that stayed away (moved forward here rather than waited for).
    await api.server.sql`UPDATE flow_runs SET lease_expires_at = now() - interval '1 second' WHERE id = ${gone.runId}`;
    await graced.tick();
    const retried = (await api.owner('GET', `/flow-runs/${gone.runId}`)).body;
    expect(retried).toMatchObject({ state: { type: 'SCHEDULED', name: 'AwaitingRetry' }, attempt: 2 });
    // Its worker may still be running attempt 1 for the grace (it stops itself then): no retry before that.
    expect(Date.parse(retried.expectedStartTime) - Date.now()).toBeGreaterThan(25_000);
    expect((await history(gone.runId)).filter((h) => h.includes('CRASHED'))).toEqual(['1:CRASHED/Crashed']);
    expect((await api.owner('GET', `/flow-runs/${back.runId}`)).body.state.type).toBe('RUNNING');
  });

  test('ticks close together grant no grace: an expired lease expires', async () => {
    const graced = new LeaseExpiryLoop(api.server.sql, api.server.databaseUrl, createLogger('silent'), { graceSeconds: 30 });
    await graced.tick();
    const { runId, token } = await claimedRun(0);
    await started(runId, token);
    await leaseExpired(api.server, runId);
    await graced.tick();
    expect((await api.owner('GET', `/flow-runs/${runId}`)).body.state.type).toBe('CRASHED');
  });
});

describe('a pool that waits for silent workers', () => {
  /** Moves the run's lease `secondsAgo` into the past: as if its worker fell silent that long ago. */
  const silentFor = (runId: string, secondsAgo: number) =>
    api.server.sql`UPDATE flow_runs SET lease_expires_at = now() - make_interval(secs => ${secondsAgo}) WHERE id = ${runId}`;

  test('its runs are judged only once the disconnected tolerance past the lease has run out', async () => {
    const { runId, token, pool, workerId } = await claimedRun(1, { onWorkerSilence: 'wait', disconnectedToleranceSeconds: 120 });
    await started(runId, token);
    // The worker learns the pool's policy with every heartbeat, and stops its run before the API judges it.
    const beat = await api.owner('POST', `/work-pools/${pool}/workers/heartbeat`, {
      body: { workerId, name: 'w', capacity: 1, runs: [{ id: runId, attempt: 1 }] },
    });
    expect(beat.body).toMatchObject({ onWorkerSilence: 'wait', disconnectedToleranceSeconds: 120 });
    await silentFor(runId, 60);
    await loop.tick();
    expect((await api.owner('GET', `/flow-runs/${runId}`)).body).toMatchObject({ state: { type: 'RUNNING' }, attempt: 1 });
    // Set-state with `onlyIfLeaseExpired` re-checks under the row lock, with the same judgement.
    await silentFor(runId, 121);
    await loop.tick();
    expect((await api.owner('GET', `/flow-runs/${runId}`)).body).toMatchObject({
      state: { type: 'SCHEDULED', name: 'AwaitingRetry' },
      attempt: 2,
    });
  });

  test('with no limit to the tolerance, a silent worker’s run waits for it however long', async () => {
    const { runId, token, pool } = await claimedRun(0, { onWorkerSilence: 'wait' });
    const updated = await api.owner('PATCH', `/work-pools/${pool}`, { body: { disconnectedToleranceSeconds: null } });
    expect(updated.body).toMatchObject({ onWorkerSilence: 'wait', disconnectedToleranceSeconds: null });
    await started(runId, token);
    await silentFor(runId, 30 * 86_400);
    await loop.tick();
    expect((await api.owner('GET', `/flow-runs/${runId}`)).body.state.type).toBe('RUNNING');
    // Back to retrying: the run is judged at its lease.
    expect((await api.owner('PATCH', `/work-pools/${pool}`, { body: { onWorkerSilence: 'retry' } })).status).toBe(200);
    await loop.tick();
    expect((await api.owner('GET', `/flow-runs/${runId}`)).body.state.type).toBe('CRASHED');
  });

  test('a pool retries silent workers’ runs after ten minutes of tolerance unless told otherwise, and bad settings are refused at their field', async () => {
    const pool = `lease-${randomUUID().slice(0, 8)}`;
    const created = await api.owner('POST', '/work-pools', { body: { name: pool } });
    expect(created.body).toMatchObject({ onWorkerSilence: 'retry', disconnectedToleranceSeconds: 600 });
    const badPolicy = await api.owner('PATCH', `/work-pools/${pool}`, { body: { onWorkerSilence: 'hope' } });
    expect(badPolicy.status).toBe(400);
    expect(JSON.stringify(badPolicy.body)).toContain('onWorkerSilence');
    const badTolerance = await api.owner('POST', '/work-pools', {
      body: { name: `${pool}-x`, disconnectedToleranceSeconds: -5 },
    });
    expect(badTolerance.status).toBe(400);
    expect(JSON.stringify(badTolerance.body)).toContain('disconnectedToleranceSeconds');
  });
});

test('only one replica at a time holds a loop’s leadership', async () => {
  const { LeaderLock } = await import('../src/loops/leader-lock.js');
  const logger = createLogger('silent');
  const a = new LeaderLock(api.server.databaseUrl, 'test-election', logger);
  const b = new LeaderLock(api.server.databaseUrl, 'test-election', logger);
  try {
    expect(await a.acquire()).toBe(true);
    expect(await b.acquire()).toBe(false);
    expect(await a.acquire()).toBe(true);
    await a.release();
    expect(await b.acquire()).toBe(true);
  } finally {
    await a.release();
    await b.release();
  }
});
