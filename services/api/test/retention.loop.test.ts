import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { pruneLogBatch } from '../src/db/retention.js';
import { createLogger } from '../src/logger.js';
import { RetentionLoop, type RetentionOptions } from '../src/loops/retention.js';
import { startTestServer, type TestServer } from '../src/testing.js';
import { type Call, claim, client, createRun, deploy } from './helpers.js';
import { addPerson } from './users.support.js';

let server: TestServer;
let owner: Call;

beforeAll(async () => {
  server = await startTestServer({ loops: false });
  owner = client(server, server.ownerKey);
});
afterAll(async () => {
  await server?.close();
});

function retention(options: RetentionOptions): RetentionLoop {
  return new RetentionLoop(server.sql, server.databaseUrl, createLogger('silent'), options);
}

const line = (seq: number, message: string) => ({ seq, timestamp: new Date().toISOString(), level: 'info', message });

/** Claims the deployment's next run and writes `lines` lines with its run token; returns the run and its caller. */
async function runningWithLogs(as: Call, deploymentId: string, lines: number, attempt = 1) {
  if (attempt === 1) await createRun(as, deploymentId);
  const [claimed] = await claim(as);
  const id: string = claimed.flowRun.id;
  const asRun = client(server, claimed.token);
  const logs = Array.from({ length: lines }, (_, i) => line(i + 1, `attempt ${attempt} line ${i + 1}`));
  expect((await asRun('POST', `/flow-runs/${id}/logs`, { body: { attempt, logs } })).status).toBe(200);
  for (const type of ['RUNNING'] as const) {
    const res = await asRun('POST', `/flow-runs/${id}/set-state`, { body: { transitionId: randomUUID(), state: { type } } });
    expect(res.body.status).toBe('ACCEPT');
  }
  return { id, asRun };
}

/** A run that wrote `lines` lines and COMPLETED. */
async function finishedWithLogs(as: Call, deploymentId: string, lines: number): Promise<string> {
  const { id, asRun } = await runningWithLogs(as, deploymentId, lines);
  const res = await asRun('POST', `/flow-runs/${id}/set-state`, {
    body: { transitionId: randomUUID(), state: { type: 'COMPLETED' } },
  });
  expect(res.body.status).toBe('ACCEPT');
  return id;
}

/** Moves the runs' end `days` into the past, a second apart in the order given, as if they had ended then. */
async function endedAgo(ids: string[], days: number): Promise<void> {
  await server.sql`
    UPDATE flow_runs SET end_time = now() - make_interval(days => ${days}) - make_interval(secs => ${ids.length})
      + (array_position(${server.sql.array(ids)}::uuid[], id) * interval '1 second')
    WHERE id = ANY(${server.sql.array(ids)}::uuid[])`;
}

async function lineCounts(ids: string[]): Promise<number[]> {
  const rows = await server.sql<{ id: string; n: number }[]>`
    SELECT r.id, (SELECT count(*) FROM logs l WHERE l.flow_run_id = r.id)::int AS n
    FROM flow_runs r WHERE r.id = ANY(${server.sql.array(ids)}::uuid[])`;
  const byId = new Map(rows.map((r) => [r.id, r.n]));
  return ids.map((id) => byId.get(id) ?? -1);
}

async function markOf(workspaceId: string): Promise<string | null> {
  const [mark] = await server.sql<{ id: string }[]>`
    SELECT logs_through_run_id AS id FROM retention_marks WHERE workspace_id = ${workspaceId}`;
  return mark?.id ?? null;
}

/** A workspace of its own, so no other test's mark stands in front of its runs. */
async function freshWorkspace(flowName: string) {
  const ws = await server.createWorkspace();
  const as = client(server, ws.ownerKey);
  const deployment = await deploy(as, { flowName, name: 'd' });
  return { workspaceId: ws.workspaceId, as, deploymentId: deployment.id as string };
}

