import { randomUUID } from 'node:crypto';
import { type RouteDef, type RouteName, routes } from '@outpost/sdk/contracts';
import { beforeAll, describe, expect, test } from 'vitest';
import type { z } from 'zod';
import { maxBodyBytes } from '../src/routes/mount.js';
import { type Call, client, type Reply, replyOf, SOURCE, useServer } from './helpers.js';
import { addPerson, signInPerson } from './users.support.js';

let worker: Call;
let person: Call;
let before: Record<string, number>;

const RUN_ID = randomUUID();

/** A valid body for every route that takes one; each test breaks it in one way. */
const VALID: Partial<Record<RouteName, Record<string, unknown>>> = {
  apiKeysCreate: { name: 'k', role: 'viewer' },
  authSessionCreate: { token: 'x' },
  deploymentsUpsert: { flowName: 'f', name: 'd', source: SOURCE, entrypoint: 'e.js', workPool: 'default' },
  deploymentsCreateRun: { name: 'r' },
  poolsCreate: { name: 'p' },
  poolsUpdate: { description: 'd' },
  queuesCreate: { name: 'q' },
  queuesUpdate: { priority: 2 },
  workersHeartbeat: { workerId: randomUUID(), name: 'w', capacity: 1, runs: [] },
  claim: { workerId: randomUUID(), limit: 1 },
  flowRunsSetState: { transitionId: randomUUID(), state: { type: 'CANCELLING' } },
  taskRunsCreate: { id: randomUUID(), flowRunAttempt: 1, name: 't', taskKey: 't', dynamicKey: '0', state: { type: 'RUNNING' } },
  taskRunsSetState: { flowRunAttempt: 1, state: { type: 'COMPLETED' } },
  taskRunsBatch: {
    flowRunAttempt: 1,
    events: [
      {
        kind: 'create',
        id: randomUUID(),
        name: 't',
        taskKey: 't',
        dynamicKey: '0',
        state: { type: 'RUNNING' },
        at: new Date().toISOString(),
      },
    ],
  },
  logsWrite: { attempt: 1, logs: [{ seq: 1, timestamp: new Date().toISOString(), level: 'info', message: 'm' }] },
  flowRunsCreateDeploymentRun: { deployment: 'etl/daily', key: 'wait-1' },
  flowRunsReportEnvironment: {
    workerVersion: '0.1.0',
    executor: 'process',
    nodeVersion: 'v20.19.0',
    image: null,
    imageDigest: null,
  },
  flowRunsReproduce: {},
  poolRunsAdopt: { workerId: randomUUID(), runs: [{ id: RUN_ID, attempt: 1 }] },
  poolRunsSetStates: { items: [{ flowRunId: RUN_ID, transitionId: randomUUID(), attempt: 1, state: { type: 'RUNNING' } }] },
  poolRunsLogsWrite: {
    items: [
      { flowRunId: RUN_ID, attempt: 1, logs: [{ seq: 1, timestamp: new Date().toISOString(), level: 'info', message: 'm' }] },
    ],
  },
  flowRunsCreateChild: { id: randomUUID(), attempt: 1, flowName: 'sub' },
  artifactsCreate: { id: randomUUID(), flowRunAttempt: 1, key: 'report', type: 'markdown', data: { markdown: 'm' } },
  authPasswordSignIn: { email: 'ada@example.com', password: 'a long passphrase' },
  authPasswordChange: { email: 'ada@example.com', currentPassword: 'a long passphrase', newPassword: 'another passphrase' },
  authPasswordSetup: { token: 'x', password: 'a long passphrase' },
  authPasswordReset: { email: 'nobody@example.com' },
  authPasswordResetConfirm: { token: 'x', password: 'a long passphrase' },
  authEmailConfirm: { token: 'x', password: 'a long passphrase' },
  mailRecipientsConfirm: { token: 'x' },
  workspacesCreate: { slug: 'side-project', name: 'Side project' },
  organisationsUpdate: { name: 'Acme ML' },
  organisationWorkspacesCreate: { slug: 'vision-team', name: 'Vision team' },
  organisationWorkspacesUpdate: { name: 'Vision team' },
  organisationMembersUpdate: { role: 'auditor' },
  organisationWorkspaceMembersPut: { role: 'runner' },
  authSessionSwitch: { workspace: 'vision-team' },
  organisationTokensCreate: { name: 'SIEM', scopes: ['audit:read'] },
  organisationWorkspaceQuotasPut: { limit: 10 },
  organisationGroupRolesPut: { roles: [{ workspace: 'vision-team', role: 'viewer' }] },
  organisationSsoPut: { issuer: 'https://idp.example.com', clientId: 'outpost', allowedDomains: ['example.com'] },
  membersAdd: { email: 'ada@example.com', role: 'viewer' },
  membersUpdate: { role: 'viewer' },
  oidcConfigPut: { issuer: 'https://idp.example.com', clientId: 'outpost' },
  flowRunsCancel: { message: 'm' },
  flowRunsRetry: { message: 'm' },
  notificationChannelsCreate: { kind: 'webhook', name: 'ops', url: 'https://hooks.example.com/outpost' },
  notificationChannelsUpdate: { enabled: false },
  alertRulesCreate: { rule: 'run-failed', channel: 'ops' },
  concurrencyLimitsCreate: { tag: 't', limit: 1 },
  concurrencyLimitsUpdate: { limit: 1 },
  automationsCreate: {
    name: 'a',
    trigger: { type: 'event', match: 'true' },
    actions: [{ type: 'pause-pool', pool: 'p' }],
  },
  automationsUpdate: { description: 'd' },
  schedulesUpdate: { active: false },
  deploymentsUpdate: { concurrencyLimit: 1 },
  backfillsCreate: { start: '2025-01-01T00:00:00Z', end: '2025-01-02T00:00:00Z' },
  backfillsCreateForAssets: { assets: ['events'], partitions: { keys: ['a'] } },
  assetsMaterialize: { assets: ['features'] },
  assetsWaive: { assetKey: 'features', checkName: 'no_nulls', reason: 'known gap' },
  assetEventsReport: {
    attempt: 1,
    events: [{ kind: 'failure', id: randomUUID(), assetKey: 'features', partitionKey: null, message: 'm' }],
  },
  dynamicPartitionsAdd: { keys: ['eu'] },
  eventsEmit: { events: [{ kind: 'model.metrics', payload: { auc: 0.9 } }] },
  eventWebhooksCreate: { name: 'github', template: { kind: 'github.push', payload: {} } },
  flowRunWaitsCreate: { key: 'wait-1', spec: { kind: 'until', until: '2030-01-01T00:00:00Z' } },
  flowRunSuspend: { waitId: randomUUID(), results: [] },
  waitsDecide: { approved: true },
  waitTokensComplete: { value: 1 },
  sensorTicksClaim: { workerId: randomUUID(), limit: 1 },
  sensorTicksComplete: { workerId: randomUUID(), outcome: { status: 'ok', result: {} } },
  externalPollsClaim: { workerId: randomUUID(), limit: 1 },
  externalPollsComplete: { workerId: randomUUID(), leaseId: randomUUID(), outcome: { state: 'running' } },
};

