import { randomUUID } from 'node:crypto';
import {
  auditEventKind,
  INTERNAL_EVENT_KINDS,
  legacyAuditKind,
  type OutpostEvent,
  type RouteName,
  routes,
} from '@outpost/sdk/contracts';
import { beforeAll, describe, expect, test } from 'vitest';
import { currentAuditKinds } from '../src/events/db/event-list.js';
import { UNAUDITED_ROUTES } from '../src/http/audit.js';
import type { TestWorkspace } from '../src/testing/index.js';
import { eventKinds, eventStreams } from './events.support.js';
import { type Call, client, useServer } from './helpers.js';

/*
 * Internal bookkeeping (the audit events of the worker protocol's calls, such as a restarted worker
 * adopting its runs) is left out of the events list and the live stream unless a reader asks for it
 * with `internal=true` or names its kind exactly. Audit events people care about (an API key
 * created) stay in view. The protocol's hot paths (sensor polls every few seconds) are not audited.
 */

let ws: TestWorkspace;
let other: TestWorkspace;
let owner: Call;
let pool: string;

const api = useServer();

beforeAll(async () => {
  ws = await api.server.createWorkspace();
  other = await api.server.createWorkspace();
  owner = client(api.server, ws.ownerKey);
  pool = `sensors-${randomUUID().slice(0, 8)}`;
  const made = await owner('POST', '/work-pools', { body: { name: pool } });
  expect(made.status, made.text).toBe(201);
});

/**
 * A worker's sensor poll (not audited), a worker adopting its runs after a restart (audited as
 * `audit.pool-runs-adopt`), a key created (audited), then a marker event.
 */
async function bookkeepingThenMarker(marker: string): Promise<void> {
  const worker = client(api.server, await ws.createKey('worker', [pool]));
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

const stream = eventStreams(() => api.server.url);

describe('internal bookkeeping events are hidden unless asked for', () => {
  test('the list leaves out a worker adopting its runs by default and shows them with internal=true, in its own workspace only', async () => {
    await bookkeepingThenMarker('marker.list');

    const plain = await owner('GET', '/events?limit=200');
    expect(plain.status, plain.text).toBe(200);
    expect(eventKinds(plain.body.items)).toEqual(expect.arrayContaining(['marker.list', 'audit.api-keys-create']));
    expect(eventKinds(plain.body.items)).not.toContain('audit.pool-runs-adopt');

    const withInternal = await owner('GET', '/events?limit=200&internal=true');
    expect(eventKinds(withInternal.body.items)).toEqual(
      expect.arrayContaining(['marker.list', 'audit.api-keys-create', 'audit.pool-runs-adopt']),
    );
    // In ledger order too (what `events tail` and live views page with).
    const ascending = await owner('GET', '/events?order=asc&afterSeq=0&limit=200');
    expect(eventKinds(ascending.body.items)).toContain('marker.list');
    expect(eventKinds(ascending.body.items)).not.toContain('audit.pool-runs-adopt');

    // A prefix does not bring them back; naming the kind exactly does.
    const audit = await owner('GET', '/events?kind=audit.*');
    expect(eventKinds(audit.body.items)).toContain('audit.api-keys-create');
    expect(eventKinds(audit.body.items)).not.toContain('audit.pool-runs-adopt');
    const exact = await owner('GET', '/events?kind=audit.poolrunsadopt');
    expect(eventKinds(exact.body.items)).toEqual(expect.arrayContaining(['audit.pool-runs-adopt']));
    expect(new Set(eventKinds(exact.body.items))).toEqual(new Set(['audit.pool-runs-adopt']));

    // Another workspace asking for internal events sees none of this one's.
    const elsewhere = await client(api.server, other.ownerKey)('GET', '/events?limit=200&internal=true');
    expect(elsewhere.status).toBe(200);
    const paths = (elsewhere.body.items as OutpostEvent[]).map((e) => String(e.payload.path ?? ''));
    expect(paths.filter((p) => p.includes(pool))).toEqual([]);
    expect(eventKinds(elsewhere.body.items)).not.toContain('marker.list');
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
    expect(eventKinds(plain.events as OutpostEvent[])).toContain('audit.api-keys-create');
    expect(eventKinds(plain.events as OutpostEvent[])).not.toContain('audit.pool-runs-adopt');
    expect(eventKinds(withInternal.events as OutpostEvent[])).toContain('audit.pool-runs-adopt');

    const replayed = await stream(ws.ownerKey, '?afterSeq=0');
    await replayed.waitFor((e: OutpostEvent) => e.kind === 'marker.live');
    expect(eventKinds(replayed.events as OutpostEvent[])).not.toContain('audit.pool-runs-adopt');
    const replayedInternal = await stream(ws.ownerKey, '?afterSeq=0&internal=true');
    await replayedInternal.waitFor((e: OutpostEvent) => e.kind === 'audit.pool-runs-adopt');
  });

  test('every internal kind is the audit event of a mutation a worker key makes, and every such audited mutation is internal', () => {
    // Each route under both spellings: the kind since migration 0060, and the one before it.
    const byKind = new Map(
      Object.entries(routes).flatMap(([name, route]) => [
        [auditEventKind(name), { name, route }],
        [legacyAuditKind(name), { name, route }],
      ]),
    );
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
      expect(!audited || auditEventKind(name) in INTERNAL_EVENT_KINDS, name).toBe(true);
    }
  });

  test('sensor polls and tick reports, batched run states and logs leave no audit entry', async () => {
    const worker = client(api.server, await ws.createKey('worker', [pool]));
    const before = await api.server.sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM audit_log WHERE workspace_id = ${ws.workspaceId} AND path LIKE ${`/api/v1/work-pools/${pool}/%`}`;
    for (let i = 0; i < 3; i++) {
      const claimed = await worker('POST', `/work-pools/${pool}/sensor-ticks/claim`, {
        body: { workerId: randomUUID(), limit: 1 },
      });
      expect(claimed.status, claimed.text).toBe(200);
    }
    const after = await api.server.sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM audit_log WHERE workspace_id = ${ws.workspaceId} AND path LIKE ${`/api/v1/work-pools/${pool}/%`}`;
    expect(after[0]?.n).toBe(before[0]?.n);
    for (const name of ['sensorTicksClaim', 'sensorTicksComplete', 'poolRunsSetStates', 'poolRunsLogsWrite'] as const) {
      expect(UNAUDITED_ROUTES[name], name).toEqual(expect.any(String));
    }
  });
});

