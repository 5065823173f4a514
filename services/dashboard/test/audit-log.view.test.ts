import type { AuditEntry } from '@outpost/sdk/contracts';
import { describe, expect, it } from 'vitest';
import { appendAuditPage, auditActor, auditOutcome, auditQuery, auditTarget, EMPTY_AUDIT_FILTERS } from '../src/lib/audit-log.js';

function entry(id: string, overrides: Partial<AuditEntry> = {}): AuditEntry {
  return {
    id,
    workspaceId: '00000000-0000-4000-8000-0000000000aa',
    chain: { seq: id, prev: '0'.repeat(64), hash: 'a'.repeat(64) },
    occurredAt: '2026-03-01T12:00:00.000Z',
    actor: { kind: 'user', id: '00000000-0000-4000-8000-000000000001', label: 'ada@example.com' },
    action: 'membersAdd',
    method: 'POST',
    path: '/api/v1/members',
    status: 201,
    clientAddress: '127.0.0.1',
    userAgent: null,
    requestId: null,
    targetIds: {},
    resultIds: {},
    summary: {},
    ...overrides,
  };
}

describe('audit log view logic', () => {
  it('sends only the filters that are set, trimmed, with local times as ISO instants', () => {
    expect(auditQuery(EMPTY_AUDIT_FILTERS)).toEqual({});
    const since = '2026-03-01T10:30';
    expect(
      auditQuery({
        ...EMPTY_AUDIT_FILTERS,
        action: ' membersAdd ',
        outcome: 'failure',
        since,
        until: 'not a date',
        objectId: ' ',
      }),
    ).toEqual({ action: 'membersAdd', outcome: 'failure', since: new Date(since).toISOString() });
  });

  it('counts a call answered with 400 or more as a failure', () => {
    expect(auditOutcome({ status: 204 })).toBe('success');
    expect(auditOutcome({ status: 399 })).toBe('success');
    expect(auditOutcome({ status: 400 })).toBe('failure');
    expect(auditOutcome({ status: 503 })).toBe('failure');
  });

  it('names the actor by label when known, else by kind and id', () => {
    expect(auditActor(entry('1'))).toBe('ada@example.com');
    expect(auditActor(entry('1', { actor: { kind: 'api_key', id: 'k1', label: null } }))).toBe('api key k1');
    expect(auditActor(entry('1', { actor: { kind: 'anonymous', id: null, label: null } }))).toBe('anonymous');
  });

  it('lists targets before results, each pair once', () => {
    expect(auditTarget(entry('1', { targetIds: { userId: 'u1' }, resultIds: { userId: 'u1', keyId: 'k2' } }))).toBe(
      'userId=u1, keyId=k2',
    );
    expect(auditTarget(entry('1'))).toBe('');
  });

  it('appends a further page without repeating entries already shown', () => {
    const shown = [entry('9'), entry('8')];
    expect(appendAuditPage(shown, [entry('8'), entry('7')]).map((e) => e.id)).toEqual(['9', '8', '7']);
  });
});
