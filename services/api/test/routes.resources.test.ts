import { randomUUID } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { claim, client, createRun, deploy, SOURCE, useServer } from './helpers.js';

const api = useServer();

describe('health and discovery', () => {
  test('healthz and readyz answer without credentials, everything else needs them', async () => {
    expect((await api.server.app.request('/healthz')).status).toBe(200);
    const ready = await api.server.app.request('/readyz');
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready' });
    expect((await api.server.app.request('/healthz', { method: 'HEAD' })).status).toBe(200);
    const anonymous = await api.server.app.request('/api/v1/whoami');
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('content-type')).toContain('application/problem+json');
    expect(((await anonymous.json()) as { code: string }).code).toBe('unauthenticated');
    // Exact paths only: a look-alike is not exempt, and without a credential no API path says whether it exists.
    expect((await api.server.app.request('/api/v1/healthz')).status).toBe(401);
    expect((await api.owner('GET', '/healthz')).status).toBe(404);
  });

  test('the OpenAPI document lists every route and is served without a credential', async () => {
    const anonymous = await api.server.app.request('/api/v1/openapi.json');
    expect(anonymous.status).toBe(200);
    expect(((await anonymous.json()) as { paths: Record<string, unknown> }).paths['/api/v1/whoami']).toBeDefined();
    const res = await api.owner('GET', '/openapi.json');
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe('3.1.0');
    expect(res.body.paths['/api/v1/flow-runs/{id}/set-state'].post.operationId).toBe('flowRunsSetState');
    expect(
      res.body.paths['/api/v1/deployments'].put.requestBody.content['application/json'].schema.properties.flowName,
    ).toBeDefined();
  });

  test('an unknown route is 404 and a wrong method is 405 with Allow', async () => {
    const missing = await api.owner('GET', '/nothing-here');
    expect(missing.status).toBe(404);
    expect(missing.body.code).toBe('not_found');
    const wrong = await api.owner('DELETE', '/flows');
    expect(wrong.status).toBe(405);
    expect(wrong.body.code).toBe('method_not_allowed');
    expect(wrong.headers.get('allow')).toContain('GET');
  });

  test('the request id is echoed when sane and generated otherwise', async () => {
    const echoed = await api.owner('GET', '/whoami', { headers: { 'x-request-id': 'trace-123' } });
    expect(echoed.headers.get('x-request-id')).toBe('trace-123');
    const replaced = await api.owner('GET', '/whoami', { headers: { 'x-request-id': 'bad id with spaces' } });
    expect(replaced.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const problem = await api.owner('GET', '/flows/not-a-uuid', { headers: { 'x-request-id': 'trace-456' } });
    expect(problem.body.requestId).toBe('trace-456');
  });
});

