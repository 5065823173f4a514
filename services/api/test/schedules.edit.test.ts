import { describe, expect, test } from 'vitest';
import { createLogger } from '../src/logger.js';
import { SchedulerLoop } from '../src/loops/scheduler.js';
import { client, deploy, scheduledRuns, unique, useDrivenLoop, useServer } from './helpers.js';

const api = useServer();
const scheduler = useDrivenLoop(() => new SchedulerLoop(api.server.sql, api.server.databaseUrl, createLogger('silent')));

const runsOf = (deploymentId: string) => scheduledRuns(api.server, deploymentId);

const berlin = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'Europe/Berlin',
  weekday: 'short',
  hour: '2-digit',
  minute: '2-digit',
  hour12: false,
});

async function auditActions(objectId: string): Promise<string[]> {
  const res = await api.owner('GET', `/audit-log?limit=100&objectId=${objectId}`);
  expect(res.status, res.text).toBe(200);
  return res.body.items.map((e: { action: string }) => e.action);
}

describe('editing a schedule', () => {
  test('a new cron and zone replans the schedule: its unclaimed runs go, and the scheduler makes the new times under the same slug', async () => {
    const d = await deploy(api.owner, { flowName: unique('edit'), schedules: [{ slug: 'daily', cron: '0 6 * * *' }] });
    await scheduler().tick();
    const before = await runsOf(d.id);
    expect(before).toHaveLength(3);

    const res = await api.owner('PATCH', `/deployments/${d.id}/schedules/daily`, {
      body: { cron: '30 7 * * 1-5', timezone: 'Europe/Berlin' },
    });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ slug: 'daily', cron: '30 7 * * 1-5', timezone: 'Europe/Berlin', intervalSeconds: null });
    expect(await runsOf(d.id)).toEqual([]);

    await scheduler().tick();
    const after = await runsOf(d.id);
    expect(after).toHaveLength(3);
    for (const r of after) {
      expect(r.idempotency_key).toBe(`scheduled:daily:${r.expected_start_time.toISOString()}`);
      const [weekday, time] = berlin.format(r.expected_start_time).split(' ');
      expect(time).toBe('07:30');
      expect(['Mon', 'Tue', 'Wed', 'Thu', 'Fri']).toContain(weekday);
    }
    expect(after.map((r) => r.id)).not.toEqual(expect.arrayContaining(before.map((r) => r.id)));
    const listed = await api.owner('GET', `/deployments/${d.id}/schedules`);
    expect(listed.body.items[0]).toMatchObject({ cron: '30 7 * * 1-5', timezone: 'Europe/Berlin' });
    expect(await auditActions(d.id)).toContain('schedulesUpdate');
  });

  test('an interval replaces a cron, and the next runs are that interval apart', async () => {
    const d = await deploy(api.owner, { flowName: unique('interval'), schedules: [{ slug: 's', cron: '0 0 * * *' }] });
    const res = await api.owner('PATCH', `/deployments/${d.id}/schedules/s`, { body: { intervalSeconds: 7200 } });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ cron: null, timezone: null, intervalSeconds: 7200 });
    await scheduler().tick();
    const times = (await runsOf(d.id)).map((r) => r.expected_start_time.getTime());
    expect(times.length).toBeGreaterThanOrEqual(3);
    for (let i = 1; i < times.length; i++) expect((times[i] as number) - (times[i - 1] as number)).toBe(7_200_000);
  });

  test('new parameters are written into the unclaimed runs in place, and parameters the schema refuses are a 4xx naming the field', async () => {
    const d = await deploy(api.owner, {
      flowName: unique('params'),
      parameterSchema: { type: 'object', properties: { size: { type: 'integer' } } },
      parameters: { size: 1 },
      schedules: [{ slug: 's', cron: '0 * * * *' }],
    });
    await scheduler().tick();
    const before = await runsOf(d.id);
    const res = await api.owner('PATCH', `/deployments/${d.id}/schedules/s`, { body: { parameters: { size: 5 } } });
    expect(res.status, res.text).toBe(200);
    const after = await runsOf(d.id);
    expect(after.map((r) => r.id)).toEqual(before.map((r) => r.id));
    for (const r of after) expect(r.parameters).toEqual({ size: 5 });

    const bad = await api.owner('PATCH', `/deployments/${d.id}/schedules/s`, { body: { parameters: { size: 'big' } } });
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: { path: string }) => e.path)).toContain('body.parameters.size');
    for (const r of await runsOf(d.id)) expect(r.parameters).toEqual({ size: 5 });
  });

  test('a bad cron or an unknown zone is a 4xx naming the field, and changes nothing', async () => {
    const d = await deploy(api.owner, { flowName: unique('bad'), schedules: [{ slug: 's', cron: '0 6 * * *' }] });
    await scheduler().tick();
    const before = await runsOf(d.id);

    const cron = await api.owner('PATCH', `/deployments/${d.id}/schedules/s`, { body: { cron: '61 6 * * *' } });
    expect(cron.status).toBeGreaterThanOrEqual(400);
    expect(cron.status).toBeLessThan(500);
    expect(cron.body.errors).toEqual([expect.objectContaining({ path: 'body.cron' })]);

    const zone = await api.owner('PATCH', `/deployments/${d.id}/schedules/s`, { body: { timezone: 'Mars/Olympus' } });
    expect(zone.status).toBe(400);
    expect(zone.body.errors).toEqual([expect.objectContaining({ path: 'body.timezone' })]);

    const shape = await api.owner('PATCH', `/deployments/${d.id}/schedules/s`, {
      body: { cron: '0 1 * * *', intervalSeconds: 60 },
    });
    expect(shape.status).toBe(400);
    expect(shape.body.errors.map((e: { path: string }) => e.path)).toContain('body.intervalSeconds');

    const listed = await api.owner('GET', `/deployments/${d.id}/schedules`);
    expect(listed.body.items[0]).toMatchObject({ cron: '0 6 * * *', timezone: 'UTC' });
    expect((await runsOf(d.id)).map((r) => r.id)).toEqual(before.map((r) => r.id));
  });

  test('a viewer may not edit a schedule, and another workspace sees neither the deployment nor its schedule', async () => {
    const d = await deploy(api.owner, { flowName: unique('access'), schedules: [{ slug: 's', cron: '0 6 * * *' }] });
    const viewer = client(api.server, await api.server.createKey('viewer'));
    const refused = await viewer('PATCH', `/deployments/${d.id}/schedules/s`, { body: { cron: '0 7 * * *' } });
    expect(refused.status).toBe(403);
    const other = await api.server.createWorkspace();
    const stranger = client(api.server, other.ownerKey);
    const hidden = await stranger('PATCH', `/deployments/${d.id}/schedules/s`, { body: { cron: '0 7 * * *' } });
    expect(hidden.status).toBe(404);
    const missing = await api.owner('PATCH', `/deployments/${d.id}/schedules/nope`, { body: { active: false } });
    expect(missing.status).toBe(404);
    const listed = await api.owner('GET', `/deployments/${d.id}/schedules`);
    expect(listed.body.items[0]).toMatchObject({ cron: '0 6 * * *' });
  });
});

