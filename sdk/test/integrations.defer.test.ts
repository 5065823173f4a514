import { describe, expect, test } from 'vitest';
import { flow, z } from '../src/index.js';
import { externalJobRegistry } from '../src/integrations/defer.js';
import { defer, deferrable, type ExternalJob, ExternalJobError, type ExternalJobStatus } from '../src/integrations/index.js';
import { testFlow } from '../src/testing/index.js';

/** A job in an in-memory "system": each start makes a run that reports `states` in turn, one per poll. */
function scriptedJob(states: ExternalJobStatus<{ rows: number }>['state'][]) {
  const started: string[] = [];
  const polled: string[] = [];
  const cancelled: string[] = [];
  const job: ExternalJob<{ table: string }, { id: string }, { rows: number }> = {
    kind: 'Scripted job',
    async start(input, ctx) {
      started.push(`${input.table}@${ctx.idempotencyKey}`);
      return { id: `job-${started.length}` };
    },
    async poll(handle) {
      polled.push(handle.id);
      const state = states[Math.min(polled.length - 1, states.length - 1)];
      if (state === 'succeeded') return { state, result: { rows: 42 } };
      if (state === 'failed' || state === 'cancelled') return { state, message: `${handle.id} ${state}` };
      return { state: 'running', message: `${handle.id} busy` };
    },
    async cancel(handle) {
      cancelled.push(handle.id);
    },
  };
  return { job, started, polled, cancelled };
}

describe('defer()', () => {
  test('starts the job once as a task and returns its result once a poll sees it succeed', async () => {
    const scripted = scriptedJob(['running', 'running', 'succeeded']);
    const job = deferrable('defer-test-succeeds', scripted.job, { pollSeconds: 1 });
    const load = flow({ name: 'load', params: z.object({ table: z.string() }) }, async ({ table }) => defer(job, { table }));
    const run = await testFlow(load, { table: 'orders' });
    expect(run.expectCompleted()).toEqual({ rows: 42 });
    expect(scripted.started).toHaveLength(1);
    expect(scripted.started[0]).toMatch(/^orders@.+:defer-defer-test-succeeds-0:1$/);
    expect(scripted.polled).toEqual(['job-1', 'job-1', 'job-1']);
    run.expectTaskRun('defer-defer-test-succeeds', { state: 'COMPLETED', runCount: 1 });
  });

  test('a job that fails is started again while retries remain, each time as a new job', async () => {
    const scripted = scriptedJob(['failed', 'succeeded']);
    const job = deferrable('defer-test-retries', scripted.job, { pollSeconds: 1 });
    const load = flow({ name: 'load-retried' }, async () => defer(job, { table: 't' }, { retries: 1 }));
    const run = await testFlow(load);
    expect(run.expectCompleted()).toEqual({ rows: 42 });
    expect(scripted.started).toHaveLength(2);
    expect(new Set(scripted.started).size).toBe(2);
    expect(run.logs.some((l) => l.message.includes('job-1 failed; starting it again (retry 1 of 1)'))).toBe(true);
  });

  test('a job that fails with no retries left throws ExternalJobError with its handle', async () => {
    const scripted = scriptedJob(['running', 'failed']);
    const job = deferrable('defer-test-fails', scripted.job, { pollSeconds: 1 });
    const load = flow({ name: 'load-failing' }, async () => {
      try {
        await defer(job, { table: 't' });
        return 'no error';
      } catch (error) {
        return error instanceof ExternalJobError ? { state: error.state, handle: error.handle, message: error.message } : 'other';
      }
    });
    const run = await testFlow(load);
    expect(run.expectCompleted()).toEqual({
      state: 'failed',
      handle: { id: 'job-1' },
      message: 'Scripted job {"id":"job-1"} failed: job-1 failed',
    });
  });

  test("testFlow's externalJobs answer a job by name without polling it", async () => {
    const scripted = scriptedJob(['running']);
    const job = deferrable('defer-test-answered', scripted.job);
    const load = flow({ name: 'load-answered' }, async () => defer(job, { table: 't' }));
    const run = await testFlow(load, undefined, {
      externalJobs: { 'defer-test-answered': { state: 'succeeded', result: { rows: 7 } } },
    });
    expect(run.expectCompleted()).toEqual({ rows: 7 });
    expect(scripted.started).toHaveLength(1);
    expect(scripted.polled).toEqual([]);
  });

  test('run outside a worker it polls in the process, as runExternalJob does', async () => {
    const scripted = scriptedJob(['running', 'succeeded']);
    const job = deferrable('defer-test-local', scripted.job, { pollSeconds: 1 });
    const load = flow({ name: 'load-local' }, async () => defer(job, { table: 'local' }));
    await expect(load()).resolves.toEqual({ rows: 42 });
    expect(scripted.polled).toEqual(['job-1', 'job-1']);
  });

  test('a job given as a function is made on first use, once, not when the code loads', async () => {
    const scripted = scriptedJob(['succeeded']);
    let made = 0;
    const job = deferrable('defer-test-lazy', () => {
      made++;
      return scripted.job;
    });
    expect(made).toBe(0);
    const load = flow({ name: 'load-lazy' }, async () => defer(job, { table: 't' }));
    const run = await testFlow(load);
    expect(run.expectCompleted()).toEqual({ rows: 42 });
    expect(made).toBe(1);
    expect(await externalJobRegistry().get('defer-test-lazy')?.job()).toBe(scripted.job);
    expect(made).toBe(1);
  });

  test('deferrable() refuses a bad name, a second job under a name, an interval out of range and a call inside a run', async () => {
    const { job } = scriptedJob(['running']);
    expect(() => deferrable('../x', job)).toThrow(/invalid name '..\/x'/);
    const first = deferrable('defer-test-unique', job);
    expect(deferrable('defer-test-unique', job)).toBe(first);
    expect(() => deferrable('defer-test-unique', scriptedJob(['running']).job)).toThrow(/two different jobs are registered/);
    expect(() => deferrable('defer-test-slow', job, { pollSeconds: 0 })).toThrow(/pollSeconds must be a whole number/);
    const inside = flow({ name: 'registers-late' }, async () => {
      deferrable('defer-test-late', job);
    });
    const run = await testFlow(inside);
    run.expectFailed(/called while a run executes; call it at module scope/);
    expect(externalJobRegistry().has('defer-test-late')).toBe(false);
  });
});
