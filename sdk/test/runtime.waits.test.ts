import { randomUUID } from 'node:crypto';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { JsonObject, RecordedResult, Wait, WaitSpec } from '../src/contracts/index.js';
import { flow, task, WaitTimeoutError, wait, z } from '../src/index.js';
import { encodeResult } from '../src/runtime/cache.js';
import { directoryResultStorage, recordedResultKey } from '../src/runtime/index.js';
import { launch, MemoryWorker, type Rpc, waitRow } from './runtime.memory-worker.js';
import { useResultStorageDir } from './support/result-storage.js';

/*
 * The flow process's side of durable waits, against the worker's end of the IPC channel in memory
 * (the process seam): which rpcs a flow sends, when it holds, when it suspends, and how an attempt
 * after a suspension replays. The API behind the worker is exercised by test/e2e/waits.*.test.ts.
 */

const storageDir = useResultStorageDir('outpost-waits-');

const resolved = (value: Wait['value']): Partial<Wait> => ({ status: 'RESOLVED', value, resolvedAt: new Date().toISOString() });

async function until(condition: () => boolean, what: string, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const states = (worker: MemoryWorker) => worker.rpcs('setState').map((b) => b.state.type);

describe('waits run locally', () => {
  it('wait.until sleeps until the time', async () => {
    const napper = flow({ name: 'wait-local-until' }, async () => {
      const before = Date.now();
      await wait.until(new Date(before + 120));
      return Date.now() - before;
    });
    expect(await napper()).toBeGreaterThanOrEqual(115);
  });

  it('an approval, event or token wait says it needs a worker', async () => {
    const approver = flow({ name: 'wait-local-approval' }, async () => wait.approval({ title: 'Ship it?' }));
    const listener = flow({ name: 'wait-local-event' }, async () => wait.for({ event: 'model.trained' }));
    const tokened = flow({ name: 'wait-local-token' }, async () => wait.token('job-1'));
    await expect(approver()).rejects.toThrow(/wait\.approval\(\) needs an Outpost worker/);
    await expect(listener()).rejects.toThrow(/wait\.for\(\) needs an Outpost worker/);
    await expect(tokened()).rejects.toThrow(/wait\.token\(\) needs an Outpost worker/);
  });
});

describe('waits under the worker', () => {
  it('are keyed wait-1, wait-2… in call order unless named, and return what they resolved with', async () => {
    const got: unknown[] = [];
    flow({ name: 'wait-keys' }, async () => {
      got.push(await wait.token('order-17'));
      got.push(await wait.token('order-18', { key: 'second-order' }));
      got.push(await wait.token('order-19'));
    });
    const worker = new MemoryWorker();
    worker.answer = (rpc: Rpc) =>
      rpc.method === 'createWait'
        ? { wait: waitRow(rpc.body.key, rpc.body.spec, resolved({ token: (rpc.body.spec as { token: string }).token })) }
        : undefined;

    await launch('wait-keys', worker);

    expect(worker.rpcs('createWait').map((b) => b.key)).toEqual(['wait-1', 'second-order', 'wait-3']);
    expect(got).toEqual([{ token: 'order-17' }, { token: 'order-18' }, { token: 'order-19' }]);
    expect(states(worker)).toEqual(['RUNNING', 'COMPLETED']);
  });

  it('wait.createToken asks the control plane for a token, hands it over, and waits on the same key', async () => {
    const made = 'wt_made-by-the-control-plane-0123456789';
    const events: string[] = [];
    flow({ name: 'wait-created-token' }, async () => {
      const callback = await wait.createToken({ timeoutSeconds: 600 });
      events.push(`handed ${callback.token} as ${callback.key}`);
      events.push(`got ${JSON.stringify(await callback.wait())}`);
      await wait.token('order-20');
    });
    const worker = new MemoryWorker();
    let asked = 0;
    worker.answer = (rpc: Rpc) => {
      if (rpc.method !== 'createWait') return undefined;
      const spec = rpc.body.spec as { kind: 'token'; token?: string };
      asked += 1;
      const token = spec.token ?? made;
      return { wait: waitRow(rpc.body.key, { kind: 'token', token }, asked === 1 ? {} : resolved({ rows: asked })) };
    };

    await launch('wait-created-token', worker);

    const created = worker.rpcs('createWait');
    expect(created.map((b) => [b.key, b.spec])).toEqual([
      ['wait-1', { kind: 'token' }],
      ['wait-1', { kind: 'token', token: made }],
      ['wait-2', { kind: 'token', token: 'order-20' }],
    ]);
    expect(created[0]?.timeoutSeconds).toBe(600);
    expect(events).toEqual([`handed ${made} as wait-1`, 'got {"rows":2}']);
    expect(states(worker)).toEqual(['RUNNING', 'COMPLETED']);
  });

  it("types an approval's data by its form, and as any JSON object without one", () => {
    const withForm = () => wait.approval({ title: 'Roll out?', form: z.object({ rollout: z.number().default(10) }) });
    const withoutForm = () => wait.approval({ title: 'Go on?' });
    expectTypeOf<Awaited<ReturnType<typeof withForm>>['data']>().toEqualTypeOf<{ rollout: number } | null>();
    expectTypeOf<Awaited<ReturnType<typeof withoutForm>>['data']>().toEqualTypeOf<JsonObject | null>();
    // @ts-expect-error a form is a zod schema
    const notSchema = () => wait.approval({ title: 'Roll out?', form: { rollout: 10 } });
    expect(typeof notSchema).toBe('function');
  });

  it('an approval sends its form as JSON schema and returns the decision with data parsed by the form', async () => {
    let decision: unknown;
    flow({ name: 'wait-approval-form' }, async () => {
      decision = await wait.approval({
        title: 'Promote the model?',
        form: z.object({ rollout: z.number().min(0).max(100).default(10), note: z.string().optional() }),
        roles: ['admin'],
        timeoutSeconds: 3600,
      });
    });
    const worker = new MemoryWorker();
    const decidedAt = new Date().toISOString();
    worker.answer = (rpc) =>
      rpc.method === 'createWait'
        ? {
            wait: waitRow(
              rpc.body.key,
              rpc.body.spec,
              resolved({ approved: true, data: {}, comment: 'go', decidedBy: { id: randomUUID(), label: 'ada' }, decidedAt }),
            ),
          }
        : undefined;

    await launch('wait-approval-form', worker);

    const [created] = worker.rpcs('createWait');
    expect(created?.timeoutSeconds).toBe(3600);
    const spec = created?.spec as Extract<WaitSpec, { kind: 'approval' }>;
    expect(spec.roles).toEqual(['admin']);
    expect(spec.form).toMatchObject({ type: 'object', properties: { rollout: { type: 'number', maximum: 100 } } });
    expect(decision).toMatchObject({ approved: true, data: { rollout: 10 }, comment: 'go', decidedBy: { label: 'ada' } });
  });

  it('a wait that timed out throws WaitTimeoutError naming its key', async () => {
    let thrown: unknown;
    flow({ name: 'wait-timeout' }, async () => {
      try {
        await wait.for({ event: 'model.trained', timeoutSeconds: 5 });
      } catch (error) {
        thrown = error;
      }
    });
    const worker = new MemoryWorker();
    worker.answer = (rpc) =>
      rpc.method === 'createWait' ? { wait: waitRow(rpc.body.key, rpc.body.spec, { status: 'TIMED_OUT' }) } : undefined;

    await launch('wait-timeout', worker);

    expect(thrown).toBeInstanceOf(WaitTimeoutError);
    expect((thrown as WaitTimeoutError).key).toBe('wait-1');
  });

  it('a wait due within the hold window is held with long-polls, never suspending the run', async () => {
    flow({ name: 'wait-hold' }, async () => {
      await wait.until(new Date(Date.now() + 30_000));
    });
    const worker = new MemoryWorker();
    let polls = 0;
    let row: Wait | null = null;
    worker.answer = (rpc) => {
      if (rpc.method === 'createWait') {
        row = waitRow(rpc.body.key, rpc.body.spec);
        return { wait: row };
      }
      if (rpc.method === 'getWait' && row) {
        polls += 1;
        return { wait: polls < 2 ? row : { ...row, ...resolved(null) } };
      }
      return undefined;
    };

    await launch('wait-hold', worker);

    expect(worker.rpcs('getWait').map((b) => b.holdSeconds)).toEqual([25, 25]);
    expect(worker.rpcs('suspend')).toEqual([]);
    expect(states(worker)).toEqual(['RUNNING', 'COMPLETED']);
  });

  it('a long wait lets tasks in flight finish, records every completed result, suspends, and goes no further', async () => {
    const ran: string[] = [];
    let releaseSlow: () => void = () => {};
    const quick = task('wait-quick', async (n: number) => {
      ran.push(`quick-${n}`);
      return { n, doubled: n * 2 };
    });
    const slow = task('wait-slow', async () => {
      await new Promise<void>((resolve) => (releaseSlow = resolve));
      ran.push('slow');
      return 'slow-done';
    });
    const after = task('wait-after', async () => ran.push('after'));
    flow({ name: 'wait-suspend' }, async () => {
      await quick(1);
      const inFlight = slow();
      await wait.approval({ title: 'Go on?' });
      await inFlight;
      await after();
    });
    const worker = new MemoryWorker();
    worker.answer = (rpc) => {
      if (rpc.method === 'createWait') return { wait: waitRow(rpc.body.key, rpc.body.spec) };
      if (rpc.method === 'suspend') return { suspended: true, wait: waitRow('wait-1', { kind: 'approval', title: 'Go on?' }) };
      return undefined;
    };
    const runId = randomUUID();

    const execution = launch('wait-suspend', worker, 1, runId);
    await until(() => worker.rpcs('createWait').length === 1, 'the wait to be created');
    // The suspension waits for the task in flight: nothing is suspended while it runs.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(worker.rpcs('suspend')).toEqual([]);
    releaseSlow();
    await until(() => worker.rpcs('suspend').length === 1, 'the suspension');

    const [suspension] = worker.rpcs('suspend');
    const byKey = Object.fromEntries((suspension?.results ?? []).map((r) => [r.taskKey, r]));
    expect(Object.keys(byKey).sort()).toEqual(['wait-quick-0', 'wait-slow-0']);
    const storage = directoryResultStorage(storageDir());
    const stored = await storage.read(recordedResultKey(runId, 'wait-quick-0', '0'));
    expect(new TextDecoder().decode(stored ?? new Uint8Array())).toBe('{"value":{"n":1,"doubled":2}}');
    expect(byKey['wait-quick-0']?.ref).toMatch(/^file:\/\//);
    // Parked: the flow goes no further and proposes no final state.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(ran).toEqual(['quick-1', 'slow']);
    expect(states(worker)).toEqual(['RUNNING']);
    worker.emit('message', { t: 'cancel', reason: 'test over' });
    await execution;
  });

  it('a result with no JSON form holds the process instead of suspending, with a warning', async () => {
    const makeMap = task('wait-map-result', async () => new Map([['a', 1]]));
    flow({ name: 'wait-unrecordable' }, async () => {
      await makeMap();
      await wait.token('unrecordable');
    });
    const worker = new MemoryWorker();
    let row: Wait | null = null;
    worker.answer = (rpc) => {
      if (rpc.method === 'createWait') {
        row = waitRow(rpc.body.key, rpc.body.spec);
        return { wait: row };
      }
      if (rpc.method === 'getWait' && row) return { wait: { ...row, ...resolved('done') } };
      return undefined;
    };

    await launch('wait-unrecordable', worker);

    expect(worker.rpcs('suspend')).toEqual([]);
    expect(worker.rpcs('getWait')).toHaveLength(1);
    const warning = worker.logs().find((l) => l.level === 'warning' && l.message.includes('instead of suspending'));
    expect(warning?.message).toContain('the result of task wait-map-result-0 cannot be recorded');
    expect(states(worker)).toEqual(['RUNNING', 'COMPLETED']);
  });

  it('a suspension the API cannot take holds the process instead, with a warning', async () => {
    let got: unknown;
    flow({ name: 'wait-suspend-refused' }, async () => {
      got = await wait.token('refused');
    });
    const worker = new MemoryWorker();
    worker.failMethods.add('suspend');
    let row: Wait | null = null;
    worker.answer = (rpc) => {
      if (rpc.method === 'createWait') {
        row = waitRow(rpc.body.key, rpc.body.spec);
        return { wait: row };
      }
      if (rpc.method === 'getWait' && row) return { wait: { ...row, ...resolved(7) } };
      return undefined;
    };

    await launch('wait-suspend-refused', worker);

    expect(got).toBe(7);
    expect(worker.rpcs('suspend')).toHaveLength(1);
    const warning = worker.logs().find((l) => l.level === 'warning' && l.message.includes('could not be suspended'));
    expect(warning?.message).toContain('API unavailable');
    expect(states(worker)).toEqual(['RUNNING', 'COMPLETED']);
  });

  it('a wait that resolved while suspending returns its value and the flow goes on', async () => {
    let got: unknown;
    flow({ name: 'wait-suspend-raced' }, async () => {
      got = await wait.token('raced');
    });
    const worker = new MemoryWorker();
    worker.answer = (rpc) => {
      if (rpc.method === 'createWait') return { wait: waitRow(rpc.body.key, rpc.body.spec) };
      if (rpc.method === 'suspend') {
        return { suspended: false, wait: waitRow('wait-1', { kind: 'token', token: 'raced' }, resolved({ ok: 1 })) };
      }
      return undefined;
    };

    await launch('wait-suspend-raced', worker);

    expect(got).toEqual({ ok: 1 });
    expect(states(worker)).toEqual(['RUNNING', 'COMPLETED']);
  });

  it('an attempt after a suspension answers completed tasks from their recorded results, without running or recording them', async () => {
    const ran: string[] = [];
    const first = task('replay-first', async (n: number) => {
      ran.push('first');
      return n + 1;
    });
    const second = task('replay-second', async (n: number) => {
      ran.push('second');
      return n * 10;
    });
    let result = 0;
    flow({ name: 'wait-replay' }, async () => {
      const a = await first(1);
      await wait.approval({ title: 'Continue?' });
      result = await second(a);
    });
    const runId = randomUUID();
    const storage = directoryResultStorage(storageDir());
    const { ref } = await storage.write(recordedResultKey(runId, 'replay-first-0', '0'), encodeResult(2), { expiresAt: null });
    const recorded: RecordedResult[] = [{ taskRunId: randomUUID(), taskKey: 'replay-first-0', dynamicKey: '0', ref }];
    const worker = new MemoryWorker();
    const decidedAt = new Date().toISOString();
    worker.answer = (rpc) => {
      if (rpc.method === 'replay') return { results: recorded };
      if (rpc.method === 'createWait') {
        const decision = { approved: true, data: null, comment: null, decidedBy: { id: randomUUID(), label: null }, decidedAt };
        return { wait: waitRow(rpc.body.key, rpc.body.spec, resolved(decision)) };
      }
      return undefined;
    };

    await launch('wait-replay', worker, 2, runId);

    expect(ran).toEqual(['second']);
    expect(result).toBe(20);
    expect(worker.creates().map((c) => c.taskKey)).toEqual(['replay-second-0']);
    expect(worker.logs().some((l) => l.message === 'task replay-first-0 answered from the recorded result')).toBe(true);
    // The resume notice is one line at its own level, not a terminal line (`[flow] info …`) shipped as a second one.
    const resuming = worker.logs().filter((l) => l.message.includes('resuming'));
    expect(resuming.map((l) => [l.level, l.message])).toEqual([
      ['info', 'resuming: 1 completed task(s) will be answered from their recorded results'],
    ]);
    expect(states(worker)).toEqual(['RUNNING', 'COMPLETED']);
  });

  it('a recorded result missing from the storage fails the call rather than running the task again', async () => {
    const ran: string[] = [];
    const once = task('replay-missing', async () => ran.push('ran'));
    flow({ name: 'wait-replay-missing' }, async () => {
      await once();
    });
    const worker = new MemoryWorker();
    worker.answer = (rpc) =>
      rpc.method === 'replay'
        ? { results: [{ taskRunId: randomUUID(), taskKey: 'replay-missing-0', dynamicKey: '0', ref: 'file:///gone' }] }
        : undefined;

    await launch('wait-replay-missing', worker, 2);

    expect(ran).toEqual([]);
    const failed = worker.rpcs('setState').at(-1)?.state;
    expect(failed?.type).toBe('FAILED');
    expect(failed?.message).toContain('is missing from the result storage');
  });

  it('waits are refused inside a task, where replay could not keep them', async () => {
    const inner = task('wait-in-task', async () => wait.token('t'));
    flow({ name: 'wait-in-task-flow' }, async () => {
      await inner();
    });
    const worker = new MemoryWorker();

    await launch('wait-in-task-flow', worker);

    const failed = worker.rpcs('setState').at(-1)?.state;
    expect(failed?.message).toContain('wait.token() was called inside task wait-in-task-0');
    expect(worker.rpcs('createWait')).toEqual([]);
  });
});
