import { z } from 'zod';
import type { Db } from '../db/client.js';
import { getDeployment } from '../deployments/db/deployments.js';
import { notFound } from '../errors.js';
import { decodeCursor, pageOf } from '../http/pagination.js';
import type { Handlers } from '../http/route-types.js';
import { createAssetBackfill } from './asset-backfill.js';
import { cancelBackfill, pauseBackfill, resumeBackfill, retryFailedPartitions } from './controls.js';
import { createDeploymentBackfill } from './create-backfill.js';
import { listPartitions } from './db/backfill-partitions.js';
import { getBackfill, listBackfills } from './db/backfills.js';

const BackfillCursor = z.tuple([z.iso.datetime(), z.uuid()]);
const PartitionCursor = z.tuple([z.number().int().min(-1)]);

async function found(db: Db, workspaceId: string, id: string) {
  const backfill = await getBackfill(db, workspaceId, id);
  if (!backfill) throw notFound('backfill');
  return backfill;
}

export const backfillHandlers = {
  backfillsCreate: async ({ params, body, principal, deps }) => {
    const id = await createDeploymentBackfill(deps.sql, {
      workspaceId: principal.workspaceId,
      deploymentId: params.id,
      request: body,
    });
    return found(deps.sql, principal.workspaceId, id);
  },

  backfillsCreateForAssets: async ({ body, principal, deps }) => {
    const { id } = await createAssetBackfill(deps.sql, { workspaceId: principal.workspaceId, request: body });
    return found(deps.sql, principal.workspaceId, id);
  },

  backfillsList: async ({ params, query, principal, deps }) => {
    const cursor = decodeCursor(query.cursor, BackfillCursor);
    const record = await getDeployment(deps.sql, principal.workspaceId, params.id);
    if (!record) throw notFound('deployment');
    const before = cursor ? { createdAt: new Date(cursor[0]), id: cursor[1] } : null;
    const rows = await listBackfills(deps.sql, principal.workspaceId, { deploymentId: params.id, before }, query.limit + 1);
    const { page: items, nextCursor } = pageOf(rows, query.limit, (last) => [last.createdAt, last.id]);
    return { items, nextCursor };
  },

  backfillsListAll: async ({ query, principal, deps }) => {
    const cursor = decodeCursor(query.cursor, BackfillCursor);
    const before = cursor ? { createdAt: new Date(cursor[0]), id: cursor[1] } : null;
    const rows = await listBackfills(
      deps.sql,
      principal.workspaceId,
      { deploymentId: query.deploymentId, status: query.status, before },
      query.limit + 1,
    );
    const { page: items, nextCursor } = pageOf(rows, query.limit, (last) => [last.createdAt, last.id]);
    return { items, nextCursor };
  },

  backfillsGet: async ({ params, principal, deps }) => found(deps.sql, principal.workspaceId, params.id),

  backfillsPartitions: async ({ params, query, principal, deps }) => {
    const cursor = decodeCursor(query.cursor, PartitionCursor);
    await found(deps.sql, principal.workspaceId, params.id);
    const rows = await listPartitions(
      deps.sql,
      principal.workspaceId,
      params.id,
      { status: query.status, afterOrdinal: cursor ? cursor[0] : null },
      query.limit + 1,
    );
    const { page, nextCursor } = pageOf(rows, query.limit, (last) => [last.ordinal]);
    return { items: page.map(({ ordinal: _, ...partition }) => partition), nextCursor };
  },

  backfillsPause: async ({ params, principal, deps }) => {
    await pauseBackfill(deps.sql, principal.workspaceId, params.id);
    return found(deps.sql, principal.workspaceId, params.id);
  },

  backfillsResume: async ({ params, principal, deps }) => {
    await resumeBackfill(deps.sql, principal.workspaceId, params.id);
    return found(deps.sql, principal.workspaceId, params.id);
  },

  backfillsRetryFailed: async ({ params, principal, deps }) => {
    await retryFailedPartitions(deps.sql, principal.workspaceId, params.id);
    return found(deps.sql, principal.workspaceId, params.id);
  },

  backfillsCancel: async ({ params, principal, deps, logger }) => {
    await cancelBackfill({ sql: deps.sql, metrics: deps.metrics, logger }, principal.workspaceId, params.id);
    return found(deps.sql, principal.workspaceId, params.id);
  },
} satisfies Pick<
  Handlers,
  | 'backfillsCreate'
  | 'backfillsCreateForAssets'
  | 'backfillsList'
  | 'backfillsListAll'
  | 'backfillsGet'
  | 'backfillsPartitions'
  | 'backfillsPause'
  | 'backfillsResume'
  | 'backfillsRetryFailed'
  | 'backfillsCancel'
>;
