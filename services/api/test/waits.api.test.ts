import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, test } from 'vitest';
import { insertEvents } from '../src/events/db/events.js';
import { createLogger } from '../src/logger.js';
import { LeaseExpiryLoop } from '../src/loops/lease-expiry.js';
import { WaitsLoop } from '../src/loops/waits.js';
import {
  type Call,
  client,
  createRun,
  deploy,
  eventually,
  type HeldRun,
  runInOwnPool,
  SOURCE,
  startClaimed,
  unique,
  useDrivenLoop,
  useServer,
} from './helpers.js';

let worker: Call;

const api = useServer({ loops: false, leaseSeconds: 2 });
// No background loops: each test drives the waits loop itself, so what it resolves is deterministic.
const loop = useDrivenLoop(() => new WaitsLoop(api.server.sql, api.server.databaseUrl, createLogger('silent'), null));

beforeAll(async () => {
  worker = client(api.server, await api.server.createKey('worker'));
});

/** A RUNNING run in a pool of its own, claimed by the worker, with the run token's client. */
function runningRun(retries = 0, parameters: Record<string, unknown> = {}): Promise<HeldRun> {
  return runInOwnPool(
    api.server,
    { owner: api.owner, worker },
    { deployment: { flowName: unique('waits'), retries }, run: { parameters } },
  );
}

const start = (runId: string, pool: string) => startClaimed(api.server, worker, runId, pool);

async function begin(held: HeldRun, body: Record<string, unknown>) {
  return held.token('POST', `/flow-runs/${held.runId}/waits`, { body });
}

async function runOf(runId: string) {
  return (await api.owner('GET', `/flow-runs/${runId}`)).body;
}

async function suspend(held: HeldRun, waitId: string, results: unknown[] = []) {
  const res = await held.token('POST', `/flow-runs/${held.runId}/suspend`, { body: { waitId, results } });
  expect(res.status).toBe(200);
  return res.body;
}