/** The query parameters a route requires, sent with each malformed query so only the malformed part is named. */
const REQUIRED_QUERY: Partial<Record<RouteName, string>> = {
  assetsGet: 'key=features&',
  assetsMaterializations: 'key=features&',
  assetsPartitions: 'key=features&',
  assetsCheckResults: 'key=features&',
  assetsEvaluations: 'key=features&',
  assetsMaterializationLineage: 'key=features&',
};

const PARAMS: Record<string, string> = {
  id: RUN_ID,
  runId: RUN_ID,
  userId: RUN_ID,
  workspaceId: RUN_ID,
  pool: 'default',
  queue: 'default',
  flow: 'f',
  name: 'd',
  org: 'acme',
  workspace: 'vision-team',
};

/**
 * The directory's routes (SCIM) are tested for malformed input by scim.conformance.test.ts: they answer
 * SCIM's own error document (RFC 7644 §3.12) and ignore attributes they do not keep, as directories send them.
 */
const entries = (Object.entries(routes) as [RouteName, RouteDef][]).filter(([, r]) => !r.access.organisationTokenOnly);
const withBody = entries.filter(([, r]) => r.body);
/** A query schema that keeps keys it does not name: the route reads no query of its own, or takes a browser's as it comes. */
function takesAnyQuery(route: RouteDef): boolean {
  const def = (route.query as unknown as { _zod?: { def?: { catchall?: { _zod: { def: { type: string } } } } } } | undefined)
    ?._zod?.def;
  return def?.catchall?._zod.def.type === 'unknown';
}
const withAnyQuery = entries.filter(([, r]) => takesAnyQuery(r));
const withQuery = entries.filter(([, r]) => r.query && !takesAnyQuery(r));
const withoutQuery = entries.filter(([, r]) => !r.query);

