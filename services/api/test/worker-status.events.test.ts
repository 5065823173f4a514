import { randomUUID } from 'node:crypto';
import { beforeAll, expect, test } from 'vitest';
import { createLogger } from '../src/logger.js';
import { WorkerStatusLoop } from '../src/loops/worker-status.js';
import { type Call, client, useServer } from './helpers.js';

let worker: Call;
let loop: WorkerStatusLoop;
let replica: WorkerStatusLoop;

const api = useServer();

beforeAll(async () => {
  worker = client(api.server, await api.server.createKey('worker'));
  const logger = createLogger('silent');
  loop = new WorkerStatusLoop(api.server.sql, api.server.databaseUrl, logger);
  replica = new WorkerStatusLoop(api.server.sql, api.server.databaseUrl, logger);
  await client(api.server, api.server.ownerKey)('POST', '/work-pools', { body: { name: 'gpu' } });
});

async function kinds(): Promise<string[]> {
  const rows = await api.server.sql<{ kind: string }[]>`
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
  const [online] = await api.server.sql`SELECT resource, related, payload FROM (
      SELECT jsonb_build_object('kind', resource_kind, 'id', resource_id, 'name', resource_name) AS resource, related, payload, seq
      FROM events WHERE kind = 'worker.online') e`;
  expect(online).toMatchObject({
    resource: { kind: 'worker', id, name: 'w1' },
    related: [{ kind: 'work-pool', name: 'gpu' }],
    payload: { workPool: 'gpu', status: 'ONLINE' },
  });

  // Missed heartbeats beyond the online window: offline, and the pool has no worker left.
  await api.server.sql`UPDATE workers SET last_heartbeat_at = now() - interval '10 minutes' WHERE id = ${id}`;
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
