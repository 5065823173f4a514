import { randomUUID } from 'node:crypto';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { CallResult } from '../src/client/core.js';
import type { FlowRun, RunWaitValue, WaitSpec } from '../src/contracts/index.js';
import {
  type DeploymentRun,
  type DeploymentRunClient,
  DeploymentRunFailedError,
  DeploymentRunResultError,
  DeploymentRunTimeoutError,
  directoryResultStorage,
  flow,
  runDeployment,
  task,
  z,
} from '../src/index.js';
import { readFlowResult, writeFlowResult } from '../src/runtime/flow-result.js';
import { flowResultKey, resultRefOf } from '../src/runtime/index.js';
import { testFlow } from '../src/testing/index.js';
import { launch, MemoryWorker, type Rpc, waitRow } from './runtime.memory-worker.js';
import { useResultStorageDir } from './support/result-storage.js';

/*
 * runDeployment from the flow process's side, against the worker's end of the IPC channel in memory
 * (the process seam), and from an app's side against a client answering as the API does. The whole
 * path — worker, API, a child on a worker — is exercised by worker/test/worker.run-deployment.test.ts.
 */

const storageDir = useResultStorageDir('outpost-run-deployment-');

const train = flow(
  { name: 'rd-train', params: z.object({ epochs: z.number().int(), lr: z.number().default(0.01) }) },
  async ({ epochs }) => ({ auc: 0.9, epochs }),
);

/** A worker that starts each deployment run once per key and resolves its run wait as `ending` says. */
function childWorker(ending: (childId: string) => RunWaitValue['state'] | null) {
  const worker = new MemoryWorker();
  const children = new Map<string, { id: string; name: string }>();
  worker.answer = (rpc: Rpc) => {
    if (rpc.method === 'createDeploymentRun') {
      const existing = children.get(rpc.body.key);
      const child = existing ?? { id: randomUUID(), name: `child-${children.size + 1}` };
      children.set(rpc.body.key, child);
      return { flowRun: child, created: !existing };
    }
    if (rpc.method === 'createWait' && rpc.body.spec.kind === 'run') {
      const { flowRunId } = rpc.body.spec;
      const child = [...children.values()].find((c) => c.id === flowRunId);
      const state = ending(flowRunId);
      if (!state || !child) return { wait: waitRow(rpc.body.key, rpc.body.spec) };
      const value: RunWaitValue = { id: child.id, name: child.name, state };
      return { wait: waitRow(rpc.body.key, rpc.body.spec, { status: 'RESOLVED', value, resolvedAt: new Date().toISOString() }) };
    }
    if (rpc.method === 'suspend')
      return { suspended: true, wait: waitRow('x', { kind: 'until', until: new Date().toISOString() }) };
    return undefined;
  };
  return { worker, children };
}

const completed = { type: 'COMPLETED', name: 'Completed', message: null };

