import { randomUUID } from 'node:crypto';
import { unwrap } from '@outpost/sdk/client';
import { describe, expect, test } from 'vitest';
import { deployFromDir, useTestApi } from './api.support.js';

let deploymentId: string;

const api = useTestApi(async ({ owner }) => {
  deploymentId = (
    await deployFromDir(owner, {
      flowName: 'etl',
      name: 'hourly',
      schedules: [{ slug: 'every-hour', cron: '0 * * * *' }],
    })
  ).id;
});
const { outpost } = api;

describe('outpost backfills', () => {
  test('create starts the first runs of a time range; ls, list, get, partitions, pause, resume and cancel follow it', async () => {
    const created = await outpost(
      'backfills',
      'create',
      'etl/hourly',
      '--start',
      '2026-11-01T00:00:00Z',
      '--end',
      '2026-11-01T05:00:00Z',
      '--max-concurrent',
      '2',
      '--param',
      'day=1',
    );
    expect(created.code).toBe(0);
    // The dashboard has no backfill page: its runs are its deployment's, on the runs page filtered to it.
    expect(created.stderr).toBe(
      'backfill of etl/hourly (schedule every-hour) covers 2026-11-01 00:00:00 → 2026-11-01 05:00:00 UTC (5 partitions): 2 runs started, 2 at a time\n' +
        `dashboard: ${new URL(api.server.url).origin}/#/deployments/${deploymentId}\n`,
    );
    const id = created.stdout.trim();
    const stored = unwrap(await api.owner.call('backfillsGet', { params: { id } }));
    expect(stored).toMatchObject({ runCount: 2, maxConcurrent: 2, parameters: { day: 1 }, status: 'RUNNING' });

    for (const words of [['ls', 'etl/hourly'], ['list'], ['ls', '--status', 'running']]) {
      const listed = await outpost('backfills', ...words);
      const lines = listed.stdout.trimEnd().split('\n');
      expect(lines[0]).toMatch(/^ID\s+TARGET\s+STATUS\s+COVERS\s+PROGRESS$/);
      expect(lines[1]).toMatch(
        new RegExp(
          `^${id}\\s+schedule every-hour\\s+RUNNING\\s+2026-11-01 00:00:00 → 2026-11-01 05:00:00 UTC \\(5 partitions\\)\\s+0/5 done: 2 PENDING, 3 not started$`,
        ),
      );
    }
    const none = await outpost('backfills', 'ls', '--status', 'paused');
    expect(none.stderr).toBe('no backfills\n');

    const shown = await outpost('backfills', 'get', id);
    expect(shown.stdout).toMatch(/^max concurrent: {2}2$/m);
    expect(shown.stdout).toMatch(/^partitions: {6}0\/5 done: 2 PENDING, 3 not started$/m);
    expect(shown.stdout).toMatch(/^runs: {12}2 runs: 2 SCHEDULED$/m);

    const partitions = await outpost('backfills', 'partitions', id);
    expect(partitions.stdout.trimEnd().split('\n')).toEqual([
      expect.stringMatching(/^PARTITION\s+STATUS\s+RUNS\s+LATEST RUN\s+NOTE$/),
      expect.stringMatching(/^2026-11-01T00:00:00\.000Z\s+PENDING\s+1\s+[0-9a-f-]{36}$/),
      expect.stringMatching(/^2026-11-01T01:00:00\.000Z\s+PENDING\s+1\s+[0-9a-f-]{36}$/),
    ]);
    const failedOnly = await outpost('backfills', 'partitions', id, '--status', 'failed');
    expect(failedOnly.stderr).toBe(`backfill ${id} has no partition FAILED yet\n`);

    expect((await outpost('backfills', 'pause', id)).stdout).toBe(
      `backfill ${id} is PAUSED: 0/5 done: 2 PENDING, 3 not started\n`,
    );
    expect((await outpost('backfills', 'resume', id)).stdout).toBe(
      `backfill ${id} is RUNNING: 0/5 done: 2 PENDING, 3 not started\n`,
    );
    const cancelled = await outpost('backfills', 'cancel', id);
    expect(cancelled.code).toBe(0);
    expect(cancelled.stdout).toBe(`backfill ${id} is CANCELLED: 2/5 done: 2 CANCELLED, 3 not started\n`);
    const runs = unwrap(await api.owner.call('flowRunsList', { query: { deploymentId, state: 'CANCELLED' } })).items;
    expect(runs.filter((r) => r.backfillId === id)).toHaveLength(2);
    const retry = await outpost('backfills', 'retry-failed', id);
    expect(retry.code).toBe(1);
    expect(retry.stderr.split('\n')[0]).toBe(`error: cannot retry failed backfill ${id}: Conflict`);
    expect(retry.stderr).toContain('cannot retry a backfill that is CANCELLED');
  });

  test('create over partitions of a schedule or of assets; every run carries its partition', async () => {
    const deployment = await deployFromDir(api.owner, {
      flowName: 'etl',
      name: 'regions',
      schedules: [{ slug: 'nightly', cron: '0 0 * * *', partitions: { kind: 'static', keys: ['eu', 'us', 'apac'] } }],
    });
    const created = await outpost('backfills', 'create', 'etl/regions', '--partition', 'eu..us', '--max-concurrent', '5');
    expect(created.code).toBe(0);
    expect(created.stderr).toBe(
      'backfill of etl/regions (schedule nightly) covers eu..us (2 partitions): 2 runs started, 5 at a time\n' +
        `dashboard: ${new URL(api.server.url).origin}/#/deployments/${deployment.id}\n`,
    );
    const runs = unwrap(await api.owner.call('flowRunsList', { query: { deploymentId: deployment.id } })).items;
    expect(runs.map((r) => r.partitionKey).sort()).toEqual(['eu', 'us']);

    unwrap(
      await api.owner.call('deploymentsUpsert', {
        body: {
          flowName: 'assets',
          name: 'warehouse',
          source: `dir:///${randomUUID()}`,
          entrypoint: 'assets.mjs',
          workPool: 'default',
          assets: [
            { key: 'raw/events', codeVersion: 'v1', partitions: { kind: 'static', keys: ['a', 'b'] } },
            { key: 'features', codeVersion: 'v1', deps: ['raw/events'], partitions: { kind: 'static', keys: ['a', 'b'] } },
          ],
        },
      }),
    );
    const assets = await outpost('backfills', 'create', '--asset', 'features', '--upstream', '--all-partitions', '--json');
    expect(assets.code).toBe(0);
    expect(JSON.parse(assets.stdout)).toMatchObject({
      target: 'assets',
      assets: ['raw/events', 'features'],
      selection: { range: { start: 'a', end: 'b' } },
      runCount: 1,
    });
    const shown = await outpost('backfills', 'get', JSON.parse(assets.stdout).id);
    expect(shown.stdout).toMatch(/^target: {10}assets raw\/events, features$/m);
  });

  test('assets materialize prints the dashboard page of the run it starts, or of the runs of the backfill it starts', async () => {
    const origin = new URL(api.server.url).origin;
    const one = await outpost('assets', 'materialize', 'raw/events', '--partition', 'a');
    expect(one.code, one.stderr).toBe(0);
    const runId = /^run ([0-9a-f-]{36}) will materialise raw\/events/.exec(one.stdout)?.[1];
    expect(runId).toBeDefined();
    expect(one.stderr).toBe(`dashboard: ${origin}/#/runs/${runId}\n`);

    const many = await outpost('assets', 'materialize', 'raw/events', '--partition', 'a..b');
    expect(many.code, many.stderr).toBe(0);
    const backfillId = /^backfill ([0-9a-f-]{36}) will materialise raw\/events/.exec(many.stdout)?.[1];
    expect(backfillId).toBeDefined();
    const backfill = unwrap(await api.owner.call('backfillsGet', { params: { id: backfillId! } }));
    expect(many.stderr).toBe(`dashboard: ${origin}/#/deployments/${backfill.deploymentId}\n`);
  });

  test('a range that ends before it starts, no selection, or a deployment and assets together are usage errors and create nothing', async () => {
    const before = unwrap(await api.owner.call('backfillsListAll', { query: { limit: 200 } })).items.length;
    const cases: [string[], RegExp | string][] = [
      [['etl/hourly', '--start', '2026-11-02', '--end', '2026-11-01'], /^error: --end \(.*\) must be after --start \(.*\)$/],
      [['etl/hourly', '--start', '2026-11-01'], 'error: a backfill needs --start and --end, or --partition or --all-partitions'],
      [
        ['etl/hourly', '--start', '2026-11-01', '--partition', 'a'],
        'error: give a time range (--start, --end) or partitions, not both',
      ],
      [['etl/hourly', '--asset', 'features', '--all-partitions'], 'error: backfill either a <flow/deployment> or --asset <key>'],
      [['--asset', 'features'], 'error: an asset backfill needs --partition or --all-partitions'],
      [['etl/hourly', '--all-partitions', '--single-run'], 'error: --single-run is for asset backfills (--asset)'],
    ];
    for (const [args, message] of cases) {
      const res = await outpost('backfills', 'create', ...args);
      expect(res.code, args.join(' ')).toBe(2);
      const first = res.stderr.split('\n')[0] as string;
      if (typeof message === 'string') expect(first).toBe(message);
      else expect(first).toMatch(message);
    }
    const refused = await outpost('backfills', 'create', 'etl/hourly', '--partition', 'eu');
    expect(refused.code).toBe(1);
    expect(refused.stderr.split('\n')[0]).toMatch(/^error: cannot backfill etl\/hourly: /);
    expect(unwrap(await api.owner.call('backfillsListAll', { query: { limit: 200 } })).items).toHaveLength(before);
  });
});

