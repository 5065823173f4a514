import { randomUUID } from 'node:crypto';
import type { TestServer } from '@outpost/api/testing';
import { OutpostClient, unwrap } from '@outpost/sdk/client';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { Heartbeat } from '../src/lease.js';
import { parseOptions } from '../src/options.js';
import { startTestServer } from './support/api-testing.js';

const LEASE_MS = 4_000;
const GRACE_MS = 3_000;
const RENEWED_AT = 1_000_000;

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A real API whose pool `pool` has `settings`, and the heartbeat of a worker of that pool with a key of its own. */
async function workerOf(pool: string, settings: Record<string, unknown> = {}) {
  const server: TestServer = await startTestServer({
    loops: false,
    leaseSeconds: LEASE_MS / 1000,
    leaseExpiry: { graceSeconds: GRACE_MS / 1000 },
  });
  const owner = new OutpostClient({ baseUrl: server.url, token: server.ownerKey });
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await owner.close();
    await server.close();
  };
  cleanups.push(close);
  if (pool !== 'default') unwrap(await owner.call('poolsCreate', { body: { name: pool, ...settings } }));
  const { apiKey, key } = unwrap(await owner.call('apiKeysCreate', { body: { name: `w-${pool}`, role: 'worker' } }));
  const client = new OutpostClient({ baseUrl: server.url, token: key });
  cleanups.push(() => client.close());
  const heartbeat = new Heartbeat({
    client,
    options: parseOptions(['--pool', pool], { OUTPOST_API_URL: server.url, OUTPOST_API_KEY: key }),
    workerId: randomUUID(),
    logger: pino({ level: 'silent' }),
    held: () => [],
  });
  return {
    heartbeat,
    /** The whole control plane goes away: the next heartbeat finds nobody listening. */
    apiGone: close,
    /** The API stays up but refuses this worker from now on. */
    revokeKey: async () => void unwrap(await owner.call('apiKeysRevoke', { params: { id: apiKey.id } })),
  };
}

describe("how long a worker's runs go on without a renewal", () => {
  it('is lease + grace before the worker has heard its pool, even when the API is away', async () => {
    const { heartbeat, apiGone } = await workerOf('default');
    await apiGone();
    expect((await heartbeat.beat()).ok).toBe(false);
    expect(heartbeat.unreachable).toBe(true);
    // The API's lease and grace are not known yet either: the defaults (30 s, and no grace).
    expect(heartbeat.holdUntil(RENEWED_AT)).toBe(RENEWED_AT + 30_000);
  });

  it("is lease + grace while the API answers, and the pool's ten-minute tolerance once it cannot be reached", async () => {
    const { heartbeat, apiGone } = await workerOf('retrying');
    expect((await heartbeat.beat()).ok).toBe(true);
    expect(heartbeat.unreachable).toBe(false);
    expect(heartbeat.holdUntil(RENEWED_AT)).toBe(RENEWED_AT + LEASE_MS + GRACE_MS);
    await apiGone();
    expect((await heartbeat.beat()).ok).toBe(false);
    expect(heartbeat.unreachable).toBe(true);
    expect(heartbeat.holdUntil(RENEWED_AT)).toBe(RENEWED_AT + LEASE_MS + 600_000);
  });

  it('is back to lease + grace when the API answers with a refusal: a refusal is not an outage', async () => {
    const { heartbeat, revokeKey } = await workerOf('refused');
    expect((await heartbeat.beat()).ok).toBe(true);
    await revokeKey();
    const refused = await heartbeat.beat();
    expect(refused.ok).toBe(false);
    expect(heartbeat.unreachable).toBe(false);
    expect(heartbeat.holdUntil(RENEWED_AT)).toBe(RENEWED_AT + LEASE_MS + GRACE_MS);
  });

  it('is lease + tolerance in a pool that waits for silent workers, whether or not the API answers', async () => {
    const { heartbeat, revokeKey } = await workerOf('waiting', { onWorkerSilence: 'wait', disconnectedToleranceSeconds: 60 });
    expect((await heartbeat.beat()).ok).toBe(true);
    expect(heartbeat.holdUntil(RENEWED_AT)).toBe(RENEWED_AT + LEASE_MS + 60_000);
    await revokeKey();
    expect((await heartbeat.beat()).ok).toBe(false);
    expect(heartbeat.holdUntil(RENEWED_AT)).toBe(RENEWED_AT + LEASE_MS + 60_000);
  });

  it('has no limit in a pool whose tolerance has none, once the API is away', async () => {
    const { heartbeat, apiGone } = await workerOf('patient', { disconnectedToleranceSeconds: null });
    expect((await heartbeat.beat()).ok).toBe(true);
    expect(heartbeat.holdUntil(RENEWED_AT)).toBe(RENEWED_AT + LEASE_MS + GRACE_MS);
    await apiGone();
    expect((await heartbeat.beat()).ok).toBe(false);
    expect(heartbeat.holdUntil(RENEWED_AT)).toBe(Infinity);
  });
});
