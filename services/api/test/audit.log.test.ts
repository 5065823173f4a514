import { randomUUID } from 'node:crypto';
import { AuditChainVerifier } from '@outpost/sdk/audit-chain';
import type { AuditEntry } from '@outpost/sdk/contracts';
import { beforeAll, describe, expect, test } from 'vitest';
import { collectIds } from '../src/http/audit.js';
import { appendAuditEntry } from '../src/identity/db/audit.js';
import { type Call, client, deploy, useServer } from './helpers.js';
import { addPerson, PASSWORD, post, signInPerson } from './users.support.js';

let ownerKeyId: string;

const api = useServer({ loops: false, secretKey: 'k'.repeat(40) });

beforeAll(async () => {
  ownerKeyId = (await api.owner('GET', '/whoami')).body.principal.id;
});

async function entries(query = ''): Promise<Record<string, unknown>[]> {
  const res = await api.owner('GET', `/audit-log?limit=500${query}`);
  expect(res.status, res.text).toBe(200);
  return res.body.items;
}

describe('audit log', () => {
  test('a mutation is recorded with who, what, when, from where, and the ids it named and produced; a read is not', async () => {
    const created = await api.owner('POST', '/work-pools', {
      body: { name: 'audited', concurrencyLimit: 3 },
      headers: { 'user-agent': 'audit-test/1.0' },
    });
    await api.owner('GET', '/work-pools/audited');
    const [entry] = await entries(`&objectId=${created.body.id}`);
    expect(entry).toMatchObject({
      actor: { kind: 'api_key', id: ownerKeyId, label: 'owner' },
      action: 'poolsCreate',
      method: 'POST',
      path: '/api/v1/work-pools',
      status: 201,
      userAgent: 'audit-test/1.0',
      resultIds: { id: created.body.id },
      summary: { fields: ['concurrencyLimit', 'name'], values: { name: 'audited', concurrencyLimit: 3 } },
    });
    expect(Date.now() - Date.parse(String(entry?.occurredAt))).toBeLessThan(60_000);
    const patched = await api.owner('PATCH', '/work-pools/audited', { body: { paused: true } });
    expect(patched.status).toBe(200);
    const [update] = await entries('&action=poolsUpdate');
    expect(update).toMatchObject({ targetIds: { pool: 'audited' }, resultIds: { id: created.body.id }, status: 200 });
    expect((await entries()).some((e) => e.method === 'GET')).toBe(false);
  });

  test('refused mutations are recorded with their status', async () => {
    const viewer = client(api.server, await api.server.createKey('viewer'));
    expect((await viewer('POST', '/work-pools', { body: { name: 'denied' } })).status).toBe(403);
    const [denied] = await entries('&outcome=failure&action=poolsCreate');
    expect(denied).toMatchObject({ status: 403, actor: { kind: 'api_key' } });
  });

  test('a call with a NUL byte or a lone surrogate in its path, a parameter or its body is answered 4xx and recorded with the bytes escaped', async () => {
    const viewer = client(api.server, await api.server.createKey('viewer'));
    const calls: [Call, string, string, Record<string, unknown>, number][] = [
      // Valid for the contract, refused by Postgres (class 22): the summary carries the body.
      [api.owner, 'POST', '/work-pools', { name: 'nul-described', description: 'nul\u0000pool lone \uD800 half' }, 400],
      [api.owner, 'POST', '/work-pools', { 'na\u0000me': 'keyed' }, 400],
      [api.owner, 'PATCH', '/work-pools/nul%00pool', { paused: true }, 400],
      [viewer, 'PATCH', '/work-pools/nul%00pool', { paused: true }, 403],
    ];
    const before = await entries('&outcome=failure');
    const answered: number[] = [];
    for (const [call, method, path, body] of calls) answered.push((await call(method, path, { body })).status);
    expect(answered).toEqual(calls.map((c) => c[4]));
    const fresh = (await entries('&outcome=failure')).filter((e) => !before.some((b) => b.id === e.id)).reverse();
    expect(fresh.map((e) => [e.method, e.status])).toEqual(calls.map((c) => [c[1], c[4]]));
    expect(fresh[0]?.summary).toEqual({
      fields: ['description', 'name'],
      values: { name: 'nul-described', description: 'nul\\u0000pool lone \uFFFD half' },
    });
    for (const e of fresh.slice(2)) expect(e.path).toBe(String.raw`/api/v1/work-pools/nul\u0000pool`);
  });

  test('no secret reaches the log: API keys, passwords, setup tokens and client secrets stay out', async () => {
    const key = await api.owner('POST', '/api-keys', { body: { name: 'ci', role: 'developer' } });
    const added = await api.owner('POST', '/members', { body: { email: 'secretive@example.com', role: 'viewer' } });
    await post(api.server, '/auth/password/setup', { token: added.body.setupToken, password: PASSWORD });
    await post(api.server, '/auth/password/change', {
      email: 'secretive@example.com',
      currentPassword: PASSWORD,
      newPassword: 'the second secret passphrase',
    });
    await post(api.server, '/auth/password', { email: 'secretive@example.com', password: 'a wrong secret guess' });
    await api.owner('PUT', '/sso/oidc', {
      body: { issuer: 'https://idp.example.com', clientId: 'c', clientSecret: 'very-secret-client-value' },
    });
    const rows = await api.server.sql<{ row: string }[]>`SELECT row_to_json(a)::text AS row FROM audit_log a`;
    const all = rows.map((r) => r.row).join('\n');
    for (const secret of [
      key.body.key,
      added.body.setupToken,
      PASSWORD,
      'the second secret passphrase',
      'a wrong secret guess',
      'very-secret-client-value',
    ]) {
      expect(all).not.toContain(secret);
    }
    const [created] = await entries('&action=apiKeysCreate');
    expect(created).toMatchObject({
      resultIds: { apiKey: key.body.apiKey.id },
      summary: { values: { name: 'ci', role: 'developer' } },
    });
  });

  test("a person's calls, sign-ins and failed attempts are recorded under their account", async () => {
    const { email, userId } = await addPerson(api.server, api.owner, 'developer');
    await post(api.server, '/auth/password', { email, password: 'definitely not it' });
    const person = await signInPerson(api.server, email);
    await person.mutate('POST', '/work-pools', { name: 'by-a-person' });
    const mine = await entries(`&objectId=${userId}`);
    expect(mine.map((e) => [e.action, e.status, (e.actor as { kind: string }).kind])).toEqual(
      expect.arrayContaining([
        ['authPasswordSignIn', 200, 'user'],
        ['authPasswordSignIn', 401, 'anonymous'],
      ]),
    );
    const [pool] = await entries(`&actorId=${userId}&action=poolsCreate`);
    expect(pool).toMatchObject({ actor: { kind: 'user', id: userId, label: email }, status: 201 });
  });

  test('opening and closing a browser session with an API key is recorded as that key, without the key', async () => {
    const key = await api.server.createKey('viewer');
    const keyId = (await client(api.server, key)('GET', '/whoami')).body.principal.id;
    const opened = await api.server.app.request('/api/v1/auth/session', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ apiKey: key }),
    });
    expect(opened.status).toBe(200);
    const cookies = opened.headers.getSetCookie().map((c) => c.split(';')[0] ?? '');
    const csrf = cookies.find((c) => c.startsWith('outpost_csrf='))?.split('=')[1] ?? '';
    const closed = await api.server.app.request('/api/v1/auth/session', {
      method: 'DELETE',
      headers: { cookie: cookies.join('; '), 'x-outpost-csrf': csrf },
    });
    expect(closed.status).toBe(204);
    const recorded = (await entries(`&actorId=${keyId}`)).map((e) => [e.action, e.status]);
    expect(recorded).toEqual([
      ['authSessionDelete', 204],
      ['authSessionCreate', 200],
    ]);
    const rows = await api.server.sql<{ row: string }[]>`SELECT row_to_json(a)::text AS row FROM audit_log a`;
    expect(rows.map((r) => r.row).join('\n')).not.toContain(key);
  });

  test("a created run's entry is written with the run, naming the ids of the answer; a replay and a refusal are recorded too", async () => {
    const deployment = await deploy(api.owner, { name: 'audited-runs', tags: ['nightly'] });
    const headers = { 'idempotency-key': 'audit-run-1', 'user-agent': 'audit-test/2.0' };
    const created = await api.owner('POST', `/deployments/${deployment.id}/runs`, { body: { tags: ['adhoc'] }, headers });
    expect(created.status, created.text).toBe(201);
    const run = created.body.flowRun;
    const [entry] = await entries(`&objectId=${run.id}`);
    expect(entry).toMatchObject({
      actor: { kind: 'api_key', id: ownerKeyId, label: 'owner' },
      action: 'deploymentsCreateRun',
      method: 'POST',
      path: `/api/v1/deployments/${deployment.id}/runs`,
      status: 201,
      userAgent: 'audit-test/2.0',
      targetIds: { id: deployment.id },
      summary: { fields: ['tags'], values: { tags: '1 items' } },
    });
    // What the audit middleware would have made of the answer.
    expect(entry?.resultIds).toEqual(collectIds(created.body));
    expect(entry?.resultIds).toMatchObject({ flowRun: run.id, 'flowRun.deploymentId': deployment.id });
    // One commit: the entry and the run were written by one transaction.
    const [same] = await api.server.sql<{ same: boolean }[]>`
      SELECT (SELECT xmin FROM flow_runs WHERE id = ${run.id}) = a.xmin AS same
      FROM audit_log a WHERE a.result_ids ->> 'flowRun' = ${run.id}`;
    expect(same?.same).toBe(true);
    const [objects] = await api.server.sql<{ object_ids: string[] }[]>`
      SELECT object_ids FROM audit_log WHERE result_ids ->> 'flowRun' = ${run.id}`;
    expect(objects?.object_ids).toEqual([...new Set([deployment.id, ...Object.values(collectIds(created.body))])]);
    // The answer is the run as it reads back.
    const read = await api.owner('GET', `/flow-runs/${run.id}`);
    expect(read.body).toEqual(run);

    const replayed = await api.owner('POST', `/deployments/${deployment.id}/runs`, { body: { tags: ['adhoc'] }, headers });
    expect(replayed.status).toBe(200);
    expect(replayed.body.flowRun).toEqual(run);
    const refused = await api.owner('POST', `/deployments/${deployment.id}/runs`, {
      body: { tags: Array.from({ length: 60 }, (_, i) => `t${i}`) },
    });
    expect(refused.status).toBe(400);
    const runEntries = await entries(`&action=deploymentsCreateRun&objectId=${deployment.id}`);
    expect(runEntries.map((e) => e.status)).toEqual([400, 200, 201]);
    expect(runEntries[1]).toMatchObject({ resultIds: collectIds(replayed.body) });
  });

  test('the database refuses to change or remove entries, whoever asks', async () => {
    await api.owner('POST', '/work-pools', { body: { name: 'immutable' } });
    await expect(api.server.sql`UPDATE audit_log SET status = 200`).rejects.toThrow(/append-only/);
    await expect(api.server.sql`DELETE FROM audit_log`).rejects.toThrow(/append-only/);
    await expect(api.server.sql`TRUNCATE audit_log`).rejects.toThrow(/append-only/);
    expect((await entries()).length).toBeGreaterThan(0);
  });

  test('only owners and admins read it, and another workspace never sees our entries', async () => {
    for (const role of ['developer', 'runner', 'viewer', 'worker'] as const) {
      const caller = client(api.server, await api.server.createKey(role));
      expect((await caller('GET', '/audit-log')).status, role).toBe(403);
      expect((await caller('GET', '/audit-log/export')).status, role).toBe(403);
    }
    expect((await client(api.server, await api.server.createKey('admin'))('GET', '/audit-log')).status).toBe(200);
    const other = client(api.server, (await api.server.createWorkspace()).ownerKey);
    expect((await other('GET', '/audit-log')).body.items).toEqual([]);
  });

  test('pages newest first with a cursor, and the export streams every matching entry in chain order as NDJSON', async () => {
    const ws = await api.server.createWorkspace();
    const rows = 1234;
    const action = `bulk-${randomUUID()}`;
    for (let i = 0; i < rows; i += 200) {
      await Promise.all(
        Array.from({ length: Math.min(200, rows - i) }, (_, j) =>
          appendAuditEntry(api.server.sql, {
            workspaceId: ws.workspaceId,
            actorKind: 'api_key',
            actorId: null,
            action,
            method: 'POST',
            path: '/x',
            status: 200,
            clientAddress: null,
            userAgent: null,
            requestId: String(i + j),
            targetIds: {},
            resultIds: {},
            summary: {},
          }),
        ),
      );
    }
    const call = client(api.server, ws.ownerKey);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await call('GET', `/audit-log?limit=500&action=${action}${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...page.body.items.map((e: { id: string }) => e.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toHaveLength(rows);
    expect([...seen].sort((a, b) => Number(b) - Number(a))).toEqual(seen);

    const res = await api.server.app.request(`/api/v1/audit-log/export?action=${action}`, {
      headers: { authorization: `Bearer ${ws.ownerKey}` },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/x-ndjson');
    expect(res.headers.get('content-disposition')).toMatch(
      /attachment; filename="audit-log-ws-[0-9a-f]+-\d{4}-\d{2}-\d{2}\.ndjson"/,
    );
    const lines = (await res.text()).trimEnd().split('\n');
    expect(lines).toHaveLength(rows);
    const entries = lines.map((line) => JSON.parse(line) as AuditEntry);
    // Entries written at once take their places in the order they commit, which need not be their ids'.
    expect(entries.map((e) => e.id).sort()).toEqual([...seen].sort());
    const places = entries.map((e) => Number(e.chain.seq));
    expect(places).toEqual(places.map((_, i) => (places[0] ?? 0) + i));
    // Filtered by action, so not complete; but these are the only entries since the first, so no gap either.
    const verifier = new AuditChainVerifier({ complete: false });
    for (const entry of entries) verifier.add(entry);
    expect(verifier.finish().map((r) => [r.problems, r.gaps])).toEqual([[[], []]]);
  });

  test('filters by time and refuses a forged cursor', async () => {
    const future = new Date(Date.now() + 3600_000).toISOString();
    expect(await entries(`&since=${encodeURIComponent(future)}`)).toEqual([]);
    const forged = await api.owner('GET', `/audit-log?cursor=${Buffer.from('["0; DROP"]').toString('base64url')}`);
    expect(forged.status).toBe(400);
    expect(forged.body.errors).toEqual([{ path: 'query.cursor', message: 'invalid cursor' }]);
  });
});
