import { type RouteDef, routes } from '@outpost/sdk/contracts';
import type { Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { confirmEmail } from '../auth/account.js';
import { requestAddress } from '../auth/permissions.js';
import { checkSameOrigin, isHttps, sessionCookies } from '../auth/sessions.js';
import {
  addMember,
  changeMemberRole,
  changePassword,
  issueSetupToken,
  passwordSignIn,
  removeMember,
  setupPassword,
} from '../auth/users.js';
import type { AppDeps } from '../context.js';
import { listMembers, usableMemberships } from '../db/memberships.js';
import { findUserByEmail } from '../db/users.js';
import { ApiError, errorCode } from '../errors.js';
import { noteAudit, summarise } from '../http/audit.js';
import type { AppEnv } from '../http/env.js';
import { API_PREFIX } from '../http/mount-routes.js';
import { parseBody, parseQuery } from '../http/request-input.js';
import type { Handlers } from './types.js';
import { whoAmI } from './whoami.js';

export const memberHandlers = {
  membersList: async ({ principal, deps }) => ({ items: await listMembers(deps.sql, principal.workspaceId) }),

  membersAdd: async ({ body, principal, deps }) => addMember(deps, principal, body),

  membersUpdate: async ({ params, body, principal, deps }) => changeMemberRole(deps, principal, params.userId, body.role),

  membersRemove: async ({ params, principal, deps }) => {
    await removeMember(deps, principal, params.userId);
    return null;
  },

  membersSetupToken: async ({ params, principal, deps }) => issueSetupToken(deps, principal, params.userId),
} satisfies Pick<Handlers, 'membersList' | 'membersAdd' | 'membersUpdate' | 'membersRemove' | 'membersSetupToken'>;

// ---- password routes: reachable without a credential ---------------------------------------------

const tooLarge = (): never => {
  throw new ApiError('payload_too_large', 'the request body is too large');
};

/**
 * Records an event of an account in every workspace it can sign in to: the admins of each can see
 * sign-ins, failed attempts and password changes of their people. A workspace that only invited
 * the account sees none of it: it is no concern of theirs until the person accepts.
 */
async function noteAccountEvent(
  c: Context<AppEnv>,
  deps: AppDeps,
  input: { userId: string; action: string; actor: 'user' | 'anonymous'; body: unknown; workspaceId?: string; sessionId?: string },
): Promise<void> {
  const workspaces = input.workspaceId
    ? [{ workspaceId: input.workspaceId, slug: null }]
    : await usableMemberships(deps.sql, input.userId);
  const { workspace: named, ...rest } = (input.body ?? {}) as { workspace?: unknown };
  for (const { workspaceId, slug } of workspaces) {
    noteAudit(c, {
      workspaceId,
      actorKind: input.actor,
      actorId: input.actor === 'user' ? input.userId : null,
      action: input.action,
      targetIds: { userId: input.userId },
      resultIds: input.sessionId ? { sessionId: input.sessionId } : {},
      // The workspace a sign-in named is told to that workspace alone: the others' admins have no
      // business knowing which other tenants their person signs in to.
      summary: summarise(slug === null || named === slug ? input.body : rest),
    });
  }
}

/** A refused attempt on an existing account is recorded too (status 401 or 429): that is what a reviewer looks for. */
async function noteFailure(c: Context<AppEnv>, deps: AppDeps, action: string, body: { email?: string }, error: unknown) {
  if (!['unauthenticated', 'rate_limited', 'forbidden'].includes(errorCode(error) ?? '')) return;
  const user = body.email ? await findUserByEmail(deps.sql, body.email) : null;
  if (user) await noteAccountEvent(c, deps, { userId: user.id, action, actor: 'anonymous', body });
}

function mountAnonymous<B>(
  app: Hono<AppEnv>,
  deps: AppDeps,
  route: RouteDef,
  handle: (c: Context<AppEnv>, body: B, address: string | null) => Promise<Response>,
): void {
  app.on(route.method, `${API_PREFIX}${route.path}`, bodyLimit({ maxSize: 1024 * 1024, onError: tooLarge }), async (c) => {
    const address = requestAddress(c, deps);
    deps.rateLimiter.checkAnonymous(address);
    parseQuery(route, new URL(c.req.url));
    const body = (await parseBody(route, c.req)) as B;
    // A page on another site must not sign a browser in, or change a password, on its behalf.
    checkSameOrigin(c.req);
    return handle(c, body, address);
  });
}

export function mountPasswordRoutes(app: Hono<AppEnv>, deps: AppDeps): void {
  mountAnonymous<{ email: string; password: string; workspace?: string }>(
    app,
    deps,
    routes.authPasswordSignIn,
    async (c, body, address) => {
      let signedIn: Awaited<ReturnType<typeof passwordSignIn>>;
      try {
        signedIn = await passwordSignIn(deps, body, address);
      } catch (error) {
        await noteFailure(c, deps, 'authPasswordSignIn', body, error);
        throw error;
      }
      const { opened, userId } = signedIn;
      const answer = await whoAmI(deps.sql, opened.principal);
      if (deps.validateResponses) routes.authPasswordSignIn.response.parse(answer);
      await noteAccountEvent(c, deps, {
        userId,
        action: 'authPasswordSignIn',
        actor: 'user',
        body,
        workspaceId: opened.principal.workspaceId,
        sessionId: opened.principal.sessionId,
      });
      c.get('logger').info({ sessionId: opened.principal.sessionId, userId }, 'password sign-in');
      for (const cookie of sessionCookies(opened, isHttps(c.req))) c.header('set-cookie', cookie, { append: true });
      c.header('cache-control', 'no-store');
      return c.json(answer, 200);
    },
  );

  mountAnonymous<{ email: string; currentPassword: string; newPassword: string }>(
    app,
    deps,
    routes.authPasswordChange,
    async (c, body, address) => {
      let changed: { userId: string };
      try {
        changed = await changePassword(deps, body, address);
      } catch (error) {
        await noteFailure(c, deps, 'authPasswordChange', body, error);
        throw error;
      }
      await noteAccountEvent(c, deps, { userId: changed.userId, action: 'authPasswordChange', actor: 'user', body });
      c.get('logger').info({ userId: changed.userId }, 'password changed; every session of the account ended');
      return c.body(null, 204);
    },
  );

  mountAnonymous<{ token: string; password?: string }>(app, deps, routes.authEmailConfirm, async (c, body) => {
    const { userId, verifiedNow, answer } = await confirmEmail(deps, body);
    if (deps.validateResponses) routes.authEmailConfirm.response.parse(answer);
    await noteAccountEvent(c, deps, { userId, action: 'authEmailConfirm', actor: 'user', body });
    if (answer.joined) {
      noteAudit(c, {
        workspaceId: answer.joined.id,
        actorKind: 'user',
        actorId: userId,
        action: 'accountInvitationsAccept',
        targetIds: { userId },
        resultIds: {},
        summary: { through: 'emailed link' },
      });
    }
    c.get('logger').info(
      { userId, verifiedNow, passwordSet: answer.passwordSet, joined: answer.joined?.id ?? null },
      'emailed link used',
    );
    c.header('cache-control', 'no-store');
    return c.json(answer, 200);
  });

  mountAnonymous<{ token: string; password: string }>(app, deps, routes.authPasswordSetup, async (c, body) => {
    const { userId } = await setupPassword(deps, body);
    await noteAccountEvent(c, deps, { userId, action: 'authPasswordSetup', actor: 'user', body });
    c.get('logger').info({ userId }, 'password set with a setup token; every session of the account ended');
    return c.body(null, 204);
  });
}