describe('whoami and API keys', () => {
  test('whoami names the workspace and the key', async () => {
    const res = await api.owner('GET', '/whoami');
    expect(res.status).toBe(200);
    expect(res.body.workspace.id).toBe(api.server.workspaceId);
    expect(res.body.principal).toMatchObject({ kind: 'api_key', role: 'owner' });
  });

  test('a created key is returned once, works, is listed without its secret, and stops working when revoked', async () => {
    const created = await api.owner('POST', '/api-keys', { body: { name: 'ci', role: 'developer' } });
    expect(created.status).toBe(201);
    expect(created.body.key).toMatch(/^op_/);
    const key: string = created.body.key;
    const dev = client(api.server, key);
    expect((await dev('GET', '/whoami')).body.principal.role).toBe('developer');

    const list = await api.owner('GET', '/api-keys');
    const listed = list.body.items.find((k: { id: string }) => k.id === created.body.apiKey.id);
    expect(listed).toMatchObject({ name: 'ci', role: 'developer', prefix: key.slice(0, 10) });
    expect(list.text).not.toContain(key);

    const revoked = await api.owner('DELETE', `/api-keys/${created.body.apiKey.id}`);
    expect(revoked.status).toBe(200);
    expect(revoked.body.revokedAt).not.toBeNull();
    expect((await dev('GET', '/whoami')).status).toBe(401);
  });

  test('an admin cannot mint or revoke an owner key, and a developer cannot manage keys', async () => {
    const admin = client(api.server, await api.server.createKey('admin'));
    const mint = await admin('POST', '/api-keys', { body: { name: 'boss', role: 'owner' } });
    expect(mint.status).toBe(403);
    const ownerKeyId = (await api.owner('GET', '/whoami')).body.principal.id;
    expect((await admin('DELETE', `/api-keys/${ownerKeyId}`)).status).toBe(403);
    const dev = client(api.server, await api.server.createKey('developer'));
    expect((await dev('GET', '/api-keys')).status).toBe(403);
  });

  test('pools only apply to worker keys and an expiry must lie ahead', async () => {
    const pools = await api.owner('POST', '/api-keys', { body: { name: 'x', role: 'viewer', pools: ['default'] } });
    expect(pools.status).toBe(400);
    expect(pools.body.errors[0].path).toBe('body.pools');
    const past = await api.owner('POST', '/api-keys', { body: { name: 'x', role: 'viewer', expiresAt: '2000-01-01T00:00:00Z' } });
    expect(past.status).toBe(400);
    expect(past.body.errors[0].path).toBe('body.expiresAt');
  });

  test('an expired key is refused', async () => {
    const created = await api.owner('POST', '/api-keys', {
      body: { name: 'short', role: 'viewer', expiresAt: new Date(Date.now() + 60_000).toISOString() },
    });
    await api.server.sql`UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = ${created.body.apiKey.id}`;
    expect((await client(api.server, created.body.key)('GET', '/whoami')).status).toBe(401);
  });

  test('last use is recorded, but not on every request', async () => {
    const key = await api.server.createKey('viewer');
    const viewer = client(api.server, key);
    await viewer('GET', '/whoami');
    const [first] = await api.server.sql<
      { last_used_at: Date }[]
    >`SELECT last_used_at FROM api_keys WHERE prefix = ${key.slice(0, 10)}`;
    expect(first?.last_used_at).toBeInstanceOf(Date);
    await viewer('GET', '/whoami');
    const [second] = await api.server.sql<
      { last_used_at: Date }[]
    >`SELECT last_used_at FROM api_keys WHERE prefix = ${key.slice(0, 10)}`;
    expect(second?.last_used_at.getTime()).toBe(first?.last_used_at.getTime());
  });

  test('a malformed or made-up key is refused without detail', async () => {
    expect((await client(api.server, 'op_notakey')('GET', '/whoami')).status).toBe(401);
    expect((await client(api.server, `op_${'A'.repeat(38)}`)('GET', '/whoami')).status).toBe(401);
    const noScheme = await api.server.app.request('/api/v1/whoami', { headers: { authorization: api.server.ownerKey } });
    expect(noScheme.status).toBe(401);
  });
});

describe('pools, queues and workers', () => {
  test('a pool is created with a default queue, listed, read and updated', async () => {
    const created = await api.owner('POST', '/work-pools', { body: { name: 'gpu', description: 'GPUs', concurrencyLimit: 4 } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'gpu', description: 'GPUs', concurrencyLimit: 4, paused: false });
    expect((await api.owner('POST', '/work-pools', { body: { name: 'gpu' } })).status).toBe(409);

    const queues = await api.owner('GET', '/work-pools/gpu/queues');
    expect(queues.body.items.map((q: { name: string }) => q.name)).toEqual(['default']);
    expect((await api.owner('GET', '/work-pools')).body.items.map((p: { name: string }) => p.name)).toEqual(['default', 'gpu']);
    expect((await api.owner('GET', '/work-pools/gpu')).body.id).toBe(created.body.id);

    const paused = await api.owner('PATCH', '/work-pools/gpu', { body: { paused: true, concurrencyLimit: null } });
    expect(paused.status).toBe(200);
    expect(paused.body).toMatchObject({ paused: true, concurrencyLimit: null, description: 'GPUs' });
    expect((await api.owner('PATCH', '/work-pools/nope', { body: { paused: true } })).status).toBe(404);
  });

  test('queues are created, ordered by priority and updated', async () => {
    await api.owner('POST', '/work-pools', { body: { name: 'etl' } });
    const urgent = await api.owner('POST', '/work-pools/etl/queues', { body: { name: 'urgent', priority: 1 } });
    expect(urgent.status).toBe(201);
    await api.owner('PATCH', '/work-pools/etl/queues/default', { body: { priority: 5 } });
    const list = await api.owner('GET', '/work-pools/etl/queues');
    expect(list.body.items.map((q: { name: string }) => q.name)).toEqual(['urgent', 'default']);
    expect((await api.owner('POST', '/work-pools/etl/queues', { body: { name: 'urgent' } })).status).toBe(409);
    expect((await api.owner('PATCH', '/work-pools/etl/queues/missing', { body: { paused: true } })).status).toBe(404);
    expect((await api.owner('POST', '/work-pools/missing/queues', { body: { name: 'q' } })).status).toBe(404);
  });

  test('a heartbeat registers a worker, which is listed ONLINE', async () => {
    const worker = client(api.server, await api.server.createKey('worker'));
    const workerId = randomUUID();
    const beat = await worker('POST', '/work-pools/default/workers/heartbeat', {
      body: { workerId, name: 'box-1', labels: { gpu: 'true' }, capacity: 3, runs: [] },
    });
    expect(beat.status).toBe(200);
    expect(beat.body).toMatchObject({ renewed: [], cancel: [], lost: [], leaseSeconds: 30 });
    const list = await api.owner('GET', '/work-pools/default/workers');
    expect(list.body.items).toContainEqual(
      expect.objectContaining({ id: workerId, name: 'box-1', labels: { gpu: 'true' }, capacity: 3, status: 'ONLINE' }),
    );
    await api.server.sql`UPDATE workers SET last_heartbeat_at = now() - interval '91 seconds' WHERE id = ${workerId}`;
    const later = await api.owner('GET', '/work-pools/default/workers');
    expect(later.body.items.find((w: { id: string }) => w.id === workerId).status).toBe('OFFLINE');
  });
});