describe('runDeployment in a flow run by a worker', () => {
  it('starts the child through the worker with a per-call key, waits on it durably and reads its stored result', async () => {
    let got: unknown;
    let handle: DeploymentRun<unknown> | undefined;
    flow({ name: 'rd-parent' }, async () => {
      handle = await runDeployment<typeof train>('rd-train/gpu', { epochs: 3 });
      got = await handle.result();
      await runDeployment('rd-train/gpu', { epochs: 4 }, { key: 'second-model', tags: ['nightly'] });
      return 'done';
    });
    const { worker, children } = childWorker(() => completed);
    // The child wrote its result where the parent's storage is, as a child on a worker of the same storage does.
    worker.gate = async (rpc) => {
      if (rpc.method === 'createWait' && rpc.body.spec.kind === 'run') {
        await writeFlowResult(directoryResultStorage(storageDir()), rpc.body.spec.flowRunId, { auc: 0.93 });
      }
    };

    await launch('rd-parent', worker);

    expect(worker.rpcs('createDeploymentRun')).toEqual([
      { deployment: 'rd-train/gpu', parameters: { epochs: 3 }, key: 'deployment-run-1' },
      { deployment: 'rd-train/gpu', parameters: { epochs: 4 }, key: 'second-model', tags: ['nightly'] },
    ]);
    const first = children.get('deployment-run-1');
    expect(worker.rpcs('createWait')).toEqual([
      { key: 'run:deployment-run-1', spec: { kind: 'run', flowRunId: first?.id } },
      { key: 'run:second-model', spec: { kind: 'run', flowRunId: children.get('second-model')?.id } },
    ]);
    expect(handle?.id).toBe(first?.id);
    expect(handle?.name).toBe('child-1');
    expect(handle?.state).toEqual(completed);
    expect(got).toEqual({ auc: 0.93 });
  });

  it("stores the flow's own result and names it in the COMPLETED state, unless the flow sets persistResult: false", async () => {
    flow({ name: 'rd-returns' }, async () => ({ rows: 42 }));
    flow({ name: 'rd-keeps', persistResult: false }, async () => ({ rows: 42 }));
    const worker = new MemoryWorker();
    const runId = randomUUID();
    await launch('rd-returns', worker, 1, runId);
    await launch('rd-keeps', worker);

    const [, completedState, , keptState] = worker.rpcs('setState').map((b) => b.state);
    const ref = resultRefOf(completedState?.data);
    expect(ref).toMatch(new RegExp(`^file://.*/${flowResultKey(runId)}$`));
    expect(await readFlowResult(directoryResultStorage(storageDir()), runId)).toEqual({ value: { rows: 42 } });
    expect(keptState).toEqual({ type: 'COMPLETED', data: null });
  });

  it('a child that ended FAILED throws an error naming the run and its state, unless throwOnFailure is false', async () => {
    let thrown: unknown;
    let kept: DeploymentRun<unknown> | undefined;
    flow({ name: 'rd-failing' }, async () => {
      try {
        await runDeployment('rd-train/gpu', { epochs: 1 });
      } catch (error) {
        thrown = error;
      }
      kept = await runDeployment('rd-train/gpu', { epochs: 2 }, { throwOnFailure: false });
    });
    const failed = { type: 'FAILED', name: 'Failed', message: 'the GPU ran out of memory' };
    const { worker } = childWorker(() => failed);

    await launch('rd-failing', worker);

    expect(thrown).toBeInstanceOf(DeploymentRunFailedError);
    expect((thrown as Error).message).toBe(
      `run child-1 (${(thrown as DeploymentRunFailedError).run.id}) of rd-train/gpu ended FAILED: the GPU ran out of memory`,
    );
    expect(kept?.state).toEqual(failed);
    await expect(kept?.result()).rejects.toBeInstanceOf(DeploymentRunFailedError);
  });

  it('every attempt sends the same keys, so a replay or retry finds the child it started before', async () => {
    flow({ name: 'rd-replayed' }, async () => {
      await runDeployment('rd-train/gpu', { epochs: 1 });
      await runDeployment('rd-train/gpu', { epochs: 2 });
    });
    const { worker, children } = childWorker(() => completed);
    const runId = randomUUID();
    await launch('rd-replayed', worker, 1, runId);
    await launch('rd-replayed', worker, 2, runId);

    expect(worker.rpcs('createDeploymentRun').map((b) => b.key)).toEqual([
      'deployment-run-1',
      'deployment-run-2',
      'deployment-run-1',
      'deployment-run-2',
    ]);
    expect(children.size).toBe(2);
  });

  it('holds the process with long-polls while the child ends within the hold window', async () => {
    flow({ name: 'rd-holds' }, async () => {
      await runDeployment('rd-train/gpu', { epochs: 1 });
    });
    let ended = false;
    const { worker } = childWorker(() => (ended ? completed : null));
    const answer = worker.answer;
    worker.answer = (rpc) => {
      if (rpc.method !== 'getWait') return answer(rpc);
      ended = true;
      const spec = worker.rpcs('createWait')[0]?.spec as WaitSpec;
      const child = (spec as { flowRunId: string }).flowRunId;
      const value: RunWaitValue = { id: child, name: 'child-1', state: completed };
      return { wait: waitRow('run:deployment-run-1', spec, { status: 'RESOLVED', value }) };
    };

    await launch('rd-holds', worker);

    expect(worker.rpcs('getWait')).toHaveLength(1);
    expect(worker.rpcs('suspend')).toEqual([]);
    expect(worker.rpcs('setState').map((b) => b.state.type)).toEqual(['RUNNING', 'COMPLETED']);
  });

  it('with holdSeconds: 0, suspends the run at once until the child ends', async () => {
    flow({ name: 'rd-suspends' }, async () => {
      await runDeployment('rd-train/gpu', { epochs: 1 }, { holdSeconds: 0 });
    });
    const { worker } = childWorker(() => null);

    const execution = launch('rd-suspends', worker);
    await new Promise<void>((resolve) => {
      const check = () => (worker.rpcs('suspend').length > 0 ? resolve() : setTimeout(check, 5));
      check();
    });

    expect(worker.rpcs('suspend')).toHaveLength(1);
    expect(worker.rpcs('getWait')).toEqual([]);
    expect(worker.rpcs('setState').map((b) => b.state.type)).toEqual(['RUNNING']);
    void execution.catch(() => undefined);
  });

  it('a child that does not end within timeoutSeconds throws DeploymentRunTimeoutError', async () => {
    let thrown: unknown;
    flow({ name: 'rd-times-out' }, async () => {
      try {
        await runDeployment('rd-train/gpu', { epochs: 1 }, { timeoutSeconds: 5 });
      } catch (error) {
        thrown = error;
      }
    });
    const { worker } = childWorker(() => null);
    const answer = worker.answer;
    worker.answer = (rpc) =>
      rpc.method === 'createWait' ? { wait: waitRow(rpc.body.key, rpc.body.spec, { status: 'TIMED_OUT' }) } : answer(rpc);

    await launch('rd-times-out', worker);

    expect(worker.rpcs('createWait')[0]?.timeoutSeconds).toBe(5);
    expect(thrown).toBeInstanceOf(DeploymentRunTimeoutError);
  });

  it('refuses a call from inside a task, and a deployment not named <flow>/<deployment>', async () => {
    const inTask = task('rd-in-task', async () => runDeployment('rd-train/gpu', { epochs: 1 }));
    let fromTask: unknown;
    let badName: unknown;
    flow({ name: 'rd-misused' }, async () => {
      fromTask = await inTask().catch((error: unknown) => error);
      badName = await runDeployment('rd-train').catch((error: unknown) => error);
    });
    await launch('rd-misused', new MemoryWorker());

    expect((fromTask as Error).message).toMatch(
      /runDeployment\(\) was called inside task rd-in-task-0; call it from the flow's body/,
    );
    expect((badName as Error).message).toMatch(/name the deployment as "<flow>\/<deployment>"/);
  });
});