describe('outpost schedules pause and resume', () => {
  test('pause and resume one schedule by its slug; an unknown slug is one error line', async () => {
    const active = async () => unwrap(await api.owner.call('schedulesList', { params: { id: deploymentId } })).items[0]?.active;
    const paused = await outpost('schedules', 'pause', 'etl/hourly', 'every-hour');
    expect(paused.code).toBe(0);
    expect(paused.stdout).toBe('schedule every-hour of etl/hourly is paused\n');
    expect(await active()).toBe(false);
    const resumed = await outpost('schedules', 'resume', 'etl/hourly', 'every-hour');
    expect(resumed.stdout).toBe('schedule every-hour of etl/hourly is active\n');
    expect(await active()).toBe(true);
    const missing = await outpost('schedules', 'pause', 'etl/hourly', 'every-minute');
    expect(missing.code).toBe(1);
    expect(missing.stderr.split('\n')[0]).toMatch(/^error: cannot pause schedule every-minute of etl\/hourly: /);
  });
});

describe('outpost concurrency-limits', () => {
  test('set creates a limit, set again changes it, ls shows it with the slots in use, rm removes it', async () => {
    const created = await outpost('concurrency-limits', 'set', 'gpu', '2');
    expect(created.code).toBe(0);
    expect(created.stdout).toBe('tag gpu: at most 2 active runs (0 now)\n');
    const changed = await outpost('concurrency-limits', 'set', 'gpu', '1');
    expect(changed.stdout).toBe('tag gpu: at most 1 active run (0 now)\n');
    expect(unwrap(await api.owner.call('concurrencyLimitsGet', { params: { tag: 'gpu' } })).limit).toBe(1);

    const listed = await outpost('concurrency-limits', 'ls');
    expect(listed.stdout.trimEnd().split('\n')).toEqual([
      expect.stringMatching(/^TAG\s+LIMIT\s+ACTIVE$/),
      expect.stringMatching(/^gpu\s+1\s+0$/),
    ]);

    const removed = await outpost('concurrency-limits', 'rm', 'gpu');
    expect(removed.stdout).toBe('tag gpu is no longer limited\n');
    expect(unwrap(await api.owner.call('concurrencyLimitsList', {})).items).toEqual([]);
    const again = await outpost('concurrency-limits', 'rm', 'gpu');
    expect(again.code).toBe(1);
    expect(again.stderr.split('\n')[0]).toMatch(/^error: cannot remove the limit of tag gpu: /);

    const negative = await outpost('concurrency-limits', 'set', 'gpu', '-1');
    expect(negative.code).toBe(2);
  });
});
