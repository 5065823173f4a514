import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createTestDatabase, ledgerReadUpToNow, type TestDatabase } from '@outpost/api/testing';
import { OutpostClient, unwrap } from '@outpost/sdk/client';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiProcess, startApiProcess } from '../support/api-process.js';
import { waitFor } from '../support/worker-process.js';

/*
 * Two real API processes on one database, both running the automations loop. The leader is
 * killed with SIGKILL between recording a firing and committing its actions (a test-only hold file
 * makes the round wait there); the other process takes the lead, redoes the round from the stored
 * cursor, and the deployment gets exactly one run.
 */
describe('automations on two API replicas', () => {
  let db: TestDatabase;
  let sql: postgres.Sql;
  let a: ApiProcess;
  let b: ApiProcess;
  let owner: OutpostClient;
  let dir: string;
  let hold: string;
  let workspaceId: string;

  async function leader(): Promise<number | null> {
    const [row] = await sql<{ pid: number }[]>`
      SELECT s.pid FROM pg_locks l JOIN pg_stat_activity s ON s.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted AND s.datname = current_database()
        AND s.application_name = 'outpost-leader-automations'`;
    return row?.pid ?? null;
  }

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'outpost-automations-'));
    hold = path.join(dir, 'hold');
    db = await createTestDatabase();
    sql = postgres(db.url, { max: 2, onnotice: () => {} });
    const env = { OUTPOST_TEST_AUTOMATION_HOLD_FILE: hold };
    a = await startApiProcess(db.url, env, { expectOwnerKey: true });
    // A leads the automations loop before B starts, so killing A really hands the lead over.
    await waitFor(() => leader(), 30_000, 'process A to lead the automations loop');
    b = await startApiProcess(db.url, env);
    owner = new OutpostClient({ baseUrl: b.url, token: a.ownerKey ?? '' });
    const [ws] = await sql<{ id: string }[]>`SELECT id FROM workspaces LIMIT 1`;
    workspaceId = ws?.id ?? '';
  }, 120_000);

  afterAll(async () => {
    await owner?.close();
    await b?.stop();
    await a?.stop();
    await sql?.end({ timeout: 5 });
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs the action exactly once when the leader is killed mid-round', async () => {
    const { deployment } = unwrap(
      await owner.call('deploymentsUpsert', {
        body: {
          flowName: 'ordered',
          name: 'd',
          source: `dir:///never-fetched-${randomUUID()}`,
          entrypoint: 'flow.mjs',
          workPool: 'default',
        },
      }),
    );
    const automation = unwrap(
      await owner.call('automationsCreate', {
        body: {
          name: 'on-order',
          trigger: { type: 'event', match: 'event.kind == "order.placed"' },
          actions: [{ type: 'run-deployment', deployment: 'ordered/d', parameters: { order: '{{ event.payload.order }}' } }],
        },
      }),
    );

    writeFileSync(hold, '');
    // Stored as any writer of the ledger stores a custom event.
    await sql`
      INSERT INTO events (workspace_id, kind, resource_kind, resource_id, payload, source)
      VALUES (${workspaceId}, 'order.placed', 'api-key', 'k', ${sql.json({ order: 'A-17' })}, 'api')`;
    const reached = `${hold}.reached`;
    const pid = await waitFor(() => (existsSync(reached) ? readFileSync(reached, 'utf8') : null), 30_000, 'a round to hold');
    expect(Number(pid)).toBe(a.child.pid);
    // The firing is written but not committed: nobody else sees it.
    const uncommitted = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM automation_firings`;
    expect(uncommitted[0]?.n).toBe(0);

    a.child.kill('SIGKILL');
    await a.exited;
    rmSync(reached, { force: true });
    rmSync(hold, { force: true });

    const runs = await waitFor(
      async () => {
        const page = unwrap(await owner.call('flowRunsList', { query: { deploymentId: deployment.id } }));
        return page.items.length > 0 ? page.items : null;
      },
      30_000,
      'the surviving replica to run the action',
    );
    expect(runs.map((r) => r.parameters)).toEqual([{ order: 'A-17' }]);

    // Later rounds (another event read) change nothing.
    await sql`
      INSERT INTO events (workspace_id, kind, resource_kind, resource_id, source)
      VALUES (${workspaceId}, 'unrelated.tick', 'api-key', 'k', 'api')`;
    await waitFor(async () => ledgerReadUpToNow(sql, 'automation_cursor'), 30_000, 'the loop to read the later event');
    const after = unwrap(await owner.call('flowRunsList', { query: { deploymentId: deployment.id } }));
    expect(after.items).toHaveLength(1);
    const firings = unwrap(await owner.call('automationsFirings', { params: { id: automation.id }, query: {} }));
    expect(firings.items).toHaveLength(1);
    expect(firings.items[0]?.actions).toEqual([
      { index: 0, type: 'run-deployment', status: 'SUCCEEDED', error: null, resultIds: [runs[0]?.id] },
    ]);
  }, 120_000);
});
