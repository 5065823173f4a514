import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, test } from 'vitest';
import { PROBE_HEADROOM } from '../src/http/server-limits.js';
import { eventually, useServer } from './helpers.js';
import { destroyOpenConnections, type RawConnection, rawConnection, requestHead } from './raw-http.support.js';

/*
 * A server that may serve 4 requests at once and hold PROBE_HEADROOM more connections for the
 * health probes. Connections that are not being served are closed, longest idle first, to make
 * room; requests beyond the cap are refused with a 503 except the probes.
 */
const MAX = 4;
const ADMITTED = MAX + PROBE_HEADROOM;

const api = useServer({ loops: false, http: { maxConnections: MAX } });

afterEach(() => {
  expect(destroyOpenConnections(), 'connections a test left open').toBe(0);
});

async function servedKeepAlive(): Promise<RawConnection> {
  const conn = await rawConnection(api.server.url);
  conn.socket.write(requestHead('GET', '/healthz'));
  expect((await conn.response()).status).toBe(200);
  return conn;
}

async function closeAll(conns: RawConnection[]): Promise<void> {
  for (const conn of conns) conn.socket.destroy();
  await Promise.all(conns.map((c) => c.closed()));
}

describe('the connection cap', () => {
  test('a new connection at the cap closes the one idle longest and is served', async () => {
    const idle: RawConnection[] = [];
    for (let i = 0; i < ADMITTED; i++) idle.push(await servedKeepAlive());
    const [oldest, ...rest] = idle as [RawConnection, ...RawConnection[]];

    const newcomer = await servedKeepAlive();
    await oldest.closed();
    expect(rest.every((c) => !c.isClosed())).toBe(true);
    await closeAll([...rest, newcomer]);
  });

  test('connections that never sent a request make room too, oldest first', async () => {
    const silent: RawConnection[] = [];
    for (let i = 0; i < ADMITTED; i++) silent.push(await rawConnection(api.server.url));
    const [oldest, second, ...rest] = silent as [RawConnection, RawConnection, ...RawConnection[]];

    const probe = await servedKeepAlive();
    await oldest.closed();
    const whoami = await rawConnection(api.server.url);
    whoami.socket.write(requestHead('GET', '/api/v1/whoami', { authorization: `Bearer ${api.server.ownerKey}` }));
    expect((await whoami.response()).status).toBe(200);
    await second.closed();
    expect(rest.every((c) => !c.isClosed())).toBe(true);
    await closeAll([...rest, probe, whoami]);
  });

  test('with every slot serving a request, other requests get a 503 problem while the health probes still answer', async () => {
    const pool = `cap-${randomUUID().slice(0, 8)}`;
    await api.owner('POST', '/work-pools', { body: { name: pool } });
    const deployment = (
      await api.owner('PUT', '/deployments', {
        body: { flowName: pool, name: 'd', source: `dir:///never-${pool}`, entrypoint: 'f.js', workPool: pool },
      })
    ).body.deployment;
    const key = await api.server.createKey('worker');
    const workerIds: string[] = [];
    const polls: RawConnection[] = [];
    for (let i = 0; i < MAX; i++) {
      const workerId = randomUUID();
      workerIds.push(workerId);
      const body = JSON.stringify({ workerId, limit: 1, waitMs: 30_000 });
      const conn = await rawConnection(api.server.url);
      conn.socket.write(
        `${requestHead('POST', `/api/v1/work-pools/${pool}/claim`, {
          authorization: `Bearer ${key}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        })}${body}`,
      );
      polls.push(conn);
    }
    // Every claim is waiting once its worker is registered.
    await eventually(async () => {
      const [row] = await api.server.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM workers WHERE id = ANY(${workerIds})`;
      return row?.n === MAX ? true : undefined;
    });

    const refused = await rawConnection(api.server.url);
    refused.socket.write(requestHead('GET', '/api/v1/whoami', { authorization: `Bearer ${api.server.ownerKey}` }));
    const busy = await refused.response();
    expect(busy.status).toBe(503);
    expect(busy.headers['content-type']).toBe('application/problem+json');
    expect(busy.headers['retry-after']).toBeDefined();
    expect(busy.headers.connection).toBe('close');
    expect(JSON.parse(busy.body)).toMatchObject({ status: 503, code: 'unavailable' });
    await refused.closed();

    for (const path of ['/healthz', '/readyz']) {
      const probe = await rawConnection(api.server.url);
      probe.socket.write(requestHead('GET', path));
      expect((await probe.response()).status).toBe(200);
      probe.socket.destroy();
      await probe.closed();
    }

    // The waiting claims were never disturbed: each gets a run once there are some.
    for (let i = 0; i < MAX; i++) await api.owner('POST', `/deployments/${deployment.id}/runs`, { body: {} });
    for (const conn of polls) {
      const answer = await conn.response();
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.body).runs).toHaveLength(1);
    }
    await closeAll(polls);
  });
});
