import pino from 'pino';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { advanceBackfill } from '../src/backfills/advance-backfill.js';
import { selectionKeys } from '../src/backfills/units.js';
import { connectDatabase, type Sql } from '../src/db/client.js';
import { BackfillLoop } from '../src/loops/backfills.js';
import { type RunningServer, startServer } from '../src/server.js';
import { createTestDatabase, TEST_RATE_LIMITS, type TestDatabase } from '../src/testing/index.js';
import { hourlyBackfill, runsPerKey, sampler, scheduledDeployment, setState, snapshot, start } from './backfill.support.js';
import { type Call, client, eventually } from './helpers.js';

/*
 * What a backfill survives: its control plane stopped and started again, a pass that dies halfway
 * through its transaction, two replicas running the loop, and passes racing on two connections.
 */

let db: TestDatabase;
const servers: RunningServer[] = [];
let ownerKey: string;
let workerKey: string;

function server(overrides: Parameters<typeof startServer>[0] = {}): Promise<RunningServer> {
  return startServer({
    databaseUrl: db.url,
    host: '127.0.0.1',
    port: 0,
    logLevel: process.env.OUTPOST_TEST_LOG_LEVEL ?? 'silent',
    rateLimits: TEST_RATE_LIMITS,
    ...overrides,
  }).then((s) => {
    servers.push(s);
    return s;
  });
}

beforeAll(async () => {
  db = await createTestDatabase();
  const first = await server({ loops: false });
  const boot = await first.bootstrap();
  if (!boot.ownerKey) throw new Error('a fresh database already had an owner key');
  ownerKey = boot.ownerKey;
  const keys = await client(first, ownerKey)('POST', '/api-keys', { body: { name: 'worker', role: 'worker' } });
  workerKey = keys.body.key;
  await first.close();
});
afterAll(async () => {
  for (const s of servers) await s.close();
  await db?.drop();
});

/** Completes runs of the pool, through each of `apis` in turn, until `enough()` says so. */
async function complete(apis: RunningServer[], pool: string, enough: () => Promise<boolean>): Promise<void> {
  const workers = apis.map((api) => client(api, workerKey));
  const deadline = Date.now() + 60_000;
  for (let turn = 0; !(await enough()); turn++) {
    if (Date.now() > deadline) throw new Error('the backfill made no progress');
    const worker = workers[turn % workers.length] as Call;
    const runs = await start(worker, pool, 2);
    for (const run of runs) await setState(worker, run.id, run.attempt, 'COMPLETED');
    if (runs.length === 0) await new Promise((r) => setTimeout(r, 5));
  }
}

async function status(sql: Sql, id: string): Promise<string> {
  const [row] = await sql<{ status: string }[]>`SELECT status FROM backfills WHERE id = ${id}`;
  return row?.status ?? 'missing';
}

/** The backfill completed, with exactly one run for each of its `partitions` partitions. */
async function expectCompletedOnceEach(sql: Sql, id: string, partitions: number): Promise<void> {
  expect(await status(sql, id)).toBe('COMPLETED');
  const perKey = await runsPerKey(sql, id);
  expect(perKey.size).toBe(partitions);
  expect([...perKey.values()].every((n) => n === 1)).toBe(true);
}

test('a control plane stopped mid-backfill and started again on the same database loses and duplicates nothing', async () => {
  const a = await server({ backfills: { idleMs: 3_600_000 } });
  const owner = client(a, ownerKey);
  const { pool, deploymentId } = await scheduledDeployment(owner);
  const id = await hourlyBackfill(owner, deploymentId, 30, 4);
  await complete([a], pool, async () => (await snapshot(a.sql, id)).runs >= 12);
  // The pass that refills the backfill after the last completion runs on its own, woken by it.
  await eventually(async () => ((await snapshot(a.sql, id)).inFlight === 4 ? true : undefined), 15_000, 'four runs in flight');
  // Stopped with runs in flight, one of them claimed and running.
  const running = await start(client(a, workerKey), pool, 1);
  const atStop = await snapshot(a.sql, id);
  expect(atStop.inFlight).toBe(4);
  await a.close();
  const b = await server({ backfills: { idleMs: 3_600_000 } });
  expect(await snapshot(b.sql, id)).toEqual(atStop);
  for (const run of running) await setState(client(b, workerKey), run.id, run.attempt, 'COMPLETED');
  await complete([b], pool, async () => (await status(b.sql, id)) !== 'RUNNING');
  await expectCompletedOnceEach(b.sql, id, 30);
  expect(await snapshot(b.sql, id)).toEqual({ runs: 30, inFlight: 0, rows: 30, rowsInFlight: 0 });
  await b.close();
});

