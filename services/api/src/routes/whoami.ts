import { getWorkspace } from '../db/workspaces.js';
import { ApiError } from '../errors.js';
import type { Handlers } from './types.js';

export const whoamiHandlers = {
  whoami: async ({ principal, deps }) => {
    const workspace = await getWorkspace(deps.sql, principal.workspaceId);
    if (!workspace) throw new ApiError('unauthenticated', 'the workspace of this credential no longer exists');
    return {
      workspace,
      principal:
        principal.kind === 'api_key'
          ? { kind: 'api_key', id: principal.keyId, role: principal.role }
          : { kind: 'run_token', id: principal.runId, role: null },
    };
  },
} satisfies Pick<Handlers, 'whoami'>;
