import { listQuotas } from '../quotas/usage.js';
import type { Handlers } from './types.js';

/** `GET /quotas`: any member reads the workspace's quotas and what counts against them. */
export const quotaHandlers = {
  quotasList: async ({ principal, deps }) => listQuotas(deps.sql, principal.workspaceId),
} satisfies Pick<Handlers, 'quotasList'>;
