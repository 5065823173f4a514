import { randomUUID } from 'node:crypto';
import { MAX_EVENT_PAYLOAD_BYTES, type OutpostEvent } from '@outpost/sdk/contracts';
import { describe, expect, test } from 'vitest';
import { eventStreams } from './events.support.js';
import { type Call, claim, client, createRun, deploy, useServer, useWorkspace } from './helpers.js';

const api = useServer();
const own = useWorkspace(api);

async function emit(call: Call, events: unknown[]) {
  return call('POST', '/events', { body: { events } });
}

const stream = eventStreams(() => api.server.url);

describe('POST /events', () => {
  test('an API key records custom events about itself, idempotently by id', async () => {
    const id = randomUUID();
    const first = await emit(own.owner, [{ id, kind: 'model.metrics', payload: { auc: 0.91 } }]);
    expect(first.status, first.text).toBe(202);
    expect(first.body.ids).toEqual([id]);
    expect((await emit(own.owner, [{ id, kind: 'model.metrics', payload: { auc: 0.5 } }])).status).toBe(202);
    const listed = await own.owner('GET', '/events?kind=model.metrics');
    expect(listed.body.items).toHaveLength(1);
    const event = listed.body.items[0] as OutpostEvent;
    expect(event).toMatchObject({ id, kind: 'model.metrics', payload: { auc: 0.91 }, source: 'api' });
    expect(event.resource.kind).toBe('api-key');
  });

  test('a payload over the limit is refused naming the limit, and nothing of the batch is stored', async () => {
    const big = 'x'.repeat(MAX_EVENT_PAYLOAD_BYTES);
    const res = await emit(own.owner, [
      { kind: 'size.ok', payload: {} },
      { kind: 'size.big', payload: { big } },
    ]);
    expect(res.status, res.text).toBe(400);
    const error = res.body.errors.find((e: { path: string }) => e.path === 'body.events.1.payload');
    expect(error.message).toContain(`${MAX_EVENT_PAYLOAD_BYTES} bytes`);
    expect((await own.owner('GET', '/events?kind=size.*')).body.items).toEqual([]);
  });

  test('kinds of system events cannot be forged', async () => {
    const res = await emit(own.owner, [{ kind: 'flow-run.completed', payload: {} }]);
    expect(res.status).toBe(400);
    expect(res.body.errors[0]).toMatchObject({
      path: 'body.events.0.kind',
      message: 'this prefix is reserved for system events',
    });
  });

  test('a batch of 500 events at the payload limit fits in one request', async () => {
    const payload = { blob: 'y'.repeat(MAX_EVENT_PAYLOAD_BYTES - 20) };
    const events = Array.from({ length: 500 }, () => ({ kind: 'bulk.loaded', payload }));
    const res = await emit(own.owner, events);
    expect(res.status, res.text.slice(0, 300)).toBe(202);
    expect(res.body.ids).toHaveLength(500);
  });

  test('a run token records events about its run, related to its flow and deployment', async () => {
    const deployment = await deploy(own.owner, { flowName: 'train', name: 'daily' });
    const run = await createRun(own.owner, deployment.id);
    const [claimed] = await claim(own.owner, 'default', 1);
    expect(claimed.flowRun.id).toBe(run.id);
    const asRun = client(api.server, claimed.token);
    const res = await emit(asRun, [{ kind: 'model.trained', payload: { loss: 0.1 } }]);
    expect(res.status, res.text).toBe(202);
    const [event] = (await own.owner('GET', '/events?kind=model.trained')).body.items as OutpostEvent[];
    expect(event?.source).toBe('run');
    expect(event?.resource).toEqual({ kind: 'flow-run', id: run.id, name: run.name });
    expect(event?.related.map((r) => r.kind).sort()).toEqual(['deployment', 'flow']);
    // Found through the run as a related resource too.
    const byRun = await own.owner('GET', `/events?resourceId=${run.id}&kind=model.*`);
    expect(byRun.body.items.map((e: OutpostEvent) => e.id)).toEqual([event?.id]);
  });
});

