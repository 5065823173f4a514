import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { JsonObject, ProposedState, StateProposalResponse } from '../src/contracts/index.js';
import { flow, log, task, z } from '../src/index.js';
import { flowRegistry, type RunnerToWorkerMessage, type StartMessage } from '../src/runtime/index.js';

type Answer = Pick<StateProposalResponse, 'status' | 'reason' | 'waitSeconds'> & { stateType?: ProposedState['type'] };

/**
 * The worker's end of the IPC channel, in memory: the process seam, not our code. It records every
 * message and answers rpcs as `answer` says (ACCEPT by default).
 */
class MemoryWorker extends EventEmitter {
  readonly messages: RunnerToWorkerMessage[] = [];
  answer: (state: ProposedState) => Answer = () => ({ status: 'ACCEPT', reason: null, waitSeconds: null });

  send = (message: unknown, callback: (error: Error | null) => void): boolean => {
    const msg = message as RunnerToWorkerMessage;
    this.messages.push(msg);
    queueMicrotask(() => callback(null));
    if (msg.t === 'rpc') queueMicrotask(() => this.emit('message', this.reply(msg)));
    return true;
  };

  private reply(msg: Extract<RunnerToWorkerMessage, { t: 'rpc' }>): unknown {
    if (msg.method !== 'setState') return { t: 'reply', id: msg.id, ok: true, result: {} };
    const { status, reason, waitSeconds, stateType } = this.answer(msg.body.state);
    const result: StateProposalResponse = {
      status,
      reason,
      waitSeconds,
      attempt: 1,
      state: {
        type: stateType ?? msg.body.state.type,
        name: 'x',
        message: null,
        timestamp: new Date().toISOString(),
        data: null,
      },
    };
    return { t: 'reply', id: msg.id, ok: true, result };
  }

  states(): string[] {
    return this.messages.flatMap((m) => (m.t === 'rpc' && m.method === 'setState' ? [m.body.state.type] : []));
  }

  logs(): Extract<RunnerToWorkerMessage, { t: 'log' }>[] {
    return this.messages.flatMap((m) => (m.t === 'log' ? [m] : []));
  }
}

function startFor(flowName: string, parameters: JsonObject = {}): StartMessage {
  return {
    t: 'start',
    run: { id: randomUUID(), attempt: 1, name: 'calm-otter', flowName, deploymentId: null, parameters },
    entry: '/bundle/index.js',
  };
}

function registered(name: string) {
  const entry = flowRegistry().get(name);
  if (!entry) throw new Error(`flow ${name} not registered`);
  return entry;
}

// A completed run stores its result: in a directory of the test's own, not the user's cache.
let results: string;
const savedStorage = process.env.OUTPOST_RESULT_STORAGE;

beforeEach(() => {
  results = mkdtempSync(path.join(tmpdir(), 'outpost-execute-'));
  process.env.OUTPOST_RESULT_STORAGE = pathToFileURL(results).href;
});

afterEach(() => {
  vi.useRealTimers();
  if (savedStorage === undefined) delete process.env.OUTPOST_RESULT_STORAGE;
  else process.env.OUTPOST_RESULT_STORAGE = savedStorage;
  rmSync(results, { recursive: true, force: true });
});

