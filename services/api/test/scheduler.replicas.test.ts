import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createApiKey } from '../src/auth/create-api-key.js';
import { type RunningServer, startServer } from '../src/server.js';
import { createTestDatabase, type TestDatabase } from '../src/testing/index.js';
import { client, deploy, eventually } from './helpers.js';

let db: TestDatabase;
let a: RunningServer | null = null;
let b: RunningServer | null = null;
let ownerKey: string;

/** An API replica with its loops on, the scheduler passing every few milliseconds. */
function replica(): Promise<RunningServer> {
  return startServer({
    databaseUrl: db.url,
    host: '127.0.0.1',
    port: 0,
    logLevel: process.env.OUTPOST_TEST_LOG_LEVEL ?? 'silent',
    scheduler: { idleMs: 20, busyMs: 20, batchSize: 3 },
  });
}

beforeAll(async () => {
  db = await createTestDatabase();
  a = await replica();
  b = await replica();
  const boot = await a.bootstrap();
  if (!boot.ownerKey) throw new Error('a fresh database already had an owner key');
  ownerKey = boot.ownerKey;
});
afterAll(async () => {
  await a?.close();
  await b?.close();
  await db?.drop();
});

async function runTimes(server: RunningServer, deploymentId: string): Promise<{ key: string; at: number }[]> {
  const rows = await server.sql<{ idempotency_key: string; expected_start_time: Date }[]>`
    SELECT idempotency_key, expected_start_time FROM flow_runs WHERE deployment_id = ${deploymentId} ORDER BY expected_start_time`;
  return rows.map((r) => ({ key: r.idempotency_key, at: r.expected_start_time.getTime() }));
}

test('two API replicas with their loops on create exactly one run per scheduled time, and the survivor takes over', async () => {
  const first = a as RunningServer;
  const second = b as RunningServer;
  const owner = client(first, ownerKey);
  const ids: string[] = [];
  for (let i = 0; i < 8; i++) {
    const d = await deploy(owner, {
      flowName: `replica-${randomUUID().slice(0, 8)}`,
      schedules: [{ cron: '*/10 * * * *' }, { intervalSeconds: 900, anchorDate: '2024-01-01T00:05:00Z' }],
    });
    ids.push(d.id);
  }
  for (const id of ids) {
    // An hour ahead: 6 or 7 runs every 10 minutes, 4 or 5 every 15.
    const runs = await eventually(
      async () => {
        const r = await runTimes(second, id);
        return r.length >= 10 ? r : undefined;
      },
      20_000,
      `runs of deployment ${id}`,
    );
    expect(new Set(runs.map((r) => r.key)).size).toBe(runs.length);
    for (const [kind, step] of [
      [':cron-', 600_000],
      [':interval-', 900_000],
    ] as const) {
      const times = runs.filter((r) => r.key.includes(kind)).map((r) => r.at);
      for (let i = 1; i < times.length; i++) expect((times[i] ?? 0) - (times[i - 1] ?? 0)).toBe(step);
    }
  }

  // Whichever replica led, closing one leaves the other to fill a new schedule.
  await first.close();
  a = null;
  const [ws] = await second.sql<{ id: string }[]>`SELECT id FROM workspaces WHERE slug = 'default'`;
  const { key } = await createApiKey(second.sql, { workspaceId: ws?.id ?? '', name: 'survivor', role: 'owner' });
  const late = await deploy(client(second, key), {
    flowName: `replica-late-${randomUUID().slice(0, 8)}`,
    schedules: [{ cron: '0 * * * *' }],
  });
  const runs = await eventually(
    async () => {
      const r = await runTimes(second, late.id);
      return r.length >= 3 ? r : undefined;
    },
    20_000,
    'runs after the first replica closed',
  );
  expect(runs).toHaveLength(3);
});