describe('GET /events', () => {
  test('filters by kind prefix and pages newest first with a cursor, and reads in ledger order after a seq', async () => {
    const mine = await api.server.createWorkspace();
    const call = client(api.server, mine.ownerKey);
    for (let i = 0; i < 5; i++) expect((await emit(call, [{ kind: `paging.step-${i}`, payload: { i } }])).status).toBe(202);
    await emit(call, [{ kind: 'other.thing' }]);
    const first = await call('GET', '/events?kind=paging.*&limit=2');
    expect(first.body.items.map((e: OutpostEvent) => e.payload.i)).toEqual([4, 3]);
    const second = await call('GET', `/events?kind=paging.*&limit=2&cursor=${first.body.nextCursor}`);
    expect(second.body.items.map((e: OutpostEvent) => e.payload.i)).toEqual([2, 1]);
    const third = await call('GET', `/events?kind=paging.*&limit=2&cursor=${second.body.nextCursor}`);
    expect(third.body.items.map((e: OutpostEvent) => e.payload.i)).toEqual([0]);
    expect(third.body.nextCursor).toBeNull();
    const after = first.body.items[1].seq as string;
    const asc = await call('GET', `/events?order=asc&afterSeq=${after}&kind=paging.step-4,other.thing`);
    expect(asc.body.items.map((e: OutpostEvent) => e.kind)).toEqual(['paging.step-4', 'other.thing']);
    // Another workspace sees none of it.
    expect((await own.owner('GET', '/events?kind=paging.*')).body.items).toEqual([]);
  });

  test('a forged cursor is a 400 naming it', async () => {
    const res = await own.owner('GET', '/events?cursor=bm9wZQ');
    expect(res.status).toBe(400);
    expect(res.body.errors[0].path).toBe('query.cursor');
  });
});

describe('GET /events/stream', () => {
  test('delivers each committed event of the workspace matching the filter, and no other workspace’s', async () => {
    const live = await stream(own.ws.ownerKey, '?kind=live.*');
    const other = await api.server.createWorkspace();
    await emit(client(api.server, other.ownerKey), [{ kind: 'live.elsewhere' }]);
    await emit(own.owner, [{ kind: 'quiet.ignored' }, { kind: 'live.one', payload: { n: 1 } }]);
    await emit(own.owner, [{ kind: 'live.two', payload: { n: 2 } }]);
    await live.waitFor<OutpostEvent>((e) => e.kind === 'live.two');
    expect((live.events as OutpostEvent[]).map((e) => e.kind)).toEqual(['live.one', 'live.two']);
  });

  test('system events stream live too: a run created shows as flow-run.scheduled', async () => {
    const live = await stream(own.ws.ownerKey, '?kind=flow-run.*');
    const deployment = await deploy(own.owner, { flowName: 'streamed', name: 'd' });
    const run = await createRun(own.owner, deployment.id);
    const event = await live.waitFor<OutpostEvent>((e) => e.resource.id === run.id);
    expect(event.kind).toBe('flow-run.scheduled');
  });

  test('resuming after a seq replays the stored events after it, then goes on live without repeating any', async () => {
    const mine = await api.server.createWorkspace();
    const call = client(api.server, mine.ownerKey);
    const first = await emit(call, [{ kind: 'resume.a' }]);
    expect(first.status).toBe(202);
    const [a] = (await call('GET', '/events?kind=resume.*')).body.items as OutpostEvent[];
    await emit(call, [{ kind: 'resume.b' }, { kind: 'resume.c' }]);
    // A browser's EventSource sends the last id it saw as Last-Event-ID.
    const live = await stream(mine.ownerKey, '?kind=resume.*', { 'last-event-id': a?.seq ?? '' });
    await live.waitFor<OutpostEvent>((e) => e.kind === 'resume.c');
    await emit(call, [{ kind: 'resume.d' }]);
    await live.waitFor<OutpostEvent>((e) => e.kind === 'resume.d');
    expect((live.events as OutpostEvent[]).map((e) => e.kind)).toEqual(['resume.b', 'resume.c', 'resume.d']);
  });

  test('a viewer may watch, and a worker key may not', async () => {
    await stream(await own.ws.createKey('viewer'));
    const res = await fetch(`${api.server.url}/api/v1/events/stream`, {
      headers: { authorization: `Bearer ${await own.ws.createKey('worker')}` },
    });
    expect(res.status).toBe(403);
    await res.body?.cancel();
  });
});