describe('beginning a wait', () => {
  test('is idempotent by key: a replay gets the stored wait, and a different kind under the key is refused', async () => {
    const held = await runningRun();
    const first = await begin(held, { key: 'wait-1', spec: { kind: 'approval', title: 'Deploy model' } });
    expect(first.status).toBe(200);
    expect(first.body.wait).toMatchObject({ key: 'wait-1', status: 'WAITING', flowRunId: held.runId, value: null });
    const again = await begin(held, { key: 'wait-1', spec: { kind: 'approval', title: 'Deploy model' } });
    expect(again.body.wait.id).toBe(first.body.wait.id);
    const other = await begin(held, { key: 'wait-1', spec: { kind: 'token', token: 'x' } });
    expect(other.status).toBe(409);
    expect(other.body.detail).toContain('same waits in the same order');
  });

  test("an approval's form keeps the order the flow wrote its fields in", async () => {
    const held = await runningRun();
    const form = {
      type: 'object',
      properties: { reviewer: { type: 'string' }, ok: { type: 'boolean' }, note: { type: 'string' } },
    };
    const wait = (await begin(held, { key: 'form', spec: { kind: 'approval', title: 'Ship', form } })).body.wait;
    const stored = (await api.owner('GET', `/waits/${wait.id}`)).body.wait.spec.form;
    expect(stored['x-outpost-order']).toEqual(['reviewer', 'ok', 'note']);
  });

  test('a token no wait asked for is refused, and the wait that names it later still waits', async () => {
    const held = await runningRun();
    const token = unique('job');
    const early = await api.owner('POST', `/wait-tokens/${token}/complete`, { body: { value: { rows: 42 } } });
    expect(early.status).toBe(404);
    expect(early.body.detail).toContain(`no wait asks for the token "${token}"`);
    const res = await begin(held, { key: 'wait-1', spec: { kind: 'token', token } });
    expect(res.body.wait).toMatchObject({ status: 'WAITING', value: null, spec: { kind: 'token', token } });
  });

  test('a token completed after the wait began resolves it, and a second completion keeps the first value', async () => {
    const held = await runningRun();
    const token = unique('job');
    const res = await begin(held, { key: 'wait-1', spec: { kind: 'token', token } });
    expect(res.body.wait.status).toBe('WAITING');
    const done = await api.owner('POST', `/wait-tokens/${token}/complete`, { body: { value: 'first' } });
    expect(done.body.wait).toMatchObject({ id: res.body.wait.id, status: 'RESOLVED', value: 'first' });
    const twice = await api.owner('POST', `/wait-tokens/${token}/complete`, { body: { value: 'second' } });
    expect(twice.body.wait.value).toBe('first');
  });

  test('an event stored before the wait began resolves it at once (look-back), matched by CEL over event and run', async () => {
    const held = await runningRun(0, { order: 'o-7' });
    const kind = unique('order.paid');
    await insertEvents(api.server.sql, [
      {
        workspaceId: api.server.workspaceId,
        kind,
        resource: { kind: 'order', id: 'o-6' },
        payload: { order: 'o-6' },
        source: 'api',
      },
      {
        workspaceId: api.server.workspaceId,
        kind,
        resource: { kind: 'order', id: 'o-7' },
        payload: { order: 'o-7' },
        source: 'api',
      },
    ]);
    const res = await begin(held, {
      key: 'paid',
      spec: { kind: 'event', event: kind, match: 'event.payload.order == run.parameters.order' },
    });
    expect(res.body.wait.status).toBe('RESOLVED');
    expect(res.body.wait.value).toMatchObject({ kind, payload: { order: 'o-7' } });
  });

  test('an event before `since` does not count', async () => {
    const held = await runningRun();
    const kind = unique('model.trained');
    await insertEvents(api.server.sql, [
      { workspaceId: api.server.workspaceId, kind, resource: { kind: 'm', id: '1' }, source: 'api' },
    ]);
    const since = new Date(Date.now() + 60_000).toISOString();
    const res = await begin(held, { key: 'trained', spec: { kind: 'event', event: kind, since } });
    expect(res.body.wait.status).toBe('WAITING');
  });

  test('a match that does not compile is refused with its path and position', async () => {
    const held = await runningRun();
    const res = await begin(held, { key: 'bad', spec: { kind: 'event', event: 'x.y', match: 'event.payload ==' } });
    expect(res.status).toBe(422);
    expect(res.body.errors[0].path).toBe('body.spec.match');
    expect(res.body.errors[0].message).toMatch(/line 1, column \d+/);
    const unknown = await begin(held, { key: 'bad', spec: { kind: 'event', event: 'x.y', match: 'job.id == 1' } });
    expect(unknown.body.errors[0].message).toContain('unknown variable "job"');
  });

  test('a wait of a run that is not running is refused, and a stale attempt is fenced', async () => {
    const held = await runningRun();
    await held.token('POST', `/flow-runs/${held.runId}/set-state`, {
      body: { transitionId: randomUUID(), state: { type: 'COMPLETED' } },
    });
    const res = await begin(held, { key: 'late', spec: { kind: 'approval', title: 'x' } });
    expect(res.status).toBe(409);
    expect(res.body.detail).toContain('only a running run can begin a wait');
  });

  test('a run token reads only its own run’s waits', async () => {
    const a = await runningRun();
    const b = await runningRun();
    const wait = (await begin(a, { key: 'k', spec: { kind: 'approval', title: 'x' } })).body.wait;
    expect((await a.token('GET', `/waits/${wait.id}`)).status).toBe(200);
    expect((await b.token('GET', `/waits/${wait.id}`)).status).toBe(404);
  });
});

