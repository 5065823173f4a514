import { randomUUID } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { insertEvents } from '../src/events/db/events.js';
import { ledgerReadUpToNow } from '../src/testing/index.js';
import { client, createRun, deploy, eventually, useServer } from './helpers.js';

const api = useServer({ automations: { idleMs: 50 } });

/** A custom event in the test workspace, as `POST /events` or a webhook would store it. */
async function emit(kind: string, payload: Record<string, unknown> = {}, resourceId = 'test'): Promise<string> {
  const [id] = await insertEvents(api.server.sql, [
    {
      workspaceId: api.server.workspaceId,
      kind,
      resource: { kind: 'api-key', id: resourceId, name: null },
      payload,
      source: 'api',
    },
  ]);
  return id as string;
}

/** A work pool of its own, for an automation's actions to act on. */
async function newPool(): Promise<string> {
  const pool = `pool-${randomUUID().slice(0, 6)}`;
  expect((await api.owner('POST', '/work-pools', { body: { name: pool } })).status).toBe(201);
  return pool;
}

async function createAutomation(body: Record<string, unknown>): Promise<{ id: string }> {
  const res = await api.owner('POST', '/automations', { body: { name: `a-${randomUUID().slice(0, 8)}`, ...body } });
  if (res.status !== 201) throw new Error(`create failed: ${res.status} ${res.text}`);
  return res.body;
}

async function firings(id: string): Promise<{ key: string; eventIds: string[]; actions: Record<string, unknown>[] }[]> {
  const res = await api.owner('GET', `/automations/${id}/firings`);
  expect(res.status).toBe(200);
  return res.body.items;
}

async function runsOf(deploymentId: string): Promise<{ id: string; parameters: Record<string, unknown> }[]> {
  const res = await api.owner('GET', `/flow-runs?deploymentId=${deploymentId}`);
  return res.body.items;
}

/** Waits until the loop has read every event stored so far. */
async function settled(): Promise<void> {
  await eventually(
    async () => ((await ledgerReadUpToNow(api.server.sql, 'automation_cursor')) ? true : undefined),
    15_000,
    'the automations loop to read the ledger',
  );
}

