import { AUDIT_CHAIN_GENESIS, AuditChainVerifier, auditEntryHash, auditEntryText } from '@outpost/sdk/audit-chain';
import type { AuditChainHead, AuditEntry } from '@outpost/sdk/contracts';
import type postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { migrateDatabase } from '../src/db/migrate.js';
import { appendAuditEntry, mergedAuditEntries, type NewAuditEntry } from '../src/identity/db/audit.js';
import { startTestServer, type TestServer } from '../src/testing/index.js';
import { type Call, client, useScratchDatabases } from './helpers.js';
import { addPerson, confirmAddress, type PersonSession, signInPerson } from './users.support.js';

let server: TestServer;
let owner: Call;
let aliceIn: PersonSession;
const scratch = useScratchDatabases();

function entry(workspaceId: string, fields: Partial<NewAuditEntry> = {}): NewAuditEntry {
  return {
    workspaceId,
    actorKind: 'api_key',
    actorId: null,
    action: 'chainTest',
    method: 'POST',
    path: '/x',
    status: 200,
    clientAddress: '127.0.0.1',
    userAgent: null,
    requestId: null,
    targetIds: {},
    resultIds: {},
    summary: {},
    ...fields,
  };
}

/** Every line of an NDJSON answer, parsed. */
async function ndjson(res: Response): Promise<AuditEntry[]> {
  const text = await res.text();
  return text === ''
    ? []
    : text
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line) as AuditEntry);
}

async function exportOf(workspaceKey: string, query = ''): Promise<AuditEntry[]> {
  const res = await server.app.request(`/api/v1/audit-log/export${query}`, {
    headers: { authorization: `Bearer ${workspaceKey}` },
  });
  expect(res.status).toBe(200);
  return ndjson(res);
}

function verify(entries: AuditEntry[], options: { complete: boolean; anchors?: AuditChainHead[] }, heads: AuditChainHead[] = []) {
  const verifier = new AuditChainVerifier({ ...options, heads });
  for (const e of entries) verifier.add(e);
  return verifier.finish();
}

/** Runs `change` with every trigger of the session off, as only the database's superuser can: a tamperer. */
async function tamper(change: (sql: postgres.TransactionSql) => Promise<unknown>): Promise<void> {
  await server.sql.begin(async (tx) => {
    await tx`SET LOCAL session_replication_role = replica`;
    await change(tx);
  });
}

beforeAll(async () => {
  server = await startTestServer({ loops: false });
  owner = client(server, server.ownerKey);
  const alice = await addPerson(server, owner, 'owner');
  await confirmAddress(server, alice);
  aliceIn = await signInPerson(server, alice.email);
});
afterAll(async () => {
  await server?.close();
});