describe('audit events are named in kebab case, and the old spelling still finds them', () => {
  test('a new audit event is named after its action in kebab case, like every other kind', () => {
    expect(auditEventKind('apiKeysCreate')).toBe('audit.api-keys-create');
    expect(auditEventKind('poolRunsAdopt')).toBe('audit.pool-runs-adopt');
    expect(auditEventKind('automation.run-deployment')).toBe('audit.automation.run-deployment');
    expect(auditEventKind('operator.users.verify-email')).toBe('audit.operator.users.verify-email');
    expect(legacyAuditKind('apiKeysCreate')).toBe('audit.apikeyscreate');
  });

  test('a filter naming either spelling finds events of both, those written before the change and after', async () => {
    // An event as the ledger wrote it before migration 0060, beside a key created now.
    await api.server.sql`
      INSERT INTO events (workspace_id, kind, resource_kind, resource_id, resource_name, payload, source)
      VALUES (${ws.workspaceId}, 'audit.apikeyscreate', 'audit-entry', ${randomUUID()}, 'apiKeysCreate', '{}', 'system')`;
    const created = await owner('POST', '/api-keys', { body: { name: `k-${randomUUID().slice(0, 6)}`, role: 'viewer' } });
    expect(created.status, created.text).toBe(201);
    for (const kind of ['audit.apikeyscreate', 'audit.api-keys-create']) {
      const found = await owner('GET', `/events?kind=${kind}&limit=200`);
      expect(found.status, found.text).toBe(200);
      expect(new Set(eventKinds(found.body.items)), kind).toEqual(new Set(['audit.apikeyscreate', 'audit.api-keys-create']));
    }
  });

  test("an automation's expression naming an old audit kind is read with the current one, and only whole kinds change", () => {
    expect(currentAuditKinds('event.kind == "audit.deploymentspause"')).toBe('event.kind == "audit.deployments-pause"');
    expect(currentAuditKinds('event.kind in ["audit.apikeyscreate", "audit.api-keys-create"]')).toBe(
      'event.kind in ["audit.api-keys-create", "audit.api-keys-create"]',
    );
    // Not a route's kind, a prefix of one, or a kind already in kebab case: left as written.
    expect(currentAuditKinds('event.kind.startsWith("audit.deployments")')).toBe('event.kind.startsWith("audit.deployments")');
    expect(currentAuditKinds('event.kind == "audit.nosuchthing"')).toBe('event.kind == "audit.nosuchthing"');
    expect(currentAuditKinds('event.kind == "flow-run.failed"')).toBe('event.kind == "flow-run.failed"');
  });
});
