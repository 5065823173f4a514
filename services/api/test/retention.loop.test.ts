import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
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

/** A run of `as`'s workspace, claimed, with `lines` log lines written through its run token. */
async function runWithLogs(as: Call, deploymentId: string, pool: string, lines: number): Promise<string> {
  await createRun(as, deploymentId);
  const [claimed] = await claim(as, pool);
  const id: string = claimed.flowRun.id;
  const logs = Array.from({ length: lines }, (_, i) => ({
    seq: i + 1,
    timestamp: new Date().toISOString(),
    level: 'info',
    message: `line ${i + 1}`,
  }));
  const res = await client(server, claimed.token)('POST', `/flow-runs/${id}/logs`, { body: { attempt: 1, logs } });
  expect(res.status).toBe(200);
  return id;
}

/** Moves a run's creation `days` into the past, as if it had been created then. */
async function age(ids: string[], days: number): Promise<void> {
  await server.sql`
    UPDATE flow_runs SET created_at = now() - make_interval(days => ${days}) - make_interval(secs => ${ids.length})
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

describe('log retention', () => {
  test("deletes the lines of runs created before the window, keeps newer runs' lines, and a second pass finds nothing", async () => {
    const d = await deploy(owner, { flowName: 'kept-and-pruned', name: 'k' });
    const old = [];
    for (let i = 0; i < 3; i++) old.push(await runWithLogs(owner, d.id, 'default', 5));
    const recent = [];
    for (let i = 0; i < 2; i++) recent.push(await runWithLogs(owner, d.id, 'default', 4));
    await age(old, 40);
    await age([recent[0] as string], 29);

    const loop = retention({ logRetentionDays: 30 });
    expect(await loop.tick()).toBeGreaterThanOrEqual(3);
    expect(await lineCounts(old)).toEqual([0, 0, 0]);
    expect(await lineCounts(recent)).toEqual([4, 4]);
    // Readers see an empty log, not an error.
    const read = await owner('GET', `/flow-runs/${old[0]}/logs`);
    expect(read.status).toBe(200);
    expect(read.body.items).toEqual([]);

    const [mark] = await server.sql<{ id: string }[]>`
      SELECT logs_through_run_id AS id FROM retention_marks WHERE workspace_id = ${server.workspaceId}`;
    expect(mark?.id).toBe(old[2]);
    expect(await loop.tick()).toBe(0);
    expect(await lineCounts(recent)).toEqual([4, 4]);
  });

  test('keeps every line when no retention is set', async () => {
    const d = await deploy(owner, { flowName: 'kept-forever', name: 'f' });
    const id = await runWithLogs(owner, d.id, 'default', 3);
    await age([id], 4000);
    expect(await retention({}).tick()).toBe(0);
    expect(await lineCounts([id])).toEqual([3]);
  });

  test('prunes every workspace from its own mark, a bounded number of batches at a time', async () => {
    const other = await server.createWorkspace();
    const otherOwner = client(server, other.ownerKey);
    const d = await deploy(otherOwner, { flowName: 'elsewhere', name: 'e' });
    const runs = [];
    for (let i = 0; i < 5; i++) runs.push(await runWithLogs(otherOwner, d.id, 'default', 2));
    await age(runs, 90);

    // Two runs a statement, one statement per workspace a pass: three passes for five runs.
    const loop = retention({ logRetentionDays: 60, runsPerBatch: 2, batchesPerWorkspace: 1 });
    const remaining = [];
    for (let pass = 0; pass < 3; pass++) {
      await loop.tick();
      remaining.push((await lineCounts(runs)).filter((n) => n > 0).length);
    }
    expect(remaining).toEqual([3, 1, 0]);
    expect(await loop.tick()).toBe(0);
  });

  test('two passes at once delete each line once and leave the mark at the newest pruned run', async () => {
    // A workspace of its own: another test's mark must not stand behind these runs.
    const ws = await server.createWorkspace();
    const wsOwner = client(server, ws.ownerKey);
    const d = await deploy(wsOwner, { flowName: 'raced', name: 'r' });
    const runs = [];
    for (let i = 0; i < 6; i++) runs.push(await runWithLogs(wsOwner, d.id, 'default', 3));
    await age(runs, 400);
    const before = (await server.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM logs`)[0]?.n ?? 0;
    const deleted = (
      await server.sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM logs WHERE flow_run_id = ANY(${server.sql.array(runs)}::uuid[])`
    )[0]?.n;
    expect(deleted).toBe(18);

    await Promise.all([
      retention({ logRetentionDays: 365, runsPerBatch: 2 }).tick(),
      retention({ logRetentionDays: 365, runsPerBatch: 3 }).tick(),
    ]);
    expect(await lineCounts(runs)).toEqual([0, 0, 0, 0, 0, 0]);
    const after = (await server.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM logs`)[0]?.n ?? 0;
    expect(before - after).toBe(18);
    const [mark] = await server.sql<{ id: string }[]>`
      SELECT logs_through_run_id AS id FROM retention_marks WHERE workspace_id = ${ws.workspaceId}`;
    expect(mark?.id).toBe(runs[5]);
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
