import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { CallResult } from '@outpost/sdk/client';
import type { TaskRunEvent } from '@outpost/sdk/contracts';
import { RpcRequest } from '@outpost/sdk/runtime';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { logBatchSender } from '../src/executors/report.js';
import { RpcServer } from '../src/executors/rpc.js';
import type { RunApi } from '../src/executors/run-api.js';
import type { SubflowRuns } from '../src/executors/subflow-runs.js';
import { Redactor } from '../src/redact.js';
import { LogShipper } from '../src/ship-logs.js';
import { TaskRunShipper } from '../src/ship-task-runs.js';
import type { NumberedLine } from '../src/spool.js';

const RUN = '00000000-0000-4000-8000-000000000001';
const TASK = '00000000-0000-4000-8000-000000000002';

interface Call {
  name: string;
  lines: number[];
  taskRuns: number;
}

/**
 * The run's API as its shippers and rpc server see it, recording calls in the order they reach it.
 * The first log batch is held until the test lets it go: a batch in flight when the state comes.
 */
function heldApi() {
  const calls: Call[] = [];
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let firstBatchSent!: () => void;
  const firstBatch = new Promise<void>((resolve) => (firstBatchSent = resolve));
  let batches = 0;
  const api = {
    runId: RUN,
    attempt: 1,
    // An API that takes a run's last task runs with its state proposal.
    carriesTaskRuns: true,
    refusedTaskRuns: () => false,
    async call(
      name: string,
      input: { body: { logs: NumberedLine[] } | { events: TaskRunEvent[] } },
    ): Promise<CallResult<unknown>> {
      if (name === 'logsWrite') {
        const lines = (input.body as { logs: NumberedLine[] }).logs.map((line) => line.seq);
        calls.push({ name, lines, taskRuns: 0 });
        if (++batches === 1) {
          firstBatchSent();
          await released;
        }
        return { ok: true, status: 200, data: {} };
      }
      const events = (input.body as { events: TaskRunEvent[] }).events;
      calls.push({ name, lines: [], taskRuns: events.length });
      return { ok: true, status: 200, data: { applied: events.length, duplicates: 0, refused: [] } };
    },
    async proposeState(
      state: unknown,
      _deadline: number,
      _id: string,
      _run: string,
      logs?: NumberedLine[],
      _code?: number,
      tasks?: TaskRunEvent[],
    ) {
      calls.push({ name: 'flowRunsSetState', lines: (logs ?? []).map((line) => line.seq), taskRuns: tasks?.length ?? 0 });
      return { ok: true, status: 200, data: { status: 'ACCEPT', state } };
    },
  };
  return { api: api as unknown as RunApi, calls, release, firstBatch };
}

let scratch: string | null = null;
afterEach(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  scratch = null;
});

describe("a run's state proposal and its log and task-run shippers", () => {
  it('a state proposed while a log batch is in flight and a task run is queued waits for neither past the other: every line is stored before the state', async () => {
    scratch = mkdtempSync(path.join(tmpdir(), 'outpost-rpc-flush-'));
    const { api, calls, release, firstBatch } = heldApi();
    const warnings: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(line) });
    const taskRuns = new TaskRunShipper({
      api,
      redactor: () => new Redactor([]),
      logger,
      onStaleAttempt: () => {},
      runLog: () => {},
      // Queued until something flushes it or a request takes it.
      batchMs: 600_000,
    });
    // With the run's report's sender: a log batch first stores the task runs queued before it.
    const shipper = new LogShipper({
      runId: RUN,
      attempt: 1,
      spoolDir: scratch,
      batchSize: 100,
      batchMs: 0,
      logger,
      send: logBatchSender(api, taskRuns, RUN),
    });
    const rpc = new RpcServer({
      api,
      shipper,
      taskRuns,
      subflows: { has: () => false, flush: async () => true } as unknown as SubflowRuns,
      redactor: () => new Redactor([]),
      logger,
      // Were the two to wait for each other, the proposal would go after this long, its lines undelivered.
      flushBeforeStateMs: 2_000,
      onState: () => {},
      onStaleAttempt: () => {},
    });

    shipper.push({ level: 'info', message: 'square 1', stream: 'stdout' });
    await firstBatch;
    taskRuns.push(RUN, {
      kind: 'create',
      id: TASK,
      name: 'square',
      taskKey: 'square-0',
      dynamicKey: '0',
      state: { type: 'RUNNING' },
      at: new Date().toISOString(),
    });
    shipper.push({ level: 'info', message: 'cancelling', stream: 'stdout' });

    const replies: Array<{ id: number; ok: boolean }> = [];
    const request = RpcRequest.parse({
      t: 'rpc',
      id: 1,
      method: 'setState',
      body: { transitionId: crypto.randomUUID(), state: { type: 'CANCELLED' } },
    });
    const served = rpc.serve({ send: (m: unknown) => replies.push(m as (typeof replies)[number]) > 0 }, request, false);
    release();
    await served;

    expect(replies, warnings.join('\n')).toEqual([expect.objectContaining({ id: 1, ok: true })]);
    const state = calls.findIndex((call) => call.name === 'flowRunsSetState');
    const storedBefore = calls.slice(0, state).flatMap((call) => call.lines);
    expect([...storedBefore, ...calls[state]!.lines].sort((a, b) => a - b)).toEqual([1, 2]);
    // The task run goes before the line that follows it, or with the state: never after either.
    const taskRunAt = calls.findIndex((call) => call.taskRuns > 0);
    expect(taskRunAt).toBeGreaterThanOrEqual(0);
    expect(taskRunAt).toBeLessThanOrEqual(
      Math.max(
        state,
        calls.findIndex((call) => call.lines.includes(2)),
      ),
    );
    expect(warnings.join('\n')).not.toContain('before every earlier log line was delivered');
    shipper.stop();
  });
});
