import { ApiError, notFound } from '../errors.js';
import type { Handlers } from '../http/route-types.js';
import { createdInRun } from './created-in-run.js';
import { latestArtifacts, listRunArtifacts, upsertArtifact } from './db/artifacts.js';
import { taskRunBelongsTo } from './db/child-runs.js';
import { getRunAttempt } from './db/flow-runs.js';

export const artifactHandlers = {
  artifactsCreate: async ({ params, body, principal, deps, status }) => {
    // Written by the run's current attempt only, like task runs: the attempt is the run's fencing token.
    const current = await getRunAttempt(deps.sql, principal.workspaceId, params.id);
    if (current === null) throw notFound('flow run');
    if (body.flowRunAttempt !== current) throw new ApiError('stale_attempt', `the flow run is at attempt ${current}`);
    // A task run of another run, or of another workspace, is refused exactly like one that does not exist.
    if (body.taskRunId && !(await taskRunBelongsTo(deps.sql, principal.workspaceId, params.id, body.taskRunId))) {
      throw new ApiError('validation_failed', 'the task run is not a task run of this flow run', {
        errors: [{ path: 'body.taskRunId', message: 'not a task run of this flow run' }],
      });
    }
    const stored = await upsertArtifact(deps.sql, {
      id: body.id,
      workspaceId: principal.workspaceId,
      flowRunId: params.id,
      taskRunId: body.taskRunId ?? null,
      key: body.key,
      type: body.type,
      description: body.description ?? null,
      data: body.data,
    });
    const row = createdInRun(stored, { workspaceId: principal.workspaceId, flowRunId: params.id }, 'artifact', status);
    return { artifact: row.artifact };
  },

  artifactsList: async ({ params, principal, deps }) => {
    if ((await getRunAttempt(deps.sql, principal.workspaceId, params.id)) === null) throw notFound('flow run');
    return { items: await listRunArtifacts(deps.sql, principal.workspaceId, params.id) };
  },

  artifactsLatest: async ({ query, principal, deps }) => ({
    items: await latestArtifacts(deps.sql, principal.workspaceId, query.key ?? null, query.limit),
  }),
} satisfies Pick<Handlers, 'artifactsCreate' | 'artifactsList' | 'artifactsLatest'>;
