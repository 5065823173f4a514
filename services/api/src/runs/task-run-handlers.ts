import { z } from 'zod';
import { encodeCursor } from '../db/values.js';
import { ApiError, notFound } from '../errors.js';
import { decodeCursor } from '../http/pagination.js';
import type { Handlers } from '../http/route-types.js';
import { createdInRun } from './created-in-run.js';
import { getRunAttemptSince } from './db/flow-runs.js';
import { applyTaskRunEvents } from './db/task-run-batches.js';
import { insertTaskRun, listTaskRuns, setTaskRunState, summarizeTaskRuns } from './db/task-runs.js';

const TaskRunCursor = z.tuple([z.iso.datetime({ offset: true }), z.uuid()]);

/**
 * Task runs are written by the run's current attempt only: the attempt is the run's fencing token.
 * Returns the lower bound of its task runs' `created_at` (getRunAttemptSince).
 */
async function assertCurrentAttempt(
  sql: Parameters<typeof getRunAttemptSince>[0],
  workspaceId: string,
  runId: string,
  attempt: number,
): Promise<Date> {
  const run = await findRun(sql, workspaceId, runId);
  if (attempt !== run.attempt) throw new ApiError('stale_attempt', `the flow run is at attempt ${run.attempt}`);
  return run.since;
}

async function findRun(sql: Parameters<typeof getRunAttemptSince>[0], workspaceId: string, runId: string) {
  const run = await getRunAttemptSince(sql, workspaceId, runId);
  if (run === null) throw notFound('flow run');
  return run;
}

export const taskRunHandlers = {
  taskRunsCreate: async ({ params, body, principal, deps, status }) => {
    const since = await assertCurrentAttempt(deps.sql, principal.workspaceId, params.id, body.flowRunAttempt);
    const stored = await insertTaskRun(deps.sql, {
      id: body.id,
      workspaceId: principal.workspaceId,
      flowRunId: params.id,
      since,
      flowRunAttempt: body.flowRunAttempt,
      name: body.name,
      taskKey: body.taskKey,
      dynamicKey: body.dynamicKey,
      cacheKey: body.cacheKey ?? null,
      state: body.state,
    });
    const row = createdInRun(stored, { workspaceId: principal.workspaceId, flowRunId: params.id }, 'task run', status);
    return { taskRun: row.taskRun };
  },

  taskRunsList: async ({ params, query, principal, deps }) => {
    const after = decodeCursor(query.cursor, TaskRunCursor);
    const run = await findRun(deps.sql, principal.workspaceId, params.id);
    const items = await listTaskRuns(
      deps.sql,
      principal.workspaceId,
      { id: params.id, since: run.since },
      {
        limit: query.limit,
        ...(after ? { after: { createdAt: new Date(after[0]), id: after[1] } } : {}),
        ...(query.state ? { states: query.state } : {}),
        ...(query.name ? { name: query.name } : {}),
      },
    );
    const last = items.at(-1);
    return { items, nextCursor: last && items.length === query.limit ? encodeCursor([last.createdAt, last.id]) : null };
  },

  taskRunsSummary: async ({ params, principal, deps }) => {
    const run = await findRun(deps.sql, principal.workspaceId, params.id);
    return summarizeTaskRuns(deps.sql, principal.workspaceId, { id: params.id, since: run.since });
  },

  taskRunsBatch: async ({ params, body, principal, deps }) => {
    const since = await assertCurrentAttempt(deps.sql, principal.workspaceId, params.id, body.flowRunAttempt);
    return applyTaskRunEvents(deps.sql, {
      workspaceId: principal.workspaceId,
      flowRunId: params.id,
      since,
      attempt: body.flowRunAttempt,
      events: body.events,
    });
  },

  taskRunsSetState: async ({ params, body, principal, deps }) => {
    const since = await assertCurrentAttempt(deps.sql, principal.workspaceId, params.runId, body.flowRunAttempt);
    const taskRun = await setTaskRunState(deps.sql, {
      workspaceId: principal.workspaceId,
      flowRunId: params.runId,
      since,
      id: params.id,
      state: body.state,
      runCount: body.runCount ?? null,
    });
    if (!taskRun) throw notFound('task run');
    return { taskRun };
  },
} satisfies Pick<Handlers, 'taskRunsCreate' | 'taskRunsList' | 'taskRunsSetState' | 'taskRunsSummary' | 'taskRunsBatch'>;
