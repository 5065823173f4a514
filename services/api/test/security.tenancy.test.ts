import { randomUUID } from 'node:crypto';
import { type RouteDef, type RouteName, routes } from '@outpost/sdk/contracts';
import { beforeAll, describe, expect, test } from 'vitest';
import type { Sql } from '../src/db/client.js';
import { type Call, client, type Reply, useServer } from './helpers.js';
import { type Caller, FIXTURES, type HeldRun, type PersonCookies, Scene, send } from './security.fixtures.js';
import { tally } from './security.tally.js';

/*
 * Workspace A asks for workspace B's objects. Generated from the route table: every route whose path
 * names an object answers 404 for B's object with a body identical to a missing object's, for A's
 * owner, A's worker key and A's run tokens alike, and B is left exactly as it was. Then the ids that
 * travel inside bodies and queries: batches, subflows, log lines, artifacts, filters.
 */

let a: Scene;
let b: Scene;

const api = useServer();

beforeAll(async () => {
  a = await new Scene(api.server, await api.server.createWorkspace(), 'alpha').setUp();
  b = await new Scene(api.server, await api.server.createWorkspace(), 'bravo').setUp();
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The same parameters naming nothing: ids become fresh UUIDs, names become unused names. */
function missing(params: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(params).map(([key, value]) => [key, UUID.test(value) ? randomUUID() : `missing-${randomUUID().slice(0, 8)}`]),
  );
}

/** A problem body without what legitimately differs per request: ids, the path, and the quoted name. */
function comparable(res: Reply): unknown {
  if (res.body === null || typeof res.body !== 'object') return res.body;
  const { requestId: _r, instance: _i, ...rest } = res.body as Record<string, unknown>;
  return { ...rest, detail: typeof rest.detail === 'string' ? rest.detail.replace(/"[^"]*"/g, '"…"') : rest.detail };
}

/** A digest of every row of every table that belongs to the workspace. */
async function snapshot(sql: Sql, workspaceId: string): Promise<Record<string, string>> {
  const tables = await sql<{ table_name: string }[]>`
    SELECT table_name FROM information_schema.columns
    WHERE table_schema = 'public' AND column_name = 'workspace_id' ORDER BY table_name`;
  const digest: Record<string, string> = {};
  for (const { table_name } of tables) {
    const [row] = await sql<{ d: string | null }[]>`
      SELECT md5(string_agg(row_to_json(t)::text, ',' ORDER BY row_to_json(t)::text)) AS d
      FROM ${sql(table_name)} t WHERE workspace_id = ${workspaceId}`;
    digest[table_name] = row?.d ?? '';
  }
  return digest;
}

/**
 * Routes whose path names something the caller chooses rather than an object that must exist, each
 * with the reason; each has its own cross-workspace test below.
 */
const CALLER_NAMED: Partial<Record<RouteName, string>> = {
  waitTokensComplete: 'a token may be completed before any wait asks for it; each workspace has its own tokens',
};

const withObjectPaths = (Object.entries(routes) as [RouteName, RouteDef][]).filter(
  ([name, route]) => route.params !== undefined && !route.access.anonymous && CALLER_NAMED[name] === undefined,
);

/**
 * The callers of A that may call the route: its owner key, its worker key, and a run token of one
 * of its runs — or, for a person's own routes, a person of A signed in, and for the directory's, A's
 * organisation token.
 */
async function callersOfA(route: RouteDef): Promise<{ label: string; bearer?: string; session?: PersonCookies }[]> {
  if (route.access.person) return [{ label: 'person', session: await a.verifiedPerson() }];
  // The directory's routes: A's organisation token with the scim scope, on B's organisation's path.
  if (route.access.organisationTokenOnly) return [{ label: 'directory token', bearer: await a.scimToken() }];
  const found: { label: string; bearer?: string; session?: PersonCookies }[] = [];
  if (route.access.roles.includes('owner')) found.push({ label: 'owner', bearer: a.ws.ownerKey });
  if (route.access.roles.includes('worker')) found.push({ label: 'worker', bearer: await a.key('worker') });
  if (route.access.runToken) found.push({ label: 'run token', bearer: (await a.held(undefined, { running: true })).token });
  return found;
}

const comparisons = tally("cross-workspace comparisons (B's object vs a missing one)");

describe('objects named in the path', () => {
  test.each(withObjectPaths)("%s: B's object is a 404 identical to a missing one, for every caller of A", async (name, route) => {
    // B's objects, made as B's owner (or B's worker, for worker-only routes) would make them.
    const bCaller: Caller = route.access.roles.includes('owner') ? await b.caller('owner') : await b.caller('worker');
    const spec = await FIXTURES[name](b, bCaller);
    const before = await snapshot(api.server.sql, b.ws.workspaceId);
    for (const { label, bearer, session } of await callersOfA(route)) {
      const foreign = await send(api.server, route, { ...spec, bearer: undefined, session }, bearer ?? null);
      const absent = await send(
        api.server,
        route,
        { ...spec, bearer: undefined, session, params: missing(spec.params ?? {}) },
        bearer ?? null,
      );
      expect(foreign.status, `${name} as A's ${label}: ${foreign.text}`).toBe(404);
      expect(absent.status, `${name} (missing) as A's ${label}: ${absent.text}`).toBe(404);
      expect(comparable(foreign), `${name} as A's ${label}`).toEqual(comparable(absent));
      comparisons.add();
    }
    expect(await snapshot(api.server.sql, b.ws.workspaceId)).toEqual(before);
  });
});

describe('names the caller chooses', () => {
  test("completing a token in A leaves B's wait for the same token waiting, and B's rows unchanged", async () => {
    const token = `shared-${randomUUID().slice(0, 8)}`;
    const bRun = await b.held(undefined, { running: true });
    const bWait = await client(api.server, bRun.token)('POST', `/flow-runs/${bRun.id}/waits`, {
      body: { key: 'w', spec: { kind: 'token', token } },
    });
    expect(bWait.body.wait.status).toBe('WAITING');
    const before = await snapshot(api.server.sql, b.ws.workspaceId);
    const done = await client(api.server, a.ws.ownerKey)('POST', `/wait-tokens/${token}/complete`, { body: { value: 1 } });
    // A has no wait for the token: refused as any token no wait of A asked for.
    expect(done.status, done.text).toBe(404);
    expect(await snapshot(api.server.sql, b.ws.workspaceId)).toEqual(before);
  });
});

describe('ids inside bodies and queries', () => {
  let owner: Call;
  let bRun: HeldRun;
  let bTaskRun: string;

  beforeAll(async () => {
    owner = client(api.server, a.ws.ownerKey);
    bRun = await b.held(undefined, { running: true });
    bTaskRun = await b.taskRun(bRun);
  });

  async function twice(call: (id: string) => Promise<Reply>, foreignId: string): Promise<{ foreign: Reply; absent: Reply }> {
    const before = await snapshot(api.server.sql, b.ws.workspaceId);
    const foreign = await call(foreignId);
    const absent = await call(randomUUID());
    expect(await snapshot(api.server.sql, b.ws.workspaceId)).toEqual(before);
    comparisons.add();
    return { foreign, absent };
  }

  test("a heartbeat batch naming B's run renews nothing of B's and reports it lost, like a missing run", async () => {
    const worker = client(api.server, await a.key('worker'));
    const beat = (id: string) =>
      worker('POST', `/work-pools/${a.heldPool}/workers/heartbeat`, {
        body: { workerId: randomUUID(), name: 'w', capacity: 2, runs: [{ id, attempt: 1 }] },
      });
    const { foreign, absent } = await twice(beat, bRun.id);
    expect(foreign.status).toBe(200);
    expect(foreign.body.renewed).toEqual([]);
    expect(foreign.body.lost).toEqual([{ id: bRun.id, attempt: 1 }]);
    expect({ ...foreign.body, lost: [], serverTime: null }).toEqual({ ...absent.body, lost: [], serverTime: null });
  });

  test("a log line naming B's task run is stored without it, exactly as one naming a missing task run", async () => {
    const run = await a.held(undefined, { running: true });
    const asRun = client(api.server, run.token);
    let seq = 0;
    const write = (taskRunId: string) =>
      asRun('POST', `/flow-runs/${run.id}/logs`, {
        body: { attempt: 1, logs: [{ seq: ++seq, timestamp: new Date().toISOString(), level: 'info', message: 'x', taskRunId }] },
      });
    const { foreign, absent } = await twice(write, bTaskRun);
    expect(foreign.status).toBe(200);
    expect(foreign.body).toEqual(absent.body);
    const lines = await owner('GET', `/flow-runs/${run.id}/logs`);
    expect(lines.body.items.map((l: { taskRunId: string | null }) => l.taskRunId)).toEqual([null, null]);
    // The run's own task run is kept.
    const own = await a.taskRun(run);
    await write(own);
    expect((await owner('GET', `/flow-runs/${run.id}/logs`)).body.items.at(-1).taskRunId).toBe(own);
  });

  test("an artifact or a subflow naming B's task run is refused like a missing task run", async () => {
    const run = await a.held(undefined, { running: true });
    const asRun = client(api.server, run.token);
    const artifact = (taskRunId: string) =>
      asRun('POST', `/flow-runs/${run.id}/artifacts`, {
        body: { id: randomUUID(), flowRunAttempt: 1, key: 'k', type: 'markdown', data: { markdown: 'x' }, taskRunId },
      });
    const child = (parentTaskRunId: string) =>
      asRun('POST', `/flow-runs/${run.id}/child-runs`, {
        body: { id: randomUUID(), attempt: 1, flowName: 'sub', parentTaskRunId },
      });
    for (const call of [artifact, child]) {
      const { foreign, absent } = await twice(call, bTaskRun);
      expect(foreign.status, foreign.text).toBeGreaterThanOrEqual(400);
      expect(foreign.status).toBe(absent.status);
      expect(comparable(foreign)).toEqual(comparable(absent));
    }
  });

  test("creation ids already used by B are refused exactly like ids already used by another of A's runs", async () => {
    const run = await a.held(undefined, { running: true });
    const other = await a.held(undefined, { running: true });
    const asRun = client(api.server, run.token);
    const ownElsewhere = await a.taskRun(other);
    const create = (id: string) =>
      asRun('POST', `/flow-runs/${run.id}/task-runs`, {
        body: { id, flowRunAttempt: 1, name: 't', taskKey: 't', dynamicKey: '0', state: { type: 'RUNNING' } },
      });
    const before = await snapshot(api.server.sql, b.ws.workspaceId);
    const foreign = await create(bTaskRun);
    const local = await create(ownElsewhere);
    expect(foreign.status).toBe(409);
    expect(comparable(foreign)).toEqual(comparable(local));
    const child = (id: string) => asRun('POST', `/flow-runs/${run.id}/child-runs`, { body: { id, attempt: 1, flowName: 'sub' } });
    const foreignChild = await child(bRun.id);
    const localChild = await child(other.id);
    expect(foreignChild.status).toBe(localChild.status);
    expect(comparable(foreignChild)).toEqual(comparable(localChild));
    expect(await snapshot(api.server.sql, b.ws.workspaceId)).toEqual(before);
  });

  test("B's names in bodies (pools, queues) and B's ids in filters find nothing, like missing ones", async () => {
    const deploy = (pool: string) =>
      owner('PUT', '/deployments', {
        body: {
          flowName: a.flowName,
          name: 'cross',
          source: `oci://x/y@sha256:${'b'.repeat(64)}`,
          entrypoint: 'e.js',
          workPool: pool,
        },
      });
    const pools = await twice(deploy, b.pool);
    expect(pools.foreign.status).toBe(404);
    expect(comparable(pools.foreign)).toEqual(comparable(pools.absent));

    const queue = (name: string) => owner('POST', `/deployments/${a.deployment.id}/runs`, { body: { workQueue: name } });
    await client(api.server, b.ws.ownerKey)('POST', `/work-pools/${b.pool}/queues`, { body: { name: 'bravo-only' } });
    const queues = await twice(() => queue('bravo-only'), 'unused');
    expect(queues.foreign.status).toBe(404);

    const claim = (q: string) =>
      client(api.server, a.ws.ownerKey)('POST', `/work-pools/${a.pool}/claim`, {
        body: { workerId: randomUUID(), limit: 5, queues: [q] },
      });
    const claims = await twice(() => claim('bravo-only'), 'x');
    expect(claims.foreign.body.runs).toEqual([]);

    // A deployment of B's that nobody in A has named yet (A's own log records what A's callers tried).
    const fresh = await client(api.server, b.ws.ownerKey)('PUT', '/deployments', {
      body: {
        flowName: b.flowName,
        name: 'unnamed',
        source: `oci://x/y@sha256:${'c'.repeat(64)}`,
        entrypoint: 'e.js',
        workPool: b.pool,
      },
    });
    await client(api.server, b.ws.ownerKey)('POST', `/deployments/${fresh.body.deployment.id}/runs`, { body: {} });
    for (const filter of [
      (id: string) => owner('GET', `/flow-runs?deploymentId=${id}`),
      (id: string) => owner('GET', `/audit-log?objectId=${id}`),
    ]) {
      const { foreign, absent } = await twice(filter, fresh.body.deployment.id);
      expect(foreign.status).toBe(200);
      expect(foreign.body).toEqual(absent.body);
    }
  });
});