describe('event triggers', () => {
  test('a matching event runs the deployment once with parameters rendered from the event, audited as the automation', async () => {
    const d = await deploy(api.owner, { flowName: `etl-${randomUUID().slice(0, 6)}` });
    const a = await createAutomation({
      trigger: { type: 'event', match: 'event.kind == "file.arrived" && event.payload.size > 10' },
      actions: [
        {
          type: 'run-deployment',
          deployment: `${d.flowName}/${d.name}`,
          parameters: { path: '{{ event.payload.path }}', size: '{{ event.payload.size }}' },
        },
      ],
    });
    await emit('file.arrived', { path: '/tmp/small', size: 3 });
    const eventId = await emit('file.arrived', { path: '/data/x.csv', size: 42 });
    const runs = await eventually(async () => {
      const r = await runsOf(d.id);
      return r.length > 0 ? r : undefined;
    });
    await settled();
    expect((await runsOf(d.id)).map((r) => r.parameters)).toEqual([{ path: '/data/x.csv', size: 42 }]);
    const fired = await firings(a.id);
    expect(fired).toHaveLength(1);
    expect(fired[0]?.key).toBe(`event:${eventId}`);
    expect(fired[0]?.actions).toEqual([
      { index: 0, type: 'run-deployment', status: 'SUCCEEDED', error: null, resultIds: [runs[0]?.id] },
    ]);
    const audit = await api.server.sql<{ actor_kind: string; action: string }[]>`
      SELECT actor_kind, action FROM audit_log WHERE actor_id = ${a.id}`;
    expect(audit).toEqual([{ actor_kind: 'automation', action: 'automation.run-deployment' }]);
    const got = await api.owner('GET', `/automations/${a.id}`);
    expect(got.body.lastFiredAt).not.toBeNull();
    expect(got.body.lastError).toBeNull();
  });

  test('a threshold counts per group within its window, and a cooldown keeps the group quiet after it fires', async () => {
    const pool = await newPool();
    const a = await createAutomation({
      trigger: {
        type: 'event',
        match: 'event.kind == "probe.failed"',
        groupBy: 'event.resource.id',
        threshold: { count: 3, withinSeconds: 600 },
        cooldownSeconds: 600,
      },
      actions: [{ type: 'pause-pool', pool }],
    });
    for (let i = 0; i < 2; i++) await emit('probe.failed', {}, 'host-b');
    for (let i = 0; i < 3; i++) await emit('probe.failed', {}, 'host-a');
    // The cooldown swallows these three: without it they would fire a second time.
    for (let i = 0; i < 3; i++) await emit('probe.failed', {}, 'host-a');
    await settled();
    const fired = await firings(a.id);
    expect(fired).toHaveLength(1);
    expect(fired[0]?.eventIds).toHaveLength(3);
    const p = await api.owner('GET', `/work-pools/${pool}`);
    expect(p.body.paused).toBe(true);
  });

  test('a failing action is recorded with its reason while the next action still runs', async () => {
    const pool = await newPool();
    const a = await createAutomation({
      trigger: { type: 'event', match: 'event.kind == "boom.once"' },
      actions: [
        { type: 'run-deployment', deployment: 'missing/deployment' },
        { type: 'pause-pool', pool },
      ],
    });
    await emit('boom.once');
    await settled();
    const [firing] = await firings(a.id);
    expect(firing?.actions).toMatchObject([
      { index: 0, status: 'FAILED', error: 'deployment "missing/deployment" not found' },
      { index: 1, status: 'SUCCEEDED' },
    ]);
    const got = await api.owner('GET', `/automations/${a.id}`);
    expect(got.body.lastError).toBe('action 0 (run-deployment): deployment "missing/deployment" not found');
    expect((await api.owner('GET', `/work-pools/${pool}`)).body.paused).toBe(true);
  });

  test('parameters the deployment refuses fail the action with the field named', async () => {
    const d = await deploy(api.owner, {
      flowName: `typed-${randomUUID().slice(0, 6)}`,
      parameterSchema: { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] },
    });
    const a = await createAutomation({
      trigger: { type: 'event', match: 'event.kind == "typed.go"' },
      actions: [{ type: 'run-deployment', deployment: `${d.flowName}/${d.name}`, parameters: { n: '{{ event.payload.n }}' } }],
    });
    await emit('typed.go', { n: 'not a number' });
    await settled();
    const [firing] = await firings(a.id);
    expect(firing?.actions[0]?.status).toBe('FAILED');
    expect(String(firing?.actions[0]?.error)).toMatch(/parameters/);
    expect(await runsOf(d.id)).toEqual([]);
  });

  test('an automation disabled sees nothing, and one created later does not fire on earlier events', async () => {
    const pool = await newPool();
    await emit('late.kind');
    await settled();
    const a = await createAutomation({
      enabled: false,
      trigger: { type: 'event', match: 'event.kind == "late.kind"' },
      actions: [{ type: 'pause-pool', pool }],
    });
    await emit('late.kind');
    await settled();
    expect(await firings(a.id)).toEqual([]);
    expect((await api.owner('POST', `/automations/${a.id}/enable`)).body.enabled).toBe(true);
    await emit('late.kind');
    await settled();
    expect(await firings(a.id)).toHaveLength(1);
  });
});

describe('notify', () => {
  test('a notify action puts one rendered delivery in the outbox, and a missing channel fails the action by name', async () => {
    const channel = `ops-${randomUUID().slice(0, 6)}`;
    const created = await api.owner('POST', '/notification-channels', {
      body: { kind: 'webhook', name: channel, url: 'https://hooks.example.com/outpost' },
    });
    expect(created.status).toBe(201);
    const a = await createAutomation({
      trigger: { type: 'event', match: 'event.kind == "disk.full"' },
      actions: [
        { type: 'notify', channel, subject: 'disk full on {{ event.payload.host }}' },
        { type: 'notify', channel: 'no-such-channel' },
      ],
    });
    await emit('disk.full', { host: 'db-1' });
    await settled();
    const [firing] = await firings(a.id);
    expect(firing?.actions).toMatchObject([
      { index: 0, type: 'notify', status: 'SUCCEEDED' },
      { index: 1, type: 'notify', status: 'FAILED', error: 'notification channel "no-such-channel" does not exist' },
    ]);
    const deliveries = await api.server.sql<{ subject: string }[]>`
      SELECT subject FROM notification_deliveries WHERE automation_id = ${a.id}`;
    expect(deliveries).toEqual([{ subject: 'disk full on db-1' }]);
  });
});

