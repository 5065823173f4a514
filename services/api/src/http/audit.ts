import type { AuditActorKind, RouteName } from '@outpost/sdk/contracts';
import type { Context, MiddlewareHandler } from 'hono';
import type { Principal } from '../auth/principal.js';
import type { AppDeps } from '../context.js';
import { appendAuditEntry, type NewAuditEntry, storableText } from '../identity/db/audit.js';
import type { AppEnv } from './env.js';

/** What a route notes about a call; the middleware completes it with the status and request details. */
export interface AuditNote {
  workspaceId: string;
  actorKind: AuditActorKind;
  actorId: string | null;
  action: string;
  targetIds: Record<string, string>;
  resultIds: Record<string, string>;
  summary: Record<string, unknown>;
  /**
   * Set once the handler's own statement wrote the entry, in the same transaction as the change
   * (inlineAudit): the middleware then writes nothing more.
   */
  written?: boolean;
}

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Mutating routes left out of the audit log, each with the reason. They are the worker protocol's
 * hot path (every worker, every few seconds), and what they change is recorded where it happens:
 * a claim becomes the run's PENDING state (with the worker), task runs and log lines are records
 * themselves. Every other mutating route is audited, including routes added later.
 */
export const UNAUDITED_ROUTES: Partial<Record<RouteName, string>> = {
  claim: "each long-poll; a claimed run's PENDING state, with its worker, is in the run's state history",
  workersHeartbeat: "every worker every few seconds; the worker's last heartbeat is kept on the worker",
  logsWrite: 'log lines are an append-only record of their own',
  taskRunsCreate: 'task runs are a record of their own, written by the run',
  taskRunsSetState: 'task runs are a record of their own, written by the run',
  eventsEmit: 'events are an append-only record of their own, with their source (api, run) and its id',
  externalPollsClaim: 'each poll of a deferred job; the lease and its worker are kept on the wait',
  externalPollsComplete: "each poll of a deferred job; what it saw is kept on the wait, and its ending is the wait's resolution",
  sensorTicksClaim: "every worker's sensor poll, every few seconds, due tick or not; a claimed tick keeps its worker and lease",
  sensorTicksComplete:
    "each sensor tick; its outcome, cursor and runs are kept on the tick, the runs' creation in their state history",
  poolRunsSetStates: "a worker's batch of run states; each state, with its worker, is in its run's state history",
  poolRunsLogsWrite: "a worker's batch of log lines; the lines are an append-only record of their own",
};

/** Whether a call of this route by this principal is audited: mutations by people and keys. */
export function isAudited(name: RouteName, method: string, principal: Principal): boolean {
  return MUTATING.has(method) && principal.kind !== 'run_token' && UNAUDITED_ROUTES[name] === undefined;
}

/** The actor a principal is recorded as. */
export function auditActor(principal: Principal): { actorKind: AuditActorKind; actorId: string } {
  switch (principal.kind) {
    case 'api_key':
      return { actorKind: 'api_key', actorId: principal.keyId };
    case 'run_token':
      return { actorKind: 'run_token', actorId: principal.runId };
    case 'session':
      if (principal.userId) return { actorKind: 'user', actorId: principal.userId };
      if (principal.apiKeyId) return { actorKind: 'api_key', actorId: principal.apiKeyId };
      return { actorKind: 'session', actorId: principal.sessionId };
  }
}

// ---- what is kept of a request and its answer ------------------------------------------------------

/** Field names whose values are never kept, at any depth: passwords, secrets, tokens, keys. */
const SECRET_FIELD = /pass|secret|token|key|credential|authori[sz]ation|cookie|private|csrf|session|signature/i;
const MAX_STRING = 200;
const MAX_SUMMARY_BYTES = 4096;
const ID_FIELD = /^(?:id|[a-z][A-Za-z]*Id)$/;

function keepValue(value: unknown, depth: number): unknown {
  if (value === null || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  // Text Postgres refuses (a NUL, a lone surrogate) is escaped: it would otherwise lose the entry.
  if (typeof value === 'string') return value.length <= MAX_STRING ? storableText(value) : `${value.length} characters`;
  if (Array.isArray(value)) return `${value.length} items`;
  if (typeof value === 'object' && depth < 2) {
    const kept: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value as Record<string, unknown>)) {
      if (SECRET_FIELD.test(key)) continue;
      const v = keepValue(inner, depth + 1);
      if (v !== undefined) kept[storableText(key)] = v;
    }
    return kept;
  }
  return undefined;
}

