import * as z from 'zod';
import { Id, JsonObject, page, Timestamp } from './common.js';

/**
 * Who made a call: an API key (directly or through a browser session it opened), a signed-in user,
 * a session opened by a one-time sign-in link, a run token, or nobody yet (a sign-in attempt).
 */
export const AuditActorKind = z.enum(['api_key', 'user', 'session', 'run_token', 'anonymous', 'automation']);
export type AuditActorKind = z.infer<typeof AuditActorKind>;

/**
 * One audited call. Entries are append-only: the database refuses to change or delete them.
 * `summary` never holds a secret: only field names and short non-secret values of the request.
 */
export const AuditEntry = z.strictObject({
  /** Increases with every entry; the keyset of the listing. */
  id: z.string(),
  occurredAt: Timestamp,
  actor: z.strictObject({
    kind: AuditActorKind,
    /** API key id, user id, session id or run id; null for an anonymous attempt. */
    id: z.string().nullable(),
    /** The user's email or the key's name (as they are now; null once deleted). */
    label: z.string().nullable(),
  }),
  /** The route name (`apiKeysCreate`) or auth event (`auth.passwordSignIn`). */
  action: z.string(),
  method: z.string().nullable(),
  path: z.string().nullable(),
  /** HTTP status the call was answered with. */
  status: z.number().int(),
  clientAddress: z.string().nullable(),
  userAgent: z.string().nullable(),
  requestId: z.string().nullable(),
  /** Ids the call named (path and body), by field: what it acted on. */
  targetIds: z.record(z.string(), z.string()),
  /** Ids in the answer, by field: what the call produced or changed. */
  resultIds: z.record(z.string(), z.string()),
  summary: JsonObject,
});
export type AuditEntry = z.infer<typeof AuditEntry>;

const AuditFilters = {
  /** Entries by this actor (API key id, user id). */
  actorId: Id.optional(),
  /** Entries of this action (route name or auth event). */
  action: z.string().max(100).optional(),
  /** Entries naming this id, as a target or in the answer. */
  objectId: z.string().max(200).optional(),
  /** Only refused calls (status ≥ 400) or only successful ones. */
  outcome: z.enum(['success', 'failure']).optional(),
  since: z.iso.datetime({ offset: true }).optional(),
  until: z.iso.datetime({ offset: true }).optional(),
};

/** The most entries one page of the audit log holds: larger than other lists, since exports walk it whole. */
export const MAX_AUDIT_PAGE_SIZE = 500;

export const AuditLogQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(MAX_AUDIT_PAGE_SIZE).default(100),
  cursor: z.string().max(200).optional(),
  ...AuditFilters,
});
export type AuditLogQuery = z.input<typeof AuditLogQuery>;

/** The export streams every matching entry, oldest first, as NDJSON (one AuditEntry a line). */
export const AuditExportQuery = z.strictObject(AuditFilters);
export type AuditExportQuery = z.input<typeof AuditExportQuery>;

/** Newest first. */
export const AuditLogResponse = page(AuditEntry);
export type AuditLogResponse = z.infer<typeof AuditLogResponse>;
