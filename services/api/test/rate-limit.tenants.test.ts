import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, test } from 'vitest';
import { TEST_RATE_LIMITS, type TestWorkspace } from '../src/testing/index.js';
import { useServer } from './helpers.js';

let noisy: TestWorkspace;
let quiet: TestWorkspace;

// Deep buckets with slow refills (a key: 150 then 1 a second; a workspace: 300 then 2 a second), so
// the counts barely depend on how fast this machine sends requests.
const LIMITS = { ...TEST_RATE_LIMITS, keyPerMinute: 60, workspacePerMinute: 120, anonymousPerMinute: 6, burstSeconds: 150 };

const api = useServer({ loops: false, rateLimits: LIMITS });

beforeAll(async () => {
  noisy = await api.server.createWorkspace();
  quiet = await api.server.createWorkspace();
});

/** Real HTTP to the listening server, as clients call it. */
async function get(path: string, key: string): Promise<Response> {
  const res = await fetch(`${api.server.url}/api/v1${path}`, { headers: { authorization: `Bearer ${key}` } });
  await res.arrayBuffer();
  return res;
}

describe('rate limits', () => {
  test('one tenant flooding gets 429 with Retry-After while another tenant’s requests keep succeeding', async () => {
    const floodKeys = await Promise.all([noisy.createKey('viewer'), noisy.createKey('viewer'), noisy.createKey('viewer')]);
    const quietKey = await quiet.createKey('viewer');
    const started = Date.now();
    const flood = Promise.all(Array.from({ length: 600 }, (_, i) => get('/flow-runs?limit=1', floodKeys[i % 3] as string)));
    const calm = Promise.all(Array.from({ length: 60 }, () => get('/flow-runs?limit=1', quietKey)));
    const [flooded, served] = await Promise.all([flood, calm]);
    const refill = Math.ceil(((Date.now() - started) / 1000) * 2);

    const refused = flooded.filter((r) => r.status === 429);
    // Three keys share the workspace's 300-request burst; the rest is refused.
    expect(flooded.filter((r) => r.status === 200).length).toBeLessThanOrEqual(300 + refill);
    expect(refused.length).toBeGreaterThanOrEqual(300 - refill);
    expect(flooded.every((r) => r.status === 200 || r.status === 429)).toBe(true);
    for (const res of refused.slice(0, 5)) {
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
    }
    expect(served.map((r) => r.status)).toEqual(Array(60).fill(200));
  });

  test('a single key is held to its own rate below the workspace’s', async () => {
    const ws = await api.server.createWorkspace();
    const key = await ws.createKey('viewer');
    const started = Date.now();
    const replies = await Promise.all(Array.from({ length: 200 }, () => get('/whoami', key)));
    const ok = replies.filter((r) => r.status === 200).length;
    expect(ok).toBeGreaterThanOrEqual(150);
    expect(ok).toBeLessThanOrEqual(150 + Math.ceil((Date.now() - started) / 1000));
    // Another key of the same workspace still has room in the workspace bucket.
    expect((await get('/whoami', await ws.createKey('viewer'))).status).toBe(200);
  });

  test('workers of a flooding tenant keep heartbeating: their traffic has buckets of its own', async () => {
    const ws = await api.server.createWorkspace();
    const user = await ws.createKey('viewer');
    const worker = await ws.createKey('worker');
    const flood = Promise.all(Array.from({ length: 400 }, () => get('/flow-runs?limit=1', user)));
    const beat = await fetch(`${api.server.url}/api/v1/work-pools/default/workers/heartbeat`, {
      method: 'POST',
      headers: { authorization: `Bearer ${worker}`, 'content-type': 'application/json' },
      body: JSON.stringify({ workerId: randomUUID(), name: 'w', capacity: 1, runs: [] }),
    });
    expect(beat.status).toBe(200);
    const claim = await fetch(`${api.server.url}/api/v1/work-pools/default/claim`, {
      method: 'POST',
      headers: { authorization: `Bearer ${worker}`, 'content-type': 'application/json' },
      body: JSON.stringify({ workerId: randomUUID(), limit: 1 }),
    });
    expect(claim.status).toBe(200);
    expect((await flood).filter((r) => r.status === 429).length).toBeGreaterThan(200);
  });

  test('failed authentications from one address are limited too', async () => {
    const statuses: number[] = [];
    // 6 a minute with 150 s of burst: 15 failures, then refusals.
    for (let i = 0; i < 20; i++) statuses.push((await get('/whoami', `op_${'A'.repeat(38)}`)).status);
    expect(statuses.slice(0, 15)).toEqual(Array(15).fill(401));
    expect(statuses.slice(15)).toContain(429);
  });
});
