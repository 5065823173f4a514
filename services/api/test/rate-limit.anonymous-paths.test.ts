import { describe, expect, test } from 'vitest';
import { startTestServer, TEST_RATE_LIMITS } from '../src/testing/index.js';
import { useServer } from './helpers.js';

let next = 0;

// 6 a minute with 150 s of burst: 15 requests from one address, then refusals for ten seconds each.
// JWKS fetches have a bucket of their own of the same size.
const LIMITS = { ...TEST_RATE_LIMITS, anonymousPerMinute: 6, jwksPerMinute: 6, burstSeconds: 150 };
const BAD_KEY = `op_${'A'.repeat(38)}`;

// One trusted proxy hop: each test speaks from addresses of its own through X-Forwarded-For.
const api = useServer({ loops: false, rateLimits: LIMITS, trustedProxyHops: 1 });

/** A client address no other test uses. */
function address(): string {
  next += 1;
  return `192.0.2.${next}`;
}

async function send(from: string, method: string, path: string, headers: Record<string, string> = {}, body?: unknown) {
  const res = await api.server.app.request(path, {
    method,
    headers: {
      'x-forwarded-for': from,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  await res.arrayBuffer();
  return res;
}

async function statuses(count: number, call: () => Promise<Response>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < count; i++) out.push((await call()).status);
  return out;
}

describe('every path a failed authentication can reach is throttled per address', () => {
  test.each([
    ['an unknown path under /api', '/api/v1/no-such-route'],
    ['a route of the table', '/api/v1/flow-runs'],
  ])('%s: 15 failed authentications, then 429 with Retry-After; another address is unaffected', async (_what, path) => {
    const from = address();
    const seen = await statuses(20, () => send(from, 'GET', path, { authorization: `Bearer ${BAD_KEY}` }));
    expect(seen.slice(0, 15)).toEqual(Array(15).fill(401));
    expect(seen.slice(15)).toEqual(Array(5).fill(429));
    const refused = await send(from, 'GET', path, { authorization: `Bearer ${BAD_KEY}` });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect((await send(address(), 'GET', path, { authorization: `Bearer ${BAD_KEY}` })).status).toBe(401);
  });

  test('unknown paths are throttled without any credential too', async () => {
    const from = address();
    const seen = await statuses(20, () => send(from, 'GET', '/api/v1/no-such-route'));
    expect(seen.slice(0, 15)).toEqual(Array(15).fill(401));
    expect(seen.slice(15)).toEqual(Array(5).fill(429));
  });

  test('the API description (OpenAPI document, reference page and its script) is counted per address, whatever credential comes along', async () => {
    const from = address();
    const paths = ['/api/v1/openapi.json', '/api/docs', '/api/docs/scalar.js'];
    let i = 0;
    const seen = await statuses(20, () =>
      send(from, 'GET', paths[i++ % paths.length] as string, i % 2 === 0 ? { authorization: `Bearer ${BAD_KEY}` } : {}),
    );
    expect(seen.slice(0, 15)).toEqual(Array(15).fill(200));
    expect(seen.slice(15)).toEqual(Array(5).fill(429));
    expect((await send(address(), 'GET', '/api/docs')).status).toBe(200);
  });

  test('signing out with a session cookie that is no longer valid counts as a failed authentication', async () => {
    const from = address();
    const seen = await statuses(20, () => send(from, 'DELETE', '/api/v1/auth/session', { cookie: 'outpost_session=forged' }));
    // The answer stays a 204 that clears the cookies, until the address is over its rate.
    expect(seen.slice(0, 15)).toEqual(Array(15).fill(204));
    expect(seen.slice(15)).toEqual(Array(5).fill(429));
  });

  test('valid credentials on unknown paths are counted against the credential', async () => {
    const tight = await startTestServer({
      loops: false,
      rateLimits: { ...TEST_RATE_LIMITS, keyPerMinute: 6, burstSeconds: 150 },
    });
    try {
      const auth = { authorization: `Bearer ${tight.ownerKey}` };
      const seen: number[] = [];
      for (let i = 0; i < 20; i++) {
        const res = await tight.app.request(i % 2 === 0 ? '/api/v1/whoami' : '/api/v1/no-such-route', { headers: auth });
        await res.arrayBuffer();
        seen.push(res.status);
      }
      expect(seen.slice(0, 15)).toEqual(Array.from({ length: 15 }, (_, i) => (i % 2 === 0 ? 200 : 404)));
      expect(seen.slice(15)).toEqual(Array(5).fill(429));
    } finally {
      await tight.close();
    }
  });
});

describe('JWKS has a bucket of its own', () => {
  test('an address that used up its sign-in allowance still fetches the JWKS', async () => {
    const from = address();
    const failed = await statuses(16, () => send(from, 'POST', '/api/v1/auth/session', {}, { token: 'not-a-token' }));
    expect(failed.slice(0, 15)).toEqual(Array(15).fill(401));
    expect(failed[15]).toBe(429);
    expect((await send(from, 'GET', '/api/v1/.well-known/jwks.json')).status).toBe(200);
  });

  test('JWKS fetches that used up their allowance leave sign-in alone', async () => {
    const from = address();
    const fetched = await statuses(16, () => send(from, 'GET', '/api/v1/.well-known/jwks.json'));
    expect(fetched.slice(0, 15)).toEqual(Array(15).fill(200));
    expect(fetched[15]).toBe(429);
    const signIn = await send(from, 'POST', '/api/v1/auth/session', {}, { apiKey: api.server.ownerKey });
    expect(signIn.status).toBe(200);
  });
});
