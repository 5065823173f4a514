import { randomUUID } from 'node:crypto';
import { INTERNAL_EVENT_KINDS, type OutpostEvent, type RouteName, routes } from '@outpost/sdk/contracts';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { UNAUDITED_ROUTES } from '../src/http/audit.js';
import { startTestServer, type TestServer, type TestWorkspace } from '../src/testing.js';
import { EventReader } from './events.support.js';
import { type Call, client } from './helpers.js';

/*
 * Internal bookkeeping (the audit events of the worker protocol's calls, such as a restarted worker
 * adopting its runs) is left out of the events list and the live stream unless a reader asks for it
 * with `internal=true` or names its kind exactly. Audit events people care about (an API key
 * created) stay in view. The protocol's hot paths (sensor polls every few seconds) are not audited.
 */

let server: TestServer;
let ws: TestWorkspace;
let other: TestWorkspace;
let owner: Call;
let pool: string;
const aborts: AbortController[] = [];

beforeAll(async () => {
  server = await startTestServer({ loops: false });
  ws = await server.createWorkspace();
  other = await server.createWorkspace();
  owner = client(server, ws.ownerKey);
  pool = `sensors-${randomUUID().slice(0, 8)}`;
  const made = await owner('POST', '/work-pools', { body: { name: pool } });
  expect(made.status, made.text).toBe(201);
});
afterEach(() => {
  for (const c of aborts.splice(0)) c.abort();
});
afterAll(async () => {
  await server?.close();
});

/**
 * A worker's sensor poll (not audited), a worker adopting its runs after a restart (audited as
 * `audit.poolrunsadopt`), a key created (audited), then a marker event.
 */
async function bookkeepingThenMarker(marker: string): Promise<void> {
  const worker = client(server, await ws.createKey('worker', [pool]));
  const claimed = await worker('POST', `/work-pools/${pool}/sensor-ticks/claim`, { body: { workerId: randomUUID(), limit: 1 } });
  expect(claimed.status, claimed.text).toBe(200);
  const adopted = await worker('POST', `/work-pools/${pool}/runs/adopt`, {
    body: { workerId: randomUUID(), runs: [{ id: randomUUID(), attempt: 1 }] },
  });
  expect(adopted.status, adopted.text).toBe(200);
  const created = await owner('POST', '/api-keys', { body: { name: `k-${marker}`, role: 'viewer' } });
  expect(created.status, created.text).toBe(201);
  const emitted = await owner('POST', '/events', { body: { events: [{ kind: marker, payload: {} }] } });
  expect(emitted.status, emitted.text).toBe(202);
}

async function stream(key: string, query: string): Promise<EventReader> {
  const abort = new AbortController();
  aborts.push(abort);
  const response = await fetch(`${server.url}/api/v1/events/stream${query}`, {
    headers: { authorization: `Bearer ${key}` },
    signal: abort.signal,
  });
  expect(response.status).toBe(200);
  const reader = new EventReader(response);
  await reader.waitForComment('connected');
  return reader;
}

const kinds = (items: OutpostEvent[]) => items.map((e) => e.kind);