describe('compound and sequence triggers', () => {
  test('a compound trigger fires once both kinds were seen within its window', async () => {
    const pool = await newPool();
    const a = await createAutomation({
      trigger: {
        type: 'compound',
        require: 'all',
        withinSeconds: 600,
        triggers: [
          { type: 'event', match: 'event.kind == "c.left"' },
          { type: 'event', match: 'event.kind == "c.right"' },
        ],
      },
      actions: [{ type: 'pause-pool', pool }],
    });
    await emit('c.left');
    await emit('c.left');
    await settled();
    expect(await firings(a.id)).toEqual([]);
    const right = await emit('c.right');
    await settled();
    const fired = await firings(a.id);
    expect(fired.map((f) => f.key)).toEqual([`compound:${right}`]);
  });

  test('a sequence fires only for its events in order', async () => {
    const pool = await newPool();
    const a = await createAutomation({
      trigger: {
        type: 'sequence',
        withinSeconds: 600,
        triggers: [
          { type: 'event', match: 'event.kind == "s.first"' },
          { type: 'event', match: 'event.kind == "s.second"' },
        ],
      },
      actions: [{ type: 'pause-pool', pool }],
    });
    await emit('s.second');
    await emit('s.first');
    await settled();
    expect(await firings(a.id)).toEqual([]);
    const second = await emit('s.second');
    await settled();
    const fired = await firings(a.id);
    expect(fired.map((f) => f.key)).toEqual([`sequence:${second}`]);
    expect(fired[0]?.eventIds).toHaveLength(2);
  });
});

describe('proactive triggers', () => {
  test('a window opened by an event fires exactly once when it closes without the expected event, and not when it is met', async () => {
    const pool = await newPool();
    const a = await createAutomation({
      trigger: {
        type: 'proactive',
        after: 'event.kind == "job.started"',
        expect: 'event.kind == "job.finished" && event.payload.job == opening.payload.job',
        groupBy: 'event.payload.job',
        withinSeconds: 2,
      },
      actions: [{ type: 'pause-pool', pool }],
    });
    await emit('job.started', { job: 'met' });
    await emit('job.started', { job: 'missed' });
    await emit('job.finished', { job: 'met' });
    const fired = await eventually(async () => {
      const f = await firings(a.id);
      return f.length > 0 ? f : undefined;
    });
    expect(fired).toHaveLength(1);
    expect(fired[0]?.key).toMatch(/^window:missed:/);
    // Several idle rounds later, still one.
    const rounds = await api.server.sql<
      { n: number }[]
    >`SELECT count(*)::int AS n FROM automation_windows WHERE automation_id = ${a.id}`;
    expect(rounds[0]?.n).toBe(2);
    await emit('unrelated.tick');
    await settled();
    expect(await firings(a.id)).toHaveLength(1);
    const windows = await api.server.sql<{ group_key: string; status: string }[]>`
      SELECT group_key, status FROM automation_windows WHERE automation_id = ${a.id} ORDER BY group_key`;
    expect(windows).toEqual([
      { group_key: 'met', status: 'MET' },
      { group_key: 'missed', status: 'FIRED' },
    ]);
  });
});