describe('suspending and resuming', () => {
  test('suspends a running run on its wait: PAUSED, lease released, attempt ended, results recorded for replay', async () => {
    const held = await runningRun();
    const wait = (await begin(held, { key: 'wait-1', spec: { kind: 'approval', title: 'Deploy model' } })).body.wait;
    const results = [
      { taskRunId: randomUUID(), taskKey: 'extract', dynamicKey: '0', ref: 'results/run/extract-0.json' },
      { taskRunId: randomUUID(), taskKey: 'train', dynamicKey: '0', ref: 'results/run/train-0.json' },
    ];
    const answer = await suspend(held, wait.id, results);
    expect(answer).toMatchObject({ suspended: true, wait: { id: wait.id, status: 'WAITING' } });
    const run = await runOf(held.runId);
    expect(run.state).toMatchObject({ type: 'PAUSED', name: 'Suspended', message: 'waiting for approval “Deploy model”' });
    const [row] = await api.server.sql<{ worker_id: string | null; lease_expires_at: Date | null }[]>`
      SELECT worker_id, lease_expires_at FROM flow_runs WHERE id = ${held.runId}`;
    expect(row).toEqual({ worker_id: null, lease_expires_at: null });
    const attempts = (await api.owner('GET', `/flow-runs/${held.runId}/attempts`)).body.items;
    expect(attempts[0]).toMatchObject({ attempt: 1, state: { type: 'PAUSED', name: 'Suspended' } });
    expect(attempts[0].endedAt).not.toBeNull();
    const replay = await held.token('GET', `/flow-runs/${held.runId}/replay`);
    expect(replay.body.results).toEqual(results);
  });

  test('suspending on a wait that already resolved leaves the run running and answers the value', async () => {
    const held = await runningRun();
    const token = unique('tok');
    const wait = (await begin(held, { key: 'w', spec: { kind: 'token', token } })).body.wait;
    await api.owner('POST', `/wait-tokens/${token}/complete`, { body: { value: 7 } });
    const answer = await suspend(held, wait.id);
    expect(answer).toMatchObject({ suspended: false, wait: { status: 'RESOLVED', value: 7 } });
    expect((await runOf(held.runId)).state.type).toBe('RUNNING');
  });

  test('an approval resumes the suspended run on a new attempt that spends no retry', async () => {
    const held = await runningRun(1);
    const wait = (await begin(held, { key: 'approve', spec: { kind: 'approval', title: 'Ship it' } })).body.wait;
    await suspend(held, wait.id);
    const decided = await api.owner('POST', `/waits/${wait.id}/decide`, { body: { approved: true, comment: 'go' } });
    expect(decided.status).toBe(200);
    expect(decided.body.wait).toMatchObject({ status: 'RESOLVED', value: { approved: true, comment: 'go', data: null } });
    const resumed = await runOf(held.runId);
    expect(resumed).toMatchObject({ attempt: 2, state: { type: 'SCHEDULED', name: 'Resuming' } });

    // The resumed attempt is claimed like any run; failing it still leaves the one retry the run has.
    const second = await start(held.runId, held.pool);
    expect(second.attempt).toBe(2);
    const again = (await begin(second, { key: 'approve', spec: { kind: 'approval', title: 'Ship it' } })).body.wait;
    expect(again).toMatchObject({ id: wait.id, status: 'RESOLVED' });
    const failed = await second.token('POST', `/flow-runs/${held.runId}/set-state`, {
      body: { transitionId: randomUUID(), state: { type: 'FAILED' } },
    });
    expect(failed.body.state).toMatchObject({ type: 'SCHEDULED', name: 'AwaitingRetry', message: 'Retry 1 of 1 after 0 s' });
    const third = await start(held.runId, held.pool);
    const final = await third.token('POST', `/flow-runs/${held.runId}/set-state`, {
      body: { transitionId: randomUUID(), state: { type: 'FAILED' } },
    });
    expect(final.body.state.type).toBe('FAILED');
  });

  test('a resumed run runs the code it was created with, even after a redeploy during the wait', async () => {
    const pool = unique('pool');
    await api.owner('POST', '/work-pools', { body: { name: pool } });
    const flowName = unique('pinned');
    const d = await deploy(api.owner, { flowName, workPool: pool });
    const held = await start((await createRun(api.owner, d.id)).id, pool);
    const token = unique('tok');
    const wait = (await begin(held, { key: 'w', spec: { kind: 'token', token } })).body.wait;
    await suspend(held, wait.id);
    const newer = SOURCE.replace('a'.repeat(64), 'b'.repeat(64));
    await deploy(api.owner, { flowName, workPool: pool, source: newer });
    expect((await api.owner('POST', `/wait-tokens/${token}/complete`, { body: {} })).status).toBe(200);
    const resumed = await start(held.runId, pool);
    expect(resumed.source).toBe(SOURCE);
  });

  test('the lease loop leaves a suspended run alone, past the lease its attempt had', async () => {
    const held = await runningRun();
    const wait = (await begin(held, { key: 'w', spec: { kind: 'approval', title: 'x' } })).body.wait;
    const [lease] = await api.server.sql<{ at: Date }[]>`SELECT lease_expires_at AS at FROM flow_runs WHERE id = ${held.runId}`;
    await suspend(held, wait.id);
    const leases = new LeaseExpiryLoop(api.server.sql, api.server.databaseUrl, createLogger('silent'), { graceSeconds: 0 });
    try {
      await api.server
        .sql`SELECT pg_sleep(greatest(0, extract(epoch FROM ${lease?.at ?? new Date()}::timestamptz - now()) + 0.1))`;
      await leases.tick();
    } finally {
      await leases.stop();
    }
    expect((await runOf(held.runId)).state.type).toBe('PAUSED');
  });

  test('cancelling a suspended run cancels its waits', async () => {
    const held = await runningRun();
    const wait = (await begin(held, { key: 'w', spec: { kind: 'approval', title: 'x' } })).body.wait;
    await suspend(held, wait.id);
    const cancelled = await api.owner('POST', `/flow-runs/${held.runId}/cancel`, { body: {} });
    expect(cancelled.body.state.type).toBe('CANCELLED');
    expect((await api.owner('GET', `/waits/${wait.id}`)).body.wait.status).toBe('CANCELLED');
    const late = await api.owner('POST', `/waits/${wait.id}/decide`, { body: { approved: true } });
    expect(late.status).toBe(409);
  });
});

