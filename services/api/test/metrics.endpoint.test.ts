import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { isPublicPath } from '../src/http/permissions.js';
import { startTestServer, TEST_RATE_LIMITS, type TestServer } from '../src/testing/index.js';
import { claim, client, createRun, deploy } from './helpers.js';
import { delta, METRICS_TOKEN, scrape } from './metrics.support.js';

let plain: TestServer;
let guarded: TestServer;

beforeAll(async () => {
  [plain, guarded] = await Promise.all([
    startTestServer({ loops: false }),
    startTestServer({ loops: false, metricsToken: METRICS_TOKEN }),
  ]);
});
afterAll(async () => {
  await Promise.all([plain?.close(), guarded?.close()]);
});

interface Answer {
  status: number;
  type: string | null;
  challenge: string | null;
  allow: string | null;
  body: string;
}

/** One request over real HTTP, reduced to what a caller can tell apart (no request id, no date). */
async function answer(server: TestServer, method: string, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(`${server.url}${path}`, { method, headers });
  const body = (await res.text()).replace(path, '<path>').replace(/"(requestId|instance)":"[^"]*"/g, '"$1":"-"');
  return {
    status: res.status,
    type: res.headers.get('content-type'),
    challenge: res.headers.get('www-authenticate'),
    allow: res.headers.get('allow'),
    body,
  };
}

describe('without OUTPOST_METRICS_TOKEN', () => {
  test('/metrics is a 404 that reveals nothing, whatever the method or credential, never the dashboard page', async () => {
    const credentials: Record<string, string>[] = [
      {},
      { authorization: `Bearer ${plain.ownerKey}` },
      { authorization: `Bearer ${METRICS_TOKEN}` },
    ];
    for (const method of ['GET', 'HEAD', 'POST', 'DELETE']) {
      for (const headers of credentials) {
        const metrics = await answer(plain, method, '/metrics', headers);
        expect(metrics.status, `${method} /metrics`).toBe(404);
        expect(metrics.body).not.toContain('outpost_');
        expect(metrics.body).not.toContain('<html');
        if (method !== 'HEAD') expect(metrics.type).toContain('application/problem+json');
      }
    }
  });

  test('with a trailing slash too, on a server with or without a token, the scrape path is never the dashboard page', async () => {
    // The dashboard answers every other unknown path with its page, as its routing needs.
    expect((await answer(plain, 'GET', '/runs')).body).toContain('<html');
    for (const server of [plain, guarded]) {
      for (const path of ['/metrics/', '/metrics//']) {
        const res = await answer(server, 'GET', path, { authorization: `Bearer ${METRICS_TOKEN}` });
        expect(res.status, path).toBe(404);
        expect(res.body).not.toContain('<html');
        expect(res.type).toContain('application/problem+json');
      }
    }
  });

  test('a server cannot be started with a metrics token shorter than 32 characters or holding spaces', async () => {
    await expect(startTestServer({ loops: false, metricsToken: 'short' })).rejects.toThrow(/32 or more visible ASCII/);
    await expect(startTestServer({ loops: false, metricsToken: `${'x'.repeat(32)} y` })).rejects.toThrow(/without spaces/);
  });
});

