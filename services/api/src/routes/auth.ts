import { routes, SESSION_COOKIE } from '@outpost/sdk/contracts';
import type { Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { rateSubject, requestAddress } from '../auth/permissions.js';
import {
  authenticateSession,
  checkSameOrigin,
  clearedCookies,
  isHttps,
  openSession,
  readCookie,
  revokeSession,
  sessionCookies,
} from '../auth/sessions.js';
import type { AppDeps } from '../context.js';
import { ApiError, errorCode } from '../errors.js';
import { auditActor, noteAudit, summarise } from '../http/audit.js';
import type { AppEnv } from '../http/env.js';
import { API_PREFIX } from '../http/mount-routes.js';
import { parseBody, parseQuery } from '../http/request-input.js';
import { whoAmI } from './whoami.js';

const tooLarge = (): never => {
  throw new ApiError('payload_too_large', 'the request body is too large');
};

function setCookies(c: Context<AppEnv>, cookies: string[]): void {
  for (const cookie of cookies) c.header('set-cookie', cookie, { append: true });
  c.header('cache-control', 'no-store');
}

/**
 * Signing in and out, the only API routes reachable without a credential. Sign-in takes a
 * one-time sign-in token or an API key and answers with cookies; sign-out revokes the session the
 * cookie names (after the same CSRF check as any mutation) and clears both cookies.
 */
export function mountAuthRoutes(app: Hono<AppEnv>, deps: AppDeps): void {
  const create = routes.authSessionCreate;
  const remove = routes.authSessionDelete;
  const path = `${API_PREFIX}${create.path}`;

  app.post(path, bodyLimit({ maxSize: 1024 * 1024, onError: tooLarge }), async (c) => {
    deps.rateLimiter.checkAnonymous(requestAddress(c, deps));
    parseQuery(create, new URL(c.req.url));
    const body = (await parseBody(create, c.req)) as { token?: string; apiKey?: string };
    // A page on another site must not sign a browser in to an account of its choosing.
    checkSameOrigin(c.req);
    const opened = await openSession(deps.sql, body);
    noteAudit(c, {
      workspaceId: opened.principal.workspaceId,
      ...auditActor(opened.principal),
      action: 'authSessionCreate',
      targetIds: {},
      resultIds: { sessionId: opened.principal.sessionId },
      summary: summarise(body),
    });
    const answer = await whoAmI(deps.sql, opened.principal);
    if (deps.validateResponses) create.response.parse(answer);
    c.get('logger').info({ sessionId: opened.principal.sessionId, workspaceId: opened.principal.workspaceId }, 'session opened');
    setCookies(c, sessionCookies(opened, isHttps(c.req)));
    return c.json(answer, 200);
  });

  app.delete(path, async (c) => {
    const address = requestAddress(c, deps);
    parseQuery(remove, new URL(c.req.url));
    const token = readCookie(c.req.header('cookie'), SESSION_COOKIE);
    if (token !== undefined) {
      let active = true;
      try {
        // Checks CSRF and origin for a live session; an ended one has nothing left to protect.
        const principal = await authenticateSession(deps.sql, c.req, token);
        deps.rateLimiter.check(rateSubject(principal));
        noteAudit(c, {
          workspaceId: principal.workspaceId,
          ...auditActor(principal),
          action: 'authSessionDelete',
          targetIds: { sessionId: principal.sessionId },
          resultIds: {},
          summary: {},
        });
      } catch (error) {
        if (errorCode(error) !== 'unauthenticated') throw error;
        // A cookie that names no live session is a failed authentication: guessing session tokens
        // here is throttled like anywhere else.
        deps.rateLimiter.checkAnonymous(address);
        active = false;
      }
      if (active && (await revokeSession(deps.sql, token))) c.get('logger').info('session closed');
    }
    setCookies(c, clearedCookies(isHttps(c.req)));
    return c.body(null, 204);
  });
}
