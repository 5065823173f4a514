import { z } from 'zod';
import { ownFence } from '../auth/access.js';
import { ApiError, notFound } from '../errors.js';
import { decodeCursor, pageOf } from '../http/pagination.js';
import type { Handlers } from '../http/route-types.js';
import type { Actor } from '../orchestration/rules.js';
import { getFlowRun, listFlowRuns } from './db/flow-runs.js';
import { proposeState } from './db/propose-state.js';
import { listRunAttempts } from './db/run-attempts.js';
import { listRunStates } from './db/run-states.js';
import { toLogRows } from './log-handlers.js';

const RunCursor = z.tuple([z.iso.datetime(), z.uuid()]);

export const flowRunHandlers = {
  flowRunsList: async ({ query, principal, deps }) => {
    const soonestFirst = query.sort === 'EXPECTED_START_TIME_ASC';
    const at = decodeCursor(query.cursor, RunCursor);
    const rows = await listFlowRuns(
      deps.sql,
      principal.workspaceId,
      {
        states: query.state,
        deploymentId: query.deploymentId,
        flow: query.flow,
        tag: query.tag,
        name: query.name,
        workPool: query.workPool,
        createdAfter: query.createdAfter ? new Date(query.createdAfter) : undefined,
        createdBefore: query.createdBefore ? new Date(query.createdBefore) : undefined,
        before: at && !soonestFirst ? { createdAt: new Date(at[0]), id: at[1] } : undefined,
        after: at && soonestFirst ? { expectedStartTime: new Date(at[0]), id: at[1] } : undefined,
        soonestFirst,
      },
      query.limit + 1,
    );
    const { page: items, nextCursor } = pageOf(rows, query.limit, (last) => [
      soonestFirst ? last.expectedStartTime : last.createdAt,
      last.id,
    ]);
    return { items, nextCursor };
  },

  flowRunsGet: async ({ params, principal, deps }) => {
    const run = await getFlowRun(deps.sql, principal.workspaceId, params.id);
    if (!run) throw notFound('flow run');
    return run;
  },

  flowRunsSetState: async ({ params, body, principal, deps }) => {
    let actor: Actor = 'user';
    let attempt = body.attempt ?? null;
    if (principal.kind === 'run_token') {
      actor = 'run';
      attempt = principal.attempt;
    } else if (principal.role === 'worker') {
      actor = 'worker';
    }
    if (body.exitCode !== undefined && (actor === 'user' || attempt === null)) {
      throw new ApiError('validation_failed', 'only the worker holding the attempt reports its exit code', {
        errors: [
          { path: 'body.exitCode', message: 'allowed only for the holder of the attempt (a worker naming it, or its run token)' },
        ],
      });
    }
    if (body.taskRuns && (actor === 'user' || attempt === null)) {
      throw new ApiError('validation_failed', 'only the worker holding the attempt reports its task runs', {
        errors: [
          { path: 'body.taskRuns', message: 'allowed only for the holder of the attempt (a worker naming it, or its run token)' },
        ],
      });
    }
    if (body.logs && attempt === null) {
      throw new ApiError('validation_failed', 'log lines belong to an attempt', {
        errors: [{ path: 'body.attempt', message: 'required with logs' }],
      });
    }
    const response = await proposeState(deps.sql, deps.metrics, {
      workspaceId: principal.workspaceId,
      runId: params.id,
      transitionId: body.transitionId,
      state: body.state,
      attempt,
      actor,
      ...(body.logs ? { logs: toLogRows(body.logs) } : {}),
      ...(body.taskRuns ? { taskRuns: body.taskRuns } : {}),
      ...(body.exitCode === undefined ? {} : { exitCode: body.exitCode }),
      fence: ownFence(principal, params.id),
    });
    if (!response) throw new Error('a proposal without a lease condition was skipped');
    return response;
  },

  flowRunsStates: async ({ params, principal, deps }) => {
    const run = await getFlowRun(deps.sql, principal.workspaceId, params.id);
    if (!run) throw notFound('flow run');
    return { items: await listRunStates(deps.sql, principal.workspaceId, params.id) };
  },

  flowRunsAttempts: async ({ params, principal, deps }) => {
    const run = await getFlowRun(deps.sql, principal.workspaceId, params.id);
    if (!run) throw notFound('flow run');
    return { items: await listRunAttempts(deps.sql, principal.workspaceId, params.id) };
  },
} satisfies Pick<Handlers, 'flowRunsList' | 'flowRunsGet' | 'flowRunsSetState' | 'flowRunsStates' | 'flowRunsAttempts'>;
