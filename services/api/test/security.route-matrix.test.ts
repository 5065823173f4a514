import { type Role, type RouteDef, type RouteName, routes, SCIM_SCHEMAS } from '@outpost/sdk/contracts';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { isAudited } from '../src/http/audit.js';
import { startTestServer, TestOidcProvider, type TestServer } from '../src/testing/index.js';
import type { Reply } from './helpers.js';
import { METRICS_TOKEN } from './metrics.support.js';
import { type Caller, FIXTURES, routesWithoutFixture, Scene, send } from './security.fixtures.js';
import { tally } from './security.tally.js';

/*
 * Generated from the route table: for every route and every role (API keys of each role, and a run
 * token), an allowed caller succeeds and any other gets 403 forbidden; anonymous routes succeed for
 * everyone. Successful mutations by keys must land in the audit log unless the route is exempt.
 */

const ROLES: Role[] = ['owner', 'admin', 'developer', 'runner', 'viewer', 'worker'];
const ENTRIES = Object.entries(routes) as [RouteName, RouteDef][];

let server: TestServer;
let idp: TestOidcProvider;
let scene: Scene;
const callers = new Map<string, Caller>();

beforeAll(async () => {
  // The operator's route exists only with a metrics token; single sign-on goes to a provider of the suite's own.
  server = await startTestServer({ loops: false, metricsToken: METRICS_TOKEN });
  idp = await new TestOidcProvider().start();
  idp.confidential = false;
  scene = await new Scene(server, await server.createWorkspace(), 'matrix').setUp();
  scene.provider = idp;
  for (const role of ROLES) callers.set(role, await scene.caller(role));
  callers.set('run_token', { kind: 'run_token' });
});
afterAll(async () => {
  await server?.close();
  await idp?.close();
});

function allowed(route: RouteDef, column: string): boolean {
  if (route.access.anonymous) return true;
  // A person's own routes act on the signed-in account: keys and run tokens have none.
  if (route.access.person) return false;
  // The operator's route takes the metrics token alone.
  if (route.access.operator) return false;
  // The directory's routes (SCIM) take an organisation token with the scim scope alone.
  if (route.access.organisationTokenOnly) return false;
  if (column === 'run_token') return route.access.runToken === true;
  return route.access.roles.includes(column as Role);
}

/** A success of the route: its redirect, to anywhere but a page telling of a failure, or a 2xx. */
function expectSuccess(route: RouteDef, res: Reply, label: string): void {
  if (route.produces === 'redirect') {
    expect(res.status, `${label}: ${res.text}`).toBe(302);
    expect(res.headers.get('location'), label).not.toMatch(/[?&]error=/);
    return;
  }
  expect(res.status, `${label}: ${res.text}`).toBeGreaterThanOrEqual(200);
  expect(res.status, `${label}: ${res.text}`).toBeLessThan(300);
}

/** A refusal: a 403 for a credential of the wrong role or kind; the operator's route takes no workspace credential at all (401). */
function expectRefusal(route: RouteDef, res: Reply, label: string): void {
  if (route.access.organisationTokenOnly) {
    // SCIM's own error document (RFC 7644 §3.12), as every answer on the directory's paths.
    expect(res.status, `${label}: ${res.text}`).toBe(403);
    expect(res.body).toMatchObject({ schemas: [SCIM_SCHEMAS.error], status: '403' });
    return;
  }
  const [status, code] = route.access.operator ? [401, 'unauthenticated'] : [403, 'forbidden'];
  expect(res.status, `${label}: ${res.text}`).toBe(status);
  expect(res.body.code).toBe(code);
}

test('every route of the table has a request fixture, so none escapes these checks', () => {
  expect(routesWithoutFixture()).toEqual([]);
});

const roleCases = tally('role cases (route × role, and without a credential)');

describe.each(ENTRIES)('%s', (name, route) => {
  test.each([...ROLES, 'run_token'])(`${route.method} ${route.path} as %s`, async (column) => {
    const caller = callers.get(column) as Caller;
    const fixture = FIXTURES[name];
    expect(fixture, `no fixture for ${name}`).toBeDefined();
    const spec = await fixture(scene, caller);
    // A run token for routes it may not call: the token of some held run.
    const bearer = caller.kind === 'key' ? caller.key : (spec.bearer ?? (await scene.held()).token);
    const res = await send(server, route, { ...spec, bearer, session: undefined }, null);
    roleCases.add();
    if (allowed(route, column)) {
      expectSuccess(route, res, `${name} as ${column}`);
      // Anonymous routes are recorded under the account or session they act on (audit.log.test.ts).
      if (
        caller.kind === 'key' &&
        !route.access.anonymous &&
        isAudited(name, route.method, { kind: 'api_key', role: caller.role, keyId: caller.keyId, workspaceId: '', pools: [] })
      ) {
        const [row] = await server.sql<{ n: number }[]>`
          SELECT count(*)::int AS n FROM audit_log WHERE action = ${name} AND actor_id = ${caller.keyId} AND status = ${res.status}`;
        expect(row?.n, `${name} by ${column} is not in the audit log`).toBeGreaterThan(0);
      }
    } else {
      expectRefusal(route, res, `${name} as ${column}`);
    }
  });
});

test("a person's own routes succeed for a person signed in with a password, whatever their role", async () => {
  const personal = ENTRIES.filter(([, route]) => route.access.person);
  expect(personal.length).toBeGreaterThan(0);
  for (const [name, route] of personal) {
    const spec = await FIXTURES[name](scene, { kind: 'anonymous' });
    expect(spec.session, `${name}: its fixture gives no person`).toBeDefined();
    const res = await send(server, route, spec, null);
    expect(res.status, `${name}: ${res.text}`).toBeGreaterThanOrEqual(200);
    expect(res.status, `${name}: ${res.text}`).toBeLessThan(300);
  }
});

test("the directory's routes succeed for an organisation token holding scim, of the route's organisation", async () => {
  const directory = ENTRIES.filter(([, route]) => route.access.organisationTokenOnly);
  expect(directory.length).toBeGreaterThan(0);
  for (const [name, route] of directory) {
    const spec = await FIXTURES[name](scene, { kind: 'anonymous' });
    expect(spec.organisationToken, `${name}: its fixture gives no organisation token`).toBeDefined();
    const res = await send(server, route, { ...spec, bearer: spec.organisationToken }, null);
    expectSuccess(route, res, name);
  }
});

test('anonymous routes work without any credential, and every other route is a 401 without one', async () => {
  for (const [name, route] of ENTRIES) {
    const spec = await FIXTURES[name](scene, { kind: 'anonymous' });
    const res = await send(server, route, { ...spec, bearer: undefined, session: undefined }, null);
    roleCases.add();
    if (route.access.anonymous) expectSuccess(route, res, name);
    else {
      expect(res.status, name).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
    }
  }
});

test("the operator's routes answer the metrics token, which opens nothing else", async () => {
  const operated = ENTRIES.filter(([, route]) => route.access.operator);
  expect(operated.length).toBeGreaterThan(0);
  for (const [name, route] of operated) {
    const res = await send(server, route, await FIXTURES[name](scene, { kind: 'anonymous' }), METRICS_TOKEN);
    expectSuccess(route, res, name);
  }
  const whoami = await send(server, routes.whoami, {}, METRICS_TOKEN);
  expect(whoami.status).toBe(401);
});