describe('holding a wait', () => {
  test('GET with holdSeconds answers as soon as the wait resolves', async () => {
    const held = await runningRun();
    const token = unique('tok');
    const wait = (await begin(held, { key: 'w', spec: { kind: 'token', token } })).body.wait;
    const started = Date.now();
    const holding = held.token('GET', `/waits/${wait.id}?holdSeconds=20`);
    // Whether the completion lands before or during the hold, the answer must come long before 20 s.
    await new Promise<void>((resolve) => setImmediate(resolve));
    await api.owner('POST', `/wait-tokens/${token}/complete`, { body: { value: 'done' } });
    const res = await holding;
    expect(res.body.wait).toMatchObject({ status: 'RESOLVED', value: 'done' });
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  test('GET with holdSeconds answers WAITING when the hold ends first', async () => {
    const held = await runningRun();
    const wait = (await begin(held, { key: 'w', spec: { kind: 'approval', title: 'x' } })).body.wait;
    const res = await held.token('GET', `/waits/${wait.id}?holdSeconds=1`);
    expect(res.body.wait.status).toBe('WAITING');
  });
});

describe('approvals', () => {
  const form = {
    type: 'object',
    properties: { reason: { type: 'string', minLength: 3 }, replicas: { type: 'integer', minimum: 1 } },
    required: ['reason'],
  };

  test('a viewer cannot decide, and the wait’s role list is honoured', async () => {
    const held = await runningRun();
    const wait = (await begin(held, { key: 'w', spec: { kind: 'approval', title: 'Prod', roles: ['admin'] } })).body.wait;
    const viewer = client(api.server, await api.server.createKey('viewer'));
    expect((await viewer('POST', `/waits/${wait.id}/decide`, { body: { approved: true } })).status).toBe(403);
    const developer = client(api.server, await api.server.createKey('developer'));
    const refused = await developer('POST', `/waits/${wait.id}/decide`, { body: { approved: true } });
    expect(refused.status).toBe(403);
    expect(refused.body.detail).toBe('only admin may decide “Prod”');
    const admin = client(api.server, await api.server.createKey('admin'));
    const ok = await admin('POST', `/waits/${wait.id}/decide`, { body: { approved: false } });
    expect(ok.body.wait.value).toMatchObject({ approved: false, decidedBy: { label: expect.stringContaining('API key') } });
  });

  test('the form is checked against the wait’s schema, with a path per problem', async () => {
    const held = await runningRun();
    const wait = (await begin(held, { key: 'w', spec: { kind: 'approval', title: 'Scale', form } })).body.wait;
    const missing = await api.owner('POST', `/waits/${wait.id}/decide`, { body: { approved: true } });
    expect(missing.status).toBe(400);
    expect(missing.body.errors).toEqual([{ path: 'body.data.reason', message: expect.any(String) }]);
    const wrong = await api.owner('POST', `/waits/${wait.id}/decide`, {
      body: { approved: true, data: { reason: 'ok!', replicas: 0 } },
    });
    expect(wrong.body.errors.map((e: { path: string }) => e.path)).toEqual(['body.data.replicas']);
    const ok = await api.owner('POST', `/waits/${wait.id}/decide`, {
      body: { approved: true, data: { reason: 'load', replicas: 3 } },
    });
    expect(ok.body.wait.value.data).toEqual({ reason: 'load', replicas: 3 });
  });

  test('a decision is audited with its decider', async () => {
    const held = await runningRun();
    const wait = (await begin(held, { key: 'w', spec: { kind: 'approval', title: 'x' } })).body.wait;
    await api.owner('POST', `/waits/${wait.id}/decide`, { body: { approved: true } });
    const [row] = await api.server.sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM audit_log WHERE action = 'waitsDecide' AND target_ids->>'id' = ${wait.id} AND status = 200`;
    expect(row?.n).toBe(1);
  });

  test('the inbox lists pending approvals newest first', async () => {
    const held = await runningRun();
    const a = (await begin(held, { key: 'a', spec: { kind: 'approval', title: 'A' } })).body.wait;
    const b = (await begin(held, { key: 'b', spec: { kind: 'approval', title: 'B' } })).body.wait;
    const res = await api.owner('GET', `/waits?status=WAITING&kind=approval&flowRunId=${held.runId}`);
    expect(res.body.items.map((w: { id: string }) => w.id)).toEqual([b.id, a.id]);
    expect(res.body.items[0].flowRunName).toBeTruthy();
  });
});

describe('the waits loop', () => {
  test('resolves an until wait at its time and resumes the run suspended on it', async () => {
    const held = await runningRun();
    const until = new Date(Date.now() + 1500).toISOString();
    const wait = (await begin(held, { key: 'w', spec: { kind: 'until', until } })).body.wait;
    await suspend(held, wait.id);
    await loop().tick();
    expect((await api.owner('GET', `/waits/${wait.id}`)).body.wait.status).toBe('WAITING');
    // Held until the time, then one more round.
    const res = await api.owner('GET', `/waits/${wait.id}?holdSeconds=1`);
    expect(res.body.wait.status).toBe('WAITING');
    await api.server.sql`SELECT pg_sleep(greatest(0, extract(epoch FROM ${until}::timestamptz - now())))`;
    await loop().tick();
    expect((await api.owner('GET', `/waits/${wait.id}`)).body.wait.status).toBe('RESOLVED');
    expect((await runOf(held.runId)).state).toMatchObject({ type: 'SCHEDULED', name: 'Resuming' });
  });

  test('times a wait out at its timeout and resumes its run', async () => {
    const held = await runningRun();
    const wait = (await begin(held, { key: 'w', spec: { kind: 'approval', title: 'x' }, timeoutSeconds: 1 })).body.wait;
    await suspend(held, wait.id);
    await api.server.sql`SELECT pg_sleep(greatest(0, extract(epoch FROM ${wait.expiresAt}::timestamptz - now())))`;
    await loop().tick();
    expect((await api.owner('GET', `/waits/${wait.id}`)).body.wait.status).toBe('TIMED_OUT');
    expect((await runOf(held.runId)).state.name).toBe('Resuming');
  });

  test('matches an event stored after the wait began, once, and resumes the suspended run', async () => {
    const held = await runningRun();
    const kind = unique('file.arrived');
    const wait = (await begin(held, { key: 'w', spec: { kind: 'event', event: kind, match: 'event.payload.size > 10' } })).body
      .wait;
    await suspend(held, wait.id);
    await loop().tick();
    await insertEvents(api.server.sql, [
      { workspaceId: api.server.workspaceId, kind, resource: { kind: 'file', id: 'small' }, payload: { size: 5 }, source: 'api' },
      { workspaceId: api.server.workspaceId, kind, resource: { kind: 'file', id: 'big' }, payload: { size: 50 }, source: 'api' },
    ]);
    // The loop reads events only below the oldest transaction still open, which other test files'
    // transactions on the same database may hold back for a moment: rounds until it has read them.
    const resolved = await eventually(
      async () => {
        await loop().tick();
        const current = (await api.owner('GET', `/waits/${wait.id}`)).body.wait;
        return current.status === 'WAITING' ? undefined : current;
      },
      30_000,
      'the waits loop to read the events',
    );
    expect(resolved).toMatchObject({ status: 'RESOLVED', value: { resource: { id: 'big' } } });
    expect((await runOf(held.runId)).state.name).toBe('Resuming');
  });

  test('looks back once a wait is committed, for an event its creation could not see and the cursor has passed', async () => {
    const held = await runningRun();
    const kind = unique('late.event');
    await insertEvents(api.server.sql, [
      { workspaceId: api.server.workspaceId, kind, resource: { kind: 'x', id: '1' }, source: 'api' },
    ]);
    await loop().tick();
    // What a creation racing the event's commit leaves behind: a WAITING wait whose own look-back
    // missed the event, after the loop's cursor went past it.
    const [wait] = await api.server.sql<{ id: string }[]>`
      INSERT INTO waits (workspace_id, flow_run_id, key, kind, spec, event_kind)
      VALUES (${api.server.workspaceId}, ${held.runId}, 'raced', 'event', ${api.server.sql.json({ kind: 'event', event: kind })}, ${kind})
      RETURNING id`;
    await loop().tick();
    expect((await api.owner('GET', `/waits/${wait?.id}`)).body.wait).toMatchObject({ status: 'RESOLVED', value: { kind } });
  });
});