/**
 * A redacted summary of a request body: its field names, and the values of fields that are not
 * secret-like, short and shallow. A secret therefore reaches the log only under a field name that
 * hides it from this filter — and no contract has such a field.
 */
export function summarise(body: unknown): Record<string, unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return {};
  const fields = Object.keys(body)
    .map((key) => storableText(key))
    .sort();
  const values: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body as Record<string, unknown>)) {
    if (SECRET_FIELD.test(key)) continue;
    const kept = keepValue(value, 1);
    if (kept !== undefined) values[storableText(key)] = kept;
  }
  const summary = { fields, values };
  return JSON.stringify(summary).length <= MAX_SUMMARY_BYTES ? summary : { fields };
}

/** String ids (`id`, `…Id`) of an object and of the objects it holds, by path (`apiKey.id` → `apiKey`). */
export function collectIds(value: unknown, prefix = '', depth = 0, out: Record<string, string> = {}): Record<string, string> {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || depth > 1) return out;
  for (const [key, inner] of Object.entries(value as Record<string, unknown>)) {
    if (typeof inner === 'string' && ID_FIELD.test(key) && inner.length <= MAX_STRING) {
      out[key === 'id' ? prefix || 'id' : prefix ? `${prefix}.${key}` : key] = inner;
    } else if (typeof inner === 'object') {
      collectIds(inner, prefix ? `${prefix}.${key}` : key, depth + 1, out);
    }
  }
  return out;
}

/** Path parameters, which name what a call acts on (ids, pool and queue names). */
export function paramIds(params: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(params)) if (typeof value === 'string') out[key] = value;
  return out;
}

// ---- recording -------------------------------------------------------------------------------------

/** Whether two id maps hold the same ids under the same names. */
export function sameIds(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}

/** Adds an entry to write once the request is answered. */
export function noteAudit(c: Context<AppEnv>, note: AuditNote): void {
  const notes = c.get('auditNotes') ?? [];
  notes.push(note);
  c.set('auditNotes', notes);
}

const clip = (value: string | undefined, max: number) => (value === undefined ? null : value.slice(0, max));

/** The entry of a note: the note with the request's details and the status it is answered with. */
function entryOf(c: Context<AppEnv>, note: AuditNote, status: number, clientAddress: string | null): NewAuditEntry {
  const { written: _written, ...fields } = note;
  return {
    ...fields,
    method: c.req.method,
    path: c.req.path.slice(0, 500),
    status,
    clientAddress,
    userAgent: clip(c.req.header('user-agent'), 200),
    requestId: c.get('requestId') ?? null,
  };
}

/**
 * An audit entry a handler writes in the statement that makes its change, so the change and its
 * entry commit together (one commit, where the middleware's write after the answer is a second).
 * The statement computes `resultIds` (and the object ids) from what it wrote; they must be what
 * collectIds makes of the answer, which the pipeline checks wherever it checks answers.
 */
export interface InlineAudit {
  /** The entry without its result ids, with the status the answer has when the change is made. */
  entry: Omit<NewAuditEntry, 'resultIds'>;
  /** Called once the statement has written the entry, with the result ids it wrote. */
  written(resultIds: Record<string, string>): void;
}

/** The route's pending entry for its handler to write itself, or null when the call is not audited. */
export function inlineAudit(
  c: Context<AppEnv>,
  note: AuditNote | null,
  status: number,
  clientAddress: string | null,
): InlineAudit | null {
  if (!note) return null;
  const { resultIds: _resultIds, ...entry } = entryOf(c, note, status, clientAddress);
  return {
    entry,
    written: (resultIds) => {
      note.written = true;
      note.resultIds = resultIds;
    },
  };
}

/**
 * Writes the entries noted during a request, with the status it was answered with, before the
 * answer leaves: a client never sees a 2xx for a change the log does not hold. If the write fails
 * the change has already happened, so the answer stands and the entry goes to the error log whole.
 * An entry the handler's own statement wrote with its change (inlineAudit) is not written again.
 */
export function auditTrail(
  deps: Pick<AppDeps, 'sql'>,
  address: (c: Context<AppEnv>) => string | null,
): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    await next();
    const notes = c.get('auditNotes');
    if (!notes?.length) return;
    for (const note of notes) {
      if (note.written) continue;
      const entry = entryOf(c, note, c.res.status, address(c));
      try {
        await appendAuditEntry(deps.sql, entry);
      } catch (error) {
        c.get('logger').error({ err: error, audit: entry }, 'audit entry could not be written');
      }
    }
  };
}
