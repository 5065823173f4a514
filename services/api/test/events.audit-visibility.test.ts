import type { OutpostEvent } from '@outpost/sdk/contracts';
import { beforeAll, describe, expect, test } from 'vitest';
import { eventKinds, eventStreams } from './events.support.js';
import { client, useServer, useWorkspace } from './helpers.js';

/*
 * The audit log writes each audited action into the ledger as an `audit.<action>` event. Only the
 * roles that may read the audit log (owner, admin) may read those events, through every ledger
 * reader: the list with or without a kind filter, and the live stream with its replay.
 */

let viewerKey: string;
let adminKey: string;

const api = useServer();
const own = useWorkspace(api);

beforeAll(async () => {
  viewerKey = await own.ws.createKey('viewer');
  adminKey = await own.ws.createKey('admin');
});

/** An audited action of the owner (creating an API key), then a custom event after it as a marker. */
async function auditedActionThenMarker(marker: string): Promise<void> {
  const created = await own.owner('POST', '/api-keys', { body: { name: `k-${marker}`, role: 'viewer' } });
  expect(created.status, created.text).toBe(201);
  const emitted = await own.owner('POST', '/events', { body: { events: [{ kind: marker, payload: {} }] } });
  expect(emitted.status, emitted.text).toBe(202);
}

const stream = eventStreams(() => api.server.url);

describe('audit events in the ledger follow the audit log role rule', () => {
  test('a viewer listing events sees no audit event, filtered by kind or not; an admin sees them', async () => {
    await auditedActionThenMarker('marker.list');
    const viewer = client(api.server, viewerKey);
    const admin = client(api.server, adminKey);

    const asked = await viewer('GET', '/events?kind=audit.*');
    expect(asked.status, asked.text).toBe(200);
    expect(asked.body.items).toEqual([]);
    const exact = await viewer('GET', '/events?kind=audit.api-keys-create');
    expect(exact.body.items).toEqual([]);
    const all = await viewer('GET', '/events');
    expect(eventKinds(all.body.items)).toContain('marker.list');
    expect(eventKinds(all.body.items).filter((k) => k.startsWith('audit.'))).toEqual([]);

    const adminSees = await admin('GET', '/events?kind=audit.*');
    expect(eventKinds(adminSees.body.items)).toContain('audit.api-keys-create');
    expect(eventKinds((await admin('GET', '/events')).body.items)).toEqual(
      expect.arrayContaining(['audit.api-keys-create', 'marker.list']),
    );
  });

  test("a viewer's live stream and its replay carry no audit event, while an admin's carry them", async () => {
    const viewerLive = await stream(viewerKey, '');
    const viewerAudit = await stream(viewerKey, '?kind=audit.*,marker.live');
    const adminLive = await stream(adminKey, '');
    await auditedActionThenMarker('marker.live');

    await viewerLive.waitFor((e: OutpostEvent) => e.kind === 'marker.live');
    await viewerAudit.waitFor((e: OutpostEvent) => e.kind === 'marker.live');
    await adminLive.waitFor((e: OutpostEvent) => e.kind === 'marker.live');
    // Both streams are in ledger order: the audit event, committed before the marker, came first or not at all.
    expect(eventKinds(viewerLive.events as OutpostEvent[]).filter((k) => k.startsWith('audit.'))).toEqual([]);
    expect(eventKinds(viewerAudit.events as OutpostEvent[])).toEqual(['marker.live']);
    expect(eventKinds(adminLive.events as OutpostEvent[])).toContain('audit.api-keys-create');

    const replayed = await stream(viewerKey, '?afterSeq=0');
    await replayed.waitFor((e: OutpostEvent) => e.kind === 'marker.live');
    expect(eventKinds(replayed.events as OutpostEvent[]).filter((k) => k.startsWith('audit.'))).toEqual([]);
    const adminReplay = await stream(adminKey, '?afterSeq=0&kind=audit.*');
    await adminReplay.waitFor((e: OutpostEvent) => e.kind === 'audit.api-keys-create');
  });

  test('a refused call is in the audit log but is no event: only what happened reaches the ledger', async () => {
    const viewer = client(api.server, viewerKey);
    const refused = await viewer('POST', '/api-keys', { body: { name: 'k-refused', role: 'owner' } });
    expect(refused.status).toBe(403);
    await auditedActionThenMarker('marker.refused');
    const audit = await own.owner('GET', '/audit-log?action=apiKeysCreate&limit=50');
    expect(audit.status).toBe(200);
    const statuses = (audit.body.items as { status: number }[]).map((e) => e.status);
    expect(statuses).toEqual(expect.arrayContaining([403, 201]));
    const events = await own.owner('GET', '/events?kind=audit.api-keys-create&limit=200');
    expect(events.status).toBe(200);
    const eventStatuses = (events.body.items as OutpostEvent[]).map((e) => (e.payload as { status: number }).status);
    expect(eventStatuses.length).toBeGreaterThan(0);
    expect(eventStatuses.filter((status) => status >= 400)).toEqual([]);
  });
});
