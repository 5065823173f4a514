import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestServer } from '@outpost/api/testing';
import { OutpostClient, unwrap } from '@outpost/sdk/client';
import type { FlowRun, LogLine } from '@outpost/sdk/contracts';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunOutcome } from '../src/executors/final-state.js';
import { isProcessRunning } from '../src/process-group.js';
import type { WorkerHandle } from '../src/worker.js';
import { startTestServer } from './support/api-testing.js';
import { buildDemoBundle, deployDemoFlows, reportedGrandchild } from './support/bundle.js';
import { expectNoLiveChildren, tearDown } from './support/leaks.js';
import { QUICK_WORKER_ARGS, startTestWorker } from './support/test-worker.js';
import { waitFor } from './support/wait.js';

const SECRET = 'pg-s3cret-value-42';

describe('worker against the real API', () => {
  let server: TestServer;
  let owner: OutpostClient;
  let worker: WorkerHandle;
  let bundle: { dir: string; source: string; entrypoint: string };
  let scratch: string;
  const outcomes: RunOutcome[] = [];
  let deployments = new Map<string, string>();

  beforeAll(async () => {
    server = await startTestServer();
    owner = new OutpostClient({ baseUrl: server.url, token: server.ownerKey });
    bundle = await buildDemoBundle();
    scratch = mkdtempSync(join(tmpdir(), 'outpost-worker-'));
    deployments = await deployDemoFlows(owner, bundle, ['hello', 'crash', 'sleepy'], 'test');
    const workerKey = await server.createKey('worker', ['default']);
    worker = await startTestWorker({
      apiUrl: server.url,
      apiKey: workerKey,
      scratch,
      // No flow processes waiting between runs, so each test can check that its run left none behind.
      args: ['--name', 'api-test-worker', ...QUICK_WORKER_ARGS, '--prestart', '0'],
      vars: { OUTPOST_WORKER_CANCEL_NOTICE: '500ms' },
      env: { DB_PASSWORD: SECRET, OUTPOST_API_KEY: workerKey },
      hooks: { onRunFinished: (o) => outcomes.push(o) },
    });
  });

  afterAll(() => tearDown(worker, owner, server, bundle?.dir, scratch));

  afterEach(async () => {
    await waitFor(() => worker.runs.length === 0, 30_000, 'the worker to let go of its runs');
    await expectNoLiveChildren();
  });

  async function createRun(flowName: string, parameters: Record<string, number | string> = {}): Promise<string> {
    const { flowRun } = unwrap(
      await owner.call('deploymentsCreateRun', { params: { id: deployments.get(flowName)! }, body: { parameters } }),
    );
    return flowRun.id;
  }

  async function finished(runId: string): Promise<FlowRun> {
    await waitFor(() => outcomes.find((o) => o.runId === runId), 60_000, `run ${runId} to finish on the worker`);
    return unwrap(await owner.call('flowRunsGet', { params: { id: runId } }));
  }

  async function logsOf(runId: string): Promise<LogLine[]> {
    return unwrap(await owner.call('logsRead', { params: { id: runId }, query: { limit: 5000 } })).items;
  }

  it('claims a run, executes the flow from a dir bundle and ends COMPLETED with its task runs and redacted logs', async () => {
    const runId = await createRun('hello', { n: 3 });
    const run = await finished(runId);
    expect(run.state.type).toBe('COMPLETED');
    const states = unwrap(await owner.call('flowRunsStates', { params: { id: runId } })).items.map((s) => s.state.type);
    expect(states).toEqual(expect.arrayContaining(['PENDING', 'RUNNING', 'COMPLETED']));
    const tasks = unwrap(await owner.call('taskRunsList', { params: { id: runId } })).items;
    expect(tasks).toHaveLength(3);
    for (const t of tasks) {
      expect(t.name).toBe('square');
      expect(t.state.type).toBe('COMPLETED');
      expect(t.flowRunAttempt).toBe(1);
    }
    const logs = await logsOf(runId);
    expect(logs.map((l) => l.seq)).toEqual(logs.map((_, i) => i + 1));
    const text = logs.map((l) => l.message).join('\n');
    expect(text).toContain('sum of squares: 14');
    expect(text).toContain('connecting with password ***');
    expect(text).not.toContain(SECRET);
    expect(text).toContain('api key visible to the flow: no');
    expect(logs.some((l) => l.stream === 'stdout')).toBe(true);
  });

  it('records CRASHED with the exit code when the flow exits before a terminal state', async () => {
    const runId = await createRun('crash');
    const run = await finished(runId);
    expect(run.state.type).toBe('CRASHED');
    expect(run.state.message).toContain('exited with code 3');
    const text = (await logsOf(runId)).map((l) => l.message).join('\n');
    expect(text).toContain('about to exit without a final state');
  });

  it("records a crash's exit code and the worker's name on the attempt", async () => {
    const runId = await createRun('crash');
    const run = await finished(runId);
    expect(run.state.type).toBe('CRASHED');
    const { items } = unwrap(await owner.call('flowRunsAttempts', { params: { id: runId } }));
    expect(items).toEqual([
      expect.objectContaining({
        attempt: 1,
        workerName: 'api-test-worker',
        exitCode: 3,
        state: expect.objectContaining({ type: 'CRASHED' }),
        startedAt: expect.any(String),
        endedAt: run.endTime,
      }),
    ]);
  });

  it('kills the process group of a run the user cancels and records CANCELLED', async () => {
    const runId = await createRun('sleepy');
    const grandchild = await reportedGrandchild(owner, runId);
    expect(isProcessRunning(grandchild)).toBe(true);
    const answer = unwrap(
      await owner.call('flowRunsSetState', {
        params: { id: runId },
        body: { transitionId: randomUUID(), state: { type: 'CANCELLING' } },
      }),
    );
    expect(answer.status).toBe('ACCEPT');
    const run = await finished(runId);
    expect(run.state.type).toBe('CANCELLED');
    expect(isProcessRunning(grandchild)).toBe(false);
    const states = unwrap(await owner.call('flowRunsStates', { params: { id: runId } })).items.map((s) => s.state.type);
    expect(states.slice(-2)).toEqual(['CANCELLING', 'CANCELLED']);
  });
});
