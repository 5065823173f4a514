import type { Handlers } from '../http/route-types.js';
import { listQuotas } from './usage.js';

/** `GET /quotas`: any member reads the workspace's quotas and what counts against them. */
export const quotaHandlers = {
  quotasList: async ({ principal, deps }) => listQuotas(deps.sql, principal.workspaceId),
} satisfies Pick<Handlers, 'quotasList'>;
