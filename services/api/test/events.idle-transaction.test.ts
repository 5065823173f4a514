import { randomUUID } from 'node:crypto';
import type { OutpostEvent } from '@outpost/sdk/contracts';
import postgres from 'postgres';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { insertEvents } from '../src/events/db/events.js';
import { ledgerReadUpToNow } from '../src/testing/index.js';
import { streamEvents } from './events.support.js';
import { deploy, eventually, useServer } from './helpers.js';

/**
 * A session left idle in a transaction anywhere on the cluster — another application on a shared
 * Postgres, a stuck migration, a `psql` left open — holds back nothing but its own events.
 */
/** The stray session: a connection of its own, idle in a transaction that has an id. */
let stray: postgres.Sql;
let strayDone: () => void = () => {};
let strayTx: Promise<unknown> | null = null;
const aborts: AbortController[] = [];

const api = useServer({ automations: { idleMs: 50 } });

beforeAll(async () => {
  stray = postgres(api.server.databaseUrl, { max: 1, onnotice: () => {} });
});
afterEach(async () => {
  for (const a of aborts.splice(0)) a.abort();
  strayDone();
  await strayTx?.catch(() => {});
  strayTx = null;
});
afterAll(async () => {
  await stray?.end({ timeout: 1 });
});

/**
 * Opens the stray transaction: it takes an id (and, with `kind`, writes an event) and then sits idle
 * until `commit()` or `rollBack()`.
 */
async function openStray(kind?: string): Promise<{ commit: () => Promise<void>; rollBack: () => Promise<void> }> {
  let finish!: (commit: boolean) => void;
  const decided = new Promise<boolean>((resolve) => {
    finish = resolve;
  });
  let opened!: () => void;
  const isOpen = new Promise<void>((resolve) => {
    opened = resolve;
  });
  strayTx = stray.begin(async (tx) => {
    await tx`SELECT pg_current_xact_id()`;
    if (kind)
      await tx`INSERT INTO events (workspace_id, kind, resource_kind, resource_id, source)
               VALUES (${api.server.workspaceId}, ${kind}, 'api-key', 'stray', 'api')`;
    opened();
    if (!(await decided)) throw new Error('rolled back on purpose');
  });
  strayDone = () => finish(false);
  await isOpen;
  const [idle] = await api.server.sql<{ n: number }[]>`
    SELECT count(*)::int AS n FROM pg_stat_activity WHERE state = 'idle in transaction' AND backend_xid IS NOT NULL`;
  expect(idle?.n).toBeGreaterThan(0);
  return {
    commit: async () => {
      finish(true);
      await strayTx;
    },
    rollBack: async () => {
      finish(false);
      await strayTx?.catch(() => {});
    },
  };
}

async function emitted(kind: string, n: number): Promise<string[]> {
  return insertEvents(
    api.server.sql,
    Array.from({ length: n }, (_, i) => ({
      workspaceId: api.server.workspaceId,
      kind,
      resource: { kind: 'api-key' as const, id: 'test', name: null },
      payload: { i },
      source: 'api' as const,
    })),
  );
}

async function firedEvents(automationId: string): Promise<string[]> {
  const rows = await api.server.sql<{ event: string }[]>`
    SELECT e::text AS event FROM automation_firings f, unnest(f.event_ids) e WHERE f.automation_id = ${automationId}`;
  return rows.map((r) => r.event);
}

describe('a session idle in a transaction', () => {
  test('does not hold back automations: 1,000 events each fire once while it stays open, its own event once it commits', async () => {
    const d = await deploy(api.owner, { flowName: `idle-${randomUUID().slice(0, 6)}` });
    const created = await api.owner('POST', '/automations', {
      body: {
        name: `on-tick-${randomUUID().slice(0, 6)}`,
        trigger: { type: 'event', match: 'event.kind == "idle.tick"' },
        actions: [{ type: 'run-deployment', deployment: `${d.flowName}/${d.name}` }],
      },
    });
    expect(created.status, created.text).toBe(201);
    const automation = created.body as { id: string };
    const txn = await openStray('idle.tick');

    const ids: string[] = [];
    for (let batch = 0; batch < 10; batch++) ids.push(...(await emitted('idle.tick', 100)));
    const fired = await eventually(
      async () => {
        const got = await firedEvents(automation.id);
        return got.length >= ids.length ? got : undefined;
      },
      120_000,
      'every event to fire the automation while the stray transaction is open',
    );
    expect(fired.sort()).toEqual([...ids].sort());
    const [still] = await api.server.sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM pg_stat_activity WHERE state = 'idle in transaction' AND backend_xid IS NOT NULL`;
    expect(still?.n).toBeGreaterThan(0);

    // The stray transaction's own event fires once it commits; nothing fires twice.
    await txn.commit();
    await eventually(
      async () => ((await firedEvents(automation.id)).length === 1001 ? true : undefined),
      30_000,
      'the stray event to fire',
    );
    await eventually(async () => ((await ledgerReadUpToNow(api.server.sql, 'automation_cursor')) ? true : undefined));
    const all = await firedEvents(automation.id);
    expect(new Set(all).size).toBe(1001);
  }, 180_000);

  test('an event of a transaction that rolls back never fires', async () => {
    const d = await deploy(api.owner, { flowName: `rb-${randomUUID().slice(0, 6)}` });
    const created = await api.owner('POST', '/automations', {
      body: {
        name: `on-rb-${randomUUID().slice(0, 6)}`,
        trigger: { type: 'event', match: 'event.kind == "idle.rolled-back"' },
        actions: [{ type: 'run-deployment', deployment: `${d.flowName}/${d.name}` }],
      },
    });
    const automation = created.body as { id: string };
    const txn = await openStray('idle.rolled-back');
    await txn.rollBack();
    const [after] = await emitted('idle.rolled-back', 1);
    await eventually(async () => ((await firedEvents(automation.id)).length === 1 ? true : undefined));
    await eventually(async () => ((await ledgerReadUpToNow(api.server.sql, 'automation_cursor')) ? true : undefined));
    expect(await firedEvents(automation.id)).toEqual([after]);
  });

  test('does not hold back the live event stream', async () => {
    await openStray();
    const abort = new AbortController();
    aborts.push(abort);
    const live = await streamEvents(api.server.url, api.server.ownerKey, '?kind=idle.live', abort.signal);
    const ids = await emitted('idle.live', 50);
    await live.waitFor<OutpostEvent>((e) => e.id === ids.at(-1));
    expect((live.events as OutpostEvent[]).map((e) => e.id)).toEqual(ids);
  });
});
