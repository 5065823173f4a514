import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestServer } from '@outpost/api/testing';
import { OutpostClient, unwrap } from '@outpost/sdk/client';
import type { ClaimedRun, FlowRun, LogLine } from '@outpost/sdk/contracts';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseChildEnv } from '../src/child-env.js';
import {
  type Attempt,
  AttemptAlreadyStarted,
  type AttemptSink,
  type Executor,
  type ExecutorContext,
  type MakeExecutor,
  type PreparedRun,
} from '../src/executors/executor.js';
import type { RunOutcome } from '../src/executors/final-state.js';
import { prepareRun } from '../src/executors/prepare.js';
import { parseOptions, type WorkerOptions } from '../src/options.js';
import { isProcessRunning } from '../src/process-group.js';
import { SecretResolver } from '../src/secrets.js';
import { startWorker, type WorkerHandle } from '../src/worker.js';
import { startTestServer } from './support/api-testing.js';
import { buildDemoBundle, deployDemoFlows, reportedGrandchild } from './support/bundle.js';
import { tearDown } from './support/leaks.js';
import { waitFor } from './support/wait.js';

/** The line of the fixture's `fails` flow that throws: what its stack trace must point at. */
const THROW_LINE =
  readFileSync(new URL('./fixtures/flows/demo.ts', import.meta.url), 'utf8')
    .split('\n')
    .findIndex((line) => line.includes("throw new Error('the warehouse refused the load')")) + 1;

const SECRET = 'contract-s3cret-value-7';
const FLOWS = ['hello', 'fails', 'crash', 'sleepy', 'chatty'] as const;
type FlowName = (typeof FLOWS)[number];

/**
 * What every executor must do, against the real API and real flows: run a flow to each of its
 * endings, deliver its logs in order and redacted, refuse a second start of a live attempt, and
 * adopt after a restart exactly what it can re-attach. Each executor's test file calls this once.
 */
