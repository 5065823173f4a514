import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createLogger } from '../src/logger.js';
import { LeaseExpiryLoop } from '../src/loops/lease-expiry.js';
import { startTestServer, type TestServer } from '../src/testing.js';
import { type Call, claim, client, deploy, eventually } from './helpers.js';

let server: TestServer;
let owner: Call;
let loop: LeaseExpiryLoop;

beforeAll(async () => {
  // One-second leases, and no background loop: the test drives tick() itself.
  server = await startTestServer({ loops: false, leaseSeconds: 2 });
  owner = client(server, server.ownerKey);
  loop = new LeaseExpiryLoop(server.sql, server.databaseUrl, createLogger('silent'));
});
afterAll(async () => {
  await loop?.stop();
  await server?.close();
});

async function claimedRun(retries: number) {
  const pool = `lease-${randomUUID().slice(0, 8)}`;
  await owner('POST', '/work-pools', { body: { name: pool } });
  const deployment = await deploy(owner, { flowName: pool, name: 'd', workPool: pool, retries });
  const run = (await owner('POST', `/deployments/${deployment.id}/runs`, { body: {} })).body.flowRun;
  const [claimed] = await claim(owner, pool);
  expect(claimed.flowRun.id).toBe(run.id);
  return { runId: run.id as string, pool, token: claimed.token as string, workerId: claimed.flowRun.workerId as string };
}

/** Waits until the database clock has passed the run's lease. */
async function leaseExpired(runId: string): Promise<void> {
  await eventually(
    async () => {
      const [row] = await server.sql<
        { expired: boolean }[]
      >`SELECT lease_expires_at < now() AS expired FROM flow_runs WHERE id = ${runId}`;
      return row?.expired ? true : undefined;
    },
    10_000,
    'the lease to expire',
  );
}

async function history(runId: string): Promise<string[]> {
  const res = await owner('GET', `/flow-runs/${runId}/states`);
  return res.body.items.map(
    (s: { attempt: number; state: { type: string; name: string } }) => `${s.attempt}:${s.state.type}/${s.state.name}`,
  );
}

describe('lease expiry', () => {
  test('a claimed run whose lease expires becomes CRASHED, then AwaitingRetry while retries remain', async () => {
    const { runId, pool } = await claimedRun(1);
    await leaseExpired(runId);
    expect(await loop.tick()).toBeGreaterThanOrEqual(1);
    const retried = (await owner('GET', `/flow-runs/${runId}`)).body;
    expect(retried).toMatchObject({
      state: { type: 'SCHEDULED', name: 'AwaitingRetry' },
      attempt: 2,
      workerId: null,
      leaseExpiresAt: null,
    });
    expect(await history(runId)).toEqual([
      '1:SCHEDULED/Scheduled',
      '1:PENDING/Pending',
      '1:CRASHED/Crashed',
      '2:SCHEDULED/AwaitingRetry',
    ]);

    const [second] = await claim(owner, pool);
    expect(second.flowRun).toMatchObject({ id: runId, attempt: 2 });
    await leaseExpired(runId);
    await loop.tick();
    const final = (await owner('GET', `/flow-runs/${runId}`)).body;
    expect(final).toMatchObject({ state: { type: 'CRASHED', message: 'lease expired' }, attempt: 2 });
    expect(final.endTime).not.toBeNull();
  });

  test('a renewed lease does not expire, and a run lost to expiry is reported lost to its worker', async () => {
    const { runId, workerId } = await claimedRun(0);
    const worker = client(server, server.ownerKey);
    const beat = () =>
      worker('POST', '/work-pools/default/workers/heartbeat', {
        body: { workerId, name: 'w', capacity: 1, runs: [{ id: runId, attempt: 1 }] },
      });
    const renewed = await beat();
    expect(renewed.body.renewed.map((r: { id: string }) => r.id)).toEqual([runId]);
    expect(renewed.body.renewed[0].token).toMatch(/^eyJ/);
    expect(renewed.body.lost).toEqual([]);
    await loop.tick();
    expect((await owner('GET', `/flow-runs/${runId}`)).body.state.type).toBe('PENDING');

    await leaseExpired(runId);
    await loop.tick();
    expect((await owner('GET', `/flow-runs/${runId}`)).body.state.type).toBe('CRASHED');
    const lost = await beat();
    expect(lost.body).toMatchObject({ renewed: [], lost: [{ id: runId, attempt: 1 }] });
  });

  test('a heartbeat names runs to cancel, and an abandoned CANCELLING run becomes CANCELLED', async () => {
    const { runId, workerId, token } = await claimedRun(3);
    await client(server, token)('POST', `/flow-runs/${runId}/set-state`, {
      body: { transitionId: randomUUID(), state: { type: 'RUNNING' } },
    });
    const cancel = await owner('POST', `/flow-runs/${runId}/set-state`, {
      body: { transitionId: randomUUID(), state: { type: 'CANCELLING' } },
    });
    expect(cancel.body).toMatchObject({ status: 'ACCEPT', state: { type: 'CANCELLING' } });
    const beat = await owner('POST', '/work-pools/default/workers/heartbeat', {
      body: { workerId, name: 'w', capacity: 1, runs: [{ id: runId, attempt: 1 }] },
    });
    expect(beat.body.cancel).toEqual([{ id: runId, attempt: 1 }]);
    await leaseExpired(runId);
    await loop.tick();
    // Cancelled, not retried, even with retries left.
    expect((await owner('GET', `/flow-runs/${runId}`)).body).toMatchObject({ state: { type: 'CANCELLED' }, attempt: 1 });
  });

  test('another worker cannot renew a lease it does not hold', async () => {
    const { runId } = await claimedRun(0);
    const res = await owner('POST', '/work-pools/default/workers/heartbeat', {
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
    await claim(ownOwner);
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

test('only one replica at a time holds a loop’s leadership', async () => {
  const { LeaderLock } = await import('../src/loops/leader-lock.js');
  const logger = createLogger('silent');
  const a = new LeaderLock(server.databaseUrl, 'test-election', logger);
  const b = new LeaderLock(server.databaseUrl, 'test-election', logger);
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