describe('the audit hash chain', () => {
  test("the SDK prints an entry exactly as the database's trigger does, for text, keys and numbers chosen to differ", async () => {
    const ws = await server.createWorkspace();
    const awkward = [
      { summary: { values: { note: 'quote " backslash \\ slash / tab \t newline \n bell \u0007 del \u007f' } } },
      { summary: { é: 1, ab: 2, b: 3, ü: 4, aa: 5, z: { yy: null, x: [true, false, null] } } },
      {
        summary: {
          small: 1.5e-7,
          big: 1e21,
          bigger: 1.7976931348623157e308,
          fraction: 0.1,
          negative: -42,
          zero: -0,
          int: 1234567890123,
        },
      },
      { summary: { emoji: 'run 🚀 done', cjk: '流程', rtl: 'مرحبا', combining: 'e\u0301' }, userAgent: 'agent "x" \\ 🚀' },
      {
        targetIds: { 'apiKey.id': 'k', id: 'x' },
        resultIds: { z: '1', a: '2' },
        actorId: '00000000-0000-4000-8000-000000000001',
      },
      { method: null, path: null, clientAddress: null, requestId: 'r\u0001q', status: 409 },
    ];
    for (const fields of awkward) await appendAuditEntry(server.sql, entry(ws.workspaceId, fields as Partial<NewAuditEntry>));
    const exported = await exportOf(ws.ownerKey, '?action=chainTest');
    expect(exported).toHaveLength(awkward.length);
    const printed = await server.sql<{ id: string; text: string; chain_hash: string }[]>`
      SELECT id::text, audit_entry_text(a) AS text, chain_hash FROM audit_log a
      WHERE workspace_id = ${ws.workspaceId} AND action = 'chainTest' ORDER BY chain_seq`;
    for (const [i, e] of exported.entries()) {
      expect(auditEntryText(e)).toBe(printed[i]?.text);
      expect(auditEntryHash(e.chain.prev, e)).toBe(e.chain.hash);
      expect(e.chain.hash).toBe(printed[i]?.chain_hash);
    }
  });

  test('entries written at once take consecutive places, and an export of the workspace verifies from its genesis to its head', async () => {
    const ws = await server.createWorkspace();
    await Promise.all(
      Array.from({ length: 60 }, (_, i) => appendAuditEntry(server.sql, entry(ws.workspaceId, { requestId: String(i) }))),
    );
    const head = (await client(server, ws.ownerKey)('GET', '/audit-log/head')).body as AuditChainHead;
    const exported = await exportOf(ws.ownerKey);
    expect(exported[0]?.chain).toMatchObject({ seq: '1', prev: AUDIT_CHAIN_GENESIS });
    expect(exported.map((e) => e.chain.seq)).toEqual(exported.map((_, i) => String(i + 1)));
    expect(head).toEqual({ workspaceId: ws.workspaceId, seq: exported.at(-1)?.chain.seq, hash: exported.at(-1)?.chain.hash });
    const [report] = verify(exported, { complete: true }, [head]);
    expect(report).toMatchObject({ workspaceId: ws.workspaceId, entries: exported.length, firstSeq: '1', problems: [] });
  });

  test('a changed entry, a removed entry and an export cut short are each found', async () => {
    const ws = await server.createWorkspace();
    for (let i = 0; i < 5; i++) await appendAuditEntry(server.sql, entry(ws.workspaceId, { summary: { n: i } }));
    const head = (await client(server, ws.ownerKey)('GET', '/audit-log/head')).body as AuditChainHead;
    const before = await exportOf(ws.ownerKey);
    const third = before[2] as AuditEntry;

    await tamper((tx) => tx`UPDATE audit_log SET summary = '{"n": 99}' WHERE id = ${third.id}`);
    const changed = verify(await exportOf(ws.ownerKey), { complete: true }, [head])[0];
    expect(changed?.problems).toEqual([
      `entry ${third.id} (place 3): its content does not match its hash; it was changed after it was written`,
    ]);

    await tamper((tx) => tx`DELETE FROM audit_log WHERE id = ${third.id}`);
    const removed = verify(await exportOf(ws.ownerKey), { complete: true }, [head])[0];
    expect(removed?.problems).toEqual([`entry ${before[3]?.id} (place 4): places 3 to 3 are missing`]);
    // A filtered export expects gaps; the gap is still reported, as a gap.
    expect(verify(await exportOf(ws.ownerKey), { complete: false })[0]).toMatchObject({
      problems: [],
      gaps: [{ afterSeq: '2', beforeSeq: '4' }],
    });

    const cut = verify((await exportOf(ws.ownerKey)).slice(0, 2), { complete: true }, [head])[0];
    expect(cut?.problems).toContain("the export ends at place 2, but the chain's head was at 5: entries are missing at the end");

    const headless = (await exportOf(ws.ownerKey)).slice(1);
    expect(verify(headless, { complete: true }, [head])[0]?.problems).toContain(
      `entry ${headless[0]?.id} (place 2): the export starts here, so places 1 to 1 are missing`,
    );
  });

  test('a pull that resumes right after its anchor verifies whole, and anchors of workspaces it does not cover are left alone', async () => {
    const ws = await server.createWorkspace();
    for (let i = 0; i < 6; i++) await appendAuditEntry(server.sql, entry(ws.workspaceId, { summary: { n: i } }));
    const all = await exportOf(ws.ownerKey);
    const anchor: AuditChainHead = { workspaceId: ws.workspaceId, seq: all[2]?.chain.seq ?? '', hash: all[2]?.chain.hash ?? '' };
    const elsewhere: AuditChainHead = { workspaceId: server.workspaceId, seq: '1', hash: 'f'.repeat(64) };
    const rest = await exportOf(ws.ownerKey, `?afterSeq=${anchor.seq}`);
    const head = (await client(server, ws.ownerKey)('GET', '/audit-log/head')).body as AuditChainHead;
    expect(verify(rest, { complete: true, anchors: [anchor, elsewhere] }, [head])[0]?.problems).toEqual([]);
    const forged = { ...anchor, hash: 'e'.repeat(64) };
    expect(verify(rest, { complete: true, anchors: [forged] }, [head])[0]?.problems).toEqual([
      `entry ${rest[0]?.id} (place ${rest[0]?.chain.seq}): does not follow the anchor at place ${anchor.seq}: history was rewritten since`,
    ]);
  });

  test('a history rewritten with every hash recomputed still breaks the anchor kept from an earlier verification', async () => {
    const ws = await server.createWorkspace();
    for (let i = 0; i < 4; i++) await appendAuditEntry(server.sql, entry(ws.workspaceId, { summary: { n: i } }));
    const first = await exportOf(ws.ownerKey);
    const [report] = verify(first, { complete: true });
    const anchor: AuditChainHead = { workspaceId: ws.workspaceId, seq: report?.lastSeq ?? '', hash: report?.lastHash ?? '' };

    // The tamperer changes the second entry, then writes the chain's hashes again from there on.
    const second = first[1] as AuditEntry;
    const headBefore = (await client(server, ws.ownerKey)('GET', '/audit-log/head')).body as AuditChainHead;
    await tamper(async (tx) => {
      await tx`UPDATE audit_log SET summary = '{"n": "forged"}' WHERE id = ${second.id}`;
      const rows = await tx<{ id: string }[]>`
        SELECT id::text FROM audit_log WHERE workspace_id = ${ws.workspaceId} AND chain_seq >= 2 ORDER BY chain_seq`;
      for (const row of rows) {
        await tx`
          UPDATE audit_log a SET chain_prev = p.chain_hash, chain_hash = audit_chain_hash(p.chain_hash, a)
          FROM audit_log p WHERE a.id = ${row.id} AND p.workspace_id = a.workspace_id AND p.chain_seq = a.chain_seq - 1`;
      }
    });
    // The head the server keeps still holds the old hash.
    expect(verify(await exportOf(ws.ownerKey), { complete: true }, [headBefore])[0]?.problems).toEqual([
      `the entry at place ${headBefore.seq} is not the chain's head the server holds: the log was rewritten`,
    ]);
    await tamper(async (tx) => {
      await tx`
        UPDATE audit_chain_heads h SET hash = a.chain_hash FROM audit_log a
        WHERE h.workspace_id = ${ws.workspaceId} AND a.workspace_id = h.workspace_id AND a.chain_seq = h.seq`;
    });
    const rewritten = await exportOf(ws.ownerKey);
    // On its own, the rewritten chain holds together: only the anchor tells.
    expect(verify(rewritten, { complete: true })[0]?.problems).toEqual([]);
    expect(verify(rewritten, { complete: true, anchors: [anchor] })[0]?.problems).toEqual([
      `the entry at place ${anchor.seq} is not the one verified before: history was rewritten since`,
    ]);
  });

  test('the database refuses to move a chain head back, and an insert cannot choose its own place', async () => {
    const ws = await server.createWorkspace();
    await appendAuditEntry(server.sql, entry(ws.workspaceId));
    await appendAuditEntry(server.sql, entry(ws.workspaceId));
    await expect(server.sql`UPDATE audit_chain_heads SET seq = 1 WHERE workspace_id = ${ws.workspaceId}`).rejects.toThrow(
      'an audit chain head only moves one entry forward',
    );
    await expect(server.sql`DELETE FROM audit_chain_heads WHERE workspace_id = ${ws.workspaceId}`).rejects.toThrow(
      'an audit chain head only moves one entry forward',
    );
    const [row] = await server.sql<{ chain_seq: string; chain_prev: string }[]>`
      INSERT INTO audit_log (workspace_id, actor_kind, action, status, chain_seq, chain_prev, chain_hash)
      VALUES (${ws.workspaceId}, 'api_key', 'forged', 200, 1, ${AUDIT_CHAIN_GENESIS}, ${'f'.repeat(64)})
      RETURNING chain_seq::text, chain_prev`;
    expect(row?.chain_seq).toBe('3');
    expect(row?.chain_prev).not.toBe(AUDIT_CHAIN_GENESIS);
  });

  test('a request with a lone surrogate in its body is still audited, as U+FFFD, and its entry verifies', async () => {
    const ws = await server.createWorkspace();
    const res = await server.app.request('/api/v1/work-pools', {
      method: 'POST',
      headers: { authorization: `Bearer ${ws.ownerKey}`, 'content-type': 'application/json' },
      body: '{"name": "lone-surrogate", "description": "half \\ud83d a rocket"}',
    });
    expect(res.status).toBe(201);
    const [written] = await exportOf(ws.ownerKey, '?action=poolsCreate');
    expect(written?.summary).toMatchObject({ values: { description: 'half \uFFFD a rocket' } });
    expect(auditEntryHash(written?.chain.prev ?? '', written as AuditEntry)).toBe(written?.chain.hash);
  });

  test('an export resumed after the last place a reader holds returns exactly the entries after it', async () => {
    const ws = await server.createWorkspace();
    for (let i = 0; i < 7; i++) await appendAuditEntry(server.sql, entry(ws.workspaceId));
    const all = await exportOf(ws.ownerKey);
    const rest = await exportOf(ws.ownerKey, `?afterSeq=${all[3]?.chain.seq}`);
    expect(rest.map((e) => e.id)).toEqual(all.slice(4).map((e) => e.id));
    expect(await exportOf(ws.ownerKey, `?afterSeq=${all.at(-1)?.chain.seq}`)).toEqual([]);
  });

  test('an installation from before the chain gets every existing entry chained, workspace by workspace, in id order', async () => {
    const db = await scratch.make('0047_audit_chain');
    const { sql } = db;
    const [org] = await sql<{ id: string }[]>`INSERT INTO organisations (slug, name) VALUES ('acme', 'Acme') RETURNING id`;
    const workspaces = await sql<{ id: string }[]>`
      INSERT INTO workspaces (organisation_id, slug, name) VALUES (${org?.id ?? ''}, 'one', 'One'), (${org?.id ?? ''}, 'two', 'Two')
      RETURNING id`;
    for (const [i, w] of [...workspaces, ...workspaces, ...workspaces].entries()) {
      await sql`
        INSERT INTO audit_log (workspace_id, actor_kind, action, status, summary)
        VALUES (${w.id}, 'api_key', ${`old-${i}`}, 200, ${sql.json({ i, note: 'ü "x"' })})`;
    }
    await migrateDatabase(db.url);
    for (const w of workspaces) {
      const rows = await sql<{ id: string; chain_seq: string; chain_prev: string; chain_hash: string; text: string }[]>`
        SELECT id::text, chain_seq::text, chain_prev, chain_hash, audit_entry_text(a) AS text
        FROM audit_log a WHERE workspace_id = ${w.id} ORDER BY chain_seq`;
      expect(rows.map((r) => r.chain_seq)).toEqual(['1', '2', '3']);
      expect([...rows].sort((a, b) => Number(a.id) - Number(b.id)).map((r) => r.chain_seq)).toEqual(['1', '2', '3']);
      let prev = AUDIT_CHAIN_GENESIS;
      for (const row of rows) {
        expect(row.chain_prev).toBe(prev);
        prev = row.chain_hash;
      }
      const [head] = await sql<{ seq: string; hash: string }[]>`
        SELECT seq::text, hash FROM audit_chain_heads WHERE workspace_id = ${w.id}`;
      expect(head).toEqual({ seq: '3', hash: prev });
      // The next entry extends the migrated chain.
      const [next] = await sql<{ chain_seq: string; chain_prev: string }[]>`
        INSERT INTO audit_log (workspace_id, actor_kind, action, status) VALUES (${w.id}, 'api_key', 'new', 200)
        RETURNING chain_seq::text, chain_prev`;
      expect(next).toEqual({ chain_seq: '4', chain_prev: prev });
    }
    await expect(sql`UPDATE audit_log SET status = 500`).rejects.toThrow('append-only');
  });
});

