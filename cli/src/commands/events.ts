import { type EventEmitRequest, MAX_PAGE_SIZE, type OutpostEvent } from '@outpost/sdk/contracts';
import type { Command, CommandContext } from '../command.js';
import { booleanOption, stringOption } from '../command.js';
import { EXIT, UsageError } from '../errors.js';
import { readEventStream } from '../event-stream.js';
import { json, printList, shortTime } from '../output.js';
import { parseLimit } from '../resolve.js';

const KIND = {
  type: 'string',
  placeholder: '<kinds>',
  description: 'only these kinds, comma-separated; "flow-run.*" is a prefix',
} as const;

const RESOURCE = {
  type: 'string',
  placeholder: '<id>',
  description: 'only events about this resource or related to it',
} as const;

const INTERNAL = {
  type: 'boolean',
  description: 'also internal bookkeeping (e.g. audit.pool-runs-adopt), hidden by default',
} as const;

const INTERNAL_NOTE =
  'Internal bookkeeping (the audit events of the worker protocol, e.g. audit.pool-runs-adopt) is left out unless --internal is given or --kind names it exactly.';

/** What an event is about: `kind:name`, or `kind:id` for a resource without a name. */
function resourceLabel(e: OutpostEvent): string {
  return `${e.resource.kind}:${e.resource.name ?? e.resource.id}`;
}

/** One line an event: time, kind, what it is about, and its payload in short. */
export function eventLine(e: OutpostEvent): string {
  const payload = JSON.stringify(e.payload);
  return `${shortTime(e.occurredAt)}  ${e.kind.padEnd(24)} ${resourceLabel(e)}  ${payload.length > 160 ? `${payload.slice(0, 157)}...` : payload}`;
}

export const eventsLs: Command = {
  name: 'events ls',
  summary: "Show the workspace's events, newest first",
  options: {
    kind: KIND,
    resource: RESOURCE,
    since: { type: 'string', placeholder: '<iso-time>', description: 'only events at or after this time' },
    limit: { type: 'string', placeholder: '<n>', description: `at most n events (1–${MAX_PAGE_SIZE}, default 50)` },
    internal: INTERNAL,
  },
  notes: [INTERNAL_NOTE],
  async run(ctx) {
    const kind = stringOption(ctx.values, 'kind');
    const internal = booleanOption(ctx.values, 'internal');
    const resourceId = stringOption(ctx.values, 'resource');
    const since = stringOption(ctx.values, 'since');
    const limit = parseLimit(stringOption(ctx.values, 'limit'), 50, MAX_PAGE_SIZE);
    const page = await ctx.api().call(
      'eventsList',
      {
        query: {
          limit,
          order: 'desc',
          ...(kind ? { kind } : {}),
          ...(resourceId ? { resourceId } : {}),
          ...(since ? { since } : {}),
          ...(internal ? { internal: 'true' as const } : {}),
        },
      },
      'cannot list events',
    );
    return printList(ctx, page.items, ['TIME (UTC)', 'KIND', 'RESOURCE', 'SOURCE', 'ID'], (e) => [
      shortTime(e.occurredAt),
      e.kind,
      resourceLabel(e),
      e.source,
      e.id,
    ]);
  },
};

export const eventsTail: Command = {
  name: 'events tail',
  summary: "Follow the workspace's events live, one line each (NDJSON with --json), until Ctrl-C",
  options: {
    kind: KIND,
    resource: RESOURCE,
    internal: INTERNAL,
  },
  notes: ['If the connection drops, tail reconnects and resumes after the last event it printed.', INTERNAL_NOTE],
  async run(ctx: CommandContext) {
    const kind = stringOption(ctx.values, 'kind');
    const resourceId = stringOption(ctx.values, 'resource');
    const internal = booleanOption(ctx.values, 'internal');
    const api = ctx.api();
    const stop = new AbortController();
    void ctx.interrupts().then(() => stop.abort());
    // Written by the stream's callback; TypeScript cannot see that, hence the explicit type on reads.
    let lastSeq = null as string | null;
    while (!stop.signal.aborted) {
      const query = new URLSearchParams();
      if (kind) query.set('kind', kind);
      if (resourceId) query.set('resourceId', resourceId);
      if (internal) query.set('internal', 'true');
      if (lastSeq) query.set('afterSeq', lastSeq);
      try {
        const res = await api.openStream(`/events/stream?${query}`, 'cannot follow events', stop.signal);
        await readEventStream(res, {
          comment: () => {},
          data: (data) => {
            const event = JSON.parse(data) as OutpostEvent;
            lastSeq = event.seq;
            ctx.out(ctx.json ? JSON.stringify(event) : eventLine(event));
          },
        });
      } catch (error) {
        if (stop.signal.aborted) break;
        // The first connection must work; later drops (a server restart) are retried.
        if (lastSeq === null) throw error;
      }
      if (!stop.signal.aborted) await new Promise((r) => setTimeout(r, 1000));
    }
    return EXIT.ok;
  },
};

export const eventsEmit: Command = {
  name: 'events emit',
  summary: 'Record a custom event, e.g. `outpost events emit model.metrics --payload \'{"auc":0.91}\'`',
  args: '<kind>',
  options: {
    payload: { type: 'string', placeholder: '<json>', description: 'the payload, a JSON object (at most 16 KiB)' },
    'resource-id': {
      type: 'string',
      placeholder: '<id>',
      description: 'what the event is about (kind "custom"); the API key by default',
    },
  },
  async run(ctx) {
    const kind = ctx.positionals[0] as string;
    const text = stringOption(ctx.values, 'payload');
    let payload: EventEmitRequest['payload'] = {};
    if (text !== undefined) {
      try {
        payload = JSON.parse(text) as EventEmitRequest['payload'];
      } catch (error) {
        throw new UsageError(`--payload is not JSON: ${(error as Error).message}`);
      }
      if (payload === null || typeof payload !== 'object' || Array.isArray(payload))
        throw new UsageError('--payload must be a JSON object');
    }
    const resourceId = stringOption(ctx.values, 'resource-id');
    const answer = await ctx
      .api()
      .call(
        'eventsEmit',
        { body: { events: [{ kind, payload, ...(resourceId ? { resource: { kind: 'custom', id: resourceId } } : {}) }] } },
        `cannot record the event ${kind}`,
      );
    ctx.out(ctx.json ? json({ id: answer.ids[0] }) : `recorded ${kind} ${answer.ids[0]}`);
    return EXIT.ok;
  },
};
