import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { describe, expect, test } from 'vitest';
import { type EventRow, LEDGER_START, type LedgerCursor, readLedger } from '../src/events/db/events.js';
import { asset, assetWorld, checkResult, deployed, finish, materialization, report, start } from './assets.support.js';
import { client, deploy, SOURCE, useServer } from './helpers.js';

const api = useServer();

async function eventsOf(workspaceId: string): Promise<EventRow[]> {
  return api.server.sql<EventRow[]>`SELECT * FROM events WHERE workspace_id = ${workspaceId} ORDER BY seq`;
}

function count(rows: EventRow[], kind: string, resourceId?: string): number {
  return rows.filter((r) => r.kind === kind && (resourceId === undefined || r.resource_id === resourceId)).length;
}

describe('system events written by the ledger triggers', () => {
  test('a run, its task failure, its asset writes and check results, deployment changes and audited actions each appear once', async () => {
    const world = await assetWorld(api.server);
    const deployment = await deployed(world, [asset('raw', { checks: [{ name: 'no_nulls' }] })]);
    const made = await world.owner('POST', '/assets/materialize', { body: { assets: ['raw'] } });
    expect(made.status, made.text).toBe(201);
    const run = await start(api.server, world, made.body.flowRunId);

    const task = await run.as('POST', `/flow-runs/${run.id}/task-runs`, {
      body: {
        id: randomUUID(),
        flowRunAttempt: run.attempt,
        name: 'load',
        taskKey: 'load',
        dynamicKey: '0',
        state: { type: 'FAILED', message: 'no rows' },
      },
    });
    expect(task.status, task.text).toBeLessThan(300);
    const reported = await report(run, [materialization('raw'), checkResult('raw', 'no_nulls', true)]);
    expect(reported.status, reported.text).toBe(200);
    await finish(run);
    expect((await world.owner('POST', `/deployments/${deployment.id}/pause`, { body: {} })).status).toBe(200);
    expect((await world.owner('POST', `/deployments/${deployment.id}/resume`, { body: {} })).status).toBe(200);
    const redeployed = await world.owner('PUT', '/deployments', {
      body: {
        flowName: 'assets',
        name: 'warehouse',
        source: SOURCE,
        entrypoint: 'assets.js',
        workPool: world.pool,
        tags: ['nightly'],
        assets: [asset('raw', { checks: [{ name: 'no_nulls' }] })],
      },
    });
    expect(redeployed.status, redeployed.text).toBe(200);

    const rows = await eventsOf(world.ws.workspaceId);
    for (const kind of ['flow-run.scheduled', 'flow-run.pending', 'flow-run.running', 'flow-run.completed']) {
      expect(count(rows, kind, run.id), kind).toBe(1);
    }
    expect(count(rows, 'task-run.failed')).toBe(1);
    expect(count(rows, 'asset.materialized', 'raw')).toBe(1);
    expect(count(rows, 'asset.check.passed', 'raw')).toBe(1);
    for (const kind of ['deployment.created', 'deployment.paused', 'deployment.resumed', 'deployment.updated']) {
      expect(count(rows, kind, deployment.id), kind).toBe(1);
    }
    expect(count(rows, 'audit.deployments-pause')).toBe(1);

    const running = rows.find((r) => r.kind === 'flow-run.running');
    expect(running?.payload).toMatchObject({
      state: { type: 'RUNNING' },
      attempt: 1,
      flow: 'assets',
      deployment: 'assets/warehouse',
    });
    expect(running?.related.map((r) => r.kind).sort()).toEqual(['deployment', 'flow', 'work-pool']);
    const failed = rows.find((r) => r.kind === 'task-run.failed');
    expect(failed?.related).toEqual([{ kind: 'flow-run', id: run.id, name: expect.any(String) }]);
    expect(failed?.payload).toMatchObject({ taskKey: 'load', state: { type: 'FAILED', message: 'no rows' } });
    expect(rows.every((r) => r.source === 'system')).toBe(true);
  });

  test('a check that fails is an asset.check.failed event naming the check', async () => {
    const world = await assetWorld(api.server);
    await deployed(world, [asset('orders', { checks: [{ name: 'fresh' }] })]);
    const made = await world.owner('POST', '/assets/materialize', { body: { assets: ['orders'] } });
    const run = await start(api.server, world, made.body.flowRunId);
    expect((await report(run, [materialization('orders'), checkResult('orders', 'fresh', false)])).status).toBe(200);
    const rows = await eventsOf(world.ws.workspaceId);
    const failed = rows.filter((r) => r.kind === 'asset.check.failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]?.payload).toMatchObject({ check: 'fresh', passed: false, blocking: true });
    expect(count(rows, 'asset.check.passed')).toBe(0);
  });

  test('a deployment deleted is a deployment.deleted event', async () => {
    const ws = await api.server.createWorkspace();
    const owner = client(api.server, ws.ownerKey);
    const made = await deploy(owner, { flowName: 'gone', name: 'soon' });
    await api.server.sql`DELETE FROM deployments WHERE id = ${made.id}`;
    const rows = await eventsOf(ws.workspaceId);
    expect(rows.filter((r) => r.resource_id === made.id).map((r) => r.kind)).toEqual([
      'deployment.created',
      'deployment.deleted',
    ]);
    expect(rows.find((r) => r.kind === 'deployment.deleted')?.resource_name).toBe('gone/soon');
  });

  test('a state change rolled back leaves no event, and one committed leaves exactly one', async () => {
    const world = await assetWorld(api.server);
    await deployed(world, [asset('rb')]);
    const made = await world.owner('POST', '/assets/materialize', { body: { assets: ['rb'] } });
    const runId = made.body.flowRunId as string;
    const [{ seq } = { seq: '0' }] = await api.server.sql<{ seq: string }[]>`SELECT max(seq)::text AS seq FROM events`;
    const insertState = (sql: postgres.TransactionSql) => sql`
      INSERT INTO flow_run_states (workspace_id, flow_run_id, type, name, attempt, timestamp)
      VALUES (${world.ws.workspaceId}, ${runId}, 'CANCELLED', 'Cancelled', 1, now())`;
    await expect(
      api.server.sql.begin(async (tx) => {
        await insertState(tx);
        const [inside] = await tx<{ n: number }[]>`
          SELECT count(*)::int AS n FROM events WHERE resource_id = ${runId} AND kind = 'flow-run.cancelled'`;
        // Written in the same transaction as the state row…
        expect(inside?.n).toBe(1);
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    // …and gone with it.
    const after = await api.server.sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM events WHERE resource_id = ${runId} AND kind = 'flow-run.cancelled'`;
    expect(after[0]?.n).toBe(0);
    await api.server.sql.begin((tx) => insertState(tx));
    const committed = await api.server.sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM events WHERE resource_id = ${runId} AND kind = 'flow-run.cancelled' AND seq > ${seq}::int8`;
    expect(committed[0]?.n).toBe(1);
  });
});

describe('readLedger', () => {
  /** Two connections of their own, so transactions really overlap, and a reader from the ledger's end as it is now. */
  async function setup() {
    const ws = await api.server.createWorkspace();
    const a = postgres(api.server.databaseUrl, { max: 1, onnotice: () => {} });
    const b = postgres(api.server.databaseUrl, { max: 1, onnotice: () => {} });
    const append = (sql: postgres.Sql | postgres.TransactionSql, kind: string) => sql`
      INSERT INTO events (workspace_id, kind, resource_kind, resource_id, source)
      VALUES (${ws.workspaceId}, ${kind}, 'test', 'r', 'api')
      RETURNING seq::text AS seq`;
    let cursor: LedgerCursor = LEDGER_START;
    const seen: string[] = [];
    /** Reads until the window is exhausted, as the loops do; returns the kinds of this workspace it read. */
    const read = async (db: postgres.Sql | postgres.TransactionSql = api.server.sql) => {
      const got: string[] = [];
      for (;;) {
        const { rows, next } = await readLedger(db, cursor, 1000);
        for (const row of rows) if (row.workspace_id === ws.workspaceId) got.push(row.kind);
        cursor = next;
        if (rows.length < 1000) break;
      }
      seen.push(...got);
      return got;
    };
    await read();
    seen.length = 0;
    return { ws, a, b, append, read, seen, close: async () => Promise.all([a.end({ timeout: 1 }), b.end({ timeout: 1 })]) };
  }

  test('reads an event as soon as it commits, while an older transaction that took a lower seq is still open, and that one once it commits', async () => {
    const { a, b, append, read, seen, close } = await setup();
    try {
      let releaseSlow!: () => void;
      const slowMayCommit = new Promise<void>((resolve) => {
        releaseSlow = resolve;
      });
      let slowSeq = '';
      let slowInserted!: () => void;
      const inserted = new Promise<void>((resolve) => {
        slowInserted = resolve;
      });
      // The slow transaction takes its seq first and commits last.
      const slow = a.begin(async (tx) => {
        const [row] = await append(tx, 'test.slow');
        slowSeq = row?.seq ?? '';
        slowInserted();
        await slowMayCommit;
      });
      await inserted;
      const [fast] = await b.begin((tx) => append(tx, 'test.fast'));
      expect(BigInt(fast?.seq ?? '0')).toBeGreaterThan(BigInt(slowSeq));

      // The open transaction holds back only its own event.
      expect(await read()).toEqual(['test.fast']);
      releaseSlow();
      await slow;
      expect(await read()).toEqual(['test.slow']);
      // Read again from the stored cursor: nothing twice.
      expect(await read()).toEqual([]);
      expect(seen).toEqual(['test.fast', 'test.slow']);
    } finally {
      await close();
    }
  });

  test('never reads the event of a transaction that rolled back', async () => {
    const { a, append, read, close } = await setup();
    try {
      await a
        .begin(async (tx) => {
          await append(tx, 'test.rolled-back');
          throw new Error('roll back');
        })
        .catch(() => {});
      await append(a, 'test.after');
      expect(await read()).toEqual(['test.after']);
      expect(await read()).toEqual([]);
    } finally {
      await close();
    }
  });

  test("reads once, in a later window, the events a reader's own transaction writes after it read", async () => {
    const { b, append, read, close } = await setup();
    try {
      await api.server.sql.begin(async (tx) => {
        // The reader's transaction has an id (as a locked cursor row gives it), and a later one has
        // committed since, so its own id is below its snapshot's xmax and missing from its xip.
        await tx`SELECT pg_current_xact_id()`;
        await append(b, 'test.other');
        expect(await read(tx)).toEqual(['test.other']);
        await append(tx, 'test.own');
      });
      expect(await read()).toEqual(['test.own']);
      expect(await read()).toEqual([]);
    } finally {
      await close();
    }
  });

  test('a window read in batches skips nothing that commits meanwhile and reads nothing twice', async () => {
    const { ws, a, append, close } = await setup();
    try {
      let cursor: LedgerCursor = LEDGER_START;
      for (;;) {
        const { rows, next } = await readLedger(api.server.sql, cursor, 1000);
        cursor = next;
        if (rows.length < 1000) break;
      }
      for (let i = 0; i < 25; i++) await append(a, `test.batch-${i}`);
      const kinds: string[] = [];
      for (let round = 0; round < 40; round++) {
        const { rows, next } = await readLedger(api.server.sql, cursor, 4);
        for (const row of rows) if (row.workspace_id === ws.workspaceId) kinds.push(row.kind);
        cursor = next;
        // Events commit between the batches of one window: they belong to a later window.
        if (round === 2) await append(a, 'test.late');
      }
      expect(kinds).toEqual([...Array.from({ length: 25 }, (_, i) => `test.batch-${i}`), 'test.late']);
    } finally {
      await close();
    }
  });
});
