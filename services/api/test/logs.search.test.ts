import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { describe, expect, test } from 'vitest';
import { searchLogs } from '../src/runs/db/log-search.js';
import { readLogs } from '../src/runs/db/logs.js';
import { type Call, claim, client, createRun, deploy, useServer } from './helpers.js';
import { explainedPlan, type PlanNode, planNodes, type SentStatement } from './query-plans.support.js';

const api = useServer();

/** A claimed run of a new pool, and a caller holding its run token. */
async function claimedRun() {
  const pool = `search-${randomUUID().slice(0, 8)}`;
  await api.owner('POST', '/work-pools', { body: { name: pool } });
  const deployment = await deploy(api.owner, { flowName: pool, name: 'd', workPool: pool });
  const run = await createRun(api.owner, deployment.id);
  const [claimed] = await claim(api.owner, pool);
  return { runId: run.id as string, asRun: client(api.server, claimed.token as string) };
}

type Level = 'debug' | 'info' | 'warning' | 'error' | 'critical';

async function write(asRun: Call, runId: string, messages: readonly (string | [Level, string])[]) {
  const logs = messages.map((m, i) => {
    const [level, message] = typeof m === 'string' ? ['info', m] : m;
    return { seq: i + 1, timestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, 0, i)).toISOString(), level, message };
  });
  const res = await asRun('POST', `/flow-runs/${runId}/logs`, { body: { attempt: 1, logs } });
  expect(res.body).toEqual({ accepted: logs.length, duplicates: 0 });
}

const messagesOf = (body: { items: { message: string }[] }) => body.items.map((l) => l.message);

const search = (runId: string, query: string) => api.owner('GET', `/flow-runs/${runId}/logs?${query}`);

