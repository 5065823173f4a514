import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestServer } from '@outpost/api/testing';
import { OutpostClient, unwrap } from '@outpost/sdk/client';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunOutcome } from '../src/executors/final-state.js';
import { parseOptions } from '../src/options.js';
import { startWorker, type WorkerHandle } from '../src/worker.js';
import { buildDemoBundle, deployDemoFlows, reportedGrandchild } from './support/bundle.js';
import { expectNoLiveChildren } from './support/leaks.js';
import { waitFor } from './support/wait.js';

// The API package is imported by name at run time, so this suite needs `npm run build -w @outpost/api` first.
const apiTesting = '@outpost/api/testing';
const { startTestServer } = (await import(apiTesting)) as typeof import('@outpost/api/testing');

/**
 * Heartbeats here come every 2 minutes (a 10-minute lease), far longer than any wait below: a run
 * that ends CANCELLED within these waits heard its cancel from the claim it had open, not from a
 * heartbeat.
 */
const HEARTBEAT = '120s';
const HEARD_WITHIN_MS = 30_000;

describe('a cancel reaches the worker through its open claim, not at its next heartbeat', () => {
  let server: TestServer;
  let owner: OutpostClient;
  let worker: WorkerHandle;
  let bundle: { dir: string; source: string; entrypoint: string };
  let scratch: string;
  const outcomes: RunOutcome[] = [];
  let sleepy = '';

  beforeAll(async () => {
    server = await startTestServer({ leaseSeconds: 600 });
    owner = new OutpostClient({ baseUrl: server.url, token: server.ownerKey });
    bundle = await buildDemoBundle();
    scratch = mkdtempSync(join(tmpdir(), 'outpost-worker-doorbell-'));
    sleepy = (await deployDemoFlows(owner, bundle, ['sleepy'], 'doorbell')).get('sleepy')!;
    const options = parseOptions(
      ['--pool', 'default', '--name', 'doorbell', '--limit', '2', '--heartbeat-interval', HEARTBEAT, '--poll-wait', '25s'],
      {
        OUTPOST_API_URL: server.url,
        OUTPOST_API_KEY: await server.createKey('worker', ['default']),
        OUTPOST_WORKER_CACHE_DIR: join(scratch, 'cache'),
        OUTPOST_WORKER_SPOOL_DIR: join(scratch, 'spool'),
        OUTPOST_WORKER_CANCEL_NOTICE: '200ms',
        OUTPOST_WORKER_PRESTART: '0',
      },
    );
    worker = await startWorker(options, {
      logger: pino({ level: process.env.OUTPOST_TEST_LOG_LEVEL ?? 'silent' }),
      env: { PATH: process.env.PATH ?? '', HOME: scratch, DB_PASSWORD: 'doorbell-secret' },
      onRunFinished: (o) => outcomes.push(o),
    });
  });

  afterAll(async () => {
    await worker?.stop({ graceMs: 0 });
    await owner?.close();
    await server?.close();
    if (bundle) rmSync(bundle.dir, { recursive: true, force: true });
    if (scratch) rmSync(scratch, { recursive: true, force: true });
    await expectNoLiveChildren();
  });

  const start = async () => {
    const { flowRun } = unwrap(await owner.call('deploymentsCreateRun', { params: { id: sleepy }, body: {} }));
    await reportedGrandchild(owner, flowRun.id);
    return flowRun.id;
  };
  const cancel = async (runId: string) => {
    const answer = unwrap(await owner.call('flowRunsCancel', { params: { id: runId }, body: { transitionId: randomUUID() } }));
    expect(answer.state.type).toBe('CANCELLING');
  };
  const cancelled = (runId: string) =>
    waitFor(
      () => outcomes.find((o) => o.runId === runId && o.ending === 'cancel'),
      HEARD_WITHIN_MS,
      `run ${runId} to be cancelled`,
    );
  const stateOf = async (runId: string) => unwrap(await owner.call('flowRunsGet', { params: { id: runId } })).state.type;

  it('with a slot free, the claim that waits for more work hears the cancel of the run it holds', async () => {
    const runId = await start();
    await cancel(runId);
    await cancelled(runId);
    expect(await stateOf(runId)).toBe('CANCELLED');
  });

  it('when full, the worker keeps a claim open only to watch its runs, and drops it for a slot that frees up', async () => {
    const first = await start();
    const second = await start();
    await cancel(first);
    await cancelled(first);
    expect(await stateOf(first)).toBe('CANCELLED');
    expect(await stateOf(second)).toBe('RUNNING');
    // The freed slot takes a new run at once, and the claim that took it watches both runs it holds.
    const third = await start();
    await cancel(second);
    await cancelled(second);
    await cancel(third);
    await cancelled(third);
    expect([await stateOf(second), await stateOf(third)]).toEqual(['CANCELLED', 'CANCELLED']);
  });
});
