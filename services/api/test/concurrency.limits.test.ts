import { randomUUID } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { createLogger } from '../src/logger.js';
import { LeaseExpiryLoop } from '../src/loops/lease-expiry.js';
import { client, deploy, eventually, useServer } from './helpers.js';

const api = useServer({ loops: false, leaseSeconds: 1 });

interface Claimed {
  flowRun: { id: string; attempt: number };
  token: string;
}

async function freshPool(): Promise<string> {
  const pool = `lim-${randomUUID().slice(0, 8)}`;
  expect((await api.owner('POST', '/work-pools', { body: { name: pool } })).status).toBe(201);
  return pool;
}

async function runOf(deploymentId: string, body: Record<string, unknown> = {}): Promise<string> {
  const res = await api.owner('POST', `/deployments/${deploymentId}/runs`, { body });
  expect(res.status).toBe(201);
  return res.body.flowRun.id;
}

async function claimAll(pool: string, limit = 10): Promise<Claimed[]> {
  const res = await api.owner('POST', `/work-pools/${pool}/claim`, { body: { workerId: randomUUID(), limit } });
  expect(res.status).toBe(200);
  return res.body.runs;
}

async function finish(run: Claimed, type: 'COMPLETED' | 'FAILED' = 'COMPLETED'): Promise<void> {
  const asRun = client(api.server, run.token);
  for (const state of ['RUNNING', type]) {
    const res = await asRun('POST', `/flow-runs/${run.flowRun.id}/set-state`, {
      body: { transitionId: randomUUID(), state: { type: state } },
    });
    expect(res.body.status).toBe('ACCEPT');
  }
}

async function stateOf(runId: string): Promise<{ type: string; name: string; message: string | null }> {
  return (await api.owner('GET', `/flow-runs/${runId}`)).body.state;
}

const ids = (runs: Claimed[]) => runs.map((r) => r.flowRun.id);

describe('tag concurrency limit routes', () => {
  test('create, read, change and delete a limit by tag, with the slots in use counted from runs', async () => {
    const tag = `team/data ${randomUUID().slice(0, 6)}`;
    const path = `/concurrency-limits/${encodeURIComponent(tag)}`;
    const created = await api.owner('POST', '/concurrency-limits', { body: { tag, limit: 2 } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ tag, limit: 2, active: 0 });
    expect((await api.owner('POST', '/concurrency-limits', { body: { tag, limit: 5 } })).body.code).toBe('conflict');

    const pool = await freshPool();
    const d = await deploy(api.owner, { flowName: pool, name: 'd', workPool: pool, tags: [tag] });
    await runOf(d.id);
    expect(await claimAll(pool)).toHaveLength(1);
    expect((await api.owner('GET', path)).body).toMatchObject({ tag, limit: 2, active: 1 });
    const listed = (await api.owner('GET', '/concurrency-limits')).body.items;
    expect(listed.find((l: { tag: string }) => l.tag === tag)).toMatchObject({ active: 1 });

    const changed = await api.owner('PATCH', path, { body: { limit: 7 } });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({ limit: 7, active: 1 });
    const removed = await api.owner('DELETE', path);
    expect(removed.status).toBe(200);
    expect(removed.body).toMatchObject({ tag, limit: 7 });
    expect((await api.owner('GET', path)).status).toBe(404);
    expect((await api.owner('PATCH', path, { body: { limit: 1 } })).status).toBe(404);
    expect((await api.owner('DELETE', path)).status).toBe(404);
  });

  test('refuses bad limits with field paths, readers cannot change limits, and another workspace sees none', async () => {
    const bad = await api.owner('POST', '/concurrency-limits', { body: { tag: 'x', limit: -1 } });
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toEqual([expect.objectContaining({ path: 'body.limit' })]);
    const extra = await api.owner('POST', '/concurrency-limits', { body: { tag: 'x', limit: 1, active: 0 } });
    expect(extra.status).toBe(400);
    expect(extra.body.errors).toEqual([expect.objectContaining({ path: 'body.active' })]);

    const tag = `private-${randomUUID().slice(0, 6)}`;
    await api.owner('POST', '/concurrency-limits', { body: { tag, limit: 1 } });
    const viewer = client(api.server, await api.server.createKey('viewer'));
    expect((await viewer('GET', `/concurrency-limits/${tag}`)).status).toBe(200);
    expect((await viewer('PATCH', `/concurrency-limits/${tag}`, { body: { limit: 3 } })).status).toBe(403);
    const other = await api.server.createWorkspace();
    const stranger = client(api.server, other.ownerKey);
    expect((await stranger('GET', `/concurrency-limits/${tag}`)).status).toBe(404);
    expect((await stranger('GET', '/concurrency-limits')).body.items).toEqual([]);
  });
});

