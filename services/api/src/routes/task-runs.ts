import { z } from 'zod';
import { getRunAttempt } from '../db/flow-runs.js';
import { applyTaskRunEvents } from '../db/task-run-batches.js';
import { insertTaskRun, listTaskRuns, setTaskRunState, summarizeTaskRuns } from '../db/task-runs.js';
import { encodeCursor } from '../db/values.js';
import { ApiError, notFound } from '../errors.js';
import { decodeCursor } from './pagination.js';
import type { Handlers } from './types.js';

const TaskRunCursor = z.tuple([z.iso.datetime({ offset: true }), z.uuid()]);

/** Task runs are written by the run's current attempt only: the attempt is the run's fencing token. */
async function assertCurrentAttempt(
  sql: Parameters<typeof getRunAttempt>[0],
  workspaceId: string,
  runId: string,
  attempt: number,
) {
  const current = await getRunAttempt(sql, workspaceId, runId);
  if (current === null) throw notFound('flow run');
  if (attempt !== current) throw new ApiError('stale_attempt', `the flow run is at attempt ${current}`);
}

export const taskRunHandlers = {
  taskRunsCreate: async ({ params, body, principal, deps, status }) => {
    await assertCurrentAttempt(deps.sql, principal.workspaceId, params.id, body.flowRunAttempt);
    const result = await insertTaskRun(deps.sql, {
      id: body.id,
      workspaceId: principal.workspaceId,
      flowRunId: params.id,
      flowRunAttempt: body.flowRunAttempt,
      name: body.name,
      taskKey: body.taskKey,
      dynamicKey: body.dynamicKey,
      cacheKey: body.cacheKey ?? null,
      state: body.state,
    });
    // The same id under another run (or workspace) is refused alike, so it reveals nothing about the other.
    if (!result || result.row.workspaceId !== principal.workspaceId || result.row.flowRunId !== params.id) {
      throw new ApiError('conflict', 'this task run id is already in use');
    }
    if (!result.created) status(200);
    return { taskRun: result.row.taskRun };
  },

  taskRunsList: async ({ params, query, principal, deps }) => {
    const after = decodeCursor(query.cursor, TaskRunCursor);
    if ((await getRunAttempt(deps.sql, principal.workspaceId, params.id)) === null) throw notFound('flow run');
    const items = await listTaskRuns(deps.sql, principal.workspaceId, params.id, {
      limit: query.limit,
      ...(after ? { after: { createdAt: new Date(after[0]), id: after[1] } } : {}),
      ...(query.state ? { states: query.state } : {}),
      ...(query.name ? { name: query.name } : {}),
    });
    const last = items.at(-1);
    return { items, nextCursor: last && items.length === query.limit ? encodeCursor([last.createdAt, last.id]) : null };
  },

  taskRunsSummary: async ({ params, principal, deps }) => {
    if ((await getRunAttempt(deps.sql, principal.workspaceId, params.id)) === null) throw notFound('flow run');
    return summarizeTaskRuns(deps.sql, principal.workspaceId, params.id);
  },

  taskRunsBatch: async ({ params, body, principal, deps }) => {
    await assertCurrentAttempt(deps.sql, principal.workspaceId, params.id, body.flowRunAttempt);
    return applyTaskRunEvents(deps.sql, {
      workspaceId: principal.workspaceId,
      flowRunId: params.id,
      attempt: body.flowRunAttempt,
      events: body.events,
    });
  },

  taskRunsSetState: async ({ params, body, principal, deps }) => {
    await assertCurrentAttempt(deps.sql, principal.workspaceId, params.runId, body.flowRunAttempt);
    const taskRun = await setTaskRunState(deps.sql, {
      workspaceId: principal.workspaceId,
      flowRunId: params.runId,
      id: params.id,
      state: body.state,
      runCount: body.runCount ?? null,
    });
    if (!taskRun) throw notFound('task run');
    return { taskRun };
  },
} satisfies Pick<Handlers, 'taskRunsCreate' | 'taskRunsList' | 'taskRunsSetState' | 'taskRunsSummary' | 'taskRunsBatch'>;