describe('searching a run log by text', () => {
  test('matches % and _ as themselves, not as patterns, and ignores case', async () => {
    const { runId, asRun } = await claimedRun();
    await write(asRun, runId, [
      'progress 50% done',
      'progress 50 done',
      'progress 5000 done',
      'user_id=7',
      'userXid=7',
      'path C:\\temp\\out',
      'Path C:tempout',
      'ERROR: disk full',
      'an error of the disk',
    ]);
    const q = (text: string) => search(runId, `q=${encodeURIComponent(text)}`).then((r) => messagesOf(r.body));
    expect(await q('50%')).toEqual(['progress 50% done']);
    expect(await q('%')).toEqual(['progress 50% done']);
    expect(await q('user_id')).toEqual(['user_id=7']);
    expect(await q('_')).toEqual(['user_id=7']);
    expect(await q('C:\\temp')).toEqual(['path C:\\temp\\out']);
    expect(await q('error')).toEqual(['ERROR: disk full', 'an error of the disk']);
    expect(await q('DISK FULL')).toEqual(['ERROR: disk full']);
    expect(await q('nowhere')).toEqual([]);
  });

  test('pages through its matches by cursor, and says when every line was looked at', async () => {
    const { runId, asRun } = await claimedRun();
    await write(
      asRun,
      runId,
      Array.from({ length: 50 }, (_, i) => (i % 5 === 0 ? `needle ${i}` : `hay ${i}`)),
    );
    const found: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 10; page++) {
      const res = await search(runId, `q=needle&limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      found.push(...messagesOf(res.body));
      cursor = res.body.nextCursor;
      if (!res.body.more) break;
    }
    expect(found).toEqual(Array.from({ length: 10 }, (_, i) => `needle ${i * 5}`));
    // The last page stopped at the log's end: its cursor is past the last line, so nothing is read twice.
    const after = await search(runId, `q=hay&cursor=${cursor}`);
    expect(after.body).toEqual({ items: [], nextCursor: cursor, more: false });
    // A line written later is found by reading on from that cursor, as a follower would.
    await asRun('POST', `/flow-runs/${runId}/logs`, {
      body: { attempt: 1, logs: [{ seq: 51, timestamp: new Date().toISOString(), level: 'info', message: 'late needle' }] },
    });
    expect(messagesOf((await search(runId, `q=needle&cursor=${cursor}`)).body)).toEqual(['late needle']);
  });

  test('combines with the level filter', async () => {
    const { runId, asRun } = await claimedRun();
    await write(asRun, runId, [
      ['info', 'timeout talking to the registry'],
      ['error', 'Timeout talking to the registry, giving up'],
      ['warning', 'retrying after a timeout'],
      ['error', 'disk full'],
      ['critical', 'TIMEOUT everywhere'],
    ]);
    const res = await search(runId, 'q=timeout&level=warning');
    expect(res.body.items.map((l: { level: string; message: string }) => [l.level, l.message])).toEqual([
      ['error', 'Timeout talking to the registry, giving up'],
      ['warning', 'retrying after a timeout'],
      ['critical', 'TIMEOUT everywhere'],
    ]);
    expect(res.body.more).toBe(false);
  });

  test("answers 404 for another workspace's run, whatever the text", async () => {
    const { runId, asRun } = await claimedRun();
    await write(asRun, runId, ['a secret line']);
    const other = await api.server.createWorkspace();
    const stranger = client(api.server, other.ownerKey);
    for (const q of ['secret', 'a']) {
      const res = await stranger('GET', `/flow-runs/${runId}/logs?q=${q}`);
      expect(res.status).toBe(404);
      expect(res.text).not.toContain('secret line');
    }
  });

  test('refuses empty, overlong or NUL-bearing text with a 400 naming query.q', async () => {
    const { runId } = await claimedRun();
    for (const bad of ['', 'x'.repeat(201), 'a%00b']) {
      const res = await search(runId, `q=${bad}`);
      expect(res.status, `q=${bad.slice(0, 20)}`).toBe(400);
      expect(res.body.errors.map((e: { path: string }) => e.path)).toEqual(['query.q']);
    }
    expect((await search(runId, `q=${'x'.repeat(200)}`)).status).toBe(200);
  });

  test('a read without text answers as before, with no `more`', async () => {
    const { runId, asRun } = await claimedRun();
    await write(asRun, runId, ['one', 'two']);
    const res = await search(runId, 'limit=1');
    expect(Object.keys(res.body).sort()).toEqual(['items', 'nextCursor']);
  });
});

describe('the bound on the lines one search reads', () => {
  test('a search stops after its bound of lines, points at the last line it read, and reading on finds the rest', async () => {
    const { runId, asRun } = await claimedRun();
    await write(
      asRun,
      runId,
      Array.from({ length: 25 }, (_, i) => (i === 3 || i === 22 ? `needle ${i + 1}` : `hay ${i + 1}`)),
    );
    const input = { workspaceId: api.server.workspaceId, runId, text: 'NEEDLE', minLevel: null, limit: 100, scanLines: 10 };
    const first = await searchLogs(api.server.sql, { ...input, after: null });
    expect(first.items.map((l) => l.message)).toEqual(['needle 4']);
    expect(first).toMatchObject({ next: { attempt: 1, seq: 10 }, more: true });
    const second = await searchLogs(api.server.sql, { ...input, after: first.next });
    expect(second).toMatchObject({ items: [], next: { attempt: 1, seq: 20 }, more: true });
    const third = await searchLogs(api.server.sql, { ...input, after: second.next });
    expect(third.items.map((l) => l.message)).toEqual(['needle 23']);
    expect(third).toMatchObject({ next: { attempt: 1, seq: 25 }, more: false });
  });

  test("finds nothing, not even where the log ends, when the run is not of the caller's workspace", async () => {
    const { runId, asRun } = await claimedRun();
    await write(asRun, runId, ['needle', 'hay']);
    const input = { runId, after: null, text: 'needle', minLevel: null, limit: 100 };
    const own = await searchLogs(api.server.sql, { ...input, workspaceId: api.server.workspaceId });
    expect(own.items.map((l) => l.message)).toEqual(['needle']);
    const other = await searchLogs(api.server.sql, { ...input, workspaceId: randomUUID() });
    expect(other).toEqual({ items: [], next: null, more: false });
  });

  test("reads the run's lines through the primary key, merged across the months in key order, and no other run's", async () => {
    const { runId, asRun } = await claimedRun();
    await write(asRun, runId, ['first']);
    // A log table where the run is a small part, as in a workspace with history; statistics made.
    await api.server.sql`
      INSERT INTO logs (flow_run_id, attempt, seq, workspace_id, timestamp, level, message, stream)
      SELECT ${runId}::uuid, 1, s, ${api.server.workspaceId}::uuid, now(), 'info', 'line ' || s, 'flow'
      FROM generate_series(2, 10000) s`;
    await api.server.sql`
      INSERT INTO logs (flow_run_id, attempt, seq, workspace_id, timestamp, level, message, stream)
      SELECT r.id, 1, s, ${api.server.workspaceId}::uuid, now(), 'info', 'line ' || s, 'flow'
      FROM (SELECT gen_random_uuid() AS id FROM generate_series(1, 60)) r, generate_series(1, 1000) s`;
    await api.server.sql`ANALYZE logs`;
    // The partitions that hold this table of lines (the planner may read a near-empty one, such as next
    // month's, as it likes: there is nothing of another run's to read there).
    const partitions = (
      await api.server.sql<{ name: string }[]>`
        SELECT p.name FROM table_partitions p JOIN pg_class c ON c.relname = p.name WHERE p.parent = 'logs' AND c.reltuples >= 1000`
    ).map((p) => p.name);
    expect(partitions.length).toBeGreaterThan(0);
    // The statements exactly as searchLogs sends them, then each one's plan.
    const sent: SentStatement[] = [];
    const settings: string[] = [];
    const watched = postgres(api.server.databaseUrl, {
      max: 1,
      onnotice: () => {},
      debug: (_connection, query, parameters) => {
        // The read's own statements (not the transaction around them, nor its planner setting).
        if (query.trimStart().startsWith('SELECT')) sent.push({ query, parameters });
        else settings.push(query.trim());
      },
    });
    try {
      await watched`SELECT 1`; // the connection's own first queries (type lookups) are not the search's
      const reads = [
        ...['line 9999', 'line'].map(
          (text) => () =>
            searchLogs(watched, { workspaceId: api.server.workspaceId, runId, after: null, text, minLevel: null, limit: 100 }),
        ),
        () =>
          readLogs(watched, {
            workspaceId: api.server.workspaceId,
            runId,
            after: { attempt: 1, seq: 5000 },
            minLevel: null,
            limit: 100,
          }),
      ];
      for (const [i, read] of reads.entries()) {
        sent.length = 0;
        settings.length = 0;
        await read();
        expect(sent.length).toBe(i < 2 ? 2 : 1);
        expect(settings).toContain('SET LOCAL enable_sort = off');
        for (const statement of sent) {
          // Planned as it runs: in key order (inKeyOrder), the partitions' keys merged, never all sorted.
          const plan = await explainedPlan(watched, statement, 'SET LOCAL enable_sort = off');
          expect(
            plan.map((node) => node['Node Type']),
            statement.query,
          ).not.toContain('Sort');
          // Each month's partition of logs is read through its own copy of the key.
          const scans = plan.filter((node) => partitions.includes(node['Relation Name'] ?? ''));
          expect(scans.length).toBeGreaterThan(0);
          for (const scan of scans) {
            expect(scan['Node Type'], statement.query).not.toBe('Seq Scan');
            expect(scan['Index Name'] ?? childIndex(scan), statement.query).toBe(`${scan['Relation Name']}_pkey`);
          }
        }
      }
    } finally {
      await watched.end({ timeout: 5 });
    }
  });
});

/** A bitmap heap scan names its index on the bitmap index scan beneath it. */
function childIndex(scan: PlanNode): string | undefined {
  return planNodes(scan).find((node) => node['Node Type'] === 'Bitmap Index Scan')?.['Index Name'];
}
