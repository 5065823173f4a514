import { listWorkers } from '../db/workers.js';
import { claimRuns } from '../runs/claim-runs.js';
import { heartbeat } from '../runs/heartbeat.js';
import { apiKeyId, poolOrNotFound } from './scope.js';
import type { Handlers } from './types.js';

export const workerHandlers = {
  workersList: async ({ params, principal, deps }) => {
    const pool = await poolOrNotFound(deps.sql, principal.workspaceId, params.pool);
    return { items: await listWorkers(deps.sql, principal.workspaceId, pool.id, pool.name) };
  },

  workersHeartbeat: async ({ params, body, principal, deps }) => {
    const pool = await poolOrNotFound(deps.sql, principal.workspaceId, params.pool);
    return heartbeat(deps, { workspaceId: principal.workspaceId, pool, apiKeyId: apiKeyId(principal), request: body });
  },

  claim: async ({ params, body, principal, deps, signal }) => {
    const pool = await poolOrNotFound(deps.sql, principal.workspaceId, params.pool);
    const runs = await claimRuns(deps, {
      workspaceId: principal.workspaceId,
      pool,
      workerId: body.workerId,
      apiKeyId: apiKeyId(principal),
      limit: body.limit,
      queues: body.queues ?? null,
      labels: body.labels ?? null,
      waitMs: body.waitMs,
      signal,
    });
    return { runs };
  },
} satisfies Pick<Handlers, 'workersList' | 'workersHeartbeat' | 'claim'>;
