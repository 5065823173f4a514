import { recordAssetEvents } from '../assets/record-events.js';
import type { Handlers } from '../http/route-types.js';
import { assetGate } from './gate.js';

/** What a run of the assets flow tells and asks about its assets, with its run token or through its worker. */
export const assetRunHandlers = {
  assetEventsReport: async ({ params, body, principal, deps }) => ({
    recorded: await recordAssetEvents(deps.sql, { workspaceId: principal.workspaceId, flowRunId: params.id, batch: body }),
  }),

  assetGate: async ({ params, principal, deps }) =>
    assetGate(deps.sql, { workspaceId: principal.workspaceId, flowRunId: params.id }),
} satisfies Pick<Handlers, 'assetEventsReport' | 'assetGate'>;
