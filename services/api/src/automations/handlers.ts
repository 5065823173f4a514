import type { Automation } from '@outpost/sdk/contracts';
import * as z from 'zod';
import { ApiError, notFound } from '../errors.js';
import { decodeCursor, pageOf } from '../http/pagination.js';
import type { Handlers } from '../http/route-types.js';
import { assertRoomForOne } from '../quotas/object-counts.js';
import { assertAutomation } from './compile.js';
import {
  type AutomationRow,
  deleteAutomation,
  getAutomation,
  insertAutomation,
  listAutomations,
  listFirings,
  listQuarantine,
  toAutomation,
  updateAutomation,
} from './db/automations.js';

const AutomationCursor = z.tuple([z.string(), z.uuid()]);
const FiringCursor = z.tuple([z.iso.datetime({ offset: true }), z.uuid()]);

function found(row: AutomationRow | null): Automation {
  if (!row) throw notFound('automation');
  return toAutomation(row);
}

function nameTaken(name: string): ApiError {
  return new ApiError('conflict', `an automation named "${name}" already exists`, {
    errors: [{ path: 'body.name', message: 'already taken' }],
  });
}

export const automationHandlers = {
  automationsCreate: async ({ body, principal, deps }) => {
    assertAutomation(body);
    const row = await deps.sql.begin(async (tx) => {
      await assertRoomForOne(tx, principal.workspaceId, 'automations');
      return insertAutomation(tx, {
        workspaceId: principal.workspaceId,
        deploymentId: null,
        name: body.name,
        description: body.description ?? null,
        enabled: body.enabled ?? true,
        trigger: body.trigger,
        actions: body.actions,
      });
    });
    if (!row) throw nameTaken(body.name);
    return toAutomation(row);
  },

  automationsList: async ({ query, principal, deps }) => {
    const after = decodeCursor(query.cursor, AutomationCursor);
    const rows = await listAutomations(
      deps.sql,
      principal.workspaceId,
      { deploymentId: query.deploymentId, after: after ? { name: after[0], id: after[1] } : undefined },
      query.limit + 1,
    );
    const { page: items, nextCursor } = pageOf(rows.map(toAutomation), query.limit, (last) => [last.name, last.id]);
    return { items, nextCursor };
  },

  automationsGet: async ({ params, principal, deps }) => found(await getAutomation(deps.sql, principal.workspaceId, params.id)),

  automationsUpdate: async ({ params, body, principal, deps }) => {
    assertAutomation(body);
    try {
      return found(await deps.sql.begin((tx) => updateAutomation(tx, principal.workspaceId, params.id, body)));
    } catch (error) {
      if ((error as { code?: string }).code === '23505' && body.name) throw nameTaken(body.name);
      throw error;
    }
  },

  automationsDelete: async ({ params, principal, deps }) =>
    found(await deleteAutomation(deps.sql, principal.workspaceId, params.id)),

  automationsEnable: async ({ params, principal, deps }) =>
    found(await updateAutomation(deps.sql, principal.workspaceId, params.id, { enabled: true })),

  automationsDisable: async ({ params, principal, deps }) =>
    found(await updateAutomation(deps.sql, principal.workspaceId, params.id, { enabled: false })),

  automationsFirings: async ({ params, query, principal, deps }) => {
    const before = decodeCursor(query.cursor, FiringCursor);
    found(await getAutomation(deps.sql, principal.workspaceId, params.id));
    const rows = await listFirings(deps.sql, params.id, before ? { firedAt: before[0], id: before[1] } : null, query.limit + 1);
    const { page: items, nextCursor } = pageOf(rows, query.limit, (last) => [last.firedAt, last.id]);
    return { items, nextCursor };
  },

  automationsQuarantine: async ({ query, principal, deps }) => {
    const before = decodeCursor(query.cursor, FiringCursor);
    const rows = await listQuarantine(
      deps.sql,
      principal.workspaceId,
      before ? { createdAt: before[0], id: before[1] } : null,
      query.limit + 1,
    );
    const { page: items, nextCursor } = pageOf(rows, query.limit, (last) => [last.createdAt, last.id]);
    return { items, nextCursor };
  },
} satisfies Pick<
  Handlers,
  | 'automationsCreate'
  | 'automationsList'
  | 'automationsGet'
  | 'automationsUpdate'
  | 'automationsDelete'
  | 'automationsEnable'
  | 'automationsDisable'
  | 'automationsFirings'
  | 'automationsQuarantine'
>;
