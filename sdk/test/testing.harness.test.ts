import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { artifact, emit, flow, log, runContext, task, wait } from '../src/index.js';
import { FlowTestAssertionError, testFlow } from '../src/testing/index.js';

let flaky = 0;
const extract = task({ name: 'extract', retries: 3, retryDelaySeconds: 600 }, async (day: string) => {
  flaky += 1;
  if (flaky < 3) throw new Error(`source not ready (try ${flaky})`);
  return [1, 2, 3].map((n) => ({ day, n }));
});
const total = task('total', (rows: { n: number }[]) => rows.reduce((sum, r) => sum + r.n, 0));
const child = flow({ name: 'child-report', params: z.object({ sum: z.number() }) }, async ({ sum }) => `sum=${sum}`);

const etl = flow({ name: 'etl', params: z.object({ day: z.string() }) }, async ({ day }) => {
  const rows = await extract(day);
  const sum = await total(rows);
  console.log(`loaded ${rows.length} rows for ${day}`);
  log.warning('a warning from the flow');
  await artifact.markdown('summary', `# ${day}\n\nsum ${sum}`);
  await emit('etl.loaded', { rows: rows.length });
  await wait.until(new Date(Date.now() + 3_600_000));
  const decision = await wait.approval({ title: 'Publish', form: z.object({ note: z.string() }) });
  if (!decision.approved) throw new Error('not approved');
  return { note: decision.data?.note, sum, report: await child({ sum }), startedAt: runContext().scheduledTime.toISOString() };
});

const broken = flow({ name: 'broken' }, async () => {
  await task('explode', () => {
    throw new Error('boom in the task');
  })();
});

describe('testing a flow with @outpost/sdk/testing', () => {
  it('records task runs with their retries, logs, artifacts, events and subflow runs, on a fake clock', async () => {
    flaky = 0;
    const now = new Date('2026-03-01T06:00:00Z');
    const run = await testFlow(
      etl,
      { day: '2026-03-01' },
      { now, approvals: { Publish: { approved: true, data: { note: 'ok' } } } },
    );
    const result = run.expectCompleted();
    expect(run.waits.map((w) => [w.spec.kind, w.status])).toEqual([
      ['until', 'RESOLVED'],
      ['approval', 'RESOLVED'],
    ]);
    expect(result).toEqual({ note: 'ok', sum: 6, report: 'sum=6', startedAt: now.toISOString() });
    expect(run.state).toBe('COMPLETED');
    expect(run.states.map((s) => s.type)).toEqual(['RUNNING', 'COMPLETED']);

    const extractRun = run.expectTaskRun('extract', { state: 'COMPLETED', runCount: 3 });
    // Each retry waited out its 600 s delay on the fake clock.
    expect(extractRun.states.map((s) => s.name ?? s.type)).toEqual(['RUNNING', 'Retrying', 'Retrying', 'COMPLETED']);
    expect(extractRun.states.map((s) => s.at.getTime() - now.getTime())).toEqual([0, 600_000, 1_200_000, 1_200_000]);
    run.expectTaskRun('total', { state: 'COMPLETED', runCount: 1, cached: false });
    // Two retry delays of 600 s and the hour-long wait passed on the fake clock.
    expect(run.clockAdvancedMs).toBeGreaterThanOrEqual(2 * 600_000 + 3_600_000);

    expect(run.logs.map((l) => l.message)).toEqual(
      expect.arrayContaining(['loaded 3 rows for 2026-03-01', 'a warning from the flow']),
    );
    expect(run.logs.find((l) => l.message === 'a warning from the flow')?.level).toBe('warning');
    expect(run.artifacts).toEqual([expect.objectContaining({ key: 'summary', type: 'markdown', flowRunId: run.id })]);
    expect(run.events).toEqual([expect.objectContaining({ kind: 'etl.loaded', payload: { rows: 3 } })]);
    expect(run.subflowRuns).toEqual([
      expect.objectContaining({ flowName: 'child-report', parentFlowRunId: run.id, parameters: { sum: 6 } }),
    ]);
  });

  it('fails a run whose approval the test did not answer, naming the option to set', async () => {
    flaky = 0;
    const run = await testFlow(etl, { day: '2026-03-02' });
    run.expectFailed("testFlow was given no answer for the approval 'Publish' (options.approvals)");
  });

  it('reports a failed run with the error, and assertions that name what differed', async () => {
    const run = await testFlow(broken);
    expect(run.state).toBe('FAILED');
    expect(run.expectFailed('boom').message).toContain('boom in the task');
    expect(() => run.expectCompleted()).toThrow(FlowTestAssertionError);
    expect(() => run.expectCompleted()).toThrow(/expected the run to complete, but it is FAILED: .*boom/);
    expect(() => run.expectTaskRun('explode', { state: 'COMPLETED' })).toThrow(
      /task run 'explode': state FAILED, expected COMPLETED/,
    );
    expect(() => run.taskRun('missing')).toThrow(
      /expected one task run named 'missing', found 0; the run's task runs: explode \(FAILED\)/,
    );
  });

  it('restores the real clock after the run, and without the fake clock real time passes', async () => {
    const before = Date.now();
    const run = await testFlow(
      flow({ name: 'reads-a-file' }, async () => (await readFile(fileURLToPath(import.meta.url), 'utf8')).length),
      undefined,
      { fakeClock: false },
    );
    expect(run.expectCompleted()).toBeGreaterThan(100);
    expect(run.clockAdvancedMs).toBe(0);
    expect(Date.now()).toBeGreaterThanOrEqual(before);
    expect(typeof setTimeout(() => {}, 0)).toBe('object');
  });

  it('lets real I/O finish before moving the fake clock past a task timeout', async () => {
    const slowRead = task({ name: 'read', timeoutSeconds: 5 }, async () =>
      (await readFile(fileURLToPath(import.meta.url), 'utf8')).slice(0, 6),
    );
    const run = await testFlow(flow({ name: 'io' }, async () => slowRead()));
    expect(run.expectCompleted()).toBe('import');
    run.expectTaskRun('read', { state: 'COMPLETED', runCount: 1 });
  });
});