export function describeExecutor(name: string, makeExecutor: MakeExecutor): void {
  describe(`the ${name} executor`, () => {
    let server: TestServer;
    let owner: OutpostClient;
    let workerKey: string;
    let bundle: { dir: string; source: string; entrypoint: string };
    let scratch: string;
    let options: WorkerOptions;
    let deployments = new Map<FlowName, string>();
    const workerEnv = () => ({ PATH: process.env.PATH ?? '', HOME: scratch, DB_PASSWORD: SECRET, OUTPOST_API_KEY: workerKey });

    beforeAll(async () => {
      server = await startTestServer();
      owner = new OutpostClient({ baseUrl: server.url, token: server.ownerKey });
      bundle = await buildDemoBundle();
      scratch = mkdtempSync(join(tmpdir(), 'outpost-executor-'));
      deployments = await deployDemoFlows(owner, bundle, FLOWS, 'contract');
      workerKey = await server.createKey('worker', ['default']);
      options = parseOptions(
        ['--pool', 'default', '--name', `${name}-contract`, '--heartbeat-interval', '300ms', '--poll-wait', '1s'],
        {
          OUTPOST_API_URL: server.url,
          OUTPOST_API_KEY: workerKey,
          OUTPOST_WORKER_CACHE_DIR: join(scratch, 'cache'),
          OUTPOST_WORKER_SPOOL_DIR: join(scratch, 'spool'),
          OUTPOST_WORKER_LOG_BATCH_INTERVAL: '50ms',
          OUTPOST_WORKER_CANCEL_GRACE: '1s',
          OUTPOST_WORKER_CANCEL_NOTICE: '500ms',
          OUTPOST_WORKER_PRESTART: '0',
        },
      );
    });

    afterAll(() => tearDown(owner, server, bundle?.dir, scratch));

    async function createRun(flowName: FlowName, parameters: Record<string, number> = {}): Promise<string> {
      const { flowRun } = unwrap(
        await owner.call('deploymentsCreateRun', { params: { id: deployments.get(flowName)! }, body: { parameters } }),
      );
      return flowRun.id;
    }

    async function logsOf(runId: string): Promise<LogLine[]> {
      return unwrap(await owner.call('logsRead', { params: { id: runId }, query: { limit: 5000 } })).items;
    }

    describe('run by a worker', () => {
      let worker: WorkerHandle;
      const outcomes: RunOutcome[] = [];

      beforeAll(async () => {
        worker = await startWorker(options, {
          logger: pino({ level: process.env.OUTPOST_TEST_LOG_LEVEL ?? 'silent' }),
          env: workerEnv(),
          executor: makeExecutor,
          onRunFinished: (outcome) => outcomes.push(outcome),
        });
      });

      afterAll(async () => {
        await worker?.stop({ graceMs: 0 });
      });

      async function finished(runId: string): Promise<{ run: FlowRun; outcome: RunOutcome }> {
        const outcome = await waitFor(() => outcomes.find((o) => o.runId === runId), 60_000, `run ${runId} to finish`);
        await waitFor(() => !worker.runs.some((r) => r.runId === runId), 30_000, `the worker to let go of run ${runId}`);
        return { run: unwrap(await owner.call('flowRunsGet', { params: { id: runId } })), outcome };
      }

      it('reports a flow that completes as COMPLETED, with what it computed', async () => {
        const runId = await createRun('hello', { n: 4 });
        const { run, outcome } = await finished(runId);
        expect(run.state.type).toBe('COMPLETED');
        expect(outcome).toMatchObject({ ending: 'reported', state: 'COMPLETED', exit: { code: 0 } });
        const tasks = unwrap(await owner.call('taskRunsList', { params: { id: runId } })).items;
        expect(tasks.map((t) => t.state.type)).toEqual(['COMPLETED', 'COMPLETED', 'COMPLETED', 'COMPLETED']);
        // Results stay in the customer's network: what the flow computed reaches the API only as its log says.
        expect((await logsOf(runId)).map((l) => l.message)).toContain('sum of squares: 30');
      });

      it('reports a flow that throws as FAILED, with its error', async () => {
        const runId = await createRun('fails');
        const { run, outcome } = await finished(runId);
        expect(run.state.type).toBe('FAILED');
        expect(run.state.message).toContain('the warehouse refused the load');
        expect(outcome).toMatchObject({ ending: 'reported', state: 'FAILED' });
        // Its stack trace reaches the API pointing at the flow's TypeScript, not the bundle.
        const stack = (await logsOf(runId)).find((l) => l.level === 'error' && l.message.includes('\n    at '));
        expect(stack?.message).toMatch(new RegExp(`flows/demo\\.ts:${THROW_LINE}:\\d+`));
        expect(stack?.message).not.toMatch(/demo\.mjs:\d+/);
      });

      it('reports a flow that exits without a final state as CRASHED, with its exit code', async () => {
        const runId = await createRun('crash');
        const { run, outcome } = await finished(runId);
        expect(run.state.type).toBe('CRASHED');
        expect(run.state.message).toContain('exited with code 3');
        expect(outcome).toMatchObject({ ending: 'crashed', proposed: 'CRASHED', exit: { code: 3 } });
        const { items } = unwrap(await owner.call('flowRunsAttempts', { params: { id: runId } }));
        expect(items.map((a) => a.exitCode)).toEqual([3]);
      });

      it('stops a cancelled flow, whatever it started, and reports CANCELLED', async () => {
        const runId = await createRun('sleepy');
        const grandchild = await reportedGrandchild(owner, runId);
        expect(isProcessRunning(grandchild)).toBe(true);
        unwrap(
          await owner.call('flowRunsSetState', {
            params: { id: runId },
            body: { transitionId: randomUUID(), state: { type: 'CANCELLING' } },
          }),
        );
        const { run, outcome } = await finished(runId);
        expect(run.state.type).toBe('CANCELLED');
        expect(outcome.ending).toBe('cancel');
        expect(isProcessRunning(grandchild)).toBe(false);
      });

      it("delivers a flow's output and log lines in the order written, with its secrets masked", async () => {
        const runId = await createRun('chatty', { lines: 300 });
        const { run } = await finished(runId);
        expect(run.state.type).toBe('COMPLETED');
        const logs = await logsOf(runId);
        expect(logs.map((l) => l.seq)).toEqual(logs.map((_, i) => i + 1));
        const stdout = logs.filter((l) => l.stream === 'stdout').map((l) => l.message);
        expect(stdout).toEqual(Array.from({ length: 300 }, (_, i) => `stdout ${i + 1} of 300, password ***`));
        const events = logs.filter((l) => l.stream === 'flow' && l.message.startsWith('event ')).map((l) => l.message);
        expect(events).toEqual(Array.from({ length: 300 }, (_, i) => `event ${i + 1} of 300`));
        expect(logs.some((l) => l.message.includes(SECRET))).toBe(false);
        // The flow's emit() carried the password too: stored masked, about the run.
        const emitted = unwrap(await owner.call('eventsList', { query: { kind: 'demo.chatted', resourceId: runId } }));
        expect(emitted.items).toHaveLength(1);
        expect(emitted.items[0]).toMatchObject({
          source: 'run',
          resource: { kind: 'flow-run', id: runId },
          payload: { lines: 300, dsn: 'postgres://app:***@db/app', nested: ['***'] },
        });
        const [stored] = await server.sql<
          { n: number }[]
        >`SELECT count(*)::int AS n FROM events WHERE payload::text LIKE ${`%${SECRET}%`}`;
        expect(stored?.n).toBe(0);
      });
    });

    describe('driven directly', () => {
      const context = (): ExecutorContext => ({
        options,
        logger: pino({ level: process.env.OUTPOST_TEST_LOG_LEVEL ?? 'silent' }),
        baseEnv: baseChildEnv({ workerEnv: workerEnv(), passEnv: [], resultStorage: options.resultStorage }),
      });
      let executor: Executor;
      let run: PreparedRun;
      let started: Attempt | null = null;
      const received: unknown[] = [];
      const recorder: AttemptSink = { line: () => {}, note: () => {}, message: (raw) => received.push(raw) };

      beforeAll(async () => {
        executor = makeExecutor(context());
        executor.open();
        const runId = await createRun('sleepy');
        const claimer = new OutpostClient({ baseUrl: server.url, token: workerKey });
        const claimed: ClaimedRun = await waitFor(
          async () =>
            unwrap(
              await claimer.call('claim', {
                params: { pool: 'default' },
                body: { workerId: randomUUID(), limit: 1, waitMs: 1_000 },
              }),
            ).runs.find((r) => r.flowRun.id === runId),
          30_000,
          'the run to be claimed',
        );
        await claimer.close();
        const prepared = await prepareRun(claimed, {
          options,
          workerEnv: workerEnv(),
          secrets: new SecretResolver(
            {
              order: options.secretsOrder,
              dir: options.secretsDir,
              command: options.secretsCommand,
              timeoutMs: options.secretsTimeoutMs,
            },
            workerEnv(),
          ),
          logger: context().logger,
          stopped: new AbortController().signal,
          onSecrets: () => {},
          note: () => {},
        });
        if (prepared.kind !== 'prepared') throw new Error(`the run was not prepared: ${prepared.kind}`);
        run = prepared.run;
      });

      afterAll(async () => {
        if (started) {
          await started.stop({ mode: 'kill' });
          await started.exited;
          await started.cleanUp();
        }
        await executor?.close();
        run?.bundle.release?.();
      });

      it('starts an attempt that speaks the runtime protocol, and refuses a second start of it while it runs', async () => {
        const attempt = await executor.start(run, recorder, new AbortController().signal);
        started = attempt;
        expect({ runId: attempt.runId, attempt: attempt.attempt }).toEqual({ runId: run.runId, attempt: run.attempt });
        // The flow was handed its run: its first request is to move it to RUNNING.
        await waitFor(
          () => received.some((m) => (m as { t?: string; method?: string }).method === 'setState'),
          30_000,
          'the flow to ask for RUNNING',
        );
        await expect(executor.start(run, recorder, new AbortController().signal)).rejects.toBeInstanceOf(AttemptAlreadyStarted);
        expect(attempt.hasExited).toBe(false);
      });

      it('adopts after a restart exactly the live attempts it can re-attach', async () => {
        expect(started).not.toBeNull();
        const restarted = makeExecutor(context());
        const adopted = await restarted.adopt(() => recorder);
        const expected = restarted.canAdopt ? [{ runId: run.runId, attempt: run.attempt }] : [];
        expect(adopted.map((a) => ({ runId: a.runId, attempt: a.attempt }))).toEqual(expected);
        await restarted.close();
      });

      it('stops an attempt on request and observes its exit', async () => {
        const attempt = started!;
        await attempt.stop({ mode: 'kill' });
        const exit = await attempt.exited;
        expect(exit.code === 0 && exit.signal === null).toBe(false);
        expect(attempt.hasExited).toBe(true);
        await attempt.cleanUp();
        started = null;
      });
    });
  });
}
