import type { AuditEntry, AuditExportQuery } from '@outpost/sdk/contracts';

/** The filters the audit log form holds, as typed: empty strings mean "any". */
export interface AuditFilterForm {
  action: string;
  actorId: string;
  objectId: string;
  outcome: '' | 'success' | 'failure';
  /** `datetime-local` values, in the browser's time zone. */
  since: string;
  until: string;
}

export const EMPTY_AUDIT_FILTERS: AuditFilterForm = { action: '', actorId: '', objectId: '', outcome: '', since: '', until: '' };

/** A `datetime-local` value as an ISO instant (the browser's time zone), or undefined when empty or not a date. */
export function localToIso(value: string): string | undefined {
  if (!value) return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

/** The query the list and the export are read with: only the filters that are set, trimmed. */
export function auditQuery(form: AuditFilterForm): AuditExportQuery {
  const query: AuditExportQuery = {};
  const action = form.action.trim();
  const actorId = form.actorId.trim();
  const objectId = form.objectId.trim();
  if (action) query.action = action;
  if (actorId) query.actorId = actorId;
  if (objectId) query.objectId = objectId;
  if (form.outcome) query.outcome = form.outcome;
  const since = localToIso(form.since);
  const until = localToIso(form.until);
  if (since) query.since = since;
  if (until) query.until = until;
  return query;
}

export function auditOutcome(entry: Pick<AuditEntry, 'status'>): 'success' | 'failure' {
  return entry.status >= 400 ? 'failure' : 'success';
}

/** Who acted, as a person reads it: the email or key name when known, else the kind and id. */
export function auditActor(entry: Pick<AuditEntry, 'actor'>): string {
  const { kind, id, label } = entry.actor;
  if (label) return label;
  if (kind === 'anonymous' || !id) return kind === 'anonymous' ? 'anonymous' : kind.replace('_', ' ');
  return `${kind.replace('_', ' ')} ${id}`;
}

/** What the call acted on and produced: `field=id` pairs, the named targets first, each field once. */
export function auditTarget(entry: Pick<AuditEntry, 'targetIds' | 'resultIds'>): string {
  const seen = new Set<string>();
  const parts: string[] = [];
  for (const ids of [entry.targetIds, entry.resultIds]) {
    for (const [field, id] of Object.entries(ids)) {
      const pair = `${field}=${id}`;
      if (seen.has(pair)) continue;
      seen.add(pair);
      parts.push(pair);
    }
  }
  return parts.join(', ');
}

/** Appends a further page, dropping any entry already shown (the keyset never repeats one, but a reload may). */
export function appendAuditPage(shown: readonly AuditEntry[], next: readonly AuditEntry[]): AuditEntry[] {
  const ids = new Set(shown.map((e) => e.id));
  return [...shown, ...next.filter((e) => !ids.has(e.id))];
}
