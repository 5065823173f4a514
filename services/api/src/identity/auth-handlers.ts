import { SESSION_COOKIE } from '@outpost/sdk/contracts';
import { clearedCookies, openSession, readCookie, revokeSession, sessionCookies } from '../auth/sessions.js';
import { auditActor, summarise } from '../http/audit.js';
import type { Handlers } from '../http/route-types.js';
import { whoAmI } from './whoami-handlers.js';

/**
 * Signing in and out, reachable without a credential. Sign-in takes a one-time sign-in token or an
 * API key and answers with cookies; sign-out revokes the session the cookie names (its route reads
 * a live session, checked for CSRF like any mutation) and clears both cookies either way.
 */
export const authHandlers = {
  authSessionCreate: async ({ body, deps, logger, secure, setCookies, audit }) => {
    const opened = await openSession(deps.sql, body);
    const { principal } = opened;
    audit({
      workspaceId: principal.workspaceId,
      ...auditActor(principal),
      targetIds: {},
      resultIds: { sessionId: principal.sessionId },
      summary: summarise(body),
    });
    const answer = await whoAmI(deps.sql, principal);
    logger.info({ sessionId: principal.sessionId, workspaceId: principal.workspaceId }, 'session opened');
    setCookies(sessionCookies(opened, secure));
    return answer;
  },

  authSessionDelete: async ({ principal, header, deps, logger, secure, setCookies, audit }) => {
    if (principal?.kind === 'session') {
      audit({
        workspaceId: principal.workspaceId,
        ...auditActor(principal),
        targetIds: { sessionId: principal.sessionId },
        resultIds: {},
        summary: {},
      });
      const token = readCookie(header('cookie'), SESSION_COOKIE);
      if (token !== undefined && (await revokeSession(deps.sql, token))) logger.info('session closed');
    }
    setCookies(clearedCookies(secure));
    return null;
  },
} satisfies Pick<Handlers, 'authSessionCreate' | 'authSessionDelete'>;
