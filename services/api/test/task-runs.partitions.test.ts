import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { migrateDatabase } from '../src/db/migrate.js';
import { createLogger } from '../src/logger.js';
import { RetentionLoop } from '../src/loops/retention.js';
import { lockRunTaskRuns } from '../src/runs/db/task-runs.js';
import { startTestServer, type TestServer } from '../src/testing/index.js';
import { type Call, client, eventually, scoreTaskCreated, startedRun, useScratchDatabases } from './helpers.js';

const DAY = 86_400_000;
let server: TestServer;
let owner: Call;
const scratch = useScratchDatabases();

beforeAll(async () => {
  server = await startTestServer({ loops: false });
  owner = client(server, server.ownerKey);
});
afterAll(async () => {
  await server?.close();
});

const create = (id: string, i: number, at: Date) => scoreTaskCreated(id, i, at.toISOString());
const complete = (id: string, at: Date) => ({ kind: 'state', id, seq: 1, state: { type: 'COMPLETED' }, at: at.toISOString() });

const batch = (asRun: Call, runId: string, events: unknown[]) =>
  asRun('POST', `/flow-runs/${runId}/task-runs/batch`, { body: { flowRunAttempt: 1, events } });

async function listed(runId: string): Promise<{ id: string; state: { type: string } }[]> {
  return (await owner('GET', `/flow-runs/${runId}/task-runs?limit=1000`)).body.items;
}

async function stored(id: string): Promise<{ partition: string; created_at: Date }[]> {
  return server.sql<{ partition: string; created_at: Date }[]>`
    SELECT tableoid::regclass::text AS partition, created_at FROM task_runs WHERE id = ${id}`;
}

function monthStart(at: Date): Date {
  return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1));
}