/** A client answering as the API does: the deployment by name, a created run, then its state as `states` says. */
function apiClient(states: FlowRun['state'][]) {
  const calls: { name: string; input: unknown }[] = [];
  const runId = randomUUID();
  const run = { id: runId, name: 'brave-heron' } as FlowRun;
  const client = {
    async call(name: string, input: unknown): Promise<CallResult<unknown>> {
      calls.push({ name, input });
      if (name === 'deploymentsGetByName') return { ok: true, status: 200, data: { id: randomUUID() } };
      if (name === 'deploymentsCreateRun') return { ok: true, status: 201, data: { flowRun: run, created: true } };
      const state = states.length > 1 ? states.shift() : states[0];
      return { ok: true, status: 200, data: { ...run, state } };
    },
  } as unknown as DeploymentRunClient;
  return { client, calls, runId };
}

function stateOf(type: FlowRun['state']['type'], data: unknown = null): FlowRun['state'] {
  return { type, name: type, message: null, timestamp: new Date().toISOString(), data } as FlowRun['state'];
}

describe('runDeployment from an app', () => {
  it('creates the run through the API and returns at once; wait() polls until it ends and result() reads its storage', async () => {
    const storage = directoryResultStorage(storageDir());
    const states = [stateOf('SCHEDULED'), stateOf('RUNNING')];
    const { client, calls, runId } = apiClient(states);

    const run = await runDeployment<typeof train>('rd-train/gpu', { epochs: 5 }, { client, key: 'nightly-2025-01-01' });

    expect(run.id).toBe(runId);
    expect(run.state).toBeNull();
    expect(calls.map((c) => c.name)).toEqual(['deploymentsGetByName', 'deploymentsCreateRun']);
    expect(calls[0]?.input).toEqual({ params: { flow: 'rd-train', name: 'gpu' } });
    expect(calls[1]?.input).toMatchObject({
      body: { parameters: { epochs: 5 } },
      headers: { 'idempotency-key': 'nightly-2025-01-01' },
    });

    // The run ends COMPLETED with its result's reference, as the worker reports it.
    const ref = await writeFlowResult(storage, runId, { auc: 0.91, epochs: 5 });
    states.push(stateOf('COMPLETED', { resultRef: ref }));
    await run.wait({ timeoutSeconds: 10 });
    expect(run.state?.type).toBe('COMPLETED');
    expect(calls.filter((c) => c.name === 'flowRunsGet')).toHaveLength(3);
    delete process.env.OUTPOST_RESULT_STORAGE;
    // No storage configured: a file:// reference names its directory.
    const result = await run.result();
    expectTypeOf(result).toEqualTypeOf<{ auc: number; epochs: number }>();
    expect(result).toEqual({ auc: 0.91, epochs: 5 });
  });

  it('wait() gives up after timeoutSeconds, and a failed run throws naming the run and its state', async () => {
    const pending = apiClient([stateOf('RUNNING')]);
    const slow = await runDeployment('rd-train/gpu', { epochs: 1 }, { client: pending.client });
    await expect(slow.wait({ timeoutSeconds: 0.3 })).rejects.toBeInstanceOf(DeploymentRunTimeoutError);

    const failing = apiClient([stateOf('CRASHED')]);
    const crashed = await runDeployment('rd-train/gpu', { epochs: 1 }, { client: failing.client });
    await expect(crashed.wait()).rejects.toThrow(`run brave-heron (${failing.runId}) of rd-train/gpu ended CRASHED`);
  });

  it('result() says so when the run stored no result, or its storage is out of reach', async () => {
    const none = apiClient([stateOf('COMPLETED')]);
    const bare = await runDeployment('rd-train/gpu', {}, { client: none.client, wait: true });
    await expect(bare.result()).rejects.toThrow(DeploymentRunResultError);
    await expect(bare.result()).rejects.toThrow(/stored no result/);

    delete process.env.OUTPOST_RESULT_STORAGE;
    const remote = apiClient([stateOf('COMPLETED', { resultRef: 's3://results/flow-abc' })]);
    const far = await runDeployment('rd-train/gpu', {}, { client: remote.client, wait: true });
    await expect(far.result()).rejects.toThrow(/set OUTPOST_RESULT_STORAGE \(or pass \{ resultStorage \}\)/);
  });

  it('without a client or API settings it says which variables to set', async () => {
    delete process.env.OUTPOST_API_URL;
    delete process.env.OUTPOST_API_KEY;
    await expect(runDeployment('rd-train/gpu')).rejects.toThrow(/set OUTPOST_API_URL and OUTPOST_API_KEY/);
  });
});