describe('RegisteredFlow.execute()', () => {
  it('reports RUNNING, each task run (created RUNNING), log lines with task ids, COMPLETED and done, in that order', async () => {
    const square = task('square', async (n: number) => {
      console.log('squaring', n);
      return n * n;
    });
    flow({ name: 'exec-ok', params: z.object({ n: z.number().default(2) }) }, async ({ n }) => {
      log.info('starting with %d', n);
      console.warn('careful');
      const out: number[] = [];
      for (let i = 1; i <= n; i++) out.push(await square(i));
      return out;
    });
    const worker = new MemoryWorker();
    const originalLog = console.log;
    const originalWarn = console.warn;

    await registered('exec-ok').execute(startFor('exec-ok', { n: 2 }), worker);

    expect(console.log).toBe(originalLog);
    expect(console.warn).toBe(originalWarn);
    const sequence = worker.messages.map((m) => (m.t === 'rpc' ? `${m.method}` : m.t === 'task' ? m.event.kind : m.t));
    expect(sequence).toEqual(['setState', 'log', 'log', 'create', 'log', 'state', 'create', 'log', 'state', 'setState', 'done']);
    expect(worker.states()).toEqual(['RUNNING', 'COMPLETED']);
    const creates = worker.messages.flatMap((m) => (m.t === 'task' && m.event.kind === 'create' ? [m.event] : []));
    expect(creates.map((b) => [b.name, b.taskKey, b.dynamicKey, b.state.type])).toEqual([
      ['square', 'square-0', '0', 'RUNNING'],
      ['square', 'square-1', '1', 'RUNNING'],
    ]);
    const updates = worker.messages.flatMap((m) => (m.t === 'task' && m.event.kind === 'state' ? [m.event] : []));
    expect(updates.map((b) => [b.id, b.seq, b.runCount, b.state.type])).toEqual([
      [creates[0]?.id, 1, 1, 'COMPLETED'],
      [creates[1]?.id, 1, 1, 'COMPLETED'],
    ]);
    expect(worker.logs().map((l) => [l.level, l.message, l.taskRunId ?? null])).toEqual([
      ['info', 'starting with 2', null],
      ['warning', 'careful', null],
      ['info', 'squaring 1', creates[0]?.id],
      ['info', 'squaring 2', creates[1]?.id],
    ]);
    const completed = worker.messages.find((m) => m.t === 'rpc' && m.method === 'setState' && m.body.state.type === 'COMPLETED');
    // The result stays in the result storage; the state names only where.
    const resultRef = expect.stringMatching(new RegExp(`^${pathToFileURL(results).href}/`));
    expect(completed).toMatchObject({ body: { state: { type: 'COMPLETED', data: { resultRef } } } });
    expect(worker.messages.at(-1)).toEqual({ t: 'done', stateType: 'COMPLETED' });
  });

  it('reports each retry of a task with its run count', async () => {
    let calls = 0;
    const flaky = task({ name: 'flaky-exec', retries: 2 }, async () => {
      calls += 1;
      if (calls < 3) throw new Error(`flake ${calls}`);
      return 'ok';
    });
    flow({ name: 'exec-retry' }, async () => flaky());
    const worker = new MemoryWorker();

    await registered('exec-retry').execute(startFor('exec-retry'), worker);

    const updates = worker.messages.flatMap((m) => (m.t === 'task' && m.event.kind === 'state' ? [m.event] : []));
    // Numbered in order, so the server applies each once and never moves the task run back.
    expect(updates.map((b) => b.seq)).toEqual([1, 2, 3]);
    expect(updates.map((b) => [b.runCount, b.state.type, b.state.name ?? null])).toEqual([
      [2, 'RUNNING', 'Retrying'],
      [3, 'RUNNING', 'Retrying'],
      [3, 'COMPLETED', null],
    ]);
    expect(worker.states()).toEqual(['RUNNING', 'COMPLETED']);
  });

  it('proposes FAILED with the field paths when the parameters are invalid, without running the body', async () => {
    const body = vi.fn(async () => 1);
    flow({ name: 'exec-params', params: z.object({ rows: z.number().int().positive() }) }, body);
    const worker = new MemoryWorker();

    await registered('exec-params').execute(startFor('exec-params', { rows: 'many' }), worker);

    expect(body).not.toHaveBeenCalled();
    expect(worker.states()).toEqual(['RUNNING', 'FAILED']);
    const failed = worker.messages.find((m) => m.t === 'rpc' && m.method === 'setState' && m.body.state.type === 'FAILED');
    expect(failed).toMatchObject({ body: { state: { message: expect.stringContaining('ParameterValidationError: ') } } });
    expect(JSON.stringify(failed)).toContain('rows: Invalid input: expected number');
    expect(worker.messages.at(-1)).toEqual({ t: 'done', stateType: 'FAILED' });
  });

  it('proposes FAILED with the error name and message, and logs the stack at level error', async () => {
    flow({ name: 'exec-throws' }, async () => {
      throw new RangeError('out of range');
    });
    const worker = new MemoryWorker();

    await registered('exec-throws').execute(startFor('exec-throws'), worker);

    const failed = worker.messages.find((m) => m.t === 'rpc' && m.method === 'setState' && m.body.state.type === 'FAILED');
    expect(failed).toMatchObject({ body: { state: { type: 'FAILED', message: 'RangeError: out of range' } } });
    const errorLine = worker.logs().find((l) => l.level === 'error');
    expect(errorLine?.message).toMatch(/^flow 'exec-throws' failed: RangeError: out of range\n\s+at /);
  });

  it('never runs the body when RUNNING is answered ABORT, and says done with the state the run is in', async () => {
    const body = vi.fn(async () => 1);
    flow({ name: 'exec-aborted' }, body);
    const worker = new MemoryWorker();
    worker.answer = () => ({ status: 'ABORT', reason: 'run is CANCELLED', waitSeconds: null, stateType: 'CANCELLED' });

    await registered('exec-aborted').execute(startFor('exec-aborted'), worker);

    expect(body).not.toHaveBeenCalled();
    expect(worker.states()).toEqual(['RUNNING']);
    expect(worker.messages.at(-1)).toEqual({ t: 'done', stateType: 'CANCELLED' });
  });

  it('waits the seconds a WAIT answer gives, then proposes again', async () => {
    vi.useFakeTimers();
    let waits = 1;
    const body = vi.fn(async () => 'ran');
    flow({ name: 'exec-wait' }, body);
    const worker = new MemoryWorker();
    worker.answer = (state) =>
      state.type === 'RUNNING' && waits-- > 0
        ? { status: 'WAIT', reason: 'not yet due', waitSeconds: 30, stateType: 'PENDING' }
        : { status: 'ACCEPT', reason: null, waitSeconds: null };

    const done = registered('exec-wait').execute(startFor('exec-wait'), worker);
    await vi.advanceTimersByTimeAsync(29_999);
    expect(worker.states()).toEqual(['RUNNING']);
    expect(body).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    await done;

    expect(worker.states()).toEqual(['RUNNING', 'RUNNING', 'COMPLETED']);
    expect(body).toHaveBeenCalledTimes(1);
  });

  it('aborts the flow signal on cancel and proposes CANCELLED with the reason', async () => {
    let signal: AbortSignal | undefined;
    flow({ name: 'exec-cancel' }, (_params, ctx) => {
      signal = ctx.signal;
      return new Promise<never>(() => {});
    });
    const worker = new MemoryWorker();

    const done = registered('exec-cancel').execute(startFor('exec-cancel'), worker);
    await vi.waitFor(() => expect(signal).toBeDefined());
    worker.emit('message', { t: 'cancel', reason: 'cancelled by alice' });
    await done;

    expect(signal?.aborted).toBe(true);
    expect(worker.states()).toEqual(['RUNNING', 'CANCELLED']);
    const cancelled = worker.messages.find((m) => m.t === 'rpc' && m.method === 'setState' && m.body.state.type === 'CANCELLED');
    expect(cancelled).toMatchObject({ body: { state: { message: 'cancelled by alice' } } });
    expect(worker.messages.at(-1)).toEqual({ t: 'done', stateType: 'CANCELLED' });
  });

  it('never waits on the worker for a task: a flow of 50 tasks sends two rpcs in all and 100 task events', async () => {
    const one = task('one-of-fifty', async (i: number) => i);
    flow({ name: 'exec-fire-and-forget' }, async () => (await one.map(Array.from({ length: 50 }, (_, i) => i))).length);
    const worker = new MemoryWorker();

    await registered('exec-fire-and-forget').execute(startFor('exec-fire-and-forget'), worker);

    expect(worker.states()).toEqual(['RUNNING', 'COMPLETED']);
    expect(worker.messages.filter((m) => m.t === 'rpc')).toHaveLength(2);
    const events = worker.messages.flatMap((m) => (m.t === 'task' ? [m.event] : []));
    expect(events.filter((e) => e.kind === 'create')).toHaveLength(50);
    expect(events.filter((e) => e.kind === 'state' && e.state.type === 'COMPLETED')).toHaveLength(50);
    // Every event was sent before the run's final state was proposed.
    const finalIndex = worker.messages.findIndex(
      (m) => m.t === 'rpc' && m.method === 'setState' && m.body.state.type === 'COMPLETED',
    );
    expect(worker.messages.slice(finalIndex).some((m) => m.t === 'task')).toBe(false);
  });
});
