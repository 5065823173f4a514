import { type EventResource, MAX_EVENT_RELATED } from '@outpost/sdk/contracts';
import { z } from 'zod';
import type { Principal } from '../auth/principal.js';
import { notFound } from '../domain-error.js';
import { ApiError } from '../errors.js';
import { decodeCursor, pageOf } from '../http/pagination.js';
import { mayReadAuditLog } from '../http/permissions.js';
import type { Handlers } from '../http/route-types.js';
import { storeTenantEvents } from '../quotas/events-per-day.js';
import { type EventFilters, listEvents, parseKinds, runAsResource } from './db/event-list.js';
import { type NewEvent, toEvent } from './db/events.js';
import type { EventHub } from './event-hub.js';

const SeqCursor = z.tuple([z.string().regex(/^\d{1,19}$/)]);

/** Who emits an event through the API when it names no resource: the key, or the person. */
function callerResource(principal: Exclude<Principal, { kind: 'run_token' }>): { resource: EventResource; sourceId: string } {
  if (principal.kind === 'api_key') return { resource: { kind: 'api-key', id: principal.keyId }, sourceId: principal.keyId };
  if (principal.userId) return { resource: { kind: 'user', id: principal.userId }, sourceId: principal.userId };
  if (principal.apiKeyId) return { resource: { kind: 'api-key', id: principal.apiKeyId }, sourceId: principal.apiKeyId };
  return { resource: { kind: 'session', id: principal.sessionId }, sourceId: principal.sessionId };
}

/** `GET /events`, `GET /events/stream` and `POST /events`. */
export function ledgerHandlers(hub: EventHub) {
  return {
    eventsList: async ({ query, principal, deps }) => {
      const filters: EventFilters = {
        kinds: parseKinds(query.kind),
        resourceId: query.resourceId,
        resourceKind: query.resourceKind,
        source: query.source,
        since: query.since ? new Date(query.since) : undefined,
        until: query.until ? new Date(query.until) : undefined,
        withoutAudit: !mayReadAuditLog(principal),
        withInternal: query.internal === 'true',
      };
      const cursor = decodeCursor(query.cursor, SeqCursor)?.[0] ?? null;
      const rows = await listEvents(deps.sql, principal.workspaceId, filters, {
        order: query.order,
        before: cursor,
        after: cursor ?? query.afterSeq ?? null,
        limit: query.limit + 1,
      });
      const { page, nextCursor } = pageOf(rows, query.limit, (last) => [String(last.seq)]);
      return { items: page.map(toEvent), nextCursor };
    },

    eventsStream: async ({ query, principal, deps, signal, header }) => {
      if (deps.shutdown.aborted) {
        throw new ApiError('unavailable', 'the server is shutting down', { headers: { 'retry-after': '5' } });
      }
      const lastEventId = header('last-event-id');
      const afterSeq = query.afterSeq ?? (lastEventId && /^\d{1,19}$/.test(lastEventId) ? lastEventId : null);
      const filters: EventFilters = {
        kinds: parseKinds(query.kind),
        resourceId: query.resourceId,
        withoutAudit: !mayReadAuditLog(principal),
        withInternal: query.internal === 'true',
      };
      return hub.open(principal.workspaceId, filters, afterSeq, signal);
    },

    eventsEmit: async ({ body, principal, deps, status }) => {
      let base: { resource: EventResource; related: EventResource[]; source: NewEvent['source']; sourceId: string };
      if (principal.kind === 'run_token') {
        // A flow's events are about its run unless it says otherwise, and always relate to its flow and deployment.
        const run = await runAsResource(deps.sql, principal.workspaceId, principal.runId);
        if (!run) throw notFound('flow run');
        base = { resource: run.resource, related: run.related, source: 'run', sourceId: principal.runId };
      } else {
        const caller = callerResource(principal);
        base = { resource: caller.resource, related: [], source: 'api', sourceId: caller.sourceId };
      }
      const ids = await storeTenantEvents(
        deps.sql,
        principal.workspaceId,
        body.events.map((e) => ({
          workspaceId: principal.workspaceId,
          id: e.id,
          kind: e.kind,
          occurredAt: e.occurredAt ? new Date(e.occurredAt) : undefined,
          resource: e.resource ?? base.resource,
          related: [...(e.related ?? []), ...(e.resource && base.source === 'run' ? [base.resource] : []), ...base.related].slice(
            0,
            MAX_EVENT_RELATED,
          ),
          payload: e.payload,
          source: base.source,
          sourceId: base.sourceId,
        })),
      );
      status(202);
      return { ids };
    },
  } satisfies Pick<Handlers, 'eventsList' | 'eventsStream' | 'eventsEmit'>;
}
