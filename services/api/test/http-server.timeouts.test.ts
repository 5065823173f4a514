import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { FlowRun } from '@outpost/sdk/contracts';
import { afterEach, describe, expect, test } from 'vitest';
import { openEvents } from './events.support.js';
import { createRun, deploy, useServer } from './helpers.js';
import { destroyOpenConnections, rawConnection, requestHead } from './raw-http.support.js';

/*
 * Short timeouts so the tests see them act: a client has 1 s for its headers, 2 s for a whole
 * request, and an idle keep-alive connection 1 s. Requests the server is busy answering — a
 * long-poll claim, the event stream — are not the client's to finish and must outlive all three.
 */
const HEADERS_MS = 1_000;
const REQUEST_MS = 2_000;
const KEEP_ALIVE_MS = 1_000;

const timers: NodeJS.Timeout[] = [];
const aborts: AbortController[] = [];

const api = useServer({
  loops: false,
  http: { headersTimeoutMs: HEADERS_MS, requestTimeoutMs: REQUEST_MS, keepAliveTimeoutMs: KEEP_ALIVE_MS },
});
afterEach(() => {
  for (const t of timers.splice(0)) clearInterval(t);
  for (const a of aborts.splice(0)) a.abort();
  expect(destroyOpenConnections(), 'connections a test left open').toBe(0);
});

describe('clients that are slow to send', () => {
  test('a connection that never sends a request is closed after the headers timeout, without an answer', async () => {
    const conn = await rawConnection(api.server.url);
    const started = performance.now();
    await conn.closed(30_000);
    expect(performance.now() - started).toBeGreaterThanOrEqual(HEADERS_MS - 100);
    expect(conn.received()).toBe('');
  });

  test('headers sent a byte at a time are cut at the headers timeout with a 408 problem', async () => {
    const conn = await rawConnection(api.server.url);
    const head = requestHead('GET', '/healthz', { 'x-slow': 'z'.repeat(200) });
    let sent = 0;
    const started = performance.now();
    // The attack itself: one byte every 50 ms, so the headers would take longer than 10 s.
    timers.push(
      setInterval(() => {
        if (sent < head.length - 1 && !conn.isClosed()) conn.socket.write(head[sent++] as string);
      }, 50),
    );
    const answer = await conn.response(1, 30_000);
    expect(performance.now() - started).toBeGreaterThanOrEqual(HEADERS_MS - 100);
    expect(answer.status).toBe(408);
    expect(answer.headers['content-type']).toBe('application/problem+json');
    expect(JSON.parse(answer.body)).toMatchObject({ status: 408, code: 'request_timeout' });
    await conn.closed();
  });

  test('a body that stops arriving is cut at the request timeout with a 408 problem', async () => {
    const conn = await rawConnection(api.server.url);
    conn.socket.write(
      requestHead('POST', '/api/v1/work-pools', {
        authorization: `Bearer ${api.server.ownerKey}`,
        'content-type': 'application/json',
        'content-length': 100,
      }),
    );
    conn.socket.write('{"name":');
    const answer = await conn.response(1, 30_000);
    expect(answer.status).toBe(408);
    expect(JSON.parse(answer.body)).toMatchObject({ status: 408, code: 'request_timeout' });
    await conn.closed();
    expect(conn.responses()).toHaveLength(1);
  });

  test('an idle keep-alive connection is closed after the keep-alive timeout', async () => {
    const conn = await rawConnection(api.server.url);
    conn.socket.write(requestHead('GET', '/healthz'));
    const answer = await conn.response();
    expect(answer.headers['keep-alive']).toBe(`timeout=${KEEP_ALIVE_MS / 1000}`);
    await conn.closed(30_000);
    expect(conn.responses()).toHaveLength(1);
  });
});

describe('requests the server is still answering', () => {
  test('a long-poll claim that waits longer than every timeout is answered', async () => {
    const pool = `lp-${randomUUID().slice(0, 8)}`;
    await api.owner('POST', '/work-pools', { body: { name: pool } });
    const key = await api.server.createKey('worker');
    const waitMs = 3 * REQUEST_MS;
    const started = performance.now();
    const res = await fetch(`${api.server.url}/api/v1/work-pools/${pool}/claim`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ workerId: randomUUID(), limit: 1, waitMs }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ runs: [] });
    expect(performance.now() - started).toBeGreaterThanOrEqual(waitMs - 200);
  });

  test('the run event stream stays open past every timeout and still delivers events', async () => {
    const abort = new AbortController();
    aborts.push(abort);
    const { response, reader } = await openEvents(
      api.server.url,
      { authorization: `Bearer ${api.server.ownerKey}` },
      abort.signal,
    );
    expect(response.status).toBe(200);
    if (!reader) throw new Error('no reader');
    await reader.waitForComment('connected');
    // Long enough for the request timeout and a keep-alive timeout to have acted on this connection.
    await delay(REQUEST_MS + KEEP_ALIVE_MS + 1_500);
    expect(reader.done).toBe(false);
    const deployment = await deploy(api.owner, { flowName: 'streamed', name: 'd' });
    const run = await createRun(api.owner, deployment.id);
    await reader.waitFor<FlowRun>((r) => r.id === run.id);
  });
});