describe('limits at claim time', () => {
  test('a run with several limited tags needs a slot in each, and waits as AwaitingConcurrencySlot until it has them', async () => {
    const [a, b] = [`a-${randomUUID().slice(0, 6)}`, `b-${randomUUID().slice(0, 6)}`];
    await api.owner('POST', '/concurrency-limits', { body: { tag: a, limit: 1 } });
    await api.owner('POST', '/concurrency-limits', { body: { tag: b, limit: 1 } });
    const pool = await freshPool();
    const d = await deploy(api.owner, { flowName: pool, name: 'd', workPool: pool });
    const past = (s: number) => new Date(Date.now() - s * 1000).toISOString();
    const onlyA = await runOf(d.id, { tags: [a], scheduledTime: past(30) });
    const onlyB = await runOf(d.id, { tags: [b], scheduledTime: past(20) });
    const both = await runOf(d.id, { tags: [a, b], scheduledTime: past(10) });

    const first = await claimAll(pool);
    expect(ids(first)).toEqual([onlyA, onlyB]);
    const waiting = await stateOf(both);
    expect(waiting).toMatchObject({ type: 'SCHEDULED', name: 'AwaitingConcurrencySlot' });
    expect(waiting.message).toContain(`"${a}"`);
    expect(waiting.message).toContain(`"${b}"`);

    await finish(first[0] as Claimed);
    expect(await claimAll(pool)).toEqual([]);
    await finish(first[1] as Claimed);
    expect(ids(await claimAll(pool))).toEqual([both]);
  });

  test('a tag limit holds across pools', async () => {
    const tag = `shared-${randomUUID().slice(0, 6)}`;
    await api.owner('POST', '/concurrency-limits', { body: { tag, limit: 1 } });
    const [p1, p2] = [await freshPool(), await freshPool()];
    const d1 = await deploy(api.owner, { flowName: p1, name: 'd', workPool: p1, tags: [tag] });
    const d2 = await deploy(api.owner, { flowName: p2, name: 'd', workPool: p2, tags: [tag] });
    await runOf(d1.id);
    const second = await runOf(d2.id);
    const [held] = await claimAll(p1);
    expect(held).toBeDefined();
    expect(await claimAll(p2)).toEqual([]);
    await finish(held as Claimed);
    expect(ids(await claimAll(p2))).toEqual([second]);
  });

  test('with ENQUEUE a deployment limit of 1 runs the second run after the first finishes', async () => {
    const pool = await freshPool();
    const d = await deploy(api.owner, { flowName: pool, name: 'd', workPool: pool, concurrencyLimit: 1 });
    expect(d).toMatchObject({ concurrencyLimit: 1, collisionStrategy: 'ENQUEUE' });
    const first = await runOf(d.id);
    const second = await runOf(d.id);
    const claimed = await claimAll(pool);
    expect(ids(claimed)).toEqual([first]);
    expect(await stateOf(second)).toMatchObject({ type: 'SCHEDULED', name: 'AwaitingConcurrencySlot' });
    expect((await stateOf(second)).message).toContain('deployment concurrency limit of 1 reached');
    expect(await claimAll(pool)).toEqual([]);
    await finish(claimed[0] as Claimed);
    const next = await claimAll(pool);
    expect(ids(next)).toEqual([second]);
    const history = (await api.owner('GET', `/flow-runs/${second}/states`)).body.items.map(
      (s: { state: { type: string; name: string } }) => `${s.state.type}/${s.state.name}`,
    );
    expect(history).toEqual(['SCHEDULED/Scheduled', 'SCHEDULED/AwaitingConcurrencySlot', 'PENDING/Pending']);
  });

  test('with CANCEL_NEW a deployment limit of 1 cancels the second run with the reason, and lets later runs through once free', async () => {
    const pool = await freshPool();
    const d = await deploy(api.owner, {
      flowName: pool,
      name: 'd',
      workPool: pool,
      concurrencyLimit: 1,
      collisionStrategy: 'CANCEL_NEW',
    });
    const first = await runOf(d.id);
    const second = await runOf(d.id);
    const claimed = await claimAll(pool);
    expect(ids(claimed)).toEqual([first]);
    const cancelled = (await api.owner('GET', `/flow-runs/${second}`)).body;
    expect(cancelled.state.type).toBe('CANCELLED');
    expect(cancelled.state.message).toContain('deployment concurrency limit of 1 reached');
    expect(cancelled.state.message).toContain('CANCEL_NEW');
    expect(cancelled.endTime).not.toBeNull();

    await finish(claimed[0] as Claimed);
    const third = await runOf(d.id);
    expect(ids(await claimAll(pool))).toEqual([third]);
  });

  test('a run leaving its slot by any path frees it: failure with a retry, cancel, and lease expiry', async () => {
    const pool = await freshPool();
    const d = await deploy(api.owner, { flowName: pool, name: 'd', workPool: pool, concurrencyLimit: 1, retries: 1 });
    const a = await runOf(d.id);
    const b = await runOf(d.id);
    const c = await runOf(d.id);

    // A failure with retries left goes back to SCHEDULED and frees the slot for the next run in line.
    const [first] = await claimAll(pool, 1);
    expect(first?.flowRun.id).toBe(a);
    await finish(first as Claimed, 'FAILED');
    expect(await stateOf(a)).toMatchObject({ type: 'SCHEDULED', name: 'AwaitingRetry' });
    const [second] = await claimAll(pool, 1);
    expect([a, b]).toContain(second?.flowRun.id);

    // Cancelling the holder frees its slot once the run is CANCELLED.
    await client(api.server, (second as Claimed).token)('POST', `/flow-runs/${second?.flowRun.id}/set-state`, {
      body: { transitionId: randomUUID(), state: { type: 'RUNNING' } },
    });
    expect((await api.owner('POST', `/flow-runs/${second?.flowRun.id}/cancel`, { body: {} })).body.state.type).toBe('CANCELLING');
    expect(await claimAll(pool)).toEqual([]);
    await client(api.server, (second as Claimed).token)('POST', `/flow-runs/${second?.flowRun.id}/set-state`, {
      body: { transitionId: randomUUID(), state: { type: 'CANCELLED' } },
    });
    const [third] = await claimAll(pool, 1);
    expect(third).toBeDefined();

    // A holder whose worker vanished frees its slot when the lease loop crashes it.
    const loop = new LeaseExpiryLoop(api.server.sql, api.server.databaseUrl, createLogger('silent'));
    try {
      await eventually(
        async () => {
          await loop.tick();
          const state = await stateOf((third as Claimed).flowRun.id);
          return state.type === 'PENDING' ? undefined : state;
        },
        10_000,
        'the lease to expire',
      );
    } finally {
      await loop.stop();
    }
    const next = await claimAll(pool, 1);
    expect(next).toHaveLength(1);
    expect([a, b, c]).toContain(next[0]?.flowRun.id);
  });
});
