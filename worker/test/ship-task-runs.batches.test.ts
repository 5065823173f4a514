import type { CallResult } from '@outpost/sdk/client';
import type { TaskRunEvent } from '@outpost/sdk/contracts';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { RunApi } from '../src/executors/run-api.js';
import { Redactor } from '../src/redact.js';
import { TaskRunShipper } from '../src/ship-task-runs.js';

const RUN = '00000000-0000-4000-8000-000000000001';

function event(i: number): TaskRunEvent {
  return {
    kind: 'create',
    id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    name: 'item',
    taskKey: `item-0[${i}]`,
    dynamicKey: String(i),
    state: { type: 'RUNNING' },
    at: new Date().toISOString(),
  };
}

/** The API as the shipper sees it: records each batch and answers as `answer` says. */
function fakeApi(answer: (events: TaskRunEvent[]) => CallResult<unknown> = (events) => ok(events.length)) {
  const batches: TaskRunEvent[][] = [];
  const api = {
    attempt: 1,
    async call(_name: string, input: { body: { events: TaskRunEvent[] } }) {
      batches.push(input.body.events);
      await new Promise((resolve) => setImmediate(resolve));
      return answer(input.body.events);
    },
  };
  return { api: api as unknown as RunApi, batches };
}

function ok(applied: number): CallResult<unknown> {
  return { ok: true, status: 200, data: { applied, duplicates: 0, refused: [] } };
}

function shipper(api: RunApi, batchSize = 500, onSettled?: (settled: number) => void) {
  return new TaskRunShipper({
    ...(onSettled ? { onSettled } : {}),
    api,
    redactor: () => new Redactor(['hunter2']),
    logger: pino({ level: 'silent' }),
    onStaleAttempt: () => {},
    runLog: () => {},
    batchMs: 20,
    batchSize,
  });
}

describe('task-run shipper', () => {
  it('sends events in order, a full batch at once and the rest after the batch interval', async () => {
    const { api, batches } = fakeApi();
    const s = shipper(api, 100);
    for (let i = 0; i < 250; i++) s.push(RUN, event(i));
    expect(await s.flush()).toBe(true);
    expect(batches.map((b) => b.length)).toEqual([100, 100, 50]);
    expect(batches.flat().map((e) => (e.kind === 'create' ? e.dynamicKey : ''))).toEqual(
      Array.from({ length: 250 }, (_, i) => String(i)),
    );
  });

  it('keeps shipping after its batch timer fires on an empty queue (a flush got there first)', async () => {
    const { api, batches } = fakeApi();
    const s = shipper(api);
    s.push(RUN, event(1));
    expect(await s.flush()).toBe(true);
    // The batch timer of the first event fires now, with nothing left to send.
    await new Promise((resolve) => setTimeout(resolve, 40));
    s.push(RUN, event(2));
    expect(await s.flush()).toBe(true);
    expect(batches.map((b) => b.length)).toEqual([1, 1]);
    expect(s.pending).toBe(0);
  });

  it('keeps the events of a batch it could not deliver and sends them with the next flush', async () => {
    let down = true;
    const { api, batches } = fakeApi((events) =>
      down ? { ok: false, kind: 'network_error', message: 'connect ECONNREFUSED', cause: null } : ok(events.length),
    );
    const s = shipper(api);
    s.push(RUN, event(1));
    expect(await s.flush()).toBe(false);
    expect(s.pending).toBe(1);
    down = false;
    expect(await s.flush()).toBe(true);
    expect(s.pending).toBe(0);
    expect(batches.at(-1)).toHaveLength(1);
  });

  it('sends a task that finished before its creation left as one creation carrying the final state', async () => {
    const { api, batches } = fakeApi();
    const settled: number[] = [];
    const s = shipper(api, 500, (n) => settled.push(n));
    const created = event(7) as Extract<TaskRunEvent, { kind: 'create' }>;
    s.push(RUN, created);
    s.push(RUN, {
      kind: 'state',
      id: created.id,
      seq: 1,
      state: { type: 'COMPLETED', data: 49 },
      at: new Date(Date.parse(created.at) + 5).toISOString(),
    });
    expect(s.pending).toBe(2);
    expect(await s.flush()).toBe(true);
    expect(s.pending).toBe(0);
    expect(batches).toHaveLength(1);
    expect(batches[0]).toEqual([
      expect.objectContaining({
        kind: 'create',
        id: created.id,
        seq: 1,
        state: { type: 'COMPLETED', data: 49 },
        startedAt: created.at,
      }),
    ]);
    // The flow process hears that both of its events are settled, so its window moves by two.
    expect(settled).toEqual([2]);
  });

  it('sends a change that happens while its creation is in flight as a separate event after it', async () => {
    const created = event(8) as Extract<TaskRunEvent, { kind: 'create' }>;
    let s: TaskRunShipper | null = null;
    const { api, batches } = fakeApi((events) => {
      // The creation is on the wire: this change must not be folded into it.
      if (batches.length === 1)
        s!.push(RUN, { kind: 'state', id: created.id, seq: 1, state: { type: 'COMPLETED' }, at: new Date().toISOString() });
      return ok(events.length);
    });
    s = shipper(api);
    s.push(RUN, created);
    expect(await s.flush()).toBe(true);
    expect(batches.map((b) => b.map((e) => e.kind))).toEqual([['create'], ['state']]);
    expect(batches[0]![0]).not.toHaveProperty('seq');
    expect(s.pending).toBe(0);
  });

  it('redacts task names and keys before they leave', async () => {
    const { api, batches } = fakeApi();
    const s = shipper(api);
    s.push(RUN, { ...event(1), name: 'load hunter2', taskKey: 'load hunter2-0' } as TaskRunEvent);
    await s.flush();
    expect(JSON.stringify(batches)).not.toContain('hunter2');
  });
});
