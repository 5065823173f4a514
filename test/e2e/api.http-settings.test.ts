import { once } from 'node:events';
import net from 'node:net';
import { createTestDatabase, type TestDatabase } from '@outpost/api/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiProcess, startApiProcess } from '../support/api-process.js';

/** `outpost server start` reads its HTTP timeouts and connection cap from OUTPOST_HTTP_* variables. */
describe('the HTTP settings of an API process', () => {
  let db: TestDatabase;
  let api: ApiProcess | null = null;
  const sockets = new Set<net.Socket>();

  async function connect(url: string): Promise<net.Socket> {
    const { hostname, port } = new URL(url);
    const socket = net.connect(Number(port), hostname);
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    await once(socket, 'connect');
    return socket;
  }

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await api?.stop();
    await db?.drop();
  });

  it('come from the environment: keep-alive and headers timeouts act as set', async () => {
    api = await startApiProcess(db.url, {
      OUTPOST_HTTP_HEADERS_TIMEOUT_SECONDS: '1',
      OUTPOST_HTTP_REQUEST_TIMEOUT_SECONDS: '2',
      OUTPOST_HTTP_KEEP_ALIVE_TIMEOUT_SECONDS: '3',
      OUTPOST_HTTP_MAX_CONNECTIONS: '50',
    });
    const res = await fetch(`${api.url}/healthz`);
    expect(res.status).toBe(200);
    expect(res.headers.get('keep-alive')).toBe('timeout=3');
    await res.text();

    const silent = await connect(api.url);
    const started = performance.now();
    await once(silent, 'close');
    // One second of headers timeout, checked once a second: closed within two, far before Node's 60 s default.
    expect(performance.now() - started).toBeGreaterThanOrEqual(900);
    expect(performance.now() - started).toBeLessThan(10_000);
    await api.stop();
    expect((await api.exited).code).toBe(0);
  });

  it('refuse to start with a headers timeout longer than the request timeout', async () => {
    const start = startApiProcess(db.url, { OUTPOST_HTTP_HEADERS_TIMEOUT_SECONDS: '300' });
    await expect(start).rejects.toThrow(
      /OUTPOST_HTTP_HEADERS_TIMEOUT_SECONDS: must not exceed OUTPOST_HTTP_REQUEST_TIMEOUT_SECONDS/,
    );
  });
});