test('a pass that dies halfway through its transaction leaves no run, no partition row and no cursor move behind', async () => {
  const api = await server({ loops: false });
  const owner = client(api, ownerKey);
  const { deploymentId } = await scheduledDeployment(owner);
  const id = await hourlyBackfill(owner, deploymentId, 10, 1);
  const before = await snapshot(api.sql, id);
  const [row] = await api.sql<{ position: number }[]>`SELECT position FROM backfills WHERE id = ${id}`;
  // Room for 5 more; the pass creates runs, then the process "dies" (the transaction never commits).
  await api.sql`UPDATE backfills SET max_concurrent = 6 WHERE id = ${id}`;
  let runsCreated = 0;
  await expect(
    api.sql.begin((tx) =>
      advanceBackfill(tx, id, {
        keys: (b) => selectionKeys(b.selection, null),
        // Called once per run about to be created; the fourth never gets there.
        blockedCheck: async () => () => {
          if (++runsCreated === 4) throw new Error('killed mid-pass');
          return null;
        },
      }),
    ),
  ).rejects.toThrow('killed mid-pass');
  expect(runsCreated).toBe(4);
  expect(await snapshot(api.sql, id)).toEqual(before);
  expect(await api.sql`SELECT position FROM backfills WHERE id = ${id}`).toEqual([row]);
  // The next pass picks up exactly where the last committed one left off.
  const result = await api.sql.begin((tx) => advanceBackfill(tx, id, { keys: (b) => selectionKeys(b.selection, null) }));
  expect(result.created).toBe(5);
  expect(await snapshot(api.sql, id)).toMatchObject({ runs: 6, rows: 6 });
  const perKey = await runsPerKey(api.sql, id);
  expect([...perKey.values()].every((n) => n === 1)).toBe(true);
  await api.close();
});

test('two replicas with their loops on create each partition run exactly once and never exceed maxConcurrent', async () => {
  const a = await server({ backfills: { idleMs: 20, busyMs: 20 } });
  const b = await server({ backfills: { idleMs: 20, busyMs: 20 } });
  const owner = client(a, ownerKey);
  const { pool, deploymentId } = await scheduledDeployment(owner);
  const id = await hourlyBackfill(owner, deploymentId, 40, 3);
  const watch = sampler(a.sql, id);
  // Runs finish through both replicas in turn.
  await complete([a, b], pool, async () => (await status(a.sql, id)) !== 'RUNNING');
  const samples = await watch.stop();
  for (const s of samples) {
    expect(s.inFlight).toBeLessThanOrEqual(3);
    expect(s.rows).toBe(s.runs);
  }
  await expectCompletedOnceEach(a.sql, id, 40);
  await a.close();
  await b.close();
});

test('passes racing on separate connections, with no leader election at all, never exceed maxConcurrent nor duplicate a partition', async () => {
  const api = await server({ loops: false });
  const owner = client(api, ownerKey);
  const { pool, deploymentId } = await scheduledDeployment(owner);
  const id = await hourlyBackfill(owner, deploymentId, 50, 4);
  const pools = await Promise.all([connectDatabase(db.url), connectDatabase(db.url)]);
  // Every failed pass is logged: with the row lock, a racing pass skips the backfill instead of failing on a duplicate.
  const failures: string[] = [];
  const logger = pino({ level: 'error' }, { write: (line: string) => failures.push(line) });
  const loops = pools.map((sql) => new BackfillLoop(sql, db.url, logger, null));
  let racing = true;
  // Four passes at a time, two per connection pool, back to back (tick() itself takes no leadership).
  const racers = loops.flatMap((loop) =>
    [0, 1].map(async () => {
      while (racing) await loop.tick();
    }),
  );
  const watch = sampler(api.sql, id);
  try {
    await complete([api], pool, async () => (await status(api.sql, id)) !== 'RUNNING');
  } finally {
    racing = false;
    await Promise.all(racers);
    for (const sql of pools) await sql.end({ timeout: 5 });
  }
  const samples = await watch.stop();
  expect(failures).toEqual([]);
  for (const s of samples) {
    expect(s.inFlight).toBeLessThanOrEqual(4);
    expect(s.rows).toBe(s.runs);
  }
  await expectCompletedOnceEach(api.sql, id, 50);
  await api.close();
});

test('a backfill made before backfills were lazy, every run created up front, is still capped by the claim under concurrent claimers', async () => {
  const api = await server({ backfills: { idleMs: 20, busyMs: 20 } });
  const owner = client(api, ownerKey);
  const { pool, deploymentId } = await scheduledDeployment(owner);
  // Every run at once, as backfills were made before, then the cap of 2 the claim must keep.
  const id = await hourlyBackfill(owner, deploymentId, 20, 20);
  await api.sql`UPDATE backfills SET max_concurrent = 2, claim_capped = true WHERE id = ${id}`;
  const active = async () => {
    const [row] = await api.sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM flow_runs WHERE backfill_id = ${id} AND state_type IN ('PENDING', 'RUNNING', 'CANCELLING')`;
    return row?.n ?? 0;
  };
  const samples: number[] = [];
  const worker = client(api, workerKey);
  const claimer = async () => {
    const deadline = Date.now() + 30_000;
    while ((await status(api.sql, id)) === 'RUNNING') {
      if (Date.now() > deadline) throw new Error('the backfill did not finish in time');
      const runs = await start(worker, pool, 2);
      samples.push(await active());
      for (const run of runs) await setState(worker, run.id, run.attempt, 'COMPLETED');
      if (runs.length === 0) await new Promise((r) => setTimeout(r, 5));
    }
  };
  await Promise.all(Array.from({ length: 6 }, claimer));
  expect(Math.max(...samples)).toBeLessThanOrEqual(2);
  expect(samples.some((n) => n === 2)).toBe(true);
  expect(await status(api.sql, id)).toBe('COMPLETED');
  expect(await snapshot(api.sql, id)).toEqual({ runs: 20, inFlight: 0, rows: 20, rowsInFlight: 0 });
  await api.close();
});
