import { randomUUID } from 'node:crypto';
import type { FlowRun } from '@outpost/sdk/contracts';
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { createSignInLink } from '../src/auth/sessions.js';
import { createLogger } from '../src/logger.js';
import { RunEventHub } from '../src/runs/run-event-hub.js';
import { RunNotifier } from '../src/runs/run-notifier.js';
import { startTestServer, type TestWorkspace } from '../src/testing/index.js';
import { EventReader, openEvents } from './events.support.js';
import { type Call, claim, client, createRun, deploy, eventually, useServer } from './helpers.js';
import { openBrowserSession } from './sessions.support.js';

let other: TestWorkspace;
let otherOwner: Call;
const aborts: AbortController[] = [];

function controller(): AbortController {
  const c = new AbortController();
  aborts.push(c);
  return c;
}

async function stream(key: string): Promise<EventReader> {
  const { response, reader } = await openEvents(api.server.url, { authorization: `Bearer ${key}` }, controller().signal);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
  expect(response.headers.get('cache-control')).toBe('no-store');
  if (!reader) throw new Error('no reader');
  await reader.waitForComment('connected');
  return reader;
}

const api = useServer();

beforeAll(async () => {
  other = await api.server.createWorkspace();
  otherOwner = client(api.server, other.ownerKey);
});
afterEach(() => {
  for (const c of aborts.splice(0)) c.abort();
});

const stateOf = (id: string, type: string) => (run: FlowRun) => run.id === id && run.state.type === type;

describe('the flow-run event stream', () => {
  test('delivers a run’s creation and each state change as the run’s full JSON', async () => {
    const events = await stream(api.server.ownerKey);
    const deployment = await deploy(api.owner, { flowName: 'live', name: 'd' });
    const run = await createRun(api.owner, deployment.id);
    const scheduled = await events.waitFor<FlowRun>(stateOf(run.id, 'SCHEDULED'));
    expect(scheduled).toEqual((await api.owner('GET', `/flow-runs/${run.id}`)).body);

    const [claimed] = await claim(api.owner, 'default', 1);
    expect(claimed.flowRun.id).toBe(run.id);
    await events.waitFor<FlowRun>(stateOf(run.id, 'PENDING'));
    const asRun = client(api.server, claimed.token);
    await asRun('POST', `/flow-runs/${run.id}/set-state`, { body: { transitionId: randomUUID(), state: { type: 'RUNNING' } } });
    await events.waitFor<FlowRun>(stateOf(run.id, 'RUNNING'));
    await asRun('POST', `/flow-runs/${run.id}/set-state`, {
      body: { transitionId: randomUUID(), state: { type: 'COMPLETED' } },
    });
    const completed = await events.waitFor<FlowRun>(stateOf(run.id, 'COMPLETED'));
    expect(completed.endTime).not.toBeNull();
  });

  test('never sends another workspace’s runs', async () => {
    const theirs = await stream(other.ownerKey);
    const ours = await deploy(api.owner, { flowName: 'private-flow', name: 'mine' });
    const mine = await Promise.all([1, 2, 3].map(() => createRun(api.owner, ours.id)));
    const theirDeployment = await deploy(otherOwner, { flowName: 'their-flow', name: 'theirs' });
    const barrier = await createRun(otherOwner, theirDeployment.id);
    // Their own run arrives; by then ours, created earlier, would have too.
    await theirs.waitFor<FlowRun>((r) => r.id === barrier.id);
    const seen = (theirs.events as FlowRun[]).map((r) => r.id);
    for (const run of mine) expect(seen).not.toContain(run.id);
    expect(JSON.stringify(theirs.events)).not.toContain('private-flow');
  });

  test('a browser session streams with its cookie; no credential, a run token or a worker key cannot', async () => {
    const { token } = await createSignInLink(api.server.sql, { workspaceId: api.server.workspaceId, role: 'viewer' });
    const { cookie } = await openBrowserSession(api.server, { token });
    const viaCookie = await openEvents(api.server.url, { cookie, 'sec-fetch-site': 'same-origin' }, controller().signal);
    expect(viaCookie.response.status).toBe(200);
    await viaCookie.reader?.waitForComment('connected');
    const deployment = await deploy(api.owner, { flowName: 'cookie-flow', name: 'd' });
    const run = await createRun(api.owner, deployment.id);
    await viaCookie.reader?.waitFor<FlowRun>((r) => r.id === run.id);

    expect((await openEvents(api.server.url, {}, controller().signal)).response.status).toBe(401);
    const workerKey = await api.server.createKey('worker');
    expect(
      (await openEvents(api.server.url, { authorization: `Bearer ${workerKey}` }, controller().signal)).response.status,
    ).toBe(403);
    const [claimed] = await claim(api.owner, 'default', 1);
    const byToken = await openEvents(api.server.url, { authorization: `Bearer ${claimed.token}` }, controller().signal);
    expect(byToken.response.status).toBe(403);
    const query = await fetch(`${api.server.url}/api/v1/flow-runs/events?sneaky=1`, {
      headers: { authorization: `Bearer ${api.server.ownerKey}` },
    });
    expect(query.status).toBe(400);
  });
});

