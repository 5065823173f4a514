import { type AuditLogQuery, type AuditLogResponse, MAX_AUDIT_PAGE_SIZE } from '@outpost/sdk/contracts';
import type { Command, CommandContext } from '../command.js';
import { booleanOption, stringOption } from '../command.js';
import { EXIT } from '../errors.js';
import { json, shortTime, table } from '../output.js';
import { parseLimit } from '../resolve.js';

const FILTERS = {
  action: { type: 'string', placeholder: '<action>', description: 'only this action, e.g. apiKeysCreate' },
  actor: { type: 'string', placeholder: '<id>', description: 'only calls by this API key or user id' },
  object: { type: 'string', placeholder: '<id>', description: 'only calls naming or producing this id' },
  since: { type: 'string', placeholder: '<iso-time>', description: 'only calls at or after this time' },
  until: { type: 'string', placeholder: '<iso-time>', description: 'only calls before this time' },
  failures: { type: 'boolean', description: 'only refused calls (status 400 and above)' },
} as const;

function filters(ctx: CommandContext): Omit<AuditLogQuery, 'limit' | 'cursor'> {
  const pick = (name: string) => stringOption(ctx.values, name);
  const actorId = pick('actor');
  const action = pick('action');
  const objectId = pick('object');
  const since = pick('since');
  const until = pick('until');
  return {
    ...(actorId ? { actorId } : {}),
    ...(action ? { action } : {}),
    ...(objectId ? { objectId } : {}),
    ...(since ? { since } : {}),
    ...(until ? { until } : {}),
    ...(booleanOption(ctx.values, 'failures') ? { outcome: 'failure' as const } : {}),
  };
}

export const auditLs: Command = {
  name: 'audit ls',
  summary: 'Show audited calls, newest first (owners and admins)',
  options: {
    ...FILTERS,
    limit: { type: 'string', placeholder: '<n>', description: `at most n entries (1–${MAX_AUDIT_PAGE_SIZE}, default 50)` },
  },
  async run(ctx) {
    const limit = parseLimit(stringOption(ctx.values, 'limit'), 50, MAX_AUDIT_PAGE_SIZE);
    const page = await ctx.api().call('auditLogList', { query: { limit, ...filters(ctx) } }, 'cannot read the audit log');
    if (ctx.json) {
      ctx.out(json(page.items));
      return EXIT.ok;
    }
    const rows = page.items.map((e) => [
      shortTime(e.occurredAt),
      `${e.actor.kind}:${e.actor.label ?? e.actor.id ?? '-'}`,
      e.action,
      String(e.status),
      Object.values(e.resultIds)[0] ?? Object.values(e.targetIds)[0] ?? '-',
      e.clientAddress ?? '-',
    ]);
    for (const line of table(['TIME (UTC)', 'ACTOR', 'ACTION', 'STATUS', 'OBJECT', 'FROM'], rows)) ctx.out(line);
    return EXIT.ok;
  },
};

export const auditExport: Command = {
  name: 'audit export',
  summary: 'Print every matching audit entry as NDJSON (one JSON object a line), newest first',
  options: FILTERS,
  notes: ['For oldest-first NDJSON in one response, GET /api/v1/audit-log/export with the same filters.'],
  async run(ctx) {
    const api = ctx.api();
    const selected = filters(ctx);
    let cursor: string | null = null;
    do {
      const page: AuditLogResponse = await api.call(
        'auditLogList',
        { query: { limit: MAX_AUDIT_PAGE_SIZE, ...selected, ...(cursor ? { cursor } : {}) } },
        'cannot read the audit log',
      );
      for (const entry of page.items) ctx.out(JSON.stringify(entry));
      cursor = page.nextCursor;
    } while (cursor);
    return EXIT.ok;
  },
};