describe('flows and deployments', () => {
  test('an upsert creates the flow and deployment, then updates it in place', async () => {
    const first = await api.owner('PUT', '/deployments', {
      body: {
        flowName: 'train',
        name: 'daily',
        source: SOURCE,
        entrypoint: 'flows/train.js',
        workPool: 'default',
        tags: ['ml'],
        retries: 2,
      },
    });
    expect(first.status).toBe(200);
    expect(first.body.created).toBe(true);
    expect(first.body.deployment).toMatchObject({
      flowName: 'train',
      workQueue: 'default',
      retries: 2,
      tags: ['ml'],
      paused: false,
    });
    const second = await api.owner('PUT', '/deployments', {
      body: { flowName: 'train', name: 'daily', source: SOURCE, entrypoint: 'flows/train2.js', workPool: 'default' },
    });
    expect(second.body.created).toBe(false);
    expect(second.body.deployment.id).toBe(first.body.deployment.id);
    expect(second.body.deployment).toMatchObject({ entrypoint: 'flows/train2.js', retries: 0, tags: [] });

    const byId = await api.owner('GET', `/deployments/${first.body.deployment.id}`);
    expect(byId.body.entrypoint).toBe('flows/train2.js');
    const byName = await api.owner('GET', '/deployments/name/train/daily');
    expect(byName.body.id).toBe(first.body.deployment.id);
    const flow = await api.owner('GET', `/flows/${first.body.deployment.flowId}`);
    expect(flow.body.name).toBe('train');
    expect((await api.owner('GET', '/flows')).body.items.map((f: { name: string }) => f.name)).toContain('train');
    expect((await api.owner('GET', '/deployments?flow=train')).body.items).toHaveLength(1);
  });

  test('a deployment naming a missing pool or queue is a 404 naming it', async () => {
    const pool = await api.owner('PUT', '/deployments', {
      body: { flowName: 'f', name: 'd', source: SOURCE, entrypoint: 'e.js', workPool: 'nowhere' },
    });
    expect(pool.status).toBe(404);
    expect(pool.body.detail).toContain('nowhere');
    const queue = await api.owner('PUT', '/deployments', {
      body: { flowName: 'f', name: 'd', source: SOURCE, entrypoint: 'e.js', workPool: 'default', workQueue: 'nope' },
    });
    expect(queue.status).toBe(404);
    expect(queue.body.detail).toContain('nope');
    expect((await api.owner('GET', '/deployments/name/f/d')).status).toBe(404);
  });

  test('an unpinned source and an invalid parameter schema are refused with field paths', async () => {
    const unpinned = await api.owner('PUT', '/deployments', {
      body: {
        flowName: 'f',
        name: 'd',
        source: 'oci://127.0.0.1:5000/acme/flows:latest',
        entrypoint: 'e.js',
        workPool: 'default',
      },
    });
    expect(unpinned.status).toBe(400);
    expect(unpinned.body.errors[0].path).toBe('body.source');
    const schema = await api.owner('PUT', '/deployments', {
      body: {
        flowName: 'f',
        name: 'd',
        source: SOURCE,
        entrypoint: 'e.js',
        workPool: 'default',
        parameterSchema: { type: 'nonsense' },
      },
    });
    expect(schema.status).toBe(400);
    expect(schema.body.errors[0].path).toBe('body.parameterSchema');
  });

  test('deployments and flows page through every item exactly once', async () => {
    for (let i = 0; i < 7; i++) await deploy(api.owner, { flowName: `paged-${i % 3}`, name: `d${i}` });
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await api.owner('GET', `/deployments?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      seen.push(...res.body.items.map((d: { flowName: string; name: string }) => `${d.flowName}/${d.name}`));
      cursor = res.body.nextCursor;
    } while (cursor);
    const paged = seen.filter((s) => s.startsWith('paged-'));
    expect(paged).toHaveLength(7);
    expect(new Set(seen).size).toBe(seen.length);

    const flows: string[] = [];
    cursor = null;
    do {
      const res = await api.owner('GET', `/flows?limit=1${cursor ? `&cursor=${cursor}` : ''}`);
      flows.push(...res.body.items.map((f: { name: string }) => f.name));
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(new Set(flows).size).toBe(flows.length);
    expect(flows).toEqual(expect.arrayContaining(['paged-0', 'paged-1', 'paged-2']));
  });

  test('a stored parameter schema says the order its fields were written in, at every level', async () => {
    const written = ['learningRate', 'epochs', 'dataset', 'z', 'options'];
    const deployment = await deploy(api.owner, {
      flowName: 'ordered',
      name: 'o',
      parameterSchema: {
        type: 'object',
        properties: {
          learningRate: { type: 'number' },
          epochs: { type: 'integer' },
          dataset: { type: 'string' },
          z: { type: 'string' },
          options: { type: 'object', properties: { verbose: { type: 'boolean' }, a: { type: 'string' } } },
        },
      },
    });
    const res = await api.owner('GET', `/deployments/${deployment.id}`);
    expect(res.status).toBe(200);
    const schema = res.body.parameterSchema;
    // The database reorders keys (shortest first); the annotation keeps the flow's order.
    expect(Object.keys(schema.properties)).not.toEqual(written);
    expect(schema['x-outpost-order']).toEqual(written);
    expect(schema.properties.options['x-outpost-order']).toEqual(['verbose', 'a']);
  });
});

describe('flow runs', () => {
  test('a run merges deployment defaults under its parameters and records its first state', async () => {
    const deployment = await deploy(api.owner, {
      flowName: 'params',
      name: 'p',
      parameters: { n: 3, mode: 'fast' },
      parameterSchema: {
        type: 'object',
        properties: { n: { type: 'integer', minimum: 1 }, mode: { type: 'string' } },
        required: ['n'],
        additionalProperties: false,
      },
      tags: ['a'],
      labels: { gpu: 'true' },
    });
    const run = await createRun(api.owner, deployment.id, { parameters: { n: 5 }, tags: ['b', 'a'] });
    expect(run).toMatchObject({
      parameters: { n: 5, mode: 'fast' },
      tags: ['a', 'b'],
      state: { type: 'SCHEDULED', name: 'Scheduled' },
      attempt: 1,
      deploymentId: deployment.id,
      workPool: 'default',
      workQueue: 'default',
    });
    expect((await api.owner('GET', `/flow-runs/${run.id}`)).body.id).toBe(run.id);
    const history = await api.owner('GET', `/flow-runs/${run.id}/states`);
    expect(history.body.items.map((s: { state: { type: string } }) => s.state.type)).toEqual(['SCHEDULED']);

    const bad = await api.owner('POST', `/deployments/${deployment.id}/runs`, { body: { parameters: { n: 0, extra: true } } });
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(['body.parameters.extra', 'body.parameters.n']);
    expect((await api.owner('POST', `/deployments/${randomUUID()}/runs`, { body: {} })).status).toBe(404);
  });

  test('the same Idempotency-Key returns the first run with created false', async () => {
    const deployment = await deploy(api.owner, { flowName: 'idem', name: 'i' });
    const headers = { 'idempotency-key': 'nightly-2026-01-01' };
    const first = await api.owner('POST', `/deployments/${deployment.id}/runs`, { body: { parameters: { a: 1 } }, headers });
    expect(first.status).toBe(201);
    expect(first.body.created).toBe(true);
    const again = await api.owner('POST', `/deployments/${deployment.id}/runs`, { body: { parameters: { a: 2 } }, headers });
    expect(again.status).toBe(200);
    expect(again.body.created).toBe(false);
    expect(again.body.flowRun.id).toBe(first.body.flowRun.id);
    expect(again.body.flowRun.idempotencyKey).toBe('nightly-2026-01-01');

    const racing = await Promise.all(
      Array.from({ length: 6 }, () =>
        api.owner('POST', `/deployments/${deployment.id}/runs`, { body: {}, headers: { 'idempotency-key': 'race' } }),
      ),
    );
    expect(new Set(racing.map((r) => r.body.flowRun.id)).size).toBe(1);
    expect(racing.filter((r) => r.body.created)).toHaveLength(1);
    const tooLong = await api.owner('POST', `/deployments/${deployment.id}/runs`, {
      body: {},
      headers: { 'idempotency-key': 'k'.repeat(201) },
    });
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.errors[0].path).toBe('headers.idempotency-key');
  });

  test('a run can name another queue of the pool but not a missing one', async () => {
    await api.owner('POST', '/work-pools/default/queues', { body: { name: 'side' } });
    const deployment = await deploy(api.owner, { flowName: 'queued', name: 'q' });
    const run = await createRun(api.owner, deployment.id, { workQueue: 'side' });
    expect(run.workQueue).toBe('side');
    const missing = await api.owner('POST', `/deployments/${deployment.id}/runs`, { body: { workQueue: 'ghost' } });
    expect(missing.status).toBe(404);
  });

  test('keyset pagination visits every run exactly once, newest first, with filters', async () => {
    const deployment = await deploy(api.owner, { flowName: 'many', name: 'm' });
    const created: string[] = [];
    for (let i = 0; i < 25; i++) created.push((await createRun(api.owner, deployment.id, { tags: [i % 2 ? 'odd' : 'even'] })).id);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await api.owner('GET', `/flow-runs?deploymentId=${deployment.id}&limit=4${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      seen.push(...res.body.items.map((r: { id: string }) => r.id));
      cursor = res.body.nextCursor;
      pages++;
      // A run created while paging is newer than the cursor and never shows up in later pages.
      if (pages === 2) await createRun(api.owner, deployment.id);
    } while (cursor);
    expect(seen).toHaveLength(25);
    expect(new Set(seen)).toEqual(new Set(created));
    // Newest first by creation time; runs created within the same millisecond are ordered by id.
    const ordered = await api.server.sql<{ id: string }[]>`
      SELECT id FROM flow_runs WHERE id = ANY(${api.server.sql.array(created)}::uuid[]) ORDER BY created_at DESC, id DESC`;
    expect(seen).toEqual(ordered.map((r) => r.id));

    const odd = await api.owner('GET', `/flow-runs?deploymentId=${deployment.id}&tag=odd&limit=200`);
    expect(odd.body.items).toHaveLength(12);
    const byFlow = await api.owner('GET', '/flow-runs?flow=many&state=SCHEDULED,PENDING&limit=200');
    expect(byFlow.body.items).toHaveLength(26);
    const none = await api.owner('GET', '/flow-runs?flow=many&state=COMPLETED');
    expect(none.body).toEqual({ items: [], nextCursor: null });
    const future = await api.owner(
      'GET',
      `/flow-runs?createdAfter=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`,
    );
    expect(future.body.items).toEqual([]);
    const forged = await api.owner('GET', '/flow-runs?cursor=bm90LWEtY3Vyc29y');
    expect(forged.status).toBe(400);
    expect(forged.body.errors[0].path).toBe('query.cursor');
  });

  test('a claimed run goes through RUNNING to COMPLETED with its history, start and end times', async () => {
    await api.owner('POST', '/work-pools', { body: { name: 'life' } });
    const deployment = await deploy(api.owner, { flowName: 'life', name: 'l', workPool: 'life' });
    const run = await createRun(api.owner, deployment.id);
    const worker = client(api.server, await api.server.createKey('worker'));
    const [claimed] = await claim(worker, 'life');
    expect(claimed.flowRun.id).toBe(run.id);
    expect(claimed.deployment).toMatchObject({ id: deployment.id, source: SOURCE, entrypoint: 'flows/etl.js', jobVariables: {} });
    const asRun = client(api.server, claimed.token);
    const running = await asRun('POST', `/flow-runs/${run.id}/set-state`, {
      body: { transitionId: randomUUID(), state: { type: 'RUNNING' } },
    });
    expect(running.body).toMatchObject({ status: 'ACCEPT', state: { type: 'RUNNING' }, attempt: 1 });
    const done = await asRun('POST', `/flow-runs/${run.id}/set-state`, {
      body: { transitionId: randomUUID(), attempt: 1, state: { type: 'COMPLETED', data: { ref: 'file:///result.json' } } },
    });
    expect(done.body.status).toBe('ACCEPT');
    const final = await api.owner('GET', `/flow-runs/${run.id}`);
    expect(final.body).toMatchObject({
      state: { type: 'COMPLETED', data: { ref: 'file:///result.json' } },
      workerId: null,
      leaseExpiresAt: null,
    });
    expect(final.body.startTime).not.toBeNull();
    expect(final.body.endTime).not.toBeNull();
    const history = await api.owner('GET', `/flow-runs/${run.id}/states`);
    expect(history.body.items.map((s: { state: { type: string } }) => s.state.type)).toEqual([
      'SCHEDULED',
      'PENDING',
      'RUNNING',
      'COMPLETED',
    ]);
  });

  test('task runs are created idempotently by id and move through their states', async () => {
    await api.owner('POST', '/work-pools', { body: { name: 'tasks' } });
    const deployment = await deploy(api.owner, { flowName: 'tasks', name: 't', workPool: 'tasks' });
    const run = await createRun(api.owner, deployment.id);
    const worker = client(api.server, await api.server.createKey('worker'));
    const [claimed] = await claim(worker, 'tasks');
    expect(claimed.flowRun.id).toBe(run.id);
    const asRun = client(api.server, claimed.token);
    const runId = claimed.flowRun.id;
    const id = randomUUID();
    const body = { id, flowRunAttempt: 1, name: 'square', taskKey: 'square-0', dynamicKey: '0', state: { type: 'RUNNING' } };
    const created = await asRun('POST', `/flow-runs/${runId}/task-runs`, { body });
    expect(created.status).toBe(201);
    expect(created.body.taskRun).toMatchObject({
      id,
      flowRunId: runId,
      runCount: 1,
      state: { type: 'RUNNING', name: 'Running' },
    });
    expect(created.body.taskRun.startTime).not.toBeNull();
    const again = await asRun('POST', `/flow-runs/${runId}/task-runs`, { body });
    expect(again.status).toBe(200);
    expect(again.body.taskRun.id).toBe(id);

    const done = await asRun('POST', `/flow-runs/${runId}/task-runs/${id}/set-state`, {
      body: { flowRunAttempt: 1, runCount: 2, state: { type: 'COMPLETED', name: 'Cached' } },
    });
    expect(done.body.taskRun).toMatchObject({ runCount: 2, state: { type: 'COMPLETED', name: 'Cached' } });
    expect(done.body.taskRun.endTime).not.toBeNull();
    const list = await api.owner('GET', `/flow-runs/${runId}/task-runs`);
    expect(list.body.items.map((t: { id: string }) => t.id)).toEqual([id]);
    const missing = await asRun('POST', `/flow-runs/${runId}/task-runs/${randomUUID()}/set-state`, {
      body: { flowRunAttempt: 1, state: { type: 'FAILED' } },
    });
    expect(missing.status).toBe(404);

    // The same task run id under another run is refused, never attached across runs.
    await createRun(api.owner, deployment.id);
    const [other] = await claim(worker, 'tasks');
    const asOther = client(api.server, other.token);
    const reused = await asOther('POST', `/flow-runs/${other.flowRun.id}/task-runs`, { body });
    expect(reused.status).toBe(409);
    expect(reused.body.code).toBe('conflict');
    expect(
      (
        await asOther('POST', `/flow-runs/${other.flowRun.id}/task-runs/${id}/set-state`, {
          body: { flowRunAttempt: 1, state: { type: 'FAILED' } },
        })
      ).status,
    ).toBe(404);
    expect((await api.owner('GET', `/flow-runs/${other.flowRun.id}/task-runs`)).body.items).toEqual([]);
  });
});
