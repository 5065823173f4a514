import * as z from 'zod';
import { Id, JsonObject, PageLimit, Timestamp } from './common.js';
import { MAX_EVENT_PAYLOAD_BYTES } from './limits.js';
import { utf8Length } from './utf8.js';

/**
 * The event ledger: an append-only record of what happened in a workspace. The control plane writes
 * the system events below in the same transaction as the change they describe (database triggers),
 * so no state change is without its event and no event without its change. Custom events come from
 * a flow (`emit()`, through the worker, redacted there), from `POST /events` with an API key, and
 * from inbound webhooks. Triggers, automations, sensors' run requests and durable waits all read it.
 */

/** Lower-case dotted words: `flow-run.failed`, `model.metrics`, `s3.object-created`. */
export const EventKind = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[a-z0-9][a-z0-9_-]*(\.[a-z0-9_-]+)*$/, 'use lower-case words separated by ".", e.g. "model.metrics"');
export type EventKind = z.infer<typeof EventKind>;

export { MAX_EVENT_PAYLOAD_BYTES };
/** The most related resources one event names. */
export const MAX_EVENT_RELATED = 20;
/** Days an event is kept unless `OUTPOST_EVENT_RETENTION_DAYS` says otherwise. */
export const DEFAULT_EVENT_RETENTION_DAYS = 30;

/** What an event is about, or one thing it relates to: `{ kind: 'flow-run', id, name }`. */
export const EventResource = z.strictObject({
  kind: z.string().min(1).max(64),
  id: z.string().min(1).max(200),
  name: z.string().max(300).nullable().optional(),
});
export type EventResource = z.infer<typeof EventResource>;

export const EVENT_SOURCES = ['system', 'api', 'run', 'webhook', 'sensor'] as const;
export const EventSource = z.enum(EVENT_SOURCES);
export type EventSource = z.infer<typeof EventSource>;

/**
 * The system events and the resource each is about. Flow-run events carry in `payload`: `state`
 * ({type, name, message}), `attempt`, `runName`, `flow`, `deployment` ("flow/name" or null),
 * `deploymentId`, `workPool`, `tags`, `partitionKey`, `parentFlowRunId`.
 */
export const SYSTEM_EVENT_KINDS = {
  'flow-run.<state>':
    'a flow run entered a state type (scheduled, pending, running, completed, failed, crashed, cancelling, cancelled, paused)',
  'task-run.failed': 'a task run failed (payload: taskRunId, taskKey, flowRunId, message)',
  'task-run.crashed': 'a task run crashed',
  'asset.materialized': 'an asset (partition) was written (payload: partitionKey, codeVersion, dataVersion, metadata, flowRunId)',
  'asset.check.passed': 'an asset check passed',
  'asset.check.failed': 'an asset check failed (payload: check, severity, blocking, metadata)',
  'asset.freshness.violated':
    'an asset became older than its freshness policy allows (payload: assetKey, maxLagMinutes, cron, deadline, lastMaterializedAt, overdueMinutes)',
  'asset.freshness.restored':
    'an asset that violated its freshness policy was materialised again in time (payload as for violated)',
  'deployment.created': 'a deployment was created',
  'deployment.updated': 'a deployment was changed (redeployed or edited)',
  'deployment.paused': 'a deployment was paused',
  'deployment.resumed': 'a deployment was resumed',
  'deployment.deleted': 'a deployment was deleted',
  'worker.online': 'a worker sent its first heartbeat, or one after being offline',
  'worker.stopped': 'a worker stopped gracefully',
  'worker.offline': 'a worker missed heartbeats for longer than the offline bound',
  'work-pool.not-ready': 'a pool has no online worker',
  'work-pool.ready': 'a pool has an online worker again',
  'audit.<action>':
    'an audited action that succeeded, its action in kebab case, e.g. audit.api-keys-create (payload: actorKind, actorId, method, path, status, targetIds, resultIds)',
} as const;

/**
 * The ledger kind of an audited action: `audit.` and the action in kebab case, as every other kind
 * is written (`apiKeysCreate` → `audit.api-keys-create`, `automation.run-deployment` stays as it is).
 * Migration 0060 writes the same in SQL; events written before it carry the action lower-cased
 * whole (`audit.apikeyscreate`), which `legacyAuditKind` gives.
 */
export function auditEventKind(action: string): string {
  return `audit.${action
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .toLowerCase()
    .replace(/[^a-z0-9_.-]+/g, '-')}`;
}

/** The kind an audited action had in the ledger before migration 0060: the action lower-cased whole. */
export function legacyAuditKind(action: string): string {
  return `audit.${action.toLowerCase().replace(/[^a-z0-9_.-]+/g, '-')}`;
}