describe('actions on runs, deployments, schedules and pools', () => {
  /** One automation per action kind, each fired by its own event kind so their firings stay apart. */
  async function fireAction(action: Record<string, unknown>, payload: Record<string, unknown> = {}) {
    const kind = `act.${randomUUID().slice(0, 8)}`;
    const a = await createAutomation({ trigger: { type: 'event', match: `event.kind == "${kind}"` }, actions: [action] });
    await emit(kind, payload);
    const [fired] = await eventually(async () => {
      const f = await firings(a.id);
      return f.length > 0 ? f : undefined;
    });
    return fired?.actions[0] as { status: string; error: string | null; resultIds: string[] };
  }
  async function runState(id: string): Promise<string> {
    const res = await api.owner('GET', `/flow-runs/${id}`);
    expect(res.status).toBe(200);
    return res.body.state.type;
  }

  test('cancel-run, pause-run and resume-run act on the run the template names, and holding a RUNNING run fails with why', async () => {
    const d = await deploy(api.owner, { flowName: `ops-${randomUUID().slice(0, 6)}` });
    const held = await createRun(api.owner, d.id);
    const paused = await fireAction({ type: 'pause-run', run: '{{ event.payload.run }}' }, { run: held.id });
    expect(paused.error).toBeNull();
    expect(paused).toMatchObject({ status: 'SUCCEEDED', resultIds: [held.id] });
    expect(await runState(held.id)).toBe('PAUSED');
    const resumed = await fireAction({ type: 'resume-run', run: '{{ event.payload.run }}' }, { run: held.id });
    expect(resumed).toMatchObject({ status: 'SUCCEEDED', resultIds: [held.id] });
    expect(await runState(held.id)).toBe('SCHEDULED');

    const doomed = await createRun(api.owner, d.id);
    const cancelled = await fireAction({ type: 'cancel-run', run: '{{ event.payload.run }}' }, { run: doomed.id });
    expect(cancelled).toMatchObject({ status: 'SUCCEEDED', resultIds: [doomed.id] });
    expect(['CANCELLING', 'CANCELLED']).toContain(await runState(doomed.id));

    const running = await createRun(api.owner, d.id);
    // Running under a lease well beyond the test: the lease loop of this server must not crash it meanwhile.
    await api.server.sql`
      UPDATE flow_runs SET state_type = 'RUNNING', lease_expires_at = now() + interval '1 hour' WHERE id = ${running.id}`;
    const refused = await fireAction({ type: 'pause-run', run: '{{ event.payload.run }}' }, { run: running.id });
    expect(refused.status).toBe('FAILED');
    expect(refused.error).toMatch(/only a SCHEDULED run can be held, and the run is RUNNING$/);
    expect(await runState(running.id)).toBe('RUNNING');
  });

  test('pause and resume a deployment, one of its schedules and a work pool', async () => {
    const d = await deploy(api.owner, {
      flowName: `ops-${randomUUID().slice(0, 6)}`,
      schedules: [{ slug: 'hourly', cron: '0 * * * *' }],
    });
    const ref = `${d.flowName}/${d.name}`;
    expect(await fireAction({ type: 'pause-deployment', deployment: ref })).toMatchObject({ status: 'SUCCEEDED' });
    expect((await api.owner('GET', `/deployments/${d.id}`)).body.paused).toBe(true);
    expect(await fireAction({ type: 'resume-deployment', deployment: ref })).toMatchObject({ status: 'SUCCEEDED' });
    expect((await api.owner('GET', `/deployments/${d.id}`)).body.paused).toBe(false);

    const active = async () => {
      const [row] = await api.server.sql<{ active: boolean }[]>`
        SELECT active FROM deployment_schedules WHERE deployment_id = ${d.id} AND slug = 'hourly'`;
      return row?.active;
    };
    expect(await fireAction({ type: 'pause-schedule', deployment: ref, schedule: 'hourly' })).toMatchObject({
      status: 'SUCCEEDED',
    });
    expect(await active()).toBe(false);
    expect(await fireAction({ type: 'resume-schedule', deployment: ref, schedule: 'hourly' })).toMatchObject({
      status: 'SUCCEEDED',
    });
    expect(await active()).toBe(true);
    const missing = await fireAction({ type: 'pause-schedule', deployment: ref, schedule: 'weekly' });
    expect(missing).toMatchObject({ status: 'FAILED', error: 'schedule "weekly" not found' });

    const pool = await newPool();
    expect((await api.owner('PATCH', `/work-pools/${pool}`, { body: { paused: true } })).status).toBe(200);
    expect(await fireAction({ type: 'resume-pool', pool })).toMatchObject({ status: 'SUCCEEDED' });
    expect((await api.owner('GET', `/work-pools/${pool}`)).body.paused).toBe(false);
  });
});

describe('validation', () => {
  test('an expression that does not compile is a 422 naming the body path and the position', async () => {
    const res = await api.owner('POST', '/automations', {
      body: {
        name: 'broken',
        trigger: { type: 'event', match: 'event.kind == "x" &&' },
        actions: [{ type: 'run-deployment', deployment: 'a/b', parameters: { path: 'at {{ evnt.payload }}' } }],
      },
    });
    expect(res.status).toBe(422);
    const paths = res.body.errors.map((e: { path: string }) => e.path);
    expect(paths).toEqual(['body.trigger.match', 'body.actions.0.parameters.path']);
    expect(res.body.errors[0].message).toMatch(/\(line 1, column \d+\)$/);
    expect(res.body.errors[1].message).toBe('unknown variable "evnt" (use "event", "events", "automation") (line 1, column 7)');
  });

  test('a name already taken is a 409, and a viewer cannot create automations', async () => {
    const body = {
      name: `dup-${randomUUID().slice(0, 6)}`,
      trigger: { type: 'event', match: 'event.kind == "never.seen"' },
      actions: [{ type: 'pause-pool', pool: 'x' }],
    };
    expect((await api.owner('POST', '/automations', { body })).status).toBe(201);
    expect((await api.owner('POST', '/automations', { body })).status).toBe(409);
    const viewer = client(api.server, await api.server.createKey('viewer'));
    expect((await viewer('POST', '/automations', { body: { ...body, name: 'other' } })).status).toBe(403);
    expect((await viewer('GET', '/automations')).status).toBe(200);
  });
});
