import { randomUUID } from 'node:crypto';
import { unwrap } from '@outpost/sdk/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployDemoFlows, reportedGrandchild } from './support/bundle.js';
import { type DemoWorker, startDemoWorker } from './support/demo-worker.js';
import { waitFor } from './support/wait.js';

/**
 * Heartbeats here come every 2 minutes (a 10-minute lease), far longer than any wait below: a run
 * that ends CANCELLED within these waits heard its cancel from the claim it had open, not from a
 * heartbeat.
 */
const HEARTBEAT = '120s';
const HEARD_WITHIN_MS = 30_000;

describe('a cancel reaches the worker through its open claim, not at its next heartbeat', () => {
  let demo: DemoWorker;
  let sleepy = '';

  beforeAll(async () => {
    demo = await startDemoWorker({
      name: 'doorbell',
      args: ['--limit', '2', '--heartbeat-interval', HEARTBEAT, '--poll-wait', '25s'],
      env: { OUTPOST_WORKER_CANCEL_NOTICE: '200ms' },
      server: { leaseSeconds: 600 },
    });
    sleepy = (await deployDemoFlows(demo.owner, demo.bundle, ['sleepy'], 'doorbell')).get('sleepy')!;
  });

  afterAll(async () => {
    await demo?.close();
  });

  const start = async () => {
    const { flowRun } = unwrap(await demo.owner.call('deploymentsCreateRun', { params: { id: sleepy }, body: {} }));
    await reportedGrandchild(demo.owner, flowRun.id);
    return flowRun.id;
  };
  const cancel = async (runId: string) => {
    const answer = unwrap(
      await demo.owner.call('flowRunsCancel', { params: { id: runId }, body: { transitionId: randomUUID() } }),
    );
    expect(answer.state.type).toBe('CANCELLING');
  };
  const cancelled = (runId: string) =>
    waitFor(
      () => demo.outcomes.find((o) => o.runId === runId && o.ending === 'cancel'),
      HEARD_WITHIN_MS,
      `run ${runId} to be cancelled`,
    );
  const stateOf = async (runId: string) => unwrap(await demo.owner.call('flowRunsGet', { params: { id: runId } })).state.type;

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
