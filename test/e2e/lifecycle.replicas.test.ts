import { randomUUID } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '@outpost/api/testing';
import { OutpostClient, unwrap } from '@outpost/sdk/client';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiProcess, startApiProcess } from '../support/api-process.js';
import { waitFor } from '../support/worker-process.js';

/*
 * Two real API processes (`outpost-api server start`) on one database, each running the background
 * loops. Leadership is an advisory lock per loop; ticks re-check each run under its row lock. Every
 * expired lease must produce exactly one CRASHED record, every late run exactly one Late record, and
 * the loops must carry on in the survivor when the leader is killed.
 */
const LEASE_SECONDS = 5;
const RUNS = 30;

describe('two API replicas running their loops on one database', () => {
  let db: TestDatabase;
  let sql: postgres.Sql;
  let a: ApiProcess;
  let b: ApiProcess | null = null;
  let ownerA: OutpostClient;
  let ownerB: OutpostClient;
  let workerB: OutpostClient;
  let workerA: OutpostClient;
  let deploymentId: string;

  async function leaders(): Promise<string[]> {
    const rows = await sql<{ name: string }[]>`
      SELECT s.application_name AS name FROM pg_locks l JOIN pg_stat_activity s ON s.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted AND s.datname = current_database()
        AND s.application_name IN ('outpost-leader-lease-expiry', 'outpost-leader-late-runs')
      ORDER BY 1`;
    return rows.map((r) => r.name);
  }

  beforeAll(async () => {
    db = await createTestDatabase();
    sql = postgres(db.url, { max: 2, onnotice: () => {} });
    const env = { OUTPOST_LEASE_SECONDS: String(LEASE_SECONDS) };
    a = await startApiProcess(db.url, env, { expectOwnerKey: true });
    ownerA = new OutpostClient({ baseUrl: a.url, token: a.ownerKey ?? '' });
    // Process A leads every loop before B starts, so killing A later really hands leadership over.
    await waitFor(async () => (await leaders()).length === 2, 30_000, 'process A to lead both loops');
    b = await startApiProcess(db.url, env);
    ownerB = new OutpostClient({ baseUrl: b.url, token: a.ownerKey ?? '' });
    const { key } = unwrap(await ownerA.call('apiKeysCreate', { body: { name: 'replica-worker', role: 'worker' } }));
    workerA = new OutpostClient({ baseUrl: a.url, token: key });
    workerB = new OutpostClient({ baseUrl: b.url, token: key });
    const { deployment } = unwrap(
      await ownerA.call('deploymentsUpsert', {
        body: {
          flowName: 'replicated',
          name: 'd',
          source: `dir:///never-fetched-${randomUUID()}`,
          entrypoint: 'flow.mjs',
          workPool: 'default',
          retries: 1,
        },
      }),
    );
    deploymentId = deployment.id;
  });

  afterAll(async () => {
    for (const c of [ownerA, ownerB, workerA, workerB]) await c?.close();
    await b?.stop();
    await a?.stop();
    await sql?.end({ timeout: 5 });
    await db?.drop();
  });

  async function createRuns(owner: OutpostClient, count: number, scheduledTime?: string): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const { flowRun } = unwrap(
        await owner.call('deploymentsCreateRun', {
          params: { id: deploymentId },
          body: scheduledTime ? { scheduledTime } : {},
        }),
      );
      ids.push(flowRun.id);
    }
    return ids;
  }

  /**
   * Claims every due run of the pool through the given replicas and starts each (RUNNING, with its run
   * token), as workers that then vanish. A claim long-polls: retries wait out their lease grace first.
   */
  async function claimAndVanish(workers: OutpostClient[], expected: number): Promise<void> {
    let claimed = 0;
    for (let i = 0; claimed < expected; i++) {
      if (i > 50) throw new Error(`claimed only ${claimed} of ${expected}`);
      const worker = workers[i % workers.length] as OutpostClient;
      const res = unwrap(
        await worker.call('claim', { params: { pool: 'default' }, body: { workerId: randomUUID(), limit: 10, waitMs: 2_000 } }),
      );
      for (const run of res.runs) {
        const asRun = worker.withToken(run.token);
        unwrap(
          await asRun.call('flowRunsSetState', {
            params: { id: run.flowRun.id },
            body: { transitionId: randomUUID(), state: { type: 'RUNNING' } },
          }),
        );
      }
      claimed += res.runs.length;
    }
    expect(claimed).toBe(expected);
  }

  async function historyOf(ids: string[]) {
    return sql<{ flow_run_id: string; attempt: number; type: string; name: string; at: Date }[]>`
      SELECT flow_run_id, attempt, type, name, timestamp AS at FROM flow_run_states
      WHERE flow_run_id = ANY(${sql.array(ids)}::uuid[]) ORDER BY flow_run_id, seq`;
  }

  async function statesOf(ids: string[]): Promise<Map<string, { type: string; name: string; attempt: number }>> {
    const rows = await sql<{ id: string; state_type: string; state_name: string; attempt: number }[]>`
      SELECT id, state_type, state_name, attempt FROM flow_runs WHERE id = ANY(${sql.array(ids)}::uuid[])`;
    return new Map(rows.map((r) => [r.id, { type: r.state_type, name: r.state_name, attempt: r.attempt }]));
  }

  it('crashes each expired lease exactly once, after the lease and not before, and retries it once', async () => {
    const ids = await createRuns(ownerA, RUNS);
    await claimAndVanish([workerA, workerB], RUNS);
    await waitFor(
      async () => [...(await statesOf(ids)).values()].every((s) => s.attempt === 2 && s.name === 'AwaitingRetry'),
      60_000,
      'every lease to expire and its run to await a retry',
    );
    await claimAndVanish([workerB, workerA], RUNS);
    await waitFor(
      async () => [...(await statesOf(ids)).values()].every((s) => s.type === 'CRASHED'),
      60_000,
      'every retry to crash in turn',
    );

    const history = await historyOf(ids);
    for (const id of ids) {
      const mine = history.filter((h) => h.flow_run_id === id);
      expect(mine.map((h) => `${h.attempt}:${h.type}/${h.name}`)).toEqual([
        '1:SCHEDULED/Scheduled',
        '1:PENDING/Pending',
        '1:RUNNING/Running',
        '1:CRASHED/Crashed',
        '2:SCHEDULED/AwaitingRetry',
        '2:PENDING/Pending',
        '2:RUNNING/Running',
        '2:CRASHED/Crashed',
      ]);
      for (const attempt of [1, 2]) {
        const claimedAt = mine.find((h) => h.attempt === attempt && h.type === 'PENDING')?.at.getTime() ?? 0;
        const crashedAt = mine.find((h) => h.attempt === attempt && h.type === 'CRASHED')?.at.getTime() ?? 0;
        // Never before the lease ran out on the database clock (timestamps are stored to the millisecond).
        expect(crashedAt - claimedAt).toBeGreaterThanOrEqual(LEASE_SECONDS * 1000 - 1);
      }
    }
    expect(await leaders()).toEqual(['outpost-leader-late-runs', 'outpost-leader-lease-expiry']);
  });

  it('marks each late run Late exactly once', async () => {
    const ids = await createRuns(ownerB, RUNS, new Date(Date.now() - 60_000).toISOString());
    await waitFor(
      async () => [...(await statesOf(ids)).values()].every((s) => s.name === 'Late'),
      30_000,
      'every run to be marked Late',
    );
    const history = await historyOf(ids);
    for (const id of ids) {
      expect(history.filter((h) => h.flow_run_id === id).map((h) => `${h.type}/${h.name}`)).toEqual([
        'SCHEDULED/Scheduled',
        'SCHEDULED/Late',
      ]);
    }
    // Clear them out of the way of the next test's claims.
    for (const id of ids) unwrap(await ownerB.call('flowRunsCancel', { params: { id }, body: {} }));
  });

  it('keeps crashing expired leases and marking late runs in the survivor when the leader is killed', async () => {
    a.child.kill('SIGKILL');
    await a.exited;
    const expiring = await createRuns(ownerB, 10);
    await claimAndVanish([workerB], 10);
    const late = await createRuns(ownerB, 10, new Date(Date.now() - 60_000).toISOString());
    await waitFor(
      async () => {
        const states = await statesOf([...expiring, ...late]);
        return (
          expiring.every((id) => states.get(id)?.name === 'AwaitingRetry') && late.every((id) => states.get(id)?.name === 'Late')
        );
      },
      60_000,
      'the surviving replica to take over both loops',
    );
    const history = await historyOf([...expiring, ...late]);
    for (const id of expiring) expect(history.filter((h) => h.flow_run_id === id && h.type === 'CRASHED')).toHaveLength(1);
    for (const id of late) expect(history.filter((h) => h.flow_run_id === id && h.name === 'Late')).toHaveLength(1);
    expect(await leaders()).toEqual(['outpost-leader-late-runs', 'outpost-leader-lease-expiry']);
  });
});
