import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createLogger } from '../src/logger.js';
import { WorkerStatusLoop } from '../src/loops/worker-status.js';
import { startTestServer, type TestServer } from '../src/testing/index.js';
import { type Call, client } from './helpers.js';

let server: TestServer;
let worker: Call;
let loop: WorkerStatusLoop;
let replica: WorkerStatusLoop;

beforeAll(async () => {
  server = await startTestServer({ loops: false });
  worker = client(server, await server.createKey('worker'));
  const logger = createLogger('silent');
  loop = new WorkerStatusLoop(server.sql, server.databaseUrl, logger);
  replica = new WorkerStatusLoop(server.sql, server.databaseUrl, logger);
  await client(server, server.ownerKey)('POST', '/work-pools', { body: { name: 'gpu' } });
});
afterAll(async () => {
  await server?.close();
});

async function kinds(): Promise<string[]> {
  const rows = await server.sql<{ kind: string }[]>`
    SELECT kind FROM events WHERE kind LIKE 'worker.%' OR kind LIKE 'work-pool.%' ORDER BY seq`;
  return rows.map((r) => r.kind);
}

const beat = (workerId: string, stopping = false) =>
  worker('POST', '/work-pools/gpu/workers/heartbeat', { body: { workerId, name: 'w1', capacity: 1, runs: [], stopping } });

test('each change of a worker and its pool is one event, however many passes and replicas look', async () => {
  // The first look notes the idle pool without announcing anything.
  await loop.tick();
  expect(await kinds()).toEqual([]);

  const id = randomUUID();
  expect((await beat(id)).status).toBe(200);
  // Two replicas' passes at once: the advisory lock serialises them, the second finds nothing new.
  await Promise.all([loop.tick(), replica.tick()]);
  await loop.tick();
  expect(await kinds()).toEqual(['worker.online', 'work-pool.ready']);
  const [online] = await server.sql`SELECT resource, related, payload FROM (
      SELECT jsonb_build_object('kind', resource_kind, 'id', resource_id, 'name', resource_name) AS resource, related, payload, seq
      FROM events WHERE kind = 'worker.online') e`;
  expect(online).toMatchObject({
    resource: { kind: 'worker', id, name: 'w1' },
    related: [{ kind: 'work-pool', name: 'gpu' }],
    payload: { workPool: 'gpu', status: 'ONLINE' },
  });

  // Missed heartbeats beyond the online window: offline, and the pool has no worker left.
  await server.sql`UPDATE workers SET last_heartbeat_at = now() - interval '10 minutes' WHERE id = ${id}`;
  await Promise.all([loop.tick(), replica.tick()]);
  expect(await kinds()).toEqual(['worker.online', 'work-pool.ready', 'worker.offline', 'work-pool.not-ready']);

  // Back, then a graceful stop.
  await beat(id);
  await loop.tick();
  await beat(id, true);
  await loop.tick();
  await loop.tick();
  expect((await kinds()).slice(4)).toEqual(['worker.online', 'work-pool.ready', 'worker.stopped', 'work-pool.not-ready']);
});
