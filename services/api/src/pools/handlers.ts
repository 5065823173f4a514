import type { FieldError } from '@outpost/sdk/contracts';
import { ApiError, notFound } from '../errors.js';
import type { Handlers } from '../http/route-types.js';
import { poolOrNotFound, poolScope } from '../http/scope.js';
import { poolRunCounts } from './db/pool-run-counts.js';
import { insertPool, insertQueue, listPools, listQueues, updatePool, updateQueue } from './db/pools.js';
import { validateBaseJobTemplate } from './job-template.js';

/** `body.baseJobTemplate.spec.template…` from a path inside the template. */
function templateField(path: string): string {
  if (path === '') return 'body.baseJobTemplate';
  return path.startsWith('[') ? `body.baseJobTemplate${path}` : `body.baseJobTemplate.${path}`;
}

/** 422 unless the template may be saved on a pool of this type. */
function checkBaseJobTemplate(type: 'process' | 'kubernetes', template: Record<string, unknown> | null | undefined): void {
  if (template === undefined || template === null) return;
  let errors: FieldError[];
  if (type !== 'kubernetes') {
    errors = [
      { path: 'body.baseJobTemplate', message: 'only a Kubernetes work pool (type "kubernetes") has a base job template' },
    ];
  } else {
    errors = validateBaseJobTemplate(template).map((p) => ({ path: templateField(p.path), message: p.message }));
  }
  if (errors.length > 0) {
    throw new ApiError('unprocessable', 'the base job template is not a Job Outpost can run', { errors });
  }
}

export const workPoolHandlers = {
  poolsCreate: async ({ body, principal, deps }) => {
    const type = body.type ?? 'process';
    checkBaseJobTemplate(type, body.baseJobTemplate);
    const pool = await deps.sql.begin((tx) =>
      insertPool(tx, {
        workspaceId: principal.workspaceId,
        name: body.name,
        description: body.description ?? null,
        concurrencyLimit: body.concurrencyLimit ?? null,
        type,
        baseJobTemplate: body.baseJobTemplate ?? null,
        ...(body.onWorkerSilence ? { onWorkerSilence: body.onWorkerSilence } : {}),
        ...(body.disconnectedToleranceSeconds !== undefined
          ? { disconnectedToleranceSeconds: body.disconnectedToleranceSeconds }
          : {}),
      }),
    );
    if (!pool) throw new ApiError('conflict', `a work pool named "${body.name}" already exists`);
    return pool;
  },

  poolsList: async ({ principal, deps }) => ({ items: await listPools(deps.sql, principal.workspaceId) }),

  poolsGet: async ({ params, principal, deps }) => poolOrNotFound(deps.sql, principal.workspaceId, params.pool),

  poolsUpdate: async ({ params, body, principal, deps }) => {
    if (body.baseJobTemplate !== undefined) {
      const current = await poolOrNotFound(deps.sql, principal.workspaceId, params.pool);
      checkBaseJobTemplate(current.type ?? 'process', body.baseJobTemplate);
    }
    const pool = await updatePool(deps.sql, principal.workspaceId, params.pool, body);
    if (!pool) throw notFound(`work pool "${params.pool}"`);
    return pool;
  },

  poolsMetrics: async ({ params, principal, deps }) => {
    const [row] = await poolRunCounts(deps.sql, await poolScope(deps.sql, principal, params.pool));
    return {
      queueDepth: row?.due ?? 0,
      oldestWaitingSeconds: row?.oldest_waiting_seconds ?? 0,
      gpusRequested: row?.gpus_requested ?? 0,
      gpusFree: row?.gpus_free ?? 0,
      gpusTotal: row?.gpus_total ?? 0,
      runsRunning: (row?.pending ?? 0) + (row?.running ?? 0) + (row?.cancelling ?? 0),
    };
  },

  queuesCreate: async ({ params, body, principal, deps }) => {
    const queue = await insertQueue(deps.sql, {
      ...(await poolScope(deps.sql, principal, params.pool)),
      name: body.name,
      priority: body.priority ?? 1,
      concurrencyLimit: body.concurrencyLimit ?? null,
    });
    if (!queue) throw new ApiError('conflict', `work pool "${params.pool}" already has a queue named "${body.name}"`);
    return queue;
  },

  queuesList: async ({ params, principal, deps }) => {
    const pool = await poolOrNotFound(deps.sql, principal.workspaceId, params.pool);
    return { items: await listQueues(deps.sql, principal.workspaceId, pool.id) };
  },

  queuesUpdate: async ({ params, body, principal, deps }) => {
    const pool = await poolOrNotFound(deps.sql, principal.workspaceId, params.pool);
    const queue = await updateQueue(deps.sql, principal.workspaceId, pool.id, params.queue, body);
    if (!queue) throw notFound(`work queue "${params.queue}" in work pool "${params.pool}"`);
    return queue;
  },
} satisfies Pick<
  Handlers,
  'poolsCreate' | 'poolsList' | 'poolsGet' | 'poolsUpdate' | 'poolsMetrics' | 'queuesCreate' | 'queuesList' | 'queuesUpdate'
>;
