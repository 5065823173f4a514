import type { Handlers } from '../http/route-types.js';
import { apiKeyId, poolOrNotFound, poolScope } from '../http/scope.js';
import { claimRuns, toClaimedRun } from './claim-runs.js';
import { adoptRuns } from './db/adopt.js';
import { listWorkers } from './db/workers.js';
import { heartbeat } from './heartbeat.js';

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
    return claimRuns(deps, {
      workspaceId: principal.workspaceId,
      pool,
      workerId: body.workerId,
      apiKeyId: apiKeyId(principal),
      limit: body.limit,
      queues: body.queues ?? null,
      labels: body.labels ?? null,
      waitMs: body.waitMs,
      held: body.held ?? [],
      prefetchMs: body.prefetchMs ?? 0,
      signal,
    });
  },

  poolRunsAdopt: async ({ params, body, principal, deps }) => {
    const rows = await adoptRuns(deps.sql, {
      ...(await poolScope(deps.sql, principal, params.pool)),
      workerId: body.workerId,
      apiKeyId: apiKeyId(principal),
      runs: body.runs,
      leaseSeconds: deps.leaseSeconds,
    });
    const taken = new Set(rows.map((row) => `${row.id}#${row.attempt}`));
    return {
      adopted: await Promise.all(rows.map(async (row) => ({ run: await toClaimedRun(deps, row), logSeq: row.log_seq }))),
      refused: body.runs.filter((r) => !taken.has(`${r.id}#${r.attempt}`)),
    };
  },
} satisfies Pick<Handlers, 'workersList' | 'workersHeartbeat' | 'claim' | 'poolRunsAdopt'>;
