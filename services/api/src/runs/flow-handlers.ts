import { z } from 'zod';
import { notFound } from '../errors.js';
import { decodeCursor, pageOf } from '../http/pagination.js';
import type { Handlers } from '../http/route-types.js';
import { getFlow, listFlows } from './db/flows.js';

const FlowCursor = z.tuple([z.string().max(100)]);

export const flowHandlers = {
  flowsList: async ({ query, principal, deps }) => {
    const after = decodeCursor(query.cursor, FlowCursor);
    const rows = await listFlows(deps.sql, principal.workspaceId, after?.[0] ?? null, query.limit + 1);
    const { page: items, nextCursor } = pageOf(rows, query.limit, (last) => [last.name]);
    return { items, nextCursor };
  },

  flowsGet: async ({ params, principal, deps }) => {
    const flow = await getFlow(deps.sql, principal.workspaceId, params.id);
    if (!flow) throw notFound('flow');
    return flow;
  },
} satisfies Pick<Handlers, 'flowsList' | 'flowsGet'>;