describe('runDeployment types', () => {
  it('checks parameters against the flow at compile time and types the result', () => {
    type Handle = Awaited<ReturnType<typeof runDeployment<typeof train>>>;
    expectTypeOf<Awaited<ReturnType<Handle['result']>>>().toEqualTypeOf<{ auc: number; epochs: number }>();
    const typed = () => {
      void runDeployment<typeof train>('rd-train/gpu', { epochs: 3 });
      void runDeployment<typeof train>('rd-train/gpu', { epochs: 3, lr: 0.1 }, { wait: false });
      // @ts-expect-error epochs must be a number
      void runDeployment<typeof train>('rd-train/gpu', { epochs: 'three' });
      // @ts-expect-error epochs is required
      void runDeployment<typeof train>('rd-train/gpu', {});
      // @ts-expect-error the flow has no such parameter
      void runDeployment<typeof train>('rd-train/gpu', { epochs: 3, momentum: 0.9 });
      // Without a flow type, any JSON object goes.
      void runDeployment('rd-train/gpu', { anything: ['goes'] });
    };
    expect(typeof typed).toBe('function');
  });
});

describe('runDeployment under testFlow', () => {
  it('answers calls from options.deployments and records them', async () => {
    const parent = flow({ name: 'rd-tested', params: z.object({ epochs: z.number() }) }, async ({ epochs }) => {
      const child = await runDeployment<typeof train>('rd-train/gpu', { epochs });
      return (await child.result()).auc;
    });
    const run = await testFlow(
      parent,
      { epochs: 7 },
      {
        deployments: { 'rd-train/gpu': (params) => ({ result: { auc: 0.5 + Number(params.epochs) / 100, epochs: 7 } }) },
      },
    );
    expect(run.expectCompleted()).toBeCloseTo(0.57);
    expect(run.deploymentRuns).toEqual([
      expect.objectContaining({ deployment: 'rd-train/gpu', parameters: { epochs: 7 }, key: 'deployment-run-1' }),
    ]);

    const failing = await testFlow(
      parent,
      { epochs: 1 },
      { deployments: { 'rd-train/gpu': { state: 'FAILED', message: 'OOM' } } },
    );
    failing.expectFailed(/of rd-train\/gpu ended FAILED: OOM/);
    const unanswered = await testFlow(parent, { epochs: 1 });
    unanswered.expectFailed(/no answer for runDeployment\('rd-train\/gpu'\) \(options\.deployments\)/);
  });
});