describe('task runs by month', () => {
  test('a database with task runs from before partitioning keeps every one in its first partition, readable by their run', async () => {
    const db = await scratch.make('0045_task_runs_partitioned');
    const { sql } = db;
    const [ws] = await sql<{ id: string }[]>`INSERT INTO workspaces (slug, name) VALUES ('old', 'Old') RETURNING id`;
    const workspaceId = ws?.id as string;
    const [flow] = await sql<
      { id: string }[]
    >`INSERT INTO flows (workspace_id, name) VALUES (${workspaceId}, 'etl') RETURNING id`;
    // Created half a second into a month, with a task run stamped a second before that, in the month
    // before (a worker clock behind the database's), and one a year ago.
    const [run] = await sql<{ id: string }[]>`
      INSERT INTO flow_runs (workspace_id, flow_id, name, state_type, state_name, created_at)
      VALUES (${workspaceId}, ${flow?.id as string}, 'old-run', 'COMPLETED', 'Completed',
              partition_start(now() - interval '400 days') + interval '500 milliseconds')
      RETURNING id`;
    const runId = run?.id as string;
    const ids = [randomUUID(), randomUUID()];
    await sql`
      INSERT INTO task_runs (id, workspace_id, flow_run_id, flow_run_attempt, name, task_key, dynamic_key,
                             state_type, state_name, created_at)
      VALUES (${ids[0] as string}, ${workspaceId}, ${runId}, 1, 'a', 'a-0', '0', 'COMPLETED', 'Completed', now() - interval '365 days'),
             (${ids[1] as string}, ${workspaceId}, ${runId}, 1, 'b', 'b-0', '0', 'COMPLETED', 'Completed',
              partition_start(now() - interval '400 days') - interval '500 milliseconds')`;

    await migrateDatabase(db.url);

    const rows = await sql<{ id: string; partition: string }[]>`
      SELECT id, tableoid::regclass::text AS partition FROM task_runs WHERE flow_run_id = ${runId} ORDER BY created_at`;
    expect(rows).toEqual([
      { id: ids[1], partition: 'task_runs_history' },
      { id: ids[0], partition: 'task_runs_history' },
    ]);
    const [months] = await sql<{ names: string[] }[]>`
      SELECT array_agg(name ORDER BY ends) AS names FROM table_partitions WHERE parent = 'task_runs'`;
    const now = new Date();
    const next = (k: number) => new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + k, 1));
    expect(months?.names).toEqual([
      'task_runs_history',
      ...[1, 2].map((k) => `task_runs_${next(k).toISOString().slice(0, 7).replace('-', '_')}`),
    ]);
    // The run's task runs as its page reads them, from its run's \`since\`: both, the one of the month
    // before included.
    const [found] = await sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM task_runs
      WHERE flow_run_id = ${runId} AND created_at >= (SELECT task_runs_since(created_at) FROM flow_runs WHERE id = ${runId})`;
    expect(found?.n).toBe(2);
  });

  test('a retried creation is stored once, though a worker clock ahead of the database makes it stamp another time, and so is one sent while its original is still being stored', async () => {
    const { id: runId, asRun } = await startedRun(server, owner);
    const ahead = new Date(Date.now() + 3_600_000);
    const ids = Array.from({ length: 50 }, () => randomUUID());
    const events = ids.map((id, i) => create(id, i, ahead));
    const first = await batch(asRun, runId, events);
    expect(first.body).toEqual({ applied: 50, duplicates: 0, refused: [] });
    const [before] = await stored(ids[0] as string);
    // Stamped no later than the database's now, so a retry stamps a later time.
    expect(before?.created_at.getTime()).toBeLessThan(ahead.getTime());
    const again = await batch(asRun, runId, events);
    expect(again.body).toEqual({ applied: 0, duplicates: 50, refused: [] });

    // A retry that arrives while its original is still in its transaction, with the row inserted and
    // not yet committed: it waits for the run's lock, then finds the row and stores nothing.
    const racing = randomUUID();
    const original = await server.sql.reserve();
    try {
      await original`BEGIN`;
      await lockRunTaskRuns(original, runId);
      await original`
        INSERT INTO task_runs (id, workspace_id, flow_run_id, flow_run_attempt, name, task_key, dynamic_key,
                               state_type, state_name, created_at)
        VALUES (${racing}, ${server.workspaceId}, ${runId}, 1, 'score', 'score-0[99]', '99', 'RUNNING', 'Running',
                now() - interval '1 second')`;
      const retry = batch(asRun, runId, [create(racing, 99, ahead)]);
      await eventually(
        async () => {
          const [waiting] = await server.sql<{ n: number }[]>`
          SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`;
          return (waiting?.n ?? 0) > 0 ? true : undefined;
        },
        10_000,
        'the retry waiting for the run lock',
      );
      await original`COMMIT`;
      expect((await retry).body).toEqual({ applied: 0, duplicates: 1, refused: [] });
    } finally {
      original.release();
    }
    expect(await stored(racing)).toHaveLength(1);

    // The one-at-a-time route too.
    const single = randomUUID();
    const body = { id: single, flowRunAttempt: 1, name: 'one', taskKey: 'one-0', dynamicKey: '0', state: { type: 'RUNNING' } };
    const made = await asRun('POST', `/flow-runs/${runId}/task-runs`, { body });
    expect(made.status).toBe(201);
    const retried = await asRun('POST', `/flow-runs/${runId}/task-runs`, { body });
    expect(retried.status).toBe(200);
    expect(retried.body.taskRun.createdAt).toBe(made.body.taskRun.createdAt);
    expect(await stored(single)).toHaveLength(1);
  });

  test("a task run is stamped no earlier than its run's month (from the day before its creation), and found there by its batches and its page", async () => {
    const { id: runId, asRun } = await startedRun(server, owner);
    // The run was created forty days ago (a run queued long before it started); its worker's clock is
    // a year behind.
    await server.sql`UPDATE flow_runs SET created_at = now() - interval '40 days' WHERE id = ${runId}`;
    const [run] = await server.sql<{ created_at: Date }[]>`SELECT created_at FROM flow_runs WHERE id = ${runId}`;
    const since = monthStart(new Date((run?.created_at.getTime() ?? Number.NaN) - DAY));
    const behind = new Date(Date.now() - 365 * DAY);
    const id = randomUUID();
    expect((await batch(asRun, runId, [create(id, 0, behind)])).body.applied).toBe(1);
    const [row] = await stored(id);
    expect(row?.created_at.getTime()).toBe(since.getTime());
    expect((await batch(asRun, runId, [complete(id, new Date())])).body).toEqual({ applied: 1, duplicates: 0, refused: [] });
    expect(await listed(runId)).toMatchObject([{ id, state: { type: 'COMPLETED' } }]);
  });

  test("an id another run holds since this run's month is refused; one held only in months before is not this run's concern", async () => {
    const other = await startedRun(server, owner);
    const taken = randomUUID();
    expect((await batch(other.asRun, other.id, [create(taken, 0, new Date())])).body.applied).toBe(1);
    const { id: runId, asRun } = await startedRun(server, owner);
    const refused = await batch(asRun, runId, [create(taken, 0, new Date())]);
    expect(refused.body).toEqual({
      applied: 0,
      duplicates: 0,
      refused: [{ index: 0, id: taken, detail: 'this task run id is already in use' }],
    });

    // An id stored (by whichever run) in a month before this run's: the lookups by id of this run do
    // not read that month, so this run's task run of the same id is its own, created and finished.
    const old = randomUUID();
    await server.sql`
      INSERT INTO task_runs (id, workspace_id, flow_run_id, flow_run_attempt, name, task_key, dynamic_key,
                             state_type, state_name, created_at)
      VALUES (${old}, ${server.workspaceId}, ${other.id}, 1, 'score', 'score-0[9]', '9', 'COMPLETED', 'Completed',
              now() - interval '400 days')`;
    expect((await batch(asRun, runId, [create(old, 0, new Date()), complete(old, new Date())])).body.applied).toBe(2);
    expect((await stored(old)).map((r) => r.partition).sort()).toEqual(
      [`task_runs_${new Date().toISOString().slice(0, 7).replace('-', '_')}`, 'task_runs_history'].sort(),
    );
    expect(await listed(runId)).toMatchObject([{ id: old, state: { type: 'COMPLETED' } }]);
    const [kept] = await server.sql<{ state_type: string }[]>`
      SELECT state_type FROM task_runs WHERE id = ${old} AND flow_run_id = ${other.id}`;
    expect(kept?.state_type).toBe('COMPLETED');
  });

  test('task runs go a month at a time once the whole month is past their retention; their run and its newer task runs stay', async () => {
    const { id: runId, asRun } = await startedRun(server, owner);
    await server.sql`UPDATE flow_runs SET created_at = now() - interval '70 days' WHERE id = ${runId}`;
    const old = randomUUID();
    const recent = randomUUID();
    const events = [create(old, 0, new Date(Date.now() - 65 * DAY)), create(recent, 1, new Date())];
    expect((await batch(asRun, runId, events)).body.applied).toBe(2);
    const loop = (taskRunRetentionDays: number | null) =>
      new RetentionLoop(server.sql, server.databaseUrl, createLogger('silent'), {
        taskRunRetentionDays,
        eventRetentionDays: null,
      });

    // No retention set: nothing goes.
    await loop(null).tick();
    expect((await listed(runId)).map((t) => t.id).sort()).toEqual([old, recent].sort());

    // A retention of a moment: every month wholly past goes, the one holding the task run of 65 days
    // ago with it; the current month, which holds the other, is not wholly past.
    const oldPartition = (await stored(old))[0]?.partition as string;
    expect(oldPartition).not.toBe((await stored(recent))[0]?.partition);
    expect(await loop(1e-6).tick()).toBeGreaterThan(0);
    expect(await listed(runId)).toMatchObject([{ id: recent }]);
    const [gone] = await server.sql<{ found: boolean; listed: boolean }[]>`
      SELECT to_regclass(${oldPartition}) IS NOT NULL AS found,
             EXISTS (SELECT 1 FROM table_partitions WHERE name = ${oldPartition}) AS listed`;
    expect(gone).toEqual({ found: false, listed: false });
    const runPage = await owner('GET', `/flow-runs/${runId}`);
    expect(runPage.status).toBe(200);
    expect(runPage.body.id).toBe(runId);

    // The run's own month is gone: a task run it creates now, stamped by an event of 65 days ago, goes
    // to the oldest month kept, not to a month that no longer exists.
    const late = randomUUID();
    expect((await batch(asRun, runId, [create(late, 2, new Date(Date.now() - 65 * DAY))])).body.applied).toBe(1);
    const [oldest] = await server.sql<{ starts: Date }[]>`
      SELECT min(starts) AS starts FROM table_partitions WHERE parent = 'task_runs' AND NOT detached`;
    expect((await stored(late))[0]?.created_at.getTime()).toBe(oldest?.starts.getTime());
    expect((await listed(runId)).map((t) => t.id).sort()).toEqual([late, recent].sort());
  });
});
