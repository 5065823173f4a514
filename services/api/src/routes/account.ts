import { type RouteDef, routes } from '@outpost/sdk/contracts';
import type { Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { acceptInvitation, listInvitations, sendVerification } from '../auth/account.js';
import { authorize } from '../auth/permissions.js';
import type { Principal } from '../auth/principal.js';
import type { AppDeps } from '../context.js';
import { ApiError } from '../errors.js';
import { noteAudit } from '../http/audit.js';
import type { AppEnv } from '../http/env.js';
import { API_PREFIX } from '../http/mount-routes.js';
import { parseBody, parseParams, parseQuery } from '../http/request-input.js';

const tooLarge = (): never => {
  throw new ApiError('payload_too_large', 'the request body is too large');
};

type Person = { userId: string; principal: Principal };

/**
 * Mounts one of the person's own routes: the same gate as every route (`authorize`, which admits a
 * person's session only), strict input, and the answer checked against its contract in tests.
 * They are audited here rather than by mountRoutes, because what they change belongs to another
 * workspace than the session's: accepting an invitation is recorded in the workspace that invited,
 * and nothing of it in the session's (whose admins have no business knowing who else invited the person).
 */
function mountPersonRoute(
  app: Hono<AppEnv>,
  deps: AppDeps,
  route: RouteDef,
  handle: (c: Context<AppEnv>, person: Person, params: Record<string, unknown>) => Promise<unknown>,
): void {
  app.on(route.method, `${API_PREFIX}${route.path}`, bodyLimit({ maxSize: 1024 * 1024, onError: tooLarge }), async (c) => {
    const principal = await authorize(c, deps, route);
    const userId = principal.kind === 'session' ? principal.userId : null;
    if (!userId) throw new Error('authorize admitted a caller without an account to a person route');
    const params = parseParams(route, c.req.param() as Record<string, string>);
    parseQuery(route, new URL(c.req.url));
    await parseBody(route, c.req);
    const result = await handle(c, { userId, principal }, params);
    if (deps.validateResponses) route.response.parse(result);
    c.header('cache-control', 'no-store');
    return c.json(result as object, (route.status ?? 200) as 200);
  });
}

export function mountAccountRoutes(app: Hono<AppEnv>, deps: AppDeps): void {
  mountPersonRoute(app, deps, routes.accountInvitationsList, async (_c, { userId }) => listInvitations(deps, userId));

  mountPersonRoute(app, deps, routes.accountInvitationsAccept, async (c, { userId }, params) => {
    const workspaceId = params.workspaceId as string;
    const accepted = await acceptInvitation(deps, userId, workspaceId);
    noteAudit(c, {
      workspaceId,
      actorKind: 'user',
      actorId: userId,
      action: 'accountInvitationsAccept',
      targetIds: { userId },
      resultIds: {},
      summary: { role: accepted.role },
    });
    c.get('logger').info({ userId, workspaceId }, 'invitation accepted');
    return accepted;
  });

  mountPersonRoute(app, deps, routes.accountVerificationSend, async (c, { userId, principal }) => {
    const sent = await sendVerification(deps, userId);
    noteAudit(c, {
      workspaceId: principal.workspaceId,
      actorKind: 'user',
      actorId: userId,
      action: 'accountVerificationSend',
      targetIds: { userId },
      resultIds: {},
      summary: { email: sent.email },
    });
    return sent;
  });
}
