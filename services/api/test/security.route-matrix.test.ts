import { type Role, type RouteDef, type RouteName, routes } from '@outpost/sdk/contracts';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { isAudited } from '../src/http/audit.js';
import { startTestServer, type TestServer } from '../src/testing.js';
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
let scene: Scene;
const callers = new Map<string, Caller>();

beforeAll(async () => {
  server = await startTestServer({ loops: false });
  scene = await new Scene(server, await server.createWorkspace(), 'matrix').setUp();
  for (const role of ROLES) callers.set(role, await scene.caller(role));
  callers.set('run_token', { kind: 'run_token' });
});
afterAll(async () => {
  await server?.close();
});

function allowed(route: RouteDef, column: string): boolean {
  if (route.access.anonymous) return true;
  // A person's own routes act on the signed-in account: keys and run tokens have none.
  if (route.access.person) return false;
  if (column === 'run_token') return route.access.runToken === true;
  return route.access.roles.includes(column as Role);
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
      expect(res.status, `${name} as ${column}: ${res.text}`).toBeGreaterThanOrEqual(200);
      expect(res.status, `${name} as ${column}: ${res.text}`).toBeLessThan(300);
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
      expect(res.status, `${name} as ${column}: ${res.text}`).toBe(403);
      expect(res.body.code).toBe('forbidden');
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

test('anonymous routes work without any credential, and every other route is a 401 without one', async () => {
  for (const [name, route] of ENTRIES) {
    const spec = await FIXTURES[name](scene, { kind: 'anonymous' });
    const res = await send(server, route, { ...spec, bearer: undefined, session: undefined }, null);
    roleCases.add();
    if (route.access.anonymous) expect(res.status, `${name}: ${res.text}`).toBeLessThan(300);
    else {
      expect(res.status, name).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
    }
  }
});