describe('log retention', () => {
  test("deletes the lines of runs that ended before the window and keeps the rest, a running run's included; a second pass finds nothing", async () => {
    const { workspaceId, as, deploymentId } = await freshWorkspace('kept-and-pruned');
    const old = [];
    for (let i = 0; i < 3; i++) old.push(await finishedWithLogs(as, deploymentId, 5));
    const recent = await finishedWithLogs(as, deploymentId, 4);
    const running = (await runningWithLogs(as, deploymentId, 6)).id;
    await endedAgo(old, 40);
    await endedAgo([recent], 29);
    // Created long ago but still going: its lines stay, however old the run.
    await server.sql`UPDATE flow_runs SET created_at = now() - interval '90 days' WHERE id = ${running}`;

    const loop = retention({ logRetentionDays: 30 });
    expect(await loop.tick()).toBeGreaterThanOrEqual(15);
    expect(await lineCounts(old)).toEqual([0, 0, 0]);
    expect(await lineCounts([recent, running])).toEqual([4, 6]);
    // Readers see an empty log, not an error.
    const read = await as('GET', `/flow-runs/${old[0]}/logs`);
    expect(read.status).toBe(200);
    expect(read.body.items).toEqual([]);

    expect(await markOf(workspaceId)).toBe(old[2]);
    expect(await loop.tick()).toBe(0);
    expect(await lineCounts([recent, running])).toEqual([4, 6]);
  });

  test('a run retried after its lines were pruned comes back ahead of the mark, and its new lines go when it has ended again', async () => {
    const { workspaceId, as, deploymentId } = await freshWorkspace('retried');
    const id = await finishedWithLogs(as, deploymentId, 3);
    await endedAgo([id], 50);
    const loop = retention({ logRetentionDays: 30 });
    await loop.tick();
    expect(await lineCounts([id])).toEqual([0]);
    expect(await markOf(workspaceId)).toBe(id);

    expect((await as('POST', `/flow-runs/${id}/retry`, { body: {} })).body.status).toBe('ACCEPT');
    const again = await runningWithLogs(as, deploymentId, 2, 2);
    expect(again.id).toBe(id);
    // Still going: nothing of attempt 2 is touched.
    await loop.tick();
    expect(await lineCounts([id])).toEqual([2]);
    const done = await again.asRun('POST', `/flow-runs/${id}/set-state`, {
      body: { transitionId: randomUUID(), state: { type: 'COMPLETED' } },
    });
    expect(done.body.status).toBe('ACCEPT');
    await endedAgo([id], 31);
    await loop.tick();
    expect(await lineCounts([id])).toEqual([0]);
  });

  test('keeps every line when no retention is set', async () => {
    const { as, deploymentId } = await freshWorkspace('kept-forever');
    const id = await finishedWithLogs(as, deploymentId, 3);
    await endedAgo([id], 4000);
    expect(await retention({}).tick()).toBe(0);
    expect(await lineCounts([id])).toEqual([3]);
  });

  test('deletes a bounded number of lines a statement, and moves the mark only past runs with none left', async () => {
    const { workspaceId, as, deploymentId } = await freshWorkspace('verbose');
    const runs = [await finishedWithLogs(as, deploymentId, 5), await finishedWithLogs(as, deploymentId, 5)];
    await endedAgo(runs, 90);
    const loop = retention({ logRetentionDays: 60, linesPerBatch: 4, batchesPerWorkspace: 1 });
    const seen = [];
    for (let pass = 0; pass < 4; pass++) {
      await loop.tick();
      const counts = await lineCounts(runs);
      seen.push({ left: counts[0]! + counts[1]!, mark: await markOf(workspaceId) });
    }
    expect(seen).toEqual([
      { left: 6, mark: null },
      { left: 2, mark: null },
      { left: 0, mark: runs[1] },
      { left: 0, mark: runs[1] },
    ]);
  });

  test('prunes every workspace from its own mark, a bounded number of batches at a time', async () => {
    const a = await freshWorkspace('here');
    const b = await freshWorkspace('elsewhere');
    const runs = [];
    for (let i = 0; i < 5; i++) runs.push(await finishedWithLogs(b.as, b.deploymentId, 2));
    const mine = await finishedWithLogs(a.as, a.deploymentId, 2);
    await endedAgo(runs, 90);
    await endedAgo([mine], 90);

    // Two runs a statement, one statement per workspace a pass: three passes for five runs.
    const loop = retention({ logRetentionDays: 60, runsPerBatch: 2, batchesPerWorkspace: 1 });
    const remaining = [];
    for (let pass = 0; pass < 3; pass++) {
      await loop.tick();
      remaining.push((await lineCounts(runs)).filter((n) => n > 0).length);
    }
    expect(remaining).toEqual([3, 1, 0]);
    expect(await lineCounts([mine])).toEqual([0]);
    expect(await markOf(a.workspaceId)).toBe(mine);
    expect(await markOf(b.workspaceId)).toBe(runs[4]);
  });

  test('a batch started from a stale mark deletes nothing twice and never moves the mark back', async () => {
    const { workspaceId, as, deploymentId } = await freshWorkspace('raced');
    const runs = [];
    for (let i = 0; i < 6; i++) runs.push(await finishedWithLogs(as, deploymentId, 3));
    await endedAgo(runs, 400);
    const [second] = await server.sql<{ end_time: Date }[]>`SELECT end_time FROM flow_runs WHERE id = ${runs[1]!}`;
    await retention({ logRetentionDays: 365 }).tick();
    expect(await markOf(workspaceId)).toBe(runs[5]);

    // As a second replica would, having read the mark before the first one moved it.
    const stale = await pruneLogBatch(server.sql, {
      workspaceId,
      days: 365,
      runs: 2,
      maxLines: 100,
      after: { endTime: second!.end_time, runId: runs[1]! },
    });
    expect(stale).toEqual({ runs: 2, lines: 0, full: false });
    expect(await markOf(workspaceId)).toBe(runs[5]);
    expect(await lineCounts(runs)).toEqual([0, 0, 0, 0, 0, 0]);
  });
});