describe("changing a deployment's concurrency", () => {
  test('sets and removes the limit and the collision strategy without a redeploy', async () => {
    const d = await deploy(api.owner, { flowName: unique('limit') });
    expect(d.concurrencyLimit).toBeNull();
    const set = await api.owner('PATCH', `/deployments/${d.id}`, {
      body: { concurrencyLimit: 2, collisionStrategy: 'CANCEL_NEW' },
    });
    expect(set.status, set.text).toBe(200);
    expect(set.body).toMatchObject({ concurrencyLimit: 2, collisionStrategy: 'CANCEL_NEW' });
    const cleared = await api.owner('PATCH', `/deployments/${d.id}`, { body: { concurrencyLimit: null } });
    expect(cleared.body).toMatchObject({ concurrencyLimit: null, collisionStrategy: 'CANCEL_NEW' });
    expect((await api.owner('GET', `/deployments/${d.id}`)).body.concurrencyLimit).toBeNull();
    expect(await auditActions(d.id)).toContain('deploymentsUpdate');
  });

  test('a negative limit is a 400 naming the field; a viewer gets 403 and another workspace 404', async () => {
    const d = await deploy(api.owner, { flowName: unique('limit-bad') });
    const bad = await api.owner('PATCH', `/deployments/${d.id}`, { body: { concurrencyLimit: -1 } });
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: { path: string }) => e.path)).toContain('body.concurrencyLimit');
    const viewer = client(api.server, await api.server.createKey('viewer'));
    expect((await viewer('PATCH', `/deployments/${d.id}`, { body: { concurrencyLimit: 1 } })).status).toBe(403);
    const other = await api.server.createWorkspace();
    expect(
      (await client(api.server, other.ownerKey)('PATCH', `/deployments/${d.id}`, { body: { concurrencyLimit: 1 } })).status,
    ).toBe(404);
    expect((await api.owner('GET', `/deployments/${d.id}`)).body.concurrencyLimit).toBeNull();
  });
});
