import { randomBytes, randomUUID } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { createLogger } from '../src/logger.js';
import { RetentionLoop, type RetentionOptions } from '../src/loops/retention.js';
import { type Call, claim, client, createRun, deploy, useServer } from './helpers.js';
import { addPerson } from './users.support.js';

const api = useServer();

function retention(options: RetentionOptions): RetentionLoop {
  return new RetentionLoop(api.server.sql, api.server.databaseUrl, createLogger('silent'), options);
}

/** Claims the deployment's next run and returns it with a caller holding its run token. */
async function claimedRun(as: Call, deploymentId: string) {
  await createRun(as, deploymentId);
  const [claimed] = await claim(as);
  return { id: claimed.flowRun.id as string, asRun: client(api.server, claimed.token) };
}

const DAY = 86_400_000;
const line = (seq: number, at: number) => ({ seq, timestamp: new Date(at).toISOString(), level: 'info', message: `line ${seq}` });

async function storedSeqs(runId: string): Promise<number[]> {
  const rows = await api.server.sql<{ seq: number }[]>`SELECT seq FROM logs WHERE flow_run_id = ${runId} ORDER BY seq`;
  return rows.map((r) => r.seq);
}

async function partitionNames(): Promise<string[]> {
  const rows = await api.server.sql<{ name: string }[]>`SELECT name FROM table_partitions WHERE parent = 'logs' ORDER BY ends`;
  return rows.map((r) => r.name);
}

/** A workspace of its own with a deployment. */
async function freshWorkspace(flowName: string) {
  const ws = await api.server.createWorkspace();
  const as = client(api.server, ws.ownerKey);
  const deployment = await deploy(as, { flowName, name: 'd' });
  return { as, deploymentId: deployment.id as string };
}

describe('log retention', () => {
  test('a line on a seq its attempt already holds in another month is a duplicate, not a second line', async () => {
    const { as, deploymentId } = await freshWorkspace('seq-held');
    const { id, asRun } = await claimedRun(as, deploymentId);
    const now = Date.now();
    // Before the test below drops every month before this one.
    expect(
      (await asRun('POST', `/flow-runs/${id}/logs`, { body: { attempt: 1, logs: [line(1, now - 40 * DAY)] } })).body.accepted,
    ).toBe(1);
    // The same seq stamped now (another process's line, or a client that stamped it again), and a new seq.
    const again = await asRun('POST', `/flow-runs/${id}/logs`, {
      body: { attempt: 1, logs: [line(1, now), line(2, now), line(2, now + 1)] },
    });
    expect(again.body).toEqual({ accepted: 1, duplicates: 2 });
    const stored = await api.server.sql<
      { seq: number; at: Date }[]
    >`SELECT seq, timestamp AS at FROM logs WHERE flow_run_id = ${id} ORDER BY seq`;
    expect(stored.map((r) => [r.seq, r.at.getTime()])).toEqual([
      [1, now - 40 * DAY],
      [2, now],
    ]);
  });

  test('keeps every line when no retention is set, and keeps the months ahead made', async () => {
    const { as, deploymentId } = await freshWorkspace('kept-forever');
    const { id, asRun } = await claimedRun(as, deploymentId);
    const logs = [line(1, Date.now() - 4000 * DAY), line(2, Date.now())];
    expect((await asRun('POST', `/flow-runs/${id}/logs`, { body: { attempt: 1, logs } })).body).toEqual({
      accepted: 2,
      duplicates: 0,
    });
    const before = await partitionNames();
    expect(await retention({}).tick()).toBe(0);
    expect(await storedSeqs(id)).toEqual([1, 2]);
    expect(await partitionNames()).toEqual(before);
    // This month and the two after it have a partition of their own.
    const [ahead] = await api.server.sql<{ ends: Date }[]>`SELECT max(ends) AS ends FROM table_partitions WHERE parent = 'logs'`;
    const now = new Date();
    expect(ahead?.ends.getTime()).toBe(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 3, 1));
  });

  test('removes the months of lines wholly past the window, each detached then dropped, and keeps the month the window ends in', async () => {
    const { as, deploymentId } = await freshWorkspace('kept-and-dropped');
    const { id, asRun } = await claimedRun(as, deploymentId);
    const now = Date.now();
    // Stamped long ago (a worker that spooled them through an outage), last month, and now.
    const logs = [line(1, now - 400 * DAY), line(2, now - 35 * DAY), line(3, now)];
    expect((await asRun('POST', `/flow-runs/${id}/logs`, { body: { attempt: 1, logs } })).body.accepted).toBe(3);
    const before = await partitionNames();
    expect(before[0]).toBe('logs_history');

    // A window of a moment: every month that ended before now goes, the current one stays.
    const loop = retention({ logRetentionDays: 1e-6 });
    const dropped = await loop.tick();
    const after = await partitionNames();
    expect(after).not.toContain('logs_history');
    expect(dropped).toBe(before.length - after.length);
    // This month and the two after it.
    expect(after).toHaveLength(3);
    expect(await storedSeqs(id)).toEqual([3]);
    // Readers see what is left, not an error.
    const read = await as('GET', `/flow-runs/${id}/logs`);
    expect(read.status).toBe(200);
    expect(read.body.items.map((l: { seq: number }) => l.seq)).toEqual([3]);
    expect(await loop.tick()).toBe(0);
    expect(await partitionNames()).toEqual(after);

    // A line stamped before the oldest month kept is past retention: not stored, counted with the lines not stored.
    const late = await asRun('POST', `/flow-runs/${id}/logs`, {
      body: { attempt: 1, logs: [line(4, now - 400 * DAY), line(5, now)] },
    });
    expect(late.body).toEqual({ accepted: 1, duplicates: 1 });
    expect(await storedSeqs(id)).toEqual([3, 5]);
  });

  test('a line stamped more than a day ahead of the control plane is refused with its field path, and nothing of its batch is stored', async () => {
    const { as, deploymentId } = await freshWorkspace('clock-ahead');
    const { id, asRun } = await claimedRun(as, deploymentId);
    const res = await asRun('POST', `/flow-runs/${id}/logs`, {
      body: { attempt: 1, logs: [line(1, Date.now()), line(2, Date.now() + 2 * DAY)] },
    });
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body)).toContain('logs.1.timestamp');
    expect(JSON.stringify(res.body)).toContain('ahead of the control plane');
    expect(await storedSeqs(id)).toEqual([]);
    // An hour ahead (a clock that drifted) is taken.
    const drifted = await asRun('POST', `/flow-runs/${id}/logs`, {
      body: { attempt: 1, logs: [line(1, Date.now() + 3_600_000)] },
    });
    expect(drifted.body.accepted).toBe(1);
  });
});

