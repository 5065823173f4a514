import { describe, expect, test } from 'vitest';
import { migrateDatabase } from '../src/db/migrate.js';
import { detachExpiredPartitions, dropDetachedPartitions, ensurePartitions } from '../src/db/partitions.js';
import { ensureWorkspace } from '../src/identity/db/workspaces.js';
import { useScratchDatabases } from './helpers.js';

const DAY = 86_400_000;
const scratch = useScratchDatabases();

describe('log partitions', () => {
  test('a database with lines from before partitioning keeps every one, readable and still stored once, in its first partition', async () => {
    const { url, sql } = await scratch.make('0042_logs_partitioned');
    const [ws] = await sql<{ id: string }[]>`INSERT INTO workspaces (slug, name) VALUES ('old', 'Old') RETURNING id`;
    const run = '00000000-0000-4000-8000-000000000001';
    const now = Date.now();
    // A year ago, now, and 40 days ahead (a worker whose clock ran ahead, before lines were checked).
    const stamps = [now - 365 * DAY, now, now + 40 * DAY].map((t) => new Date(t));
    for (const [i, stamp] of stamps.entries()) {
      await sql`
        INSERT INTO logs (flow_run_id, attempt, seq, workspace_id, timestamp, level, message, stream)
        VALUES (${run}, 1, ${i + 1}, ${ws?.id as string}, ${stamp}, 'info', ${`line ${i + 1}`}, 'flow')`;
    }

    await migrateDatabase(url);

    const lines = await sql<{ seq: number; partition: string }[]>`
      SELECT seq, tableoid::regclass::text AS partition FROM logs WHERE flow_run_id = ${run} ORDER BY seq`;
    expect(lines).toEqual([1, 2, 3].map((seq) => ({ seq, partition: 'logs_history' })));
    // The first partition reaches past the line furthest ahead; the months follow it, two past this one.
    const partitions = await sql<
      { name: string; starts: Date; ends: Date }[]
    >`SELECT name, starts, ends FROM table_partitions WHERE parent = 'logs' ORDER BY ends`;
    const ahead = new Date(now + 40 * DAY);
    expect(partitions[0]?.name).toBe('logs_history');
    expect(partitions[0]?.ends.getTime()).toBe(Date.UTC(ahead.getUTCFullYear(), ahead.getUTCMonth() + 1, 1));
    for (let i = 1; i < partitions.length; i++) expect(partitions[i]?.starts.getTime()).toBe(partitions[i - 1]?.ends.getTime());
    const today = new Date(now);
    expect(partitions.at(-1)?.ends.getTime()).toBeGreaterThanOrEqual(
      Date.UTC(today.getUTCFullYear(), today.getUTCMonth() + 3, 1),
    );
    // The key still stores a redelivered line once.
    const again = await sql`
      INSERT INTO logs (flow_run_id, attempt, seq, workspace_id, timestamp, level, message, stream)
      VALUES (${run}, 1, 2, ${ws?.id as string}, ${stamps[1] as Date}, 'info', 'line 2', 'flow')
      ON CONFLICT (flow_run_id, attempt, seq, timestamp) DO NOTHING`;
    expect(again.count).toBe(0);
    const [marks] = await sql<{ found: boolean }[]>`SELECT to_regclass('retention_marks') IS NOT NULL AS found`;
    expect(marks?.found).toBe(false);
  });

  test("a month's detach queued behind a long reader gives up at its lock timeout, so writers are not held longer, and the next pass removes the month", async () => {
    const { sql } = await scratch.make();
    expect(await ensurePartitions(sql)).not.toBeNull();
    const ws = await ensureWorkspace(sql, 'w', 'W');
    const reader = await sql.reserve();
    try {
      await reader`BEGIN`;
      await reader`SELECT count(*) FROM logs`;
      const started = performance.now();
      const drop = detachExpiredPartitions(sql, 'logs', new Date(), { limit: 5 });
      // The detach is waiting for its lock on logs (a lock request not granted)…
      const waiting = async () =>
        (
          await reader<{ n: number }[]>`SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted AND relation = 'logs'::regclass`
        )[0]?.n ?? 0;
      while ((await waiting()) === 0) {}
      // …so a writer now queues behind it until the detach gives up.
      const write = sql`
        INSERT INTO logs (flow_run_id, attempt, seq, workspace_id, timestamp, level, message, stream)
        VALUES ('00000000-0000-4000-8000-000000000002', 1, 1, ${ws.id}, now(), 'info', 'written', 'flow')`;
      expect(await drop).toEqual([]);
      expect((await write).count).toBe(1);
      expect(performance.now() - started).toBeLessThan(10_000);
      expect(
        (await sql<{ name: string }[]>`SELECT name FROM table_partitions WHERE parent = 'logs' ORDER BY ends LIMIT 1`)[0]?.name,
      ).toBe('logs_history');
      await reader`COMMIT`;
    } finally {
      reader.release();
    }
    // As a retention pass does: detached, then dropped.
    expect(await detachExpiredPartitions(sql, 'logs', new Date(), { limit: 5 })).toContain('logs_history');
    expect(await dropDetachedPartitions(sql)).toContain('logs_history');
    const [left] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM logs`;
    expect(left?.n).toBe(1);
    // Detached, then dropped: neither listed nor left behind as a table.
    const [gone] = await sql<{ listed: number; table: string | null }[]>`
      SELECT (SELECT count(*)::int FROM table_partitions WHERE name = 'logs_history') AS listed, to_regclass('logs_history')::text AS table`;
    expect(gone).toEqual({ listed: 0, table: null });
  });
});
