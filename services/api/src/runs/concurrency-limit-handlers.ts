import { ApiError, notFound } from '../errors.js';
import type { Handlers } from '../http/route-types.js';
import {
  deleteConcurrencyLimit,
  getConcurrencyLimit,
  insertConcurrencyLimit,
  listConcurrencyLimits,
  updateConcurrencyLimit,
} from './db/concurrency-limits.js';

export const concurrencyLimitHandlers = {
  concurrencyLimitsCreate: async ({ body, principal, deps }) => {
    const limit = await insertConcurrencyLimit(deps.sql, {
      workspaceId: principal.workspaceId,
      tag: body.tag,
      limit: body.limit,
    });
    if (!limit) throw new ApiError('conflict', `the tag "${body.tag}" already has a concurrency limit; change it with PATCH`);
    return limit;
  },

  concurrencyLimitsList: async ({ principal, deps }) => ({ items: await listConcurrencyLimits(deps.sql, principal.workspaceId) }),

  concurrencyLimitsGet: async ({ params, principal, deps }) => {
    const limit = await getConcurrencyLimit(deps.sql, principal.workspaceId, params.tag);
    if (!limit) throw notFound(`concurrency limit for tag "${params.tag}"`);
    return limit;
  },

  concurrencyLimitsUpdate: async ({ params, body, principal, deps }) => {
    const limit = await deps.sql.begin((tx) =>
      updateConcurrencyLimit(tx, { workspaceId: principal.workspaceId, tag: params.tag, limit: body.limit }),
    );
    if (!limit) throw notFound(`concurrency limit for tag "${params.tag}"`);
    return limit;
  },

  concurrencyLimitsDelete: async ({ params, principal, deps }) => {
    const limit = await deps.sql.begin((tx) => deleteConcurrencyLimit(tx, principal.workspaceId, params.tag));
    if (!limit) throw notFound(`concurrency limit for tag "${params.tag}"`);
    return limit;
  },
} satisfies Pick<
  Handlers,
  | 'concurrencyLimitsCreate'
  | 'concurrencyLimitsList'
  | 'concurrencyLimitsGet'
  | 'concurrencyLimitsUpdate'
  | 'concurrencyLimitsDelete'
>;
