import type { LogLineInput } from '@outpost/sdk/contracts';
import { z } from 'zod';
import { claimedAgain, ownFence } from '../auth/access.js';
import { encodeCursor } from '../db/values.js';
import { ApiError, notFound } from '../errors.js';
import { decodeCursor } from '../http/pagination.js';
import type { Handlers } from '../http/route-types.js';
import { getRunAttempt, getRunAttemptHeld } from './db/flow-runs.js';
import { searchLogs } from './db/log-search.js';
import { insertLogs, type LogLineRow, readLogs } from './db/logs.js';

const LogCursor = z.tuple([z.number().int().min(0).max(2_147_483_647), z.number().int().min(0).max(2_147_483_647)]);

/** Postgres text cannot hold NUL; a process may print one, and its line is kept with a replacement character. */
function storable(message: string): string {
  return message.includes('\u0000') ? message.replaceAll('\u0000', '\uFFFD') : message;
}

/** Validated lines as rows to store: timestamps normalised, NUL replaced. */
export function toLogRows(logs: readonly z.output<typeof LogLineInput>[]): LogLineRow[] {
  return logs.map((line) => ({
    seq: line.seq,
    timestamp: new Date(line.timestamp).toISOString(),
    level: line.level,
    message: storable(line.message),
    taskRunId: line.taskRunId ?? null,
    stream: line.stream,
  }));
}

export const logHandlers = {
  logsWrite: async ({ params, body, principal, deps }) => {
    const fence = ownFence(principal, params.id);
    const run = await getRunAttemptHeld(deps.sql, principal.workspaceId, params.id, fence);
    if (run === null) throw notFound('flow run');
    if (fence && run.claimedByOther) throw claimedAgain(fence.attempt);
    const current = run.attempt;
    // Lines of earlier attempts may arrive late (spooled while the API was unreachable); later ones cannot exist yet.
    if (body.attempt > current) throw new ApiError('stale_attempt', `the flow run is at attempt ${current}`);
    // A worker's key delivers lines an earlier worker process spooled, and cannot say which claim of
    // the attempt wrote them: a run handed back unstarted keeps its attempt for its next claimer. While
    // a worker holds the attempt only its run token writes to it; the rest wait until the attempt
    // ends, when what the holder stored comes first and a late line can no longer take its place.
    if (principal.kind === 'api_key' && body.attempt === current && run.held) {
      throw new ApiError(
        'conflict',
        `attempt ${current} of this run is held by a worker; lines spooled by an earlier process are taken once it ends — retry then`,
      );
    }
    const lines = toLogRows(body.logs);
    const { accepted } = await insertLogs(deps.sql, {
      workspaceId: principal.workspaceId,
      runId: params.id,
      attempt: body.attempt,
      lines,
    });
    deps.metrics.logLinesIngested(accepted);
    return { accepted, duplicates: lines.length - accepted };
  },

  logsRead: async ({ params, query, principal, deps }) => {
    const cursor = decodeCursor(query.cursor, LogCursor);
    if ((await getRunAttempt(deps.sql, principal.workspaceId, params.id)) === null) throw notFound('flow run');
    const after = cursor ? { attempt: cursor[0], seq: cursor[1] } : null;
    const unchanged = query.cursor ?? encodeCursor([0, 0]);
    if (query.q !== undefined) {
      const page = await searchLogs(deps.sql, {
        workspaceId: principal.workspaceId,
        runId: params.id,
        after,
        text: query.q,
        minLevel: query.level ?? null,
        limit: query.limit,
      });
      const nextCursor = page.next ? encodeCursor([page.next.attempt, page.next.seq]) : unchanged;
      return { items: page.items, nextCursor, more: page.more };
    }
    const items = await readLogs(deps.sql, {
      workspaceId: principal.workspaceId,
      runId: params.id,
      after,
      minLevel: query.level ?? null,
      limit: query.limit,
    });
    const last = items.at(-1);
    return { items, nextCursor: last ? encodeCursor([last.attempt, last.seq]) : unchanged };
  },
} satisfies Pick<Handlers, 'logsWrite' | 'logsRead'>;
