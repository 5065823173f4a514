import { request } from 'node:http';
import { type RouteDef, routes, servedPath } from '@outpost/sdk/contracts';
import { describe, expect, test } from 'vitest';
import { isPublicPath, PUBLIC_PATHS } from '../src/http/permissions.js';
import { useServer } from './helpers.js';
import { METRICS_TOKEN } from './metrics.support.js';

// With a metrics token, so the operator's route is mounted and checked with the rest.
const api = useServer({ loops: false, dashboardDir: null, metricsToken: METRICS_TOKEN });

interface Raw {
  status: number;
  type: string;
  body: string;
}

/** Sends the request target exactly as written (no URL normalisation, unlike fetch), over real HTTP. */
function raw(method: string, target: string, headers: Record<string, string> = {}): Promise<Raw> {
  const { hostname, port } = new URL(api.server.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, method, path: target, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const TRICKS = [
  '/api/v1/whoami/',
  '/api/v1//whoami',
  '/api/v1/whoami/.',
  '/api/v1/./whoami',
  '/api/v1/flow-runs/../whoami',
  '/api/v1/x/healthz',
  '/api/v1/flow-runs/healthz',
  '/api/v1/healthz',
  '/api/v1/readyz',
  '/api/v1/whoami/healthz',
  '/api/v1/whoami;healthz',
  '/api/v1/whoami%3Bhealthz',
  '/api/v1/whoami?x=/healthz',
  '/api/v1/whoami#healthz',
  '/api/v1%2Fwhoami',
  '/api/v1/work-pools%2Fdefault',
  '/api/v1/work-pools/default%2Fclaim',
  '/api/v1/work-pools/default%252Fclaim',
  '/api/v1/%2e%2e/api/v1/whoami',
  '/api/v1/WHOAMI',
  '/API/V1/whoami',
  '/Api/v1/flow-runs',
  '/api/v1/openapi.json/',
  '/api/v1/openapi.json/..',
  '/api/docs/',
  '/api/docs/scalar.js/',
  '/api/docs/../v1/whoami',
  '/api/docs/%2e%2e/v1/whoami',
  '/api/docs/scalar.js/../../v1/whoami',
  '/api/v1/.well-known/jwks.json/../../whoami',
  '/healthz/../api/v1/whoami',
  '/healthz/%2e%2e/api/v1/whoami',
  '/api/v1/flow-runs/00000000-0000-0000-0000-000000000000/logs/healthz',
  '/api/v1/auth/session/../../whoami',
  '/api/v1/audit-log/export/',
  '/api/v1/members/',
  '/api/v1/sso/oidc/..',
];

/** No request without a credential reads or changes anything: 401 under /api, never API data elsewhere. */
function assertNothingServed(res: Raw, label: string): void {
  expect(res.status, `${label}: ${res.body.slice(0, 200)}`).not.toBe(500);
  if (res.status >= 200 && res.status < 300) {
    throw new Error(`${label} answered ${res.status} without a credential: ${res.body.slice(0, 200)}`);
  }
  expect(res.body, label).not.toMatch(/"items"|"workspace"|"principal"/);
}

describe('path tricks never skip authentication', () => {
  test.each(TRICKS)('%s without a credential', async (target) => {
    for (const method of ['GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'PATCH', 'DELETE']) {
      const res = await raw(method, target);
      assertNothingServed(res, `${method} ${target}`);
      // Under /api nothing is told without a credential, not even whether a route exists. (`/API/…` is not the
      // API: paths are case-sensitive, and it is an ordinary unknown path.)
      if (target.startsWith('/api/')) expect(res.status, `${method} ${target}`).toBe(401);
    }
  });

  test('every route of the table, with HEAD and OPTIONS too, is a 401 without a credential', async () => {
    for (const route of Object.values(routes) as RouteDef[]) {
      if (route.access.anonymous) continue;
      const path = servedPath({
        ...route,
        path: route.path.replace(/:([A-Za-z]+)/g, (_, k: string) =>
          k === 'pool' ? 'default' : '00000000-0000-4000-8000-000000000000',
        ),
      });
      // Outside /api an unknown method is told apart (a 405 naming GET), as for any path there.
      const methods = route.root ? [route.method, 'HEAD'] : [route.method, 'HEAD', 'OPTIONS'];
      for (const method of methods) {
        const res = await raw(method, path);
        expect(res.status, `${method} ${path}`).toBe(401);
      }
    }
  });

  test('with a credential, HEAD behaves as GET and OPTIONS is not a way around anything', async () => {
    const auth = { authorization: `Bearer ${api.server.ownerKey}` };
    expect((await raw('HEAD', '/api/v1/whoami', auth)).status).toBe(200);
    const viewer = { authorization: `Bearer ${await api.server.createKey('worker')}` };
    expect((await raw('HEAD', '/api/v1/api-keys', viewer)).status).toBe(403);
    const options = await raw('OPTIONS', '/api/v1/whoami', auth);
    expect(options.status).toBe(405);
  });

  test('the only paths outside the route table are the two probes, compared exactly', async () => {
    expect(PUBLIC_PATHS.map((p) => p.path)).toEqual(['/healthz', '/readyz']);
    expect(isPublicPath('GET', '/healthz')).toBe(true);
    expect(isPublicPath('HEAD', '/healthz')).toBe(true);
    for (const path of ['/healthz/', '/api/v1/healthz', '/HEALTHZ', '/healthz.json', '/x/healthz', '/metrics']) {
      expect(isPublicPath('GET', path), path).toBe(false);
    }
    expect(isPublicPath('POST', '/healthz')).toBe(false);
    expect((await raw('GET', '/healthz')).status).toBe(200);
    expect((await raw('GET', '/readyz')).status).toBe(200);
  });

  test('the routes reachable without a credential are exactly these entries of the table', async () => {
    const anonymous = Object.entries(routes)
      .filter(([, route]) => (route as RouteDef).access.anonymous)
      .map(([name]) => name)
      .sort();
    // The API's description (the OpenAPI document and the reference page with its script) tells
    // nothing of a workspace; everything else here signs a person in or out, or publishes keys.
    expect(anonymous).toEqual([
      'apiDocs',
      'apiDocsScript',
      'authEmailConfirm',
      'authPasswordChange',
      // Asking for a reset link (answered the same for every address) and using one.
      'authPasswordReset',
      'authPasswordResetConfirm',
      'authPasswordSetup',
      'authPasswordSignIn',
      'authSessionCreate',
      'authSessionDelete',
      // An inbound webhook's delivery: its secret URL token and the body's HMAC signature authenticate it.
      'eventWebhookReceive',
      'jwks',
      // The link mailed to an email channel's external recipient: its one-time token authenticates it.
      'mailRecipientsConfirm',
      'oidcSignInCallback',
      'oidcSignInStart',
      'openApiDocument',
      'organisationSignInStart',
    ]);
    expect((await raw('GET', '/api/v1/.well-known/jwks.json')).status).toBe(200);
    expect((await raw('GET', '/api/v1/openapi.json')).status).toBe(200);
  });
});