describe('the event hub', () => {
  test('sends keep-alive comments, and forgets a stream when its client disconnects', async () => {
    const notifier = new RunNotifier(api.server.databaseUrl, createLogger('silent'));
    await notifier.start();
    const hub = new RunEventHub(api.server.sql, notifier, createLogger('silent'), { pingMs: 50 });
    try {
      const leaving = new AbortController();
      const reader = new EventReader(hub.open(api.server.workspaceId, leaving.signal));
      await reader.waitForComment('ping');
      expect(hub.size).toBe(1);
      leaving.abort();
      await reader.finished;
      expect(hub.size).toBe(0);

      const cancelled = hub.open(api.server.workspaceId, new AbortController().signal);
      expect(hub.size).toBe(1);
      await cancelled.body?.cancel();
      expect(hub.size).toBe(0);
    } finally {
      hub.close();
      await notifier.close();
    }
  });

  test('a change arriving while nothing is being read is written at once, not after the batch window', async () => {
    const deployment = await deploy(api.owner, { flowName: 'leading-edge', name: 'd' });
    // Created before the hub has a stream for the workspace, so their own announcements are ignored.
    const first = await createRun(api.owner, deployment.id);
    const second = await createRun(api.owner, deployment.id);
    const notifier = new RunNotifier(api.server.databaseUrl, createLogger('silent'));
    await notifier.start();
    // A window far longer than the waits below: only a read at the change's arrival can pass.
    const hub = new RunEventHub(api.server.sql, notifier, createLogger('silent'), { flushMs: 600_000 });
    const announce = (runId: string) =>
      api.server.sql`SELECT pg_notify('outpost_run_events', ${`${api.server.workspaceId}:${runId}`})`;
    try {
      const reader = new EventReader(hub.open(api.server.workspaceId, new AbortController().signal));
      await reader.waitForComment('connected');
      await announce(first.id);
      expect(await reader.waitFor<FlowRun>((r) => r.id === first.id)).toMatchObject({ id: first.id });
      // The first read is over; a later lone change is read at once too, not held for the window.
      await announce(second.id);
      expect(await reader.waitFor<FlowRun>((r) => r.id === second.id)).toMatchObject({ id: second.id });
      expect((reader.events as FlowRun[]).map((r) => r.id)).toEqual([first.id, second.id]);
    } finally {
      hub.close();
      await notifier.close();
    }
  }, 30_000);

  test('after the listener reconnects every stream is ended, so clients re-read what they missed', async () => {
    const notifier = new RunNotifier(api.server.databaseUrl, createLogger('silent'));
    await notifier.start();
    const hub = new RunEventHub(api.server.sql, notifier, createLogger('silent'));
    try {
      const reader = new EventReader(hub.open(api.server.workspaceId, new AbortController().signal));
      await reader.waitForComment('connected');
      await api.server
        .sql`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'outpost-api-listener' AND datname = current_database()`;
      await reader.finished;
      expect(hub.size).toBe(0);
      await eventually(async () => (notifier.connected ? true : undefined));
    } finally {
      hub.close();
      await notifier.close();
    }
  });
});

test('shutting the server down ends open streams at once instead of waiting for them', async () => {
  const own = await startTestServer({ loops: false });
  try {
    const { reader } = await openEvents(own.url, { authorization: `Bearer ${own.ownerKey}` }, controller().signal);
    await reader?.waitForComment('connected');
    const started = performance.now();
    await own.close();
    await reader?.finished;
    expect(performance.now() - started).toBeLessThan(5_000);
  } finally {
    await own.close();
  }
});

test('the OpenAPI document describes the stream as text/event-stream and signing in as needing no credential', async () => {
  const doc = await api.owner('GET', '/openapi.json');
  expect(doc.status).toBe(200);
  const events = doc.body.paths['/api/v1/flow-runs/events'].get;
  expect(Object.keys(events.responses['200'].content)).toEqual(['text/event-stream']);
  expect(events.security).toBeUndefined();
  expect(doc.body.paths['/api/v1/auth/session'].post.security).toEqual([]);
  expect(doc.body.paths['/api/v1/auth/session'].delete.security).toEqual([]);
});
