import { unwrap } from '@outpost/sdk/client';
import { describe, expect, test } from 'vitest';
import { deployFromDir, useTestApi } from './api.support.js';

let deploymentId: string;

const api = useTestApi(async ({ owner }) => {
  deploymentId = (
    await deployFromDir(owner, {
      flowName: 'etl',
      name: 'daily',
      parameterSchema: { type: 'object', properties: { full: { type: 'boolean' } } },
      schedules: [{ slug: 'nightly', cron: '0 2 * * *' }],
    })
  ).id;
});
const { outpost } = api;

async function schedule() {
  const { items } = unwrap(await api.owner.call('schedulesList', { params: { id: deploymentId } }));
  return items[0];
}

describe('outpost schedules update', () => {
  test('changes the cron and zone, then switches to an interval with parameters, printing what the schedule now is', async () => {
    const cron = await outpost(
      'schedules',
      'update',
      'etl/daily',
      'nightly',
      '--cron',
      '0 6 * * 1-5',
      '--timezone',
      'Europe/Berlin',
    );
    expect(cron.stderr).toBe('');
    expect(cron.code).toBe(0);
    expect(cron.stdout).toBe('schedule nightly of etl/daily: cron 0 6 * * 1-5 (Europe/Berlin)\n');
    expect(await schedule()).toMatchObject({ cron: '0 6 * * 1-5', timezone: 'Europe/Berlin' });

    const interval = await outpost(
      'schedules',
      'update',
      'etl/daily',
      'nightly',
      '--interval',
      '15m',
      '--parameters',
      '{"full": true}',
      '--json',
    );
    expect(interval.code).toBe(0);
    expect(JSON.parse(interval.stdout)).toMatchObject({ cron: null, intervalSeconds: 900, parameters: { full: true } });
    expect(await schedule()).toMatchObject({ cron: null, timezone: null, intervalSeconds: 900, parameters: { full: true } });
  });

  test('a bad cron is refused by the API with the field named, and nothing to change is a usage error', async () => {
    const before = await schedule();
    const bad = await outpost('schedules', 'update', 'etl/daily', 'nightly', '--cron', '0 25 * * *');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('cannot update schedule nightly of etl/daily');
    expect(bad.stderr).toContain('body.cron');
    expect(await schedule()).toEqual(before);

    const nothing = await outpost('schedules', 'update', 'etl/daily', 'nightly');
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toContain('nothing to change');

    const both = await outpost('schedules', 'update', 'etl/daily', 'nightly', '--cron', '0 1 * * *', '--interval', '1h');
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('give --cron or --interval, not both');
  });
});

describe('outpost deployments set-concurrency', () => {
  test('sets a limit with a collision strategy, then removes it with none', async () => {
    const set = await outpost('deployments', 'set-concurrency', 'etl/daily', '2', '--collision', 'cancel-new');
    expect(set.code).toBe(0);
    expect(set.stdout).toBe('deployment etl/daily runs at most 2 at once; a due run over it is cancelled\n');
    expect(unwrap(await api.owner.call('deploymentsGet', { params: { id: deploymentId } }))).toMatchObject({
      concurrencyLimit: 2,
      collisionStrategy: 'CANCEL_NEW',
    });

    const removed = await outpost('deployments', 'set-concurrency', 'etl/daily', 'none');
    expect(removed.code).toBe(0);
    expect(removed.stdout).toBe('deployment etl/daily has no concurrency limit\n');
    expect(unwrap(await api.owner.call('deploymentsGet', { params: { id: deploymentId } })).concurrencyLimit).toBeNull();
  });

  test('a limit that is not a number or none is a usage error that sends nothing', async () => {
    const bad = await outpost('deployments', 'set-concurrency', 'etl/daily', 'lots');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('the limit must be a whole number from 0 to 100000, or none');
    expect(unwrap(await api.owner.call('deploymentsGet', { params: { id: deploymentId } })).concurrencyLimit).toBeNull();
  });
});
