import { randomUUID } from 'node:crypto';
import type postgres from 'postgres';
import { describe, expect, test } from 'vitest';
import { LEDGER_CHANNEL } from '../src/db/channels.js';
import { migrateDatabase } from '../src/db/migrate.js';
import { listEvents } from '../src/events/db/event-list.js';
import { type NewEvent, storeEvents } from '../src/events/db/events.js';
import { ensureWorkspace } from '../src/identity/db/workspaces.js';
import { createLogger } from '../src/logger.js';
import { RetentionLoop } from '../src/loops/retention.js';
import { storeTenantEvents } from '../src/quotas/events-per-day.js';
import { eventMonthsSince } from './events.support.js';
import { useScratchDatabases } from './helpers.js';
import { explainedPlan, type SentStatement } from './query-plans.support.js';

const DAY = 86_400_000;
const scratch = useScratchDatabases();

async function database(before?: string): Promise<{ url: string; sql: postgres.Sql; workspaceId: string }> {
  const { url, sql } = await scratch.make(before);
  // Before organisations, a workspace stands alone; after, ensureWorkspace gives it one.
  const workspaceId = before
    ? (await sql<{ id: string }[]>`INSERT INTO workspaces (slug, name) VALUES ('w', 'W') RETURNING id`)[0]?.id
    : (await ensureWorkspace(sql, 'w', 'W')).id;
  return { url, sql, workspaceId: workspaceId as string };
}

const event = (workspaceId: string, id: string, kind = 'test.thing'): NewEvent => ({
  workspaceId,
  id,
  kind,
  resource: { kind: 'test', id: 'r' },
  source: 'api',
});

/** Stores an event with its id as the ingest statement would have `days` ago (in that day's month). */
async function storedDaysAgo(sql: postgres.Sql, workspaceId: string, id: string, days: number): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`
      INSERT INTO events (workspace_id, id, kind, resource_kind, resource_id, source, received_at, occurred_at)
      VALUES (${workspaceId}, ${id}, 'test.old', 'test', 'r', 'api', now() - make_interval(days => ${days}),
              now() - make_interval(days => ${days}))`;
    await tx`INSERT INTO event_ids (workspace_id, id, received_at) VALUES (${workspaceId}, ${id}, now() - make_interval(days => ${days}))`;
  });
}

async function partitionOf(sql: postgres.Sql, id: string): Promise<string[]> {
  const rows = await sql<{ part: string }[]>`SELECT tableoid::regclass::text AS part FROM events WHERE id = ${id}`;
  return rows.map((r) => r.part);
}

function monthName(at: Date): string {
  return `events_${at.toISOString().slice(0, 7).replace('-', '_')}`;
}