describe('sign-in artefacts', () => {
  test('deletes sessions, sign-in links, setup tokens and single sign-on logins a day after they end, and keeps the rest', async () => {
    const { userId } = await addPerson(api.server, api.owner, 'viewer');
    const ws = api.server.workspaceId;
    const hash = () => randomBytes(16).toString('hex');
    const ago = (seconds: number) => new Date(Date.now() - seconds * 1000);
    const ahead = new Date(Date.now() + 3_600_000);
    const day = 86_400;

    const session = async (expiresAt: Date, revokedAt: Date | null) => {
      const [row] = await api.server.sql<{ id: string }[]>`
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
      const [row] = await api.server.sql<{ id: string }[]>`
        INSERT INTO sign_in_tokens (workspace_id, token_hash, role, expires_at, used_at)
        VALUES (${ws}, ${hash()}, 'owner', ${expiresAt}, ${usedAt}) RETURNING id`;
      return row?.id as string;
    };
    const links = { usedAndExpired: await link(ago(2 * day), ago(3 * day)), live: await link(ahead, null) };
    const setup = { expired: hash(), live: hash() };
    await api.server.sql`
      INSERT INTO password_setup_tokens (token_hash, user_id, workspace_id, expires_at)
      VALUES (${setup.expired}, ${userId}, ${ws}, ${ago(2 * day)}), (${setup.live}, ${userId}, ${ws}, ${ahead})`;
    const logins = { abandoned: hash(), pending: hash() };
    await api.server.sql`
      INSERT INTO oidc_logins (state_hash, workspace_id, nonce, code_verifier, return_to, expires_at)
      VALUES (${logins.abandoned}, ${ws}, ${randomUUID()}, ${hash()}, '/', ${ago(2 * day)}),
             (${logins.pending}, ${ws}, ${randomUUID()}, ${hash()}, '/', ${ahead})`;

    expect(await retention({}).tick()).toBeGreaterThanOrEqual(5);

    const present = async (table: string, column: string, values: string[]) => {
      const rows = await api.server.sql<{ v: string }[]>`
        SELECT ${api.server.sql(column)}::text AS v FROM ${api.server.sql(table)} WHERE ${api.server.sql(column)}::text = ANY(${api.server.sql.array(values)})`;
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
