import { afterEach, describe, expect, test } from 'vitest';
import { SERVER_VERSION } from '../src/http/server-version.js';
import { useServer } from './helpers.js';
import { destroyOpenConnections, type RawConnection, type RawResponse, rawConnection, requestHead } from './raw-http.support.js';

/*
 * Requests Node's HTTP parser refuses never reach the app; the server answers them itself. They get
 * the same RFC 9457 problem+json as every other error, and the connection is closed after the answer.
 */

const api = useServer();

afterEach(() => {
  expect(destroyOpenConnections(), 'connections a test left open').toBe(0);
});

/** Resolves once `text` was received on the connection. */
function received(conn: RawConnection, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (conn.received().includes(text)) done(resolve);
      else if (conn.isClosed()) done(() => reject(new Error(`closed before "${text}" arrived`)));
    };
    const done = (settle: () => void) => {
      conn.socket.off('data', check);
      conn.socket.off('close', check);
      settle();
    };
    conn.socket.on('data', check);
    conn.socket.on('close', check);
    check();
  });
}

function expectProblem(response: RawResponse, status: number, code: string): void {
  expect(response.status).toBe(status);
  expect(response.headers['content-type']).toBe('application/problem+json');
  expect(response.headers.connection).toBe('close');
  expect(Number(response.headers['content-length'])).toBe(Buffer.byteLength(response.body));
  const problem = JSON.parse(response.body);
  expect(problem).toMatchObject({ type: `urn:outpost:problem:${code}`, status, code });
  expect(typeof problem.title).toBe('string');
  expect(typeof problem.detail).toBe('string');
  expect(problem.requestId).toMatch(/^[0-9a-f-]{36}$/);
  expect(response.headers['x-request-id']).toBe(problem.requestId);
  expect(response.headers['outpost-server-version']).toBe(SERVER_VERSION);
  expect(response.body).not.toMatch(/at .*\.js:\d+/);
}

describe('answers from the HTTP parser', () => {
  test('headers larger than the server accepts are answered 431 with a problem+json body, then the connection closes', async () => {
    const conn = await rawConnection(api.server.url);
    conn.socket.write(requestHead('GET', '/healthz', { 'x-padding': 'a'.repeat(64 * 1024) }));
    expectProblem(await conn.response(), 431, 'headers_too_large');
    await conn.closed();
    expect(conn.responses()).toHaveLength(1);
  });

  test('a garbage request line is answered 400 with a problem+json body, then the connection closes', async () => {
    const conn = await rawConnection(api.server.url);
    conn.socket.write('\x16\x03\x01 this is not HTTP\r\n\r\n');
    expectProblem(await conn.response(), 400, 'malformed_request');
    await conn.closed();
  });

  test('a header line without a colon is answered 400 with a problem+json body', async () => {
    const conn = await rawConnection(api.server.url);
    conn.socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nno colon here\r\n\r\n');
    expectProblem(await conn.response(), 400, 'malformed_request');
    await conn.closed();
  });

  test('a malformed request after a well-formed one on the same connection gets its own problem after the first answer', async () => {
    const conn = await rawConnection(api.server.url);
    conn.socket.write(`${requestHead('GET', '/healthz')}BREW /pot HTCPCP/1.0\r\n\r\n`);
    const first = await conn.response(1);
    expect(first.status).toBe(200);
    expectProblem(await conn.response(2), 400, 'malformed_request');
    await conn.closed();
  });

  test('garbage sent while a response is streaming is never answered on top of it: the stream goes on', async () => {
    const conn = await rawConnection(api.server.url);
    conn.socket.write(requestHead('GET', '/api/v1/flow-runs/events', { authorization: `Bearer ${api.server.ownerKey}` }));
    await received(conn, ': connected');
    conn.socket.write('NOT HTTP AT ALL\r\n\r\n');
    // The stream still delivers: a run created now arrives on it, and nothing else was written in between.
    const deployment = (
      await api.owner('PUT', '/deployments', {
        body: { flowName: 'streamed', name: 'd', source: 'dir:///never-fetched', entrypoint: 'f.js', workPool: 'default' },
      })
    ).body.deployment;
    const run = (await api.owner('POST', `/deployments/${deployment.id}/runs`, { body: {} })).body.flowRun;
    await received(conn, run.id);
    const text = conn.received();
    expect(text.startsWith('HTTP/1.1 200 OK')).toBe(true);
    expect(text.match(/HTTP\/1\.1 \d{3}/g)).toHaveLength(1);
    expect(text).not.toContain('problem');
    conn.socket.destroy();
    await conn.closed();
  });

  test('an HTTP/1.1 request without a Host header is answered 400 with a problem+json body', async () => {
    const conn = await rawConnection(api.server.url);
    conn.socket.write('GET /healthz HTTP/1.1\r\n\r\n');
    expectProblem(await conn.response(), 400, 'malformed_request');
    await conn.closed();
  });

  test('an expectation other than 100-continue is answered 417 with a problem+json body', async () => {
    const conn = await rawConnection(api.server.url);
    conn.socket.write(requestHead('GET', '/healthz', { expect: 'the-impossible' }));
    expectProblem(await conn.response(), 417, 'expectation_failed');
    await conn.closed();
  });

  test('the app still answers well-formed requests on new connections afterwards', async () => {
    const res = await fetch(`${api.server.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });
});
