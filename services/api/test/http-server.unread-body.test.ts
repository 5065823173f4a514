import { afterEach, describe, expect, test } from 'vitest';
import { useServer } from './helpers.js';
import { destroyOpenConnections, rawConnection, requestHead } from './raw-http.support.js';

/*
 * When the API answers before it has read a request's body (413 for an announced size, 401 before
 * the body arrived), the rest of the body is still on its way. The client must be told the
 * connection ends (Connection: close) rather than find its next keep-alive request silently dropped,
 * and it must be able to read the answer while it is still sending.
 */

const api = useServer();

afterEach(() => {
  expect(destroyOpenConnections(), 'connections a test left open').toBe(0);
});

const MiB = 1024 * 1024;

/** The head of a JSON request creating a pool; `framing` says how long its body is (a length or chunked). */
function createPoolHead(framing: Record<string, string | number>, token = api.server.ownerKey): string {
  return requestHead('POST', '/api/v1/work-pools', {
    authorization: `Bearer ${token}`,
    'content-type': 'application/json',
    ...framing,
  });
}

function createPool(name: string, token = api.server.ownerKey): string {
  const body = JSON.stringify({ name });
  return `${createPoolHead({ 'content-length': Buffer.byteLength(body) }, token)}${body}`;
}

async function poolExists(name: string): Promise<boolean> {
  return (await api.owner('GET', `/work-pools/${name}`)).status === 200;
}

describe('answers given before the request body was read', () => {
  test('a body refused for its announced size gets a 413 with Connection: close, and a request sent after it on the connection is not processed', async () => {
    const conn = await rawConnection(api.server.url);
    const size = 8 * MiB;
    conn.socket.write(createPoolHead({ 'content-length': size }));
    conn.socket.write(Buffer.alloc(64 * 1024, 0x20));
    const refused = await conn.response();
    expect(refused.status).toBe(413);
    expect(refused.headers['content-type']).toBe('application/problem+json');
    expect(JSON.parse(refused.body)).toMatchObject({ code: 'payload_too_large' });
    expect(refused.headers.connection).toBe('close');

    // A keep-alive client finishes the body, then sends its next request on the same connection.
    conn.socket.write(Buffer.alloc(size - 64 * 1024, 0x20));
    conn.socket.write(createPool('after-a-refused-body'));
    await conn.closed();
    expect(conn.responses()).toHaveLength(1);
    expect(await poolExists('after-a-refused-body')).toBe(false);
  });

  test('a 401 sent before the announced body arrived says Connection: close, and the connection closes once the client is done', async () => {
    const conn = await rawConnection(api.server.url);
    conn.socket.write(createPoolHead({ 'content-length': 256 * 1024 }, 'op_not_a_real_key'));
    const refused = await conn.response();
    expect(refused.status).toBe(401);
    expect(refused.headers.connection).toBe('close');
    conn.socket.end();
    await conn.closed();
    expect(conn.error()).toBeNull();
  });

  test('an early answer to a request whose body had fully arrived keeps the connection for the next request', async () => {
    const conn = await rawConnection(api.server.url);
    conn.socket.write(`${createPool('never-created', 'op_not_a_real_key')}${requestHead('GET', '/healthz')}`);
    const refused = await conn.response(1);
    expect(refused.status).toBe(401);
    expect(refused.headers.connection).toBe('keep-alive');
    const next = await conn.response(2);
    expect(next.status).toBe(200);
    expect(JSON.parse(next.body)).toEqual({ status: 'ok' });
    expect(conn.isClosed()).toBe(false);
    conn.socket.destroy();
    await conn.closed();
  });

  test('a chunked body refused part-way through never costs the request pipelined after it without a word', async () => {
    const conn = await rawConnection(api.server.url);
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    const chunks: Buffer[] = [];
    // 1.5 MiB in 64 KiB chunks: the 1 MiB limit is found while counting, after part of the body was read.
    for (let i = 0; i < 24; i++) chunks.push(Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n'));
    conn.socket.write(createPoolHead({ 'transfer-encoding': 'chunked' }));
    conn.socket.write(Buffer.concat([...chunks, Buffer.from('0\r\n\r\n')]));
    conn.socket.write(requestHead('GET', '/healthz'));
    const refused = await conn.response(1);
    expect(refused.status).toBe(413);
    if (refused.headers.connection === 'close') {
      await conn.closed();
      expect(conn.responses()).toHaveLength(1);
    } else {
      // Kept alive: then the next request is answered, however long the client waits before reading.
      const next = await conn.response(2);
      expect(next.status).toBe(200);
      conn.socket.destroy();
      await conn.closed();
    }
  });

  test('a client still uploading when refused reads the whole answer and is not reset', async () => {
    const conn = await rawConnection(api.server.url);
    const size = 8 * MiB;
    conn.socket.write(createPoolHead({ 'content-length': size }));
    // All of it at once: most of the body is still queued in the client when the answer arrives.
    conn.socket.write(Buffer.alloc(size, 0x20));
    const refused = await conn.response();
    expect(refused.status).toBe(413);
    expect(refused.headers.connection).toBe('close');
    conn.socket.end();
    await conn.closed();
    expect(conn.error()).toBeNull();
    expect(conn.responses()).toHaveLength(1);
  });
});