describe('sign-in artefacts', () => {
  test('deletes sessions, sign-in links, setup tokens and single sign-on logins a day after they end, and keeps the rest', async () => {
    const { userId } = await addPerson(server, owner, 'viewer');
    const ws = server.workspaceId;
    const hash = () => randomBytes(16).toString('hex');
    const ago = (seconds: number) => new Date(Date.now() - seconds * 1000);
    const ahead = new Date(Date.now() + 3_600_000);
    const day = 86_400;

    const session = async (expiresAt: Date, revokedAt: Date | null) => {
      const [row] = await server.sql<{ id: string }[]>`
        INSERT INTO sessions (workspace_id, token_hash, csrf_hash, role, label, expires_at, revoked_at)
        VALUES (${ws}, ${hash()}, ${hash()}, 'viewer', 'retention test', ${expiresAt}, ${revokedAt}) RETURNING id`;
      return row?.id as string;
    };
    const sessions = {
      expired: await session(ago(2 * day), null),
      revoked: await session(ahead, ago(2 * day)),
      justExpired: await session(ago(3600), null),
      live: await session(ahead, null),
    };
    const link = async (expiresAt: Date, usedAt: Date | null) => {
      const [row] = await server.sql<{ id: string }[]>`
        INSERT INTO sign_in_tokens (workspace_id, token_hash, role, expires_at, used_at)
        VALUES (${ws}, ${hash()}, 'owner', ${expiresAt}, ${usedAt}) RETURNING id`;
      return row?.id as string;
    };
    const links = { usedAndExpired: await link(ago(2 * day), ago(3 * day)), live: await link(ahead, null) };
    const setup = { expired: hash(), live: hash() };
    await server.sql`
      INSERT INTO password_setup_tokens (token_hash, user_id, workspace_id, expires_at)
      VALUES (${setup.expired}, ${userId}, ${ws}, ${ago(2 * day)}), (${setup.live}, ${userId}, ${ws}, ${ahead})`;
    const logins = { abandoned: hash(), pending: hash() };
    await server.sql`
      INSERT INTO oidc_logins (state_hash, workspace_id, nonce, code_verifier, return_to, expires_at)
      VALUES (${logins.abandoned}, ${ws}, ${randomUUID()}, ${hash()}, '/', ${ago(2 * day)}),
             (${logins.pending}, ${ws}, ${randomUUID()}, ${hash()}, '/', ${ahead})`;

    expect(await retention({}).tick()).toBeGreaterThanOrEqual(5);

    const present = async (table: string, column: string, values: string[]) => {
      const rows = await server.sql<{ v: string }[]>`
        SELECT ${server.sql(column)}::text AS v FROM ${server.sql(table)} WHERE ${server.sql(column)}::text = ANY(${server.sql.array(values)})`;
      const found = new Set(rows.map((r) => r.v));
      return values.map((v) => found.has(v));
    };
    expect(await present('sessions', 'id', [sessions.expired, sessions.revoked, sessions.justExpired, sessions.live])).toEqual([
      false,
      false,
      true,
      true,
    ]);
    expect(await present('sign_in_tokens', 'id', [links.usedAndExpired, links.live])).toEqual([false, true]);
    expect(await present('password_setup_tokens', 'token_hash', [setup.expired, setup.live])).toEqual([false, true]);
    expect(await present('oidc_logins', 'state_hash', [logins.abandoned, logins.pending])).toEqual([false, true]);
  });
});
