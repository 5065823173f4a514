import type { WhoAmIResponse } from '@outpost/sdk/contracts';
import { getUser } from '../auth/db/users.js';
import type { Principal } from '../auth/principal.js';
import type { Db } from '../db/client.js';
import { ApiError } from '../errors.js';
import type { Handlers } from '../http/route-types.js';
import { getWorkspacePlace } from './db/workspaces.js';

function describe(principal: Principal): WhoAmIResponse['principal'] {
  switch (principal.kind) {
    case 'api_key':
      return { kind: 'api_key', id: principal.keyId, role: principal.role };
    case 'run_token':
      return { kind: 'run_token', id: principal.runId, role: null };
    case 'session':
      return { kind: 'session', id: principal.sessionId, role: principal.role };
  }
}

/** The caller's workspace and principal: the whoami answer, also sent when a session opens. */
export async function whoAmI(db: Db, principal: Principal): Promise<WhoAmIResponse> {
  const place = await getWorkspacePlace(db, principal.workspaceId);
  if (!place) throw new ApiError('unauthenticated', 'the workspace of this credential no longer exists');
  const user = principal.kind === 'session' && principal.userId ? await getUser(db, principal.userId) : null;
  return {
    ...place,
    principal: describe(principal),
    ...(user ? { user: { id: user.id, email: user.email, name: user.name } } : {}),
  };
}

export const whoamiHandlers = {
  whoami: async ({ principal, deps }) => whoAmI(deps.sql, principal),
} satisfies Pick<Handlers, 'whoami'>;
