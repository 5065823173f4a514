import * as z from 'zod';
import { Id, JsonObject, page, Timestamp } from './common.js';

/**
 * Who made a call: an API key (directly or through a browser session it opened), a signed-in user,
 * a session opened by a one-time sign-in link, a run token, nobody yet (a sign-in attempt), an
 * automation, an organisation token (its directory provisioning people and groups over SCIM), or the
 * server's operator (`outpost server …` commands run with the database's credentials; no id).
 */
export const AuditActorKind = z.enum([
  'api_key',
  'user',
  'session',
  'run_token',
  'anonymous',
  'automation',
  'organisation_token',
  'operator',
]);
export type AuditActorKind = z.infer<typeof AuditActorKind>;

/**
 * One audited call. Entries are append-only: the database refuses to change or delete them.
 * `summary` never holds a secret: only field names and short non-secret values of the request.
 */
/** A place in a chain as text (0 before the first entry): a bigint no reader rounds. */
const SeqText = z.string().regex(/^(?:0|[1-9][0-9]{0,18})$/);

/**
 * An entry's place in its workspace's hash chain: `hash = hex(sha256(prev ‖ text))`, where `text`
 * is the entry's fields as the SDK's `auditEntryText` prints them, and `prev` is the hash of the
 * entry at `seq - 1` (64 zeros before the first). Verify a chain with `outpost audit verify`.
 */
export const AuditChainLink = z.strictObject({
  /** The entry's place in its workspace's chain: 1, 2, … without a gap. */
  seq: z.string().regex(/^[1-9][0-9]{0,18}$/),
  prev: z.string().regex(/^[0-9a-f]{64}$/),
  hash: z.string().regex(/^[0-9a-f]{64}$/),
});
export type AuditChainLink = z.infer<typeof AuditChainLink>;

/** The newest entry of a workspace's chain (`seq` 0 and 64 zeros before its first entry). */
export const AuditChainHead = z.strictObject({
  workspaceId: Id,
  seq: SeqText,
  hash: z.string().regex(/^[0-9a-f]{64}$/),
});
export type AuditChainHead = z.infer<typeof AuditChainHead>;

export const AuditEntry = z.strictObject({
  /** Increases with every entry; the keyset of the listing. */
  id: z.string(),
  workspaceId: Id,
  chain: AuditChainLink,
  occurredAt: Timestamp,
  actor: z.strictObject({
    kind: AuditActorKind,
    /** API key id, user id, session id, run id or organisation token id; null for an anonymous attempt. */
    id: z.string().nullable(),
    /** The user's email, or the key's or organisation token's name (as they are now; null once deleted). */
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

/**
 * The export streams every matching entry in chain order (oldest first), as NDJSON (one AuditEntry
 * a line). `afterSeq` resumes after the last place a reader holds, which is how a SIEM pulls only
 * what is new without gaps or repeats (entries commit in chain order, not always in time order).
 */
export const AuditExportQuery = z.strictObject({
  ...AuditFilters,
  afterSeq: SeqText.optional(),
});
export type AuditExportQuery = z.input<typeof AuditExportQuery>;

/**
 * An organisation's export: the entries of all its workspaces (archived ones included), or of one.
 * Each workspace's entries come in its chain order; workspaces are interleaved by time.
 */
export const OrganisationAuditExportQuery = z
  .strictObject({
    ...AuditFilters,
    /** Only this workspace's entries (its slug). */
    workspace: z.string().max(40).optional(),
    /** With `workspace`: only its entries after this place of its chain. */
    afterSeq: SeqText.optional(),
  })
  .refine((q) => q.afterSeq === undefined || q.workspace !== undefined, {
    path: ['afterSeq'],
    message: "afterSeq is a place in one workspace's chain: name the workspace too",
  });
export type OrganisationAuditExportQuery = z.input<typeof OrganisationAuditExportQuery>;

export const AuditChainHeadsResponse = z.strictObject({
  items: z.array(AuditChainHead.extend({ workspace: z.string() })),
});
export type AuditChainHeadsResponse = z.infer<typeof AuditChainHeadsResponse>;

/** Newest first. */
export const AuditLogResponse = page(AuditEntry);
export type AuditLogResponse = z.infer<typeof AuditLogResponse>;
