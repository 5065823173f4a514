import { type AuditEntry, type AuditExportQuery, routes } from '@outpost/sdk/contracts';
import { z } from 'zod';
import { decodeCursor, pageOf } from '../http/pagination.js';
import type { Handlers } from '../http/route-types.js';
import { type AuditFilters, listAuditEntries, readAuditEntriesAfter, readChainHeads } from './db/audit.js';
import { getWorkspace } from './db/workspaces.js';

const AuditCursor = z.tuple([z.string().regex(/^[1-9][0-9]{0,18}$/)]);
const EXPORT_PAGE = 1000;

export function filters(query: Omit<z.output<typeof AuditExportQuery>, 'afterSeq'>): AuditFilters {
  return {
    actorId: query.actorId,
    action: query.action,
    objectId: query.objectId,
    outcome: query.outcome,
    since: query.since ? new Date(query.since) : undefined,
    until: query.until ? new Date(query.until) : undefined,
  };
}

export const auditHandlers = {
  auditLogList: async ({ query, principal, deps }) => {
    const before = decodeCursor(query.cursor, AuditCursor);
    const rows = await listAuditEntries(deps.sql, principal.workspaceId, filters(query), before?.[0] ?? null, query.limit + 1);
    const { page: items, nextCursor } = pageOf(rows, query.limit, (last) => [last.id]);
    return { items, nextCursor };
  },
  auditLogHead: async ({ principal, deps }) => {
    const [head] = await readChainHeads(deps.sql, [principal.workspaceId]);
    if (!head) throw new Error('a workspace has no chain head');
    return head;
  },
} satisfies Pick<Handlers, 'auditLogList' | 'auditLogHead'>;

/**
 * `GET /audit-log/export`: every matching entry of the caller's workspace in chain order, one JSON
 * object a line, read in keyset pages so memory stays flat however long the log is. A failure
 * part-way aborts the response rather than ending it cleanly, so a cut-off export never passes for a whole one.
 */
export const auditExportHandlers = {
  auditLogExport: async ({ query, principal, deps, logger, signal }) => {
    const workspace = await getWorkspace(deps.sql, principal.workspaceId);
    const selected = filters(query);
    const encoder = new TextEncoder();
    // The first page is read before the answer starts, so a filter the database refuses is a 4xx
    // problem like anywhere else, not a stream cut off after a 200.
    let after: string | null = query.afterSeq ?? null;
    let first: AuditEntry[] | null = await readAuditEntriesAfter(deps.sql, principal.workspaceId, selected, after, EXPORT_PAGE);
    // Set once the reader went away: a page read meanwhile is dropped, not written to a closed stream.
    let cancelled = false;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const page = first ?? (await readAuditEntriesAfter(deps.sql, principal.workspaceId, selected, after, EXPORT_PAGE));
          first = null;
          if (cancelled) return;
          if (page.length === 0 || signal.aborted) {
            controller.close();
            return;
          }
          after = page.at(-1)?.chain.seq ?? after;
          if (deps.validateResponses) for (const entry of page) routes.auditLogExport.response.parse(entry);
          controller.enqueue(encoder.encode(page.map((entry) => `${JSON.stringify(entry)}\n`).join('')));
        } catch (error) {
          if (cancelled) return;
          logger.error({ err: error }, 'audit export failed part-way');
          controller.error(error);
        }
      },
      cancel() {
        cancelled = true;
      },
    });
    return auditLogDownload(body, workspace?.slug ?? 'workspace');
  },
} satisfies Pick<Handlers, 'auditLogExport'>;

/** An audit log export as a download, named after whose log it is (`of`) and today's date. */
export function auditLogDownload(body: ReadableStream<Uint8Array>, of: string): Response {
  const day = new Date().toISOString().slice(0, 10);
  return new Response(body, {
    status: 200,
    headers: {
      'content-type': 'application/x-ndjson; charset=utf-8',
      'content-disposition': `attachment; filename="audit-log-${of}-${day}.ndjson"`,
    },
  });
}
