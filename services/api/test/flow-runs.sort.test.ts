import { describe, expect, test } from 'vitest';
import { createRun, deploy, useServer } from './helpers.js';

const api = useServer();

const ids = (body: { items: { id: string }[] }) => body.items.map((r) => r.id);

describe('listing flow runs soonest expected start first', () => {
  test('lists scheduled runs in the order they are due, not the order they were created, across pages', async () => {
    const d = await deploy(api.owner, { flowName: 'sorted', name: 'due' });
    const hour = 3_600_000;
    const at = (hours: number) => new Date(Date.now() + hours * hour).toISOString();
    const in3 = await createRun(api.owner, d.id, { scheduledTime: at(3) });
    const in1 = await createRun(api.owner, d.id, { scheduledTime: at(1) });
    const in4 = await createRun(api.owner, d.id, { scheduledTime: at(4) });
    const in2 = await createRun(api.owner, d.id, { scheduledTime: at(2) });

    const newest = await api.owner('GET', `/flow-runs?deploymentId=${d.id}&limit=10`);
    expect(ids(newest.body)).toEqual([in2.id, in4.id, in1.id, in3.id]);

    const first = await api.owner('GET', `/flow-runs?deploymentId=${d.id}&state=SCHEDULED&sort=EXPECTED_START_TIME_ASC&limit=3`);
    expect(first.status).toBe(200);
    expect(ids(first.body)).toEqual([in1.id, in2.id, in3.id]);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const cursor = encodeURIComponent(first.body.nextCursor);
    const second = await api.owner(
      'GET',
      `/flow-runs?deploymentId=${d.id}&state=SCHEDULED&sort=EXPECTED_START_TIME_ASC&limit=3&cursor=${cursor}`,
    );
    expect(ids(second.body)).toEqual([in4.id]);
    expect(second.body.nextCursor).toBeNull();
  });

  test('keeps newest first when asked by name, and refuses an unknown order naming the field', async () => {
    const d = await deploy(api.owner, { flowName: 'sorted', name: 'named' });
    const a = await createRun(api.owner, d.id);
    const b = await createRun(api.owner, d.id);
    expect(ids((await api.owner('GET', `/flow-runs?deploymentId=${d.id}&sort=CREATED_DESC`)).body)).toEqual([b.id, a.id]);
    const bad = await api.owner('GET', '/flow-runs?sort=NAME_ASC');
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].path).toBe('query.sort');
  });
});
