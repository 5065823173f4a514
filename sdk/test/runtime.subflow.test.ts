import { afterEach, describe, expect, it, vi } from 'vitest';
import { flow, log, task, z } from '../src/index.js';
import { executeUnderWorker, MemoryWorker } from './runtime.memory-worker.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('subflows', () => {
  it('run inline when the parent runs locally, with their own name on log lines', async () => {
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((line: unknown) => lines.push(String(line)));
    const double = task('sub-local-double', async (n: number) => n * 2);
    const child = flow({ name: 'sub-local-child', params: z.object({ n: z.number() }) }, async ({ n }) => {
      log.info(`child got ${n}`);
      return double(n);
    });
    const parent = flow({ name: 'sub-local-parent' }, async () => (await child({ n: 4 })) + 1);

    expect(await parent()).toBe(9);
    expect(lines).toContain('[sub-local-child] info child got 4');
  });

  it('become child runs under the worker: linked to a task run of the parent, with their own task runs, logs and final state', async () => {
    const double = task('sub-double', async (n: number) => n * 2);
    const child = flow({ name: 'sub-child', params: z.object({ n: z.number() }) }, async ({ n }) => {
      log.info('inside the child');
      return double(n);
    });
    let result = 0;
    flow({ name: 'sub-parent' }, async () => {
      log.info('inside the parent');
      result = (await child({ n: 5 })) + (await double(1));
    });
    const worker = new MemoryWorker();

    const start = await executeUnderWorker('sub-parent', worker);

    expect(result).toBe(12);
    const [childRun] = worker.rpcs('createChildRun');
    const creates = worker.creates();
    const call = creates.find((c) => c.name === 'sub-child');
    expect(call).toMatchObject({ taskKey: 'sub-child-0', dynamicKey: '0', state: { type: 'RUNNING' } });
    expect(call?.flowRunId).toBeUndefined();
    expect(childRun).toMatchObject({ flowName: 'sub-child', parameters: { n: 5 }, parentTaskRunId: call?.id });
    expect(childRun?.parentFlowRunId).toBeUndefined();

    // The child's id is whatever the worker answered; every message about the child names it.
    const [childId] = worker.childIds;
    expect(worker.rpcs('setState').map((s) => [s.flowRunId ?? 'parent', s.state.type])).toEqual([
      ['parent', 'RUNNING'],
      [childId, 'COMPLETED'],
      ['parent', 'COMPLETED'],
    ]);
    const childTask = creates.find((c) => c.name === 'sub-double' && c.flowRunId === childId);
    expect(childTask?.taskKey).toBe('sub-double-0');
    const parentTask = creates.find((c) => c.name === 'sub-double' && c.flowRunId === undefined);
    expect(parentTask?.taskKey).toBe('sub-double-0');
    expect(worker.logs().find((l) => l.message === 'inside the child')?.flowRunId).toBe(childId);
    expect(worker.logs().find((l) => l.message === 'inside the parent')?.flowRunId).toBeUndefined();
    const callDone = worker.taskStates().find((s) => s.id === call?.id);
    expect(callDone).toMatchObject({ state: { type: 'COMPLETED', data: { flowRunId: childId } } });
    expect(start.run.flowName).toBe('sub-parent');
  });

  it('nest: a subflow of a subflow names its own parent', async () => {
    const leaf = flow({ name: 'sub-leaf' }, async () => 'leaf');
    const middle = flow({ name: 'sub-middle' }, async () => leaf());
    flow({ name: 'sub-root' }, async () => middle());
    const worker = new MemoryWorker();

    await executeUnderWorker('sub-root', worker);

    const [middleRun, leafRun] = worker.rpcs('createChildRun');
    const [middleId, leafId] = worker.childIds;
    expect(middleRun).toMatchObject({ flowName: 'sub-middle' });
    expect(middleRun?.parentFlowRunId).toBeUndefined();
    expect(leafRun).toMatchObject({ flowName: 'sub-leaf', parentFlowRunId: middleId });
    // The leaf's call is a task run of the middle run.
    expect(worker.creates().find((c) => c.name === 'sub-leaf')?.flowRunId).toBe(middleId);
    expect(worker.rpcs('setState').map((s) => [s.flowRunId ?? 'root', s.state.type])).toEqual([
      ['root', 'RUNNING'],
      [leafId, 'COMPLETED'],
      [middleId, 'COMPLETED'],
      ['root', 'COMPLETED'],
    ]);
  });

  it('fail their own run and the parent when they throw, and mark the call FAILED', async () => {
    const child = flow({ name: 'sub-failing' }, async () => {
      throw new Error('child broke');
    });
    flow({ name: 'sub-failing-parent' }, async () => child());
    const worker = new MemoryWorker();

    await executeUnderWorker('sub-failing-parent', worker);

    expect(worker.rpcs('setState').map((s) => [s.flowRunId ? 'child' : 'parent', s.state.type, s.state.message ?? null])).toEqual(
      [
        ['parent', 'RUNNING', null],
        ['child', 'FAILED', 'Error: child broke'],
        ['parent', 'FAILED', 'Error: child broke'],
      ],
    );
    const call = worker.taskStates().find((s) => s.state.type === 'FAILED');
    expect(call?.state.message).toBe('Error: child broke');
  });

  it('record only small JSON parameters', async () => {
    const child = flow(
      { name: 'sub-big-params', params: z.object({ rows: z.array(z.number()) }) },
      async ({ rows }) => rows.length,
    );
    flow({ name: 'sub-big-params-parent' }, async () => child({ rows: Array.from({ length: 10_000 }, (_, i) => i) }));
    const worker = new MemoryWorker();
    await executeUnderWorker('sub-big-params-parent', worker);
    expect(worker.rpcs('createChildRun')[0]?.parameters).toEqual({});
  });

  it('run inline, with a warning, when the worker cannot create the child run', async () => {
    const child = flow({ name: 'sub-unrecorded' }, async () => 'still ran');
    let result = '';
    flow({ name: 'sub-unrecorded-parent' }, async () => {
      result = await child();
    });
    const worker = new MemoryWorker();
    worker.failMethods.add('createChildRun');

    await executeUnderWorker('sub-unrecorded-parent', worker);

    expect(result).toBe('still ran');
    expect(worker.rpcs('setState').every((s) => s.flowRunId === undefined)).toBe(true);
    expect(worker.logs().find((l) => l.level === 'warning')?.message).toContain(
      "subflow 'sub-unrecorded' could not be recorded as a run of its own; running it inline",
    );
  });
});