describe('with OUTPOST_METRICS_TOKEN', () => {
  test('refuses a missing or wrong token, and every workspace credential, with a 401 Bearer challenge', async () => {
    const owner = client(guarded, guarded.ownerKey);
    const deployment = await deploy(owner, { flowName: 'scrape', name: 'refused' });
    await createRun(owner, deployment.id);
    const [held] = await claim(owner);
    const refused: Record<string, Record<string, string>> = {
      'no credential': {},
      'another scheme': { authorization: `Basic ${Buffer.from(`prometheus:${METRICS_TOKEN}`).toString('base64')}` },
      'a token one character off': { authorization: `Bearer ${METRICS_TOKEN.slice(0, -1)}x` },
      'the token with more after it': { authorization: `Bearer ${METRICS_TOKEN}x` },
      'the token as a prefix only': { authorization: `Bearer ${METRICS_TOKEN.slice(0, 31)}` },
      'an owner API key': { authorization: `Bearer ${guarded.ownerKey}` },
      'a worker API key': { authorization: `Bearer ${await guarded.createKey('worker')}` },
      'a run token': { authorization: `Bearer ${held.token}` },
    };
    for (const [what, headers] of Object.entries(refused)) {
      const res = await answer(guarded, 'GET', '/metrics', headers);
      expect(res.status, what).toBe(401);
      expect(res.challenge, what).toBe('Bearer');
      expect(res.type, what).toBe('application/problem+json');
      expect(JSON.parse(res.body).code, what).toBe('unauthenticated');
      expect(res.body, what).not.toContain('outpost_');
    }
  });

  test('serves the Prometheus text format to the metrics token, for GET and HEAD', async () => {
    const res = await fetch(`${guarded.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = await res.text();
    for (const name of [
      'outpost_http_requests_total counter',
      'outpost_http_request_duration_seconds histogram',
      'outpost_claim_duration_seconds histogram',
      'outpost_claimed_runs_total counter',
      'outpost_dispatch_delay_seconds histogram',
      'outpost_state_transitions_total counter',
      'outpost_log_lines_ingested_total counter',
      'outpost_runs_due gauge',
      'outpost_runs_active gauge',
      'process_cpu_user_seconds_total counter',
      'nodejs_eventloop_lag_seconds gauge',
    ]) {
      expect(body).toContain(`# TYPE ${name}`);
    }
    // The scheme is case-insensitive, as for every other bearer credential.
    const head = await fetch(`${guarded.url}/metrics`, { method: 'HEAD', headers: { authorization: `bearer ${METRICS_TOKEN}` } });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });

  test('other methods on /metrics are a 405 naming GET, and the path is not one of the public ones', async () => {
    const res = await answer(guarded, 'POST', '/metrics', { authorization: `Bearer ${METRICS_TOKEN}` });
    expect(res.status).toBe(405);
    expect(res.allow).toBe('GET, HEAD');
    expect(isPublicPath('GET', '/metrics')).toBe(false);
  });

  test('failed attempts count against the address like other failed authentications, and the token still works', async () => {
    const limited = await startTestServer({
      loops: false,
      metricsToken: METRICS_TOKEN,
      rateLimits: { ...TEST_RATE_LIMITS, anonymousPerMinute: 60, burstSeconds: 3 },
    });
    try {
      const wrong = { authorization: `Bearer ${'w'.repeat(40)}` };
      for (let i = 0; i < 3; i++) expect((await answer(limited, 'GET', '/metrics', wrong)).status).toBe(401);
      const refused = await fetch(`${limited.url}/metrics`, { headers: wrong });
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      await refused.text();
      expect((await scrape(limited)).text).toContain('outpost_http_requests_total');
    } finally {
      await limited.close();
    }
  });
});

test('two servers in one process keep separate registries', async () => {
  const other = await startTestServer({ loops: false, metricsToken: METRICS_TOKEN });
  try {
    const whoami = { method: 'GET', route: '/api/v1/whoami', status: '200' };
    const [guardedBefore, otherBefore] = await Promise.all([scrape(guarded), scrape(other)]);
    const call = client(guarded, guarded.ownerKey);
    for (let i = 0; i < 3; i++) expect((await call('GET', '/whoami')).status).toBe(200);
    const [guardedAfter, otherAfter] = await Promise.all([scrape(guarded), scrape(other)]);
    expect(delta(guardedBefore, guardedAfter, 'outpost_http_requests_total', whoami)).toBe(3);
    expect(delta(otherBefore, otherAfter, 'outpost_http_requests_total', whoami)).toBe(0);
    // Each counts its own scrapes only: one between the two scrapes of each.
    const scrapes = { method: 'GET', route: '/metrics', status: '200' };
    expect(delta(guardedBefore, guardedAfter, 'outpost_http_requests_total', scrapes)).toBe(1);
    expect(delta(otherBefore, otherAfter, 'outpost_http_requests_total', scrapes)).toBe(1);
  } finally {
    await other.close();
  }
});
