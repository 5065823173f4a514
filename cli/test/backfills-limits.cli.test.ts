import { randomUUID } from 'node:crypto';
import { startTestServer, type TestServer } from '@outpost/api/testing';
import { OutpostClient, unwrap } from '@outpost/sdk/client';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { outpost as run } from './cli.support.js';

let server: TestServer;
let owner: OutpostClient;
let deploymentId: string;

function outpost(...args: string[]) {
  return run(args, { env: { OUTPOST_API_URL: server.url, OUTPOST_API_KEY: server.ownerKey } });
}

beforeAll(async () => {
  server = await startTestServer({ loops: false });
  owner = new OutpostClient({ baseUrl: server.url, token: server.ownerKey });
  const { deployment } = unwrap(
    await owner.call('deploymentsUpsert', {
      body: {
        flowName: 'etl',
        name: 'hourly',
        source: `dir:///${randomUUID()}`,
        entrypoint: 'flow.mjs',
        workPool: 'default',
        schedules: [{ slug: 'every-hour', cron: '0 * * * *' }],
      },
    }),
  );
  deploymentId = deployment.id;
}, 120_000);
afterAll(async () => {
  await owner?.close();
  await server?.close();
});

describe('outpost backfills', () => {
  test('create makes a run for each scheduled time in the range; ls, get and cancel follow it', async () => {
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
    expect(created.stderr).toBe(
      'backfill of etl/hourly (schedule every-hour) created 5 runs from 2026-11-01 00:00:00 to 2026-11-01 05:00:00 UTC, 2 at a time\n',
    );
    const id = created.stdout.trim();
    const stored = unwrap(await owner.call('backfillsGet', { params: { id } }));
    expect(stored).toMatchObject({ runCount: 5, maxConcurrent: 2, parameters: { day: 1 }, status: 'RUNNING' });

    const listed = await outpost('backfills', 'ls', 'etl/hourly');
    const lines = listed.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+SCHEDULE\s+STATUS\s+RANGE \(UTC\)\s+RUNS$/);
    expect(lines[1]).toMatch(
      new RegExp(`^${id}\\s+every-hour\\s+RUNNING\\s+2026-11-01 00:00:00 → 2026-11-01 05:00:00\\s+5 runs: 5 SCHEDULED$`),
    );

    const shown = await outpost('backfills', 'get', id);
    expect(shown.stdout).toMatch(/^max concurrent: {2}2$/m);

    const cancelled = await outpost('backfills', 'cancel', id);
    expect(cancelled.code).toBe(0);
    expect(cancelled.stdout).toBe(`backfill ${id} is CANCELLED: 5 runs: 5 CANCELLED\n`);
    const runs = unwrap(await owner.call('flowRunsList', { query: { deploymentId, state: 'CANCELLED' } })).items;
    expect(runs).toHaveLength(5);
  });

  test('a range that ends before it starts, or has no end, is a usage error and creates nothing', async () => {
    const before = unwrap(await owner.call('backfillsList', { params: { id: deploymentId } })).items.length;
    const backwards = await outpost('backfills', 'create', 'etl/hourly', '--start', '2026-11-02', '--end', '2026-11-01');
    expect(backwards.code).toBe(2);
    expect(backwards.stderr.split('\n')[0]).toMatch(/^error: --end \(.*\) must be after --start \(.*\)$/);
    const open = await outpost('backfills', 'create', 'etl/hourly', '--start', '2026-11-01');
    expect(open.code).toBe(2);
    expect(open.stderr.split('\n')[0]).toBe('error: a backfill needs --start and --end');
    expect(unwrap(await owner.call('backfillsList', { params: { id: deploymentId } })).items).toHaveLength(before);
  });
});

describe('outpost schedules pause and resume', () => {
  test('pause and resume one schedule by its slug; an unknown slug is one error line', async () => {
    const active = async () => unwrap(await owner.call('schedulesList', { params: { id: deploymentId } })).items[0]?.active;
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
    expect(unwrap(await owner.call('concurrencyLimitsGet', { params: { tag: 'gpu' } })).limit).toBe(1);

    const listed = await outpost('concurrency-limits', 'ls');
    expect(listed.stdout.trimEnd().split('\n')).toEqual([
      expect.stringMatching(/^TAG\s+LIMIT\s+ACTIVE$/),
      expect.stringMatching(/^gpu\s+1\s+0$/),
    ]);

    const removed = await outpost('concurrency-limits', 'rm', 'gpu');
    expect(removed.stdout).toBe('tag gpu is no longer limited\n');
    expect(unwrap(await owner.call('concurrencyLimitsList', {})).items).toEqual([]);
    const again = await outpost('concurrency-limits', 'rm', 'gpu');
    expect(again.code).toBe(1);
    expect(again.stderr.split('\n')[0]).toMatch(/^error: cannot remove the limit of tag gpu: /);

    const negative = await outpost('concurrency-limits', 'set', 'gpu', '-1');
    expect(negative.code).toBe(2);
  });
});