describe('internal bookkeeping events are hidden unless asked for', () => {
  test('the list leaves out a worker adopting its runs by default and shows them with internal=true, in its own workspace only', async () => {
    await bookkeepingThenMarker('marker.list');

    const plain = await owner('GET', '/events?limit=200');
    expect(plain.status, plain.text).toBe(200);
    expect(kinds(plain.body.items)).toEqual(expect.arrayContaining(['marker.list', 'audit.apikeyscreate']));
    expect(kinds(plain.body.items)).not.toContain('audit.poolrunsadopt');

    const withInternal = await owner('GET', '/events?limit=200&internal=true');
    expect(kinds(withInternal.body.items)).toEqual(
      expect.arrayContaining(['marker.list', 'audit.apikeyscreate', 'audit.poolrunsadopt']),
    );
    // In ledger order too (what `events tail` and live views page with).
    const ascending = await owner('GET', '/events?order=asc&afterSeq=0&limit=200');
    expect(kinds(ascending.body.items)).toContain('marker.list');
    expect(kinds(ascending.body.items)).not.toContain('audit.poolrunsadopt');

    // A prefix does not bring them back; naming the kind exactly does.
    const audit = await owner('GET', '/events?kind=audit.*');
    expect(kinds(audit.body.items)).toContain('audit.apikeyscreate');
    expect(kinds(audit.body.items)).not.toContain('audit.poolrunsadopt');
    const exact = await owner('GET', '/events?kind=audit.poolrunsadopt');
    expect(kinds(exact.body.items)).toEqual(expect.arrayContaining(['audit.poolrunsadopt']));
    expect(new Set(kinds(exact.body.items))).toEqual(new Set(['audit.poolrunsadopt']));

    // Another workspace asking for internal events sees none of this one's.
    const elsewhere = await client(server, other.ownerKey)('GET', '/events?limit=200&internal=true');
    expect(elsewhere.status).toBe(200);
    const paths = (elsewhere.body.items as OutpostEvent[]).map((e) => String(e.payload.path ?? ''));
    expect(paths.filter((p) => p.includes(pool))).toEqual([]);
    expect(kinds(elsewhere.body.items)).not.toContain('marker.list');
  });

  test('a value other than true or false for internal is refused with the field named', async () => {
    const bad = await owner('GET', '/events?internal=yes');
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('internal');
  });

  test('the live stream and its replay leave them out by default and carry them with internal=true', async () => {
    const plain = await stream(ws.ownerKey, '');
    const withInternal = await stream(ws.ownerKey, '?internal=true');
    await bookkeepingThenMarker('marker.live');

    await plain.waitFor((e: OutpostEvent) => e.kind === 'marker.live');
    await withInternal.waitFor((e: OutpostEvent) => e.kind === 'marker.live');
    // Streams are in ledger order: the adoption, committed before the marker, came first or not at all.
    expect(kinds(plain.events as OutpostEvent[])).toContain('audit.apikeyscreate');
    expect(kinds(plain.events as OutpostEvent[])).not.toContain('audit.poolrunsadopt');
    expect(kinds(withInternal.events as OutpostEvent[])).toContain('audit.poolrunsadopt');

    const replayed = await stream(ws.ownerKey, '?afterSeq=0');
    await replayed.waitFor((e: OutpostEvent) => e.kind === 'marker.live');
    expect(kinds(replayed.events as OutpostEvent[])).not.toContain('audit.poolrunsadopt');
    const replayedInternal = await stream(ws.ownerKey, '?afterSeq=0&internal=true');
    await replayedInternal.waitFor((e: OutpostEvent) => e.kind === 'audit.poolrunsadopt');
  });

  test('every internal kind is the audit event of a mutation a worker key makes, and every such audited mutation is internal', () => {
    const byKind = new Map(Object.entries(routes).map(([name, route]) => [`audit.${name.toLowerCase()}`, { name, route }]));
    for (const kind of Object.keys(INTERNAL_EVENT_KINDS)) {
      const found = byKind.get(kind);
      expect(found, `${kind} names no route`).toBeDefined();
      if (!found) continue;
      expect(found.route.method, kind).not.toBe('GET');
      expect(found.route.access.roles as readonly string[], kind).toContain('worker');
    }
    // The worker protocol's own routes (a pool's runs and sensor ticks) are either not audited or internal.
    const protocol = Object.entries(routes).filter(
      ([, route]) => route.method !== 'GET' && /^\/work-pools\/:pool\/(?:runs|sensor-ticks)\//.test(route.path),
    );
    expect(protocol.length).toBeGreaterThanOrEqual(5);
    for (const [name] of protocol) {
      const audited = UNAUDITED_ROUTES[name as RouteName] === undefined;
      expect(!audited || `audit.${name.toLowerCase()}` in INTERNAL_EVENT_KINDS, name).toBe(true);
    }
  });

  test('sensor polls and tick reports, batched run states and logs leave no audit entry', async () => {
    const worker = client(server, await ws.createKey('worker', [pool]));
    const before = await server.sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM audit_log WHERE workspace_id = ${ws.workspaceId} AND path LIKE ${`/api/v1/work-pools/${pool}/%`}`;
    for (let i = 0; i < 3; i++) {
      const claimed = await worker('POST', `/work-pools/${pool}/sensor-ticks/claim`, {
        body: { workerId: randomUUID(), limit: 1 },
      });
      expect(claimed.status, claimed.text).toBe(200);
    }
    const after = await server.sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM audit_log WHERE workspace_id = ${ws.workspaceId} AND path LIKE ${`/api/v1/work-pools/${pool}/%`}`;
    expect(after[0]?.n).toBe(before[0]?.n);
    for (const name of ['sensorTicksClaim', 'sensorTicksComplete', 'poolRunsSetStates', 'poolRunsLogsWrite'] as const) {
      expect(UNAUDITED_ROUTES[name], name).toEqual(expect.any(String));
    }
  });
});
