import { randomUUID } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { scoreTaskCreated, startedRun as startedRunOf, useServer } from './helpers.js';

const api = useServer();

const startedRun = (pool = 'default') => startedRunOf(api.server, api.owner, pool);

const at = (ms = 0) => new Date(Date.now() - 60_000 + ms).toISOString();
const create = (id: string, i: number) => scoreTaskCreated(id, i, at(i));
const state = (id: string, seq: number, type: string, name?: string) => ({
  kind: 'state',
  id,
  seq,
  runCount: seq,
  state: { type, ...(name ? { name } : {}) },
  at: at(1000 + seq),
});

async function taskRuns(runId: string) {
  return (await api.owner('GET', `/flow-runs/${runId}/task-runs?limit=1000`)).body.items as Array<{
    id: string;
    state: { type: string; name: string };
    runCount: number;
    startTime: string | null;
    endTime: string | null;
  }>;
}

describe('task-run batches', () => {
  test('create and finish many task runs in one request; a retried batch changes nothing twice', async () => {
    const { id, asRun } = await startedRun();
    const ids = Array.from({ length: 300 }, () => randomUUID());
    const events = [...ids.map((t, i) => create(t, i)), ...ids.map((t) => state(t, 1, 'COMPLETED'))];
    const first = await asRun('POST', `/flow-runs/${id}/task-runs/batch`, { body: { flowRunAttempt: 1, events } });
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ applied: 600, duplicates: 0, refused: [] });
    const again = await asRun('POST', `/flow-runs/${id}/task-runs/batch`, { body: { flowRunAttempt: 1, events } });
    expect(again.body).toEqual({ applied: 0, duplicates: 600, refused: [] });
    const stored = await taskRuns(id);
    expect(stored).toHaveLength(300);
    expect(stored.every((t) => t.state.type === 'COMPLETED' && t.startTime !== null && t.endTime !== null)).toBe(true);
    // Times are the events': created in order, a millisecond apart, so the list is in call order.
    expect(stored.map((t) => t.id)).toEqual(ids);
  });

  test('a batch delivered after a later one cannot move a task run back', async () => {
    const { id, asRun } = await startedRun();
    const t = randomUUID();
    const send = (events: unknown[]) =>
      asRun('POST', `/flow-runs/${id}/task-runs/batch`, { body: { flowRunAttempt: 1, events } });
    await send([create(t, 0)]);
    // The retry's batch arrives last: the task run stays COMPLETED on its third run.
    expect((await send([state(t, 3, 'COMPLETED')])).body.applied).toBe(1);
    expect((await send([state(t, 1, 'RUNNING', 'Retrying'), state(t, 2, 'RUNNING', 'Retrying')])).body).toMatchObject({
      applied: 0,
      duplicates: 2,
    });
    const [stored] = await taskRuns(id);
    expect(stored).toMatchObject({ state: { type: 'COMPLETED' }, runCount: 3 });
    // Within one batch the highest sequence number wins, whatever the order.
    const u = randomUUID();
    await send([create(u, 1), state(u, 2, 'FAILED'), state(u, 1, 'RUNNING', 'Retrying')]);
    expect((await taskRuns(id)).find((r) => r.id === u)).toMatchObject({ state: { type: 'FAILED' }, runCount: 2 });
  });

  test('a creation carrying merged later changes stores the final state, its start time and run count, and older changes cannot undo it', async () => {
    const { id, asRun } = await startedRun();
    const t = randomUUID();
    const send = (events: unknown[]) =>
      asRun('POST', `/flow-runs/${id}/task-runs/batch`, { body: { flowRunAttempt: 1, events } });
    const started = at(0);
    const ended = at(2000);
    const merged = { ...create(t, 0), state: { type: 'COMPLETED' }, at: ended, seq: 2, runCount: 2, startedAt: started };
    expect((await send([merged])).body).toEqual({ applied: 1, duplicates: 0, refused: [] });
    const [stored] = await taskRuns(id);
    expect(stored).toMatchObject({ state: { type: 'COMPLETED' }, runCount: 2, startTime: started, endTime: ended });
    // The changes it stands for, delivered again on their own, are duplicates.
    expect((await send([state(t, 1, 'FAILED'), state(t, 2, 'COMPLETED')])).body).toMatchObject({ applied: 0, duplicates: 2 });
    expect((await taskRuns(id))[0]).toMatchObject({ state: { type: 'COMPLETED' }, runCount: 2 });
  });

  test("refuses, item by item, another run's task-run id and a state for a task run that does not exist", async () => {
    const a = await startedRun();
    const b = await startedRun();
    const theirs = randomUUID();
    await b.asRun('POST', `/flow-runs/${b.id}/task-runs/batch`, { body: { flowRunAttempt: 1, events: [create(theirs, 0)] } });
    const mine = randomUUID();
    const ghost = randomUUID();
    const res = await a.asRun('POST', `/flow-runs/${a.id}/task-runs/batch`, {
      body: {
        flowRunAttempt: 1,
        events: [create(theirs, 0), create(mine, 1), state(ghost, 1, 'COMPLETED'), state(theirs, 1, 'FAILED')],
      },
    });
    expect(res.status).toBe(200);
    expect(res.body.applied).toBe(1);
    expect(res.body.refused.map((r: { index: number; id: string }) => [r.index, r.id])).toEqual([
      [0, theirs],
      [2, ghost],
      [3, theirs],
    ]);
    // B's task run is untouched.
    expect((await taskRuns(b.id))[0]).toMatchObject({ id: theirs, state: { type: 'RUNNING' } });
  });

  test('refuses a batch of a superseded attempt, and one over the size limit with the limit named', async () => {
    const { id, asRun } = await startedRun();
    const stale = await asRun('POST', `/flow-runs/${id}/task-runs/batch`, {
      body: { flowRunAttempt: 2, events: [create(randomUUID(), 0)] },
    });
    expect(stale.status).toBe(409);
    const tooMany = await asRun('POST', `/flow-runs/${id}/task-runs/batch`, {
      body: { flowRunAttempt: 1, events: Array.from({ length: 1001 }, (_, i) => create(randomUUID(), i)) },
    });
    expect(tooMany.status).toBe(400);
    expect(JSON.stringify(tooMany.body.errors)).toContain('body.events');
  });

  test('pages through a run’s task runs by state and name, and summarises them by state, name and time', async () => {
    const { id, asRun } = await startedRun();
    const ids = Array.from({ length: 25 }, () => randomUUID());
    const events = [
      ...ids.map((t, i) => ({ ...create(t, i), name: i < 20 ? 'score' : 'load' })),
      ...ids.slice(0, 18).map((t) => state(t, 1, 'COMPLETED')),
      state(ids[18]!, 1, 'FAILED'),
    ];
    await asRun('POST', `/flow-runs/${id}/task-runs/batch`, { body: { flowRunAttempt: 1, events } });
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { items: { id: string }[]; nextCursor: string | null } } = await api.owner(
        'GET',
        `/flow-runs/${id}/task-runs?limit=10${cursor ? `&cursor=${cursor}` : ''}`,
      );
      seen.push(...page.body.items.map((t) => t.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(ids);
    const running = (await api.owner('GET', `/flow-runs/${id}/task-runs?state=RUNNING,FAILED`)).body.items;
    expect(running.map((t: { id: string }) => t.id)).toEqual(ids.slice(18));
    expect((await api.owner('GET', `/flow-runs/${id}/task-runs?name=load`)).body.items).toHaveLength(5);

    const summary = (await api.owner('GET', `/flow-runs/${id}/task-runs/summary`)).body;
    expect(summary.total).toBe(25);
    expect(summary.byState).toEqual({ COMPLETED: 18, FAILED: 1, RUNNING: 6 });
    expect(summary.byName.map((n: { name: string; total: number }) => [n.name, n.total])).toEqual([
      ['score', 20],
      ['load', 5],
    ]);
    expect(summary.byName[0].meanMs).toBeGreaterThan(0);
    expect(summary.timeline.active).toHaveLength(120);
    expect(Math.max(...summary.timeline.active)).toBeGreaterThan(0);
    expect(Math.max(...summary.timeline.active)).toBeLessThanOrEqual(25);
  });
});