describe("the organisation's audit export", () => {
  test('merges many workspaces in time order, every entry once, however small the pages each is read in', async () => {
    const workspaces = await Promise.all(Array.from({ length: 7 }, () => server.createWorkspace()));
    const ids = workspaces.map((w) => w.workspaceId);
    // Written one after another into workspaces in a scattered order: the log's own order is the answer.
    const written: string[] = [];
    for (let i = 0; i < 60; i++) {
      const action = `merge${i}`;
      await appendAuditEntry(server.sql, entry(ids[(i * 5 + (i >> 2)) % ids.length] as string, { action }));
      written.push(action);
    }
    // Fixed pages, and pages as large as the number of workspaces still being read (7 down to 1).
    for (const pageSize of [1, 3, 50, (live: number) => live]) {
      const label = typeof pageSize === 'number' ? `pages of ${pageSize}` : 'pages of the workspaces left';
      const merged: AuditEntry[] = [];
      for await (const e of mergedAuditEntries(server.sql, ids, { action: undefined }, pageSize)) merged.push(e);
      const ours = merged.filter((e) => e.action.startsWith('merge'));
      expect(
        ours.map((e) => e.action),
        label,
      ).toEqual(written);
      const keys = merged.map((e) => [e.occurredAt, BigInt(e.id)] as const);
      for (let i = 1; i < keys.length; i++) {
        const [at, id] = keys[i] as readonly [string, bigint];
        const [prevAt, prevId] = keys[i - 1] as readonly [string, bigint];
        expect(prevAt < at || (prevAt === at && prevId < id), `${label}, entry ${i}`).toBe(true);
      }
    }
  });

  test('an organisation token pulls every workspace of its organisation, archived ones too, and nothing of another', async () => {
    const made = await aliceIn.mutate('POST', '/organisations/default/tokens', { name: 'SIEM', scopes: ['audit:read'] });
    expect(made.status, made.text).toBe(201);
    expect(made.body.token).toMatch(/^opo_[0-9A-Za-z]{38}$/);
    expect(made.body.organisationToken).toMatchObject({ name: 'SIEM', scopes: ['audit:read'], revokedAt: null });
    const token: string = made.body.token;

    const team = await aliceIn.mutate('POST', '/organisations/default/workspaces', { slug: 'siem-team' });
    expect(team.status, team.text).toBe(201);
    await appendAuditEntry(server.sql, entry(team.body.id, { action: 'inTeam' }));
    const archived = await aliceIn.mutate('POST', '/organisations/default/workspaces/siem-team/archive');
    expect(archived.status, archived.text).toBe(200);
    const elsewhere = await server.createWorkspace();
    await appendAuditEntry(server.sql, entry(elsewhere.workspaceId, { action: 'elsewhere' }));

    const res = await server.app.request('/api/v1/organisations/default/audit-log/export', {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toMatch(/filename="audit-log-default-\d{4}-\d{2}-\d{2}\.ndjson"/);
    const lines = await ndjson(res);
    const workspaceIds = new Set(lines.map((e) => e.workspaceId));
    expect(workspaceIds.has(team.body.id)).toBe(true);
    expect(workspaceIds.has(elsewhere.workspaceId)).toBe(false);
    expect(lines.some((e) => e.action === 'inTeam')).toBe(true);
    expect(lines.some((e) => e.action === 'organisationTokensCreate')).toBe(true);
    // Each workspace's entries come in chain order, so the whole export verifies against the heads.
    const heads = await server.app.request('/api/v1/organisations/default/audit-log/heads', {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(heads.status).toBe(200);
    const items = ((await heads.json()) as { items: (AuditChainHead & { workspace: string })[] }).items;
    expect(items.map((h) => h.workspace).sort()).toEqual(['default', 'siem-team']);
    const reports = verify(lines, { complete: true }, items);
    expect(reports.flatMap((r) => r.problems)).toEqual([]);
    expect(reports.map((r) => r.workspaceId).sort()).toEqual(items.map((h) => h.workspaceId).sort());

    const one = await server.app.request('/api/v1/organisations/default/audit-log/export?workspace=siem-team&action=inTeam', {
      headers: { authorization: `Bearer ${token}` },
    });
    expect((await ndjson(one)).map((e) => e.action)).toEqual(['inTeam']);
  });

  test('a token is refused for another organisation, on workspace routes, without its scope, and once revoked', async () => {
    const made = await aliceIn.mutate('POST', '/organisations/default/tokens', { name: 'short-lived', scopes: ['audit:read'] });
    const token: string = made.body.token;
    const other = await server.createWorkspace();
    const [otherOrg] = await server.sql<{ slug: string }[]>`
      SELECT o.slug FROM organisations o JOIN workspaces w ON w.organisation_id = o.id WHERE w.id = ${other.workspaceId}`;
    const as = (path: string) => server.app.request(`/api/v1${path}`, { headers: { authorization: `Bearer ${token}` } });

    expect((await as(`/organisations/${otherOrg?.slug}/audit-log/export`)).status).toBe(404);
    const onWorkspace = await as('/audit-log');
    expect(onWorkspace.status).toBe(401);
    expect(((await onWorkspace.json()) as { detail: string }).detail).toContain('taken only by organisation routes');
    expect((await as('/organisations/default/audit-log/export?workspace=nope')).status).toBe(404);
    const badQuery = await as('/organisations/default/audit-log/export?afterSeq=3');
    expect(badQuery.status).toBe(400);
    expect(((await badQuery.json()) as { errors: { path: string }[] }).errors.map((e) => e.path)).toEqual(['query.afterSeq']);

    const revoked = await aliceIn.mutate('DELETE', `/organisations/default/tokens/${made.body.organisationToken.id}`);
    expect(revoked.status, revoked.text).toBe(204);
    expect((await as('/organisations/default/audit-log/heads')).status).toBe(401);
    const listed = await aliceIn.call('GET', '/organisations/default/tokens');
    const mine = listed.body.items.find((t: { id: string }) => t.id === made.body.organisationToken.id);
    expect(mine.revokedAt).not.toBeNull();
    expect(JSON.stringify(listed.body)).not.toContain(token);
  });

  test("a person needs the organisation role owner, admin or auditor to read the organisation's audit, and owner or admin to make tokens", async () => {
    const dev = await addPerson(server, owner, 'admin');
    await confirmAddress(server, dev);
    const devIn = await signInPerson(server, dev.email);
    const read = await devIn.call('GET', '/organisations/default/audit-log/heads');
    expect(read.status).toBe(403);
    expect(read.body.detail).toContain('needs the organisation role "owner" or "admin" or "auditor"; yours is "member"');
    expect((await devIn.mutate('POST', '/organisations/default/tokens', { name: 'x', scopes: ['audit:read'] })).status).toBe(403);

    const auditor = await aliceIn.mutate('PATCH', `/organisations/default/members/${dev.userId}`, { role: 'auditor' });
    expect(auditor.status, auditor.text).toBe(200);
    const again = await signInPerson(server, dev.email, undefined, 'default');
    expect((await again.call('GET', '/organisations/default/audit-log/heads')).status).toBe(200);
    const exported = await again.call('GET', '/organisations/default/audit-log/export?action=organisationMembersUpdate');
    expect(exported.status).toBe(200);
    expect((await again.mutate('POST', '/organisations/default/tokens', { name: 'x', scopes: ['audit:read'] })).status).toBe(403);
    const expired = await aliceIn.mutate('POST', '/organisations/default/tokens', {
      name: 'past',
      scopes: ['audit:read'],
      expiresAt: '2020-01-01T00:00:00Z',
    });
    expect(expired.status).toBe(400);
    expect(expired.body.errors).toEqual([{ path: 'expiresAt', message: 'must be in the future' }]);
  });
});