function pathOf(route: RouteDef): string {
  return route.path.replace(/:([A-Za-z]+)/g, (_, k: string) => PARAMS[k] ?? 'x');
}

/** Routes only workers may call are exercised with a worker key, a person's own with their session; everything else with the owner's. */
function callerFor(route: RouteDef): Call {
  if (route.access.person) return person;
  return route.access.roles.includes('owner') ? api.owner : worker;
}

function shapeOf(schema: z.ZodType | undefined): Record<string, z.ZodType> {
  return (schema as unknown as { shape?: Record<string, z.ZodType> } | undefined)?.shape ?? {};
}

function expectProblem(res: Reply, status: number, code: string): void {
  expect(res.status, res.text).toBe(status);
  expect(res.headers.get('content-type')).toContain('application/problem+json');
  expect(res.body.code).toBe(code);
  expect(res.text).not.toMatch(/\bat .+\.(ts|js):\d+/);
}

function paths(res: Reply): string[] {
  return (res.body.errors ?? []).map((e: { path: string }) => e.path);
}

async function tableCounts(): Promise<Record<string, number>> {
  const tables = [
    'workspaces',
    'api_keys',
    'flows',
    'deployments',
    'work_pools',
    'work_queues',
    'workers',
    'flow_runs',
    'flow_run_states',
    'task_runs',
    'logs',
  ];
  const counts: Record<string, number> = {};
  for (const table of tables) {
    const [row] = await api.server.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM ${api.server.sql(table)}`;
    counts[table] = row?.n ?? -1;
  }
  return counts;
}

const api = useServer();

beforeAll(async () => {
  worker = client(api.server, await api.server.createKey('worker'));
  const signedIn = await signInPerson(api.server, (await addPerson(api.server, api.owner, 'viewer')).email);
  // The person's browser: its cookies and CSRF header, and the body as the case sends it (raw too).
  const csrf = /outpost_csrf=([^;]+)/.exec(signedIn.cookie)?.[1] ?? '';
  person = async (method, path, options = {}) => {
    const headers: Record<string, string> = { cookie: signedIn.cookie, 'x-outpost-csrf': csrf, ...options.headers };
    let body = options.raw;
    if (body === undefined && options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] ??= 'application/json';
    }
    return replyOf(await api.server.app.request(`/api/v1${path}`, { method, headers, body }));
  };
  for (const [name] of withBody) if (!VALID[name]) throw new Error(`no valid body for ${name}`);
  before = await tableCounts();
});

describe.each(withBody)('%s body', (name, route) => {
  const call = (options: Parameters<Call>[2]) => callerFor(route)(route.method, pathOf(route), options);
  const valid = () => structuredClone(VALID[name] ?? {});

  test('malformed JSON is a 400 malformed_json', async () => {
    expectProblem(await call({ raw: '{"name": ', headers: { 'content-type': 'application/json' } }), 400, 'malformed_json');
  });

  test('a body that is not JSON by content type is a 415', async () => {
    expectProblem(
      await call({ raw: JSON.stringify(valid()), headers: { 'content-type': 'text/plain' } }),
      415,
      'unsupported_media_type',
    );
    expectProblem(await call({ raw: JSON.stringify(valid()) }), 415, 'unsupported_media_type');
  });

  test('no body at all is a 400 naming the body', async () => {
    const res = await call({});
    expectProblem(res, 400, 'validation_failed');
    expect(paths(res)).toContain('body');
  });

  test('wrong types are a 400 naming each field', async () => {
    const shape = shapeOf(route.body);
    // A field that takes any JSON value (a wait token's completion value) has no wrong type.
    const typed = Object.keys(shape).filter((key) => !shape[key]?.safeParse([[[]]]).success);
    const wrong = Object.fromEntries(typed.map((key) => [key, [[[]]]]));
    const res = await call({ body: wrong });
    if (typed.length > 0) expectProblem(res, 400, 'validation_failed');
    for (const key of typed)
      expect(
        paths(res).some((p) => p === `body.${key}` || p.startsWith(`body.${key}.`)),
        key,
      ).toBe(true);
    expectProblem(await call({ body: [] }), 400, 'validation_failed');
    expectProblem(await call({ raw: '"text"', headers: { 'content-type': 'application/json' } }), 400, 'validation_failed');
  });

  test('an unknown field is a 400 naming exactly that field', async () => {
    const res = await call({ body: { ...valid(), workspaceId: randomUUID() } });
    expectProblem(res, 400, 'validation_failed');
    expect(paths(res)).toEqual(['body.workspaceId']);
  });

  test('missing required fields are a 400 naming each', async () => {
    const shape = shapeOf(route.body);
    const required = Object.keys(shape).filter((key) => !shape[key]?.safeParse(undefined).success);
    const res = await call({ body: {} });
    if (required.length === 0) {
      // Signing in takes exactly one of two optional fields: with neither, the body as a whole is named.
      if (name === 'authSessionCreate') expect(paths(res)).toEqual(['body']);
      // A backfill takes a time range or partitions, both optional alone: with neither, the start is named.
      else if (name === 'backfillsCreate') expect(paths(res)).toEqual(['body.start']);
      // A notification channel's fields depend on its kind: with none, the kind is named.
      else if (name === 'notificationChannelsCreate') expect(paths(res)).toEqual(['body.kind']);
      // A schedule or deployment edit changes something: with nothing to change, the body as a whole is named.
      else if (name === 'schedulesUpdate' || name === 'deploymentsUpdate') expect(paths(res)).toEqual(['body']);
      else expect(res.status).not.toBe(400);
      return;
    }
    expectProblem(res, 400, 'validation_failed');
    for (const key of required) expect(paths(res), key).toContain(`body.${key}`);
  });

  test('strings beyond their limits are a 400 naming the field', async () => {
    const body = valid();
    const strings = Object.keys(body).filter((key) => typeof body[key] === 'string');
    for (const key of strings) {
      const res = await call({ body: { ...body, [key]: 'x'.repeat(100_000) } });
      expectProblem(res, 400, 'validation_failed');
      expect(paths(res), key).toContain(`body.${key}`);
    }
  });

  test('a body beyond the size limit is a 413', async () => {
    const size = maxBodyBytes(name) + 1024 * 1024;
    expectProblem(
      await call({ raw: JSON.stringify({ pad: 'x'.repeat(size) }), headers: { 'content-type': 'application/json' } }),
      413,
      'payload_too_large',
    );
  });
});

describe('nested input', () => {
  test('unknown and wrong nested fields are named by their full path', async () => {
    const logs = await worker('POST', `/flow-runs/${RUN_ID}/logs`, {
      body: {
        attempt: 1,
        logs: [
          { seq: 1, timestamp: new Date().toISOString(), level: 'info', message: 'ok' },
          { seq: 2, timestamp: new Date().toISOString(), level: 'info', message: 'ok' },
          { seq: 3, timestamp: new Date().toISOString(), level: 'info', message: 'ok' },
          { seq: 'four', timestamp: 'yesterday', level: 'loud', message: 'x'.repeat(40_000), extra: 1 },
        ],
      },
    });
    expectProblem(logs, 400, 'validation_failed');
    expect(paths(logs).sort()).toEqual([
      'body.logs.3.extra',
      'body.logs.3.level',
      'body.logs.3.message',
      'body.logs.3.seq',
      'body.logs.3.timestamp',
    ]);
    const state = await api.owner('POST', `/flow-runs/${RUN_ID}/set-state`, {
      body: { transitionId: randomUUID(), state: { type: 'DONE', sneaky: true } },
    });
    expect(paths(state).sort()).toEqual(['body.state.sneaky', 'body.state.type']);
    const huge = await worker('POST', `/flow-runs/${RUN_ID}/logs`, {
      body: { attempt: 1, logs: [{ seq: 2 ** 40, timestamp: new Date().toISOString(), level: 'info', message: 'm' }] },
    });
    expect(paths(huge)).toEqual(['body.logs.0.seq']);
  });

  test('a bad path parameter is a 400 naming it', async () => {
    const res = await api.owner('GET', '/flow-runs/not-a-uuid');
    expectProblem(res, 400, 'validation_failed');
    expect(paths(res)).toEqual(['params.id']);
    const pool = await api.owner('GET', `/work-pools/${encodeURIComponent('bad name!')}`);
    expect(paths(pool)).toEqual(['params.pool']);
  });

  test('a charset parameter on the JSON content type is accepted', async () => {
    const res = await api.owner('POST', '/work-pools', {
      raw: JSON.stringify({ name: 'charset-ok' }),
      headers: { 'content-type': 'application/json; charset=utf-8' },
    });
    expect(res.status).toBe(201);
    await api.server.sql`DELETE FROM work_queues WHERE work_pool_id = ${res.body.id}`;
    await api.server.sql`DELETE FROM work_pools WHERE id = ${res.body.id}`;
  });
});

describe.each(withQuery)('%s query', (name, route) => {
  const call = (query: string) => callerFor(route)(route.method, `${pathOf(route)}?${REQUIRED_QUERY[name] ?? ''}${query}`);

  test('unknown, repeated, mistyped and oversized query parameters are 400s naming the parameter', async () => {
    const unknown = await call('bogus=1');
    expectProblem(unknown, 400, 'validation_failed');
    expect(paths(unknown)).toEqual(['query.bogus']);
    expect(paths(await call('limit=abc'))).toEqual(['query.limit']);
    expect(paths(await call('limit=100000'))).toEqual(['query.limit']);
    expect(paths(await call('limit=1&limit=2'))).toEqual(['query.limit']);
    expect(paths(await call(`cursor=${'x'.repeat(600)}`))).toEqual(['query.cursor']);
    expect(paths(await call('cursor=%E2%9C%93not-ours'))).toEqual(['query.cursor']);
  });
});

test('only documents and browser redirects take any query: every other route is strict about its own', () => {
  expect(withAnyQuery.map(([name]) => name).sort()).toEqual(
    [
      'apiDocs',
      'apiDocsScript',
      'jwks',
      'metrics',
      'oidcSignInCallback',
      'oidcSignInStart',
      'openApiDocument',
      'organisationSignInStart',
    ].sort(),
  );
});

test('routes without a query accept no query parameters', async () => {
  for (const [, route] of withoutQuery) {
    const res = await callerFor(route)(route.method, `${pathOf(route)}?sneaky=1`, { body: route.body ? {} : undefined });
    expect(res.status, route.path).toBe(400);
    expect(res.body.errors.map((e: { path: string }) => e.path)).toEqual(['query.sneaky']);
  }
});

test('flow run filters reject bad values with their names', async () => {
  expect(paths(await api.owner('GET', '/flow-runs?state=DONE'))).toEqual(['query.state.0']);
  expect(paths(await api.owner('GET', '/flow-runs?createdAfter=yesterday'))).toEqual(['query.createdAfter']);
  expect(paths(await api.owner('GET', '/flow-runs?deploymentId=42'))).toEqual(['query.deploymentId']);
  expect(paths(await api.owner('GET', `/flow-runs/${RUN_ID}/logs?level=loud`))).toEqual(['query.level']);
});

test('no malformed request wrote anything', async () => {
  expect(await tableCounts()).toEqual(before);
});