/**
 * Internal bookkeeping: the audit events of the worker protocol's own calls, made by worker keys.
 * What they change is recorded where it happens — a run's `flow-run.*` events, its logs, a sensor's
 * ticks — so the list and the live stream leave them out unless asked with `internal=true`, or
 * unless `kind` names one exactly. Automations, triggers and waits still see them.
 * The hot paths (sensor polls and tick reports, batched run states and logs) are no longer audited
 * at all (UNAUDITED_ROUTES in the API), so only entries written before that carry their kinds;
 * they stay internal so that such history does not flood the list either.
 */
export const INTERNAL_EVENT_KINDS = {
  'audit.pool-runs-adopt': 'a restarted worker adopted the runs it held',
  'audit.sensorticksclaim': "a worker's sensor poll claimed the pool's due ticks (no longer audited; earlier entries)",
  'audit.sensortickscomplete': "a worker reported a sensor tick's outcome (no longer audited; earlier entries)",
  'audit.poolrunsadopt': 'a restarted worker adopted the runs it held (the kind before migration 0060; earlier entries)',
  'audit.poolrunssetstates': "a worker reported many runs' states at once (no longer audited; earlier entries)",
  'audit.poolrunslogswrite': "a worker delivered many runs' log lines at once (no longer audited; earlier entries)",
} as const;
export type InternalEventKind = keyof typeof INTERNAL_EVENT_KINDS;

export const OutpostEvent = z.object({
  id: Id,
  /** Ledger order, as a decimal string (int8). */
  seq: z.string(),
  occurredAt: Timestamp,
  receivedAt: Timestamp,
  kind: EventKind,
  resource: EventResource,
  related: z.array(EventResource),
  payload: JsonObject,
  source: EventSource,
});
export type OutpostEvent = z.infer<typeof OutpostEvent>;

function payloadBytes(payload: unknown): number {
  return utf8Length(JSON.stringify(payload ?? {}));
}

/** A custom event. `id` makes a repeated emit idempotent; `resource` defaults to the caller (run, key, webhook). */
export const EventEmitRequest = z.strictObject({
  id: Id.optional(),
  kind: EventKind.refine((k) => !/^(flow-run|task-run|asset|deployment|worker|work-pool|audit)\./.test(k), {
    message: 'this prefix is reserved for system events',
  }),
  occurredAt: Timestamp.optional(),
  resource: EventResource.optional(),
  related: z.array(EventResource).max(MAX_EVENT_RELATED).optional(),
  payload: JsonObject.optional().refine((p) => payloadBytes(p) <= MAX_EVENT_PAYLOAD_BYTES, {
    message: `the payload is larger than the limit of ${MAX_EVENT_PAYLOAD_BYTES} bytes as JSON`,
  }),
});
export type EventEmitRequest = z.infer<typeof EventEmitRequest>;

/** `POST /events` accepts one event or a batch. */
export const EventEmitBatch = z.strictObject({ events: z.array(EventEmitRequest).min(1).max(500) });
export type EventEmitBatch = z.infer<typeof EventEmitBatch>;

export const EventEmitResponse = z.object({ ids: z.array(Id) });
export type EventEmitResponse = z.infer<typeof EventEmitResponse>;

/**
 * `GET /events`: newest first by default. `kind` takes comma-separated kinds, each exact or a
 * prefix ending in `*` (`flow-run.*`). `resourceId` matches the event's resource or any related one.
 */
export const EventListQuery = z.strictObject({
  kind: z.string().max(1000).optional(),
  resourceId: z.string().max(200).optional(),
  resourceKind: z.string().max(64).optional(),
  source: EventSource.optional(),
  since: Timestamp.optional(),
  until: Timestamp.optional(),
  /** `true` also lists internal bookkeeping (INTERNAL_EVENT_KINDS), left out by default. */
  internal: z.enum(['true', 'false']).optional(),
  /** `asc` reads in ledger order from `afterSeq` (what `events tail` and live views use). */
  order: z.enum(['asc', 'desc']).default('desc'),
  afterSeq: z
    .string()
    .regex(/^\d{1,19}$/)
    .optional(),
  limit: PageLimit,
  cursor: z.string().max(500).optional(),
});
export type EventListQuery = z.infer<typeof EventListQuery>;

/** A page of `GET /events`; `nextCursor` continues in the same order. */
export const EventListResponse = z.strictObject({ items: z.array(OutpostEvent), nextCursor: z.string().nullable() });
export type EventListResponse = z.infer<typeof EventListResponse>;

/**
 * `GET /events/stream`: the workspace's events as Server-Sent Events, as they are committed. With
 * `afterSeq` (or a browser's `Last-Event-ID`) the stream first replays the stored events after it.
 */
export const EventStreamQuery = z.strictObject({
  kind: z.string().max(1000).optional(),
  resourceId: z.string().max(200).optional(),
  /** `true` also streams internal bookkeeping (INTERNAL_EVENT_KINDS), left out by default. */
  internal: z.enum(['true', 'false']).optional(),
  afterSeq: z
    .string()
    .regex(/^\d{1,19}$/)
    .optional(),
});
export type EventStreamQuery = z.infer<typeof EventStreamQuery>;
