import { workspaceArchived } from '../auth/access.js';
import { notFound } from '../errors.js';
import type { Handlers } from '../http/route-types.js';
import { isWorkspaceArchived } from '../identity/db/workspaces.js';
import { createChildRun } from './create-child-run.js';
import { createDeploymentRun } from './create-deployment-run.js';
import { listChildRuns } from './db/child-runs.js';
import { getRunAttempt } from './db/flow-runs.js';

/** A run with more subflows than this lists the oldest ones; a flow that fans out wider should map tasks instead. */
const MAX_LISTED_CHILDREN = 1000;

export const childRunHandlers = {
  flowRunsCreateChild: async ({ params, body, principal, deps, status }) => {
    const result = await createChildRun(deps.sql, { workspaceId: principal.workspaceId, parentId: params.id, request: body });
    if (!result.created) status(200);
    return result;
  },

  flowRunsCreateDeploymentRun: async ({ params, body, principal, deps, status }) => {
    // A run under way in an archived workspace finishes, but starts no run that a worker would have
    // to claim there: the claim would be refused, and the parent would wait for nothing.
    if (principal.kind === 'run_token' && (await isWorkspaceArchived(deps.sql, principal.workspaceId))) {
      throw workspaceArchived();
    }
    const result = await createDeploymentRun(deps.sql, {
      workspaceId: principal.workspaceId,
      parentId: params.id,
      request: body,
    });
    if (!result.created) status(200);
    return result;
  },

  flowRunsChildren: async ({ params, principal, deps }) => {
    if ((await getRunAttempt(deps.sql, principal.workspaceId, params.id)) === null) throw notFound('flow run');
    return { items: await listChildRuns(deps.sql, principal.workspaceId, params.id, MAX_LISTED_CHILDREN) };
  },
} satisfies Pick<Handlers, 'flowRunsCreateChild' | 'flowRunsCreateDeploymentRun' | 'flowRunsChildren'>;