describe('the event ledger by month', () => {
  test('a database with events from before partitioning keeps every one in its first partition, and their ids stay taken', async () => {
    const { url, sql, workspaceId } = await database('0044_events_partitioned');
    const now = Date.now();
    // A year ago, now, and 40 days ahead (a clock that ran ahead).
    const stamps = [now - 365 * DAY, now, now + 40 * DAY].map((t) => new Date(t));
    const ids = stamps.map(() => randomUUID());
    for (const [i, stamp] of stamps.entries()) {
      await sql`
        INSERT INTO events (workspace_id, id, kind, resource_kind, resource_id, source, received_at)
        VALUES (${workspaceId}, ${ids[i] as string}, 'test.old', 'test', 'r', 'api', ${stamp})`;
    }
    const [before] = await sql<{ seqs: string[] }[]>`SELECT array_agg(seq::text ORDER BY seq) AS seqs FROM events`;

    await migrateDatabase(url);

    const kept = await sql<{ id: string; seq: string; part: string }[]>`
      SELECT id, seq::text AS seq, tableoid::regclass::text AS part FROM events ORDER BY seq`;
    expect(kept.map((e) => e.id)).toEqual(ids);
    expect(kept.map((e) => e.seq)).toEqual(before?.seqs);
    expect(new Set(kept.map((e) => e.part))).toEqual(new Set(['events_history']));
    const [idRows] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM event_ids WHERE id = ANY(${ids}::uuid[])`;
    expect(idRows?.n).toBe(3);
    // The first partition reaches past the event furthest ahead; the months follow it.
    const parts = await sql<{ name: string; ends: Date }[]>`
      SELECT name, ends FROM table_partitions WHERE parent = 'events' ORDER BY ends`;
    const ahead = new Date(now + 40 * DAY);
    expect(parts[0]?.name).toBe('events_history');
    expect(parts[0]?.ends.getTime()).toBe(Date.UTC(ahead.getUTCFullYear(), ahead.getUTCMonth() + 1, 1));

    // Sent again, the old ids store nothing; a new one goes after them in the ledger (in the first
    // partition still: it reaches past the event stamped ahead, so this month is its).
    const fresh = randomUUID();
    const again = await storeEvents(sql, [...ids.map((id) => event(workspaceId, id)), event(workspaceId, fresh)]);
    expect(again.stored).toBe(1);
    const [added] = await sql<{ seq: string; part: string }[]>`
      SELECT seq::text AS seq, tableoid::regclass::text AS part FROM events WHERE id = ${fresh}`;
    expect(BigInt(added?.seq as string)).toBeGreaterThan(BigInt(kept.at(-1)?.seq as string));
    expect(added?.part).toBe('events_history');
    const [count] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM events`;
    expect(count?.n).toBe(4);
  });

  test('an id stored in an earlier month is a duplicate when sent again this month, through either ingest path', async () => {
    const { sql, workspaceId } = await database();
    const now = new Date();
    await eventMonthsSince(sql, new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 3, 1)));
    const id = randomUUID();
    await storedDaysAgo(sql, workspaceId, id, 45);
    expect(await partitionOf(sql, id)).toEqual([monthName(new Date(Date.now() - 45 * DAY))]);

    expect((await storeEvents(sql, [event(workspaceId, id)])).stored).toBe(0);
    expect(await storeTenantEvents(sql, workspaceId, [event(workspaceId, id)])).toEqual([id]);
    expect(await partitionOf(sql, id)).toEqual([monthName(new Date(Date.now() - 45 * DAY))]);
    // Nothing stored is nothing counted against the day's quota.
    const [counted] = await sql<{ n: number }[]>`
      SELECT coalesce(sum(count), 0)::int AS n FROM workspace_event_counts WHERE workspace_id = ${workspaceId}`;
    expect(counted?.n).toBe(0);
  });

  test('retention removes the months past the window and the ids of their events, and keeps the current month and its ids', async () => {
    const { url, sql, workspaceId } = await database();
    const now = new Date();
    await eventMonthsSince(sql, new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 3, 1)));
    const old = randomUUID();
    await storedDaysAgo(sql, workspaceId, old, 75);
    const recent = randomUUID();
    await storeEvents(sql, [event(workspaceId, recent)]);
    const oldMonth = monthName(new Date(Date.now() - 75 * DAY));

    const loop = new RetentionLoop(sql, url, createLogger('silent'), { eventRetentionDays: 30, signInEveryMs: 1e12 });
    expect(await loop.tick()).toBeGreaterThanOrEqual(2);

    const parts = (await sql<{ name: string }[]>`SELECT name FROM table_partitions WHERE parent = 'events' ORDER BY ends`).map(
      (p) => p.name,
    );
    expect(parts).not.toContain(oldMonth);
    expect(parts).not.toContain('events_history');
    expect(parts).toContain(monthName(now));
    const [gone] = await sql<{ table: string | null }[]>`SELECT to_regclass(${oldMonth})::text AS table`;
    expect(gone?.table).toBeNull();
    expect(await partitionOf(sql, old)).toEqual([]);
    expect(await partitionOf(sql, recent)).toEqual([monthName(now)]);
    const ids = await sql<{ id: string }[]>`SELECT id FROM event_ids WHERE workspace_id = ${workspaceId}`;
    expect(ids.map((r) => r.id)).toEqual([recent]);

    // The dropped event's id is free again; the kept one's is still a duplicate.
    expect((await storeEvents(sql, [event(workspaceId, old), event(workspaceId, recent)])).stored).toBe(1);
    expect(await loop.tick()).toBe(0);
  });

  test("a batch's events take seq in the batch's order, and a repeat of an id within the batch stores its first only", async () => {
    const { sql, workspaceId } = await database();
    // Ids in an order unrelated to their sort order, so an ordering by id would show.
    const ids = Array.from({ length: 40 }, () => randomUUID());
    const batch = ids.map((id, i) => event(workspaceId, id, `test.n${i}`));
    batch.splice(10, 0, event(workspaceId, ids[3] as string, 'test.repeat'));
    const result = await storeEvents(sql, batch);
    expect(result.stored).toBe(40);
    const rows = await sql<{ id: string; kind: string }[]>`
      SELECT id, kind FROM events WHERE workspace_id = ${workspaceId} ORDER BY seq`;
    expect(rows.map((r) => r.id)).toEqual(ids);
    expect(rows.map((r) => r.kind)).toEqual(ids.map((_, i) => `test.n${i}`));
  });

  test("the ledger's triggers fire from the partitioned table: an update of an event in a month's partition raises, and a store notifies the ledger's channel", async () => {
    const { sql, workspaceId } = await database();
    const id = randomUUID();
    await storeEvents(sql, [event(workspaceId, id)]);
    expect(await partitionOf(sql, id)).toEqual([monthName(new Date())]);
    await expect(sql`UPDATE events SET kind = 'test.changed' WHERE id = ${id}`).rejects.toThrow('events are append-only');

    const heard: string[] = [];
    let wake: () => void = () => {};
    const notified = new Promise<void>((resolve) => {
      wake = resolve;
    });
    const listening = await sql.listen(LEDGER_CHANNEL, (payload) => {
      heard.push(payload);
      wake();
    });
    try {
      await storeEvents(sql, [event(workspaceId, randomUUID())]);
      await notified;
      expect(heard).toEqual(['']);
    } finally {
      await listening.unlisten();
    }
  });

  test("a resource's page is planned for that resource on every call, through each month's resource key, not as a walk of the workspace's events", async () => {
    const { url, sql, workspaceId } = await database();
    await eventMonthsSince(sql, new Date(Date.now() - 120 * DAY));
    // A workspace with history: 20,000 events about one resource over four months, five about another.
    await sql`
      INSERT INTO events (workspace_id, id, kind, resource_kind, resource_id, source, received_at, occurred_at)
      SELECT ${workspaceId}, gen_random_uuid(), 'test.busy', 'test', 'busy', 'api',
             now() - make_interval(secs => g * 500), now() - make_interval(secs => g * 500)
      FROM generate_series(1, 20000) g`;
    await sql`
      INSERT INTO events (workspace_id, id, kind, resource_kind, resource_id, source, received_at, occurred_at)
      SELECT ${workspaceId}, ('00000000-0000-4000-8000-00000000000' || g)::uuid, 'test.rare', 'test', 'rare', 'api',
             now() - make_interval(days => g * 20), now() - make_interval(days => g * 20)
      FROM generate_series(1, 5) g`;
    await sql`ANALYZE events`;
    const sent: SentStatement[] = [];
    const settings: string[] = [];
    const watched = scratch.connect(url, {
      max: 1,
      debug: (_connection, query, parameters) => {
        if (query.trimStart().startsWith('SELECT e.*')) sent.push({ query, parameters });
        else if (query.startsWith('SET')) settings.push(query.trim());
      },
    });
    // More calls than the plan cache's five custom plans, after which it would settle on a generic one.
    for (let i = 0; i < 8; i++) {
      const rows = await listEvents(watched, workspaceId, { resourceId: 'rare' }, { order: 'desc', limit: 100 });
      expect(rows.map((r) => r.id)).toEqual([5, 4, 3, 2, 1].map((g) => `00000000-0000-4000-8000-00000000000${g}`));
    }
    expect(settings).toEqual(Array(8).fill('SET LOCAL plan_cache_mode = force_custom_plan'));
    const statement = sent.at(-1);
    if (!statement) throw new Error('no page statement was sent');
    const plan = await explainedPlan(watched, statement, 'SET LOCAL plan_cache_mode = force_custom_plan');
    const months = plan.filter((node) => /^events_\d{4}_\d{2}$/.test(node['Relation Name'] ?? ''));
    expect(months.length).toBeGreaterThan(0);
    // Every month is read through its indexes for the resource, never walked in seq order and filtered.
    expect(plan.filter((node) => (node['Index Name'] ?? '').endsWith('_workspace_id_seq_idx'))).toEqual([]);
    expect(plan.some((node) => (node['Index Name'] ?? '').endsWith('_workspace_id_resource_id_seq_idx'))).toBe(true);
  });
});
