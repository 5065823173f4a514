import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flow, task } from '../src/index.js';
import {
  databricksJobs,
  databricksStatus,
  ExternalJobError,
  IntegrationError,
  runExternalJob,
} from '../src/integrations/index.js';
import { testFlow } from '../src/testing/index.js';
import { DatabricksStandIn } from './support/databricks-stand-in.js';

const TOKEN = 'dapi-test-token-8f2c';
let workspace: DatabricksStandIn;

beforeAll(async () => {
  workspace = new DatabricksStandIn(TOKEN);
  await workspace.start();
  workspace.jobs.set(7, { readsToFinish: 3 });
  workspace.jobs.set(13, { failWith: 'Notebook exception: ValueError: no rows for 2026-11-24' });
  workspace.jobs.set(21, { endless: true });
});

afterAll(async () => {
  await workspace?.close();
});

const jobs = (token = TOKEN) =>
  databricksJobs({ env: { DATABRICKS_HOST: workspace.url, DATABRICKS_TOKEN: token }, retryDelayMs: 1 });
const fast = { pollIntervalMs: 5 };
const sent = (path: string) => workspace.requests.filter((r) => r.path === path);

describe('databricksJobs() with runExternalJob', () => {
  it('runs a job to SUCCESS from a task: a start keyed to the task, a poll per step, a link, and the result', async () => {
    const train = task('train', () => runExternalJob(jobs().runNow, { jobId: 7, jobParameters: { day: '2026-11-24' } }, fast));
    const run = await testFlow(
      flow({ name: 'databricks' }, () => train()),
      undefined,
      { fakeClock: false },
    );
    const result = run.expectCompleted() as { runId: number; resultState: string; url: string; durationMs: number };

    expect(result).toMatchObject({ resultState: 'SUCCESS', durationMs: 42_000 });
    const [start] = sent('run-now');
    expect(start?.body).toEqual({
      job_id: 7,
      job_parameters: { day: '2026-11-24' },
      idempotency_token: `${run.id}:train-0:1`,
    });
    expect(start?.authorization).toBe(`Bearer ${TOKEN}`);
    expect(result.url).toBe(`${workspace.url}/#job/7/run/${result.runId}`);
    expect(run.artifacts.map((a) => [a.type, a.key])).toEqual([['link', 'databricks-run']]);
    const lines = run.logs.map((l) => l.message);
    // The start reads the run once for its page (it is PENDING then); each poll reads it again.
    expect(sent('runs/get').filter((r) => r.query.run_id === String(result.runId))).toHaveLength(3);
    expect(lines.filter((l) => l.startsWith('Databricks run '))).toEqual([
      'Databricks run running: RUNNING (In run)',
      'Databricks run succeeded: SUCCESS',
    ]);
  });

  it('gets the run already started when the same start is sent again, as after a replay', async () => {
    const before = workspace.runs.length;
    const submit = {
      runName: 'features',
      tasks: [{ task_key: 'features', notebook_task: { notebook_path: '/Repos/ml/features' } }],
    };
    const key = `run-${'x'.repeat(80)}`;
    const first = await jobs().submitRun.start(submit, { idempotencyKey: key });
    const second = await jobs().submitRun.start(submit, { idempotencyKey: key });
    expect(second.runId).toBe(first.runId);
    expect(workspace.runs.length).toBe(before + 1);
    const tokens = sent('runs/submit')
      .slice(-2)
      .map((r) => r.body?.idempotency_token as string);
    expect(tokens[0]).toBe(tokens[1]);
    // The Jobs API takes tokens of at most 64 characters: a longer key is hashed.
    expect(tokens[0]).toMatch(/^outpost-[0-9a-f]{56}$/);
  });

  it("fails with the run's state and message when the job fails", async () => {
    const error = await runExternalJob(jobs().runNow, { jobId: 13 }, fast).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExternalJobError);
    expect((error as ExternalJobError).state).toBe('failed');
    expect(String(error)).toMatch(/failed: TERMINATED FAILED: Notebook exception: ValueError: no rows for 2026-11-24$/);
  });

  it('cancels the job in Databricks when it runs past its time limit, or when the run is cancelled', async () => {
    const timedOut = await runExternalJob(jobs().runNow, { jobId: 21 }, { ...fast, timeoutSeconds: 0.2 }).catch(
      (e: unknown) => e,
    );
    expect((timedOut as ExternalJobError).state).toBe('timed_out');
    const timedOutRun = workspace.runs.at(-1);
    expect(sent('runs/cancel').at(-1)?.body).toEqual({ run_id: timedOutRun?.run_id });

    const stop = new AbortController();
    const watching = runExternalJob(jobs().runNow, { jobId: 21 }, { ...fast, signal: stop.signal });
    const started = () =>
      workspace.runs.length > 0 && workspace.runs.at(-1) !== timedOutRun && (workspace.runs.at(-1)?.reads ?? 0) >= 2;
    while (!started()) await new Promise((resolve) => setTimeout(resolve, 5));
    stop.abort(new Error('the run was cancelled'));
    await expect(watching).rejects.toThrow('the run was cancelled');
    const cancelled = workspace.runs.at(-1);
    expect(sent('runs/cancel').at(-1)?.body).toEqual({ run_id: cancelled?.run_id });
    expect(cancelled?.cancelRequested).toBe(true);
  });

  it('says to check DATABRICKS_TOKEN when the workspace refuses it, and names a job that does not exist', async () => {
    const refused = (await jobs('wrong-token')
      .runNow.start({ jobId: 7 }, { idempotencyKey: 'k1' })
      .catch((e: unknown) => e)) as IntegrationError;
    expect(refused).toBeInstanceOf(IntegrationError);
    expect(refused.message).toMatch(
      /Databricks POST \/run-now answered 401 UNAUTHENTICATED: .* — check DATABRICKS_TOKEN on the worker/,
    );
    expect(refused.message).not.toContain('wrong-token');
    const missing = await jobs()
      .runNow.start({ jobId: 999 }, { idempotencyKey: 'k2' })
      .catch((e: unknown) => e);
    expect(String(missing)).toMatch(/answered 400 INVALID_PARAMETER_VALUE: Job 999 does not exist\./);
    expect(() => databricksJobs({ env: {} })).toThrow(/set DATABRICKS_HOST on the worker/);
  });
});

describe('databricksStatus', () => {
  it('maps every life cycle and result state of a run', () => {
    const status = (life: string, result?: string, message = '') =>
      databricksStatus({
        run_id: 1,
        state: { life_cycle_state: life, ...(result ? { result_state: result } : {}), state_message: message },
      }).state;
    for (const life of ['QUEUED', 'PENDING', 'RUNNING', 'TERMINATING', 'BLOCKED', 'WAITING_FOR_RETRY'])
      expect(status(life)).toBe('running');
    expect(status('TERMINATED', 'SUCCESS')).toBe('succeeded');
    expect(status('TERMINATED', 'SUCCESS_WITH_FAILURES')).toBe('succeeded');
    expect(status('TERMINATED', 'CANCELED')).toBe('cancelled');
    for (const result of ['FAILED', 'TIMEDOUT', 'MAXIMUM_CONCURRENT_RUNS_REACHED', 'UPSTREAM_FAILED', 'EXCLUDED']) {
      expect(status('TERMINATED', result)).toBe('failed');
    }
    expect(status('SKIPPED', undefined, 'An active run already exists')).toBe('failed');
    expect(status('INTERNAL_ERROR', 'FAILED')).toBe('failed');
  });
});
