import { listMembers, openableWorkspaces, usableMemberships } from '../auth/db/memberships.js';
import { findUserByEmail } from '../auth/db/users.js';
import { sessionCookies } from '../auth/sessions.js';
import type { AppDeps } from '../context.js';
import { errorCode } from '../errors.js';
import { summarise } from '../http/audit.js';
import type { HandlerContext, Handlers } from '../http/route-types.js';
import { confirmEmail } from './account.js';
import { confirmPasswordReset, PASSWORD_RESET_ANSWER, requestPasswordReset } from './password-reset.js';
import {
  addMember,
  changeMemberRole,
  changePassword,
  issueSetupToken,
  passwordSignIn,
  removeMember,
  setupPassword,
} from './users.js';
import { whoAmI } from './whoami-handlers.js';

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

type Audit = HandlerContext<'authPasswordSignIn'>['audit'];

/**
 * Records an event of an account in every workspace it can sign in to, or in `workspaceId` alone:
 * the admins of each can see password changes of their people, and a sign-in, or a failed attempt,
 * where it was made (noteFailure). A workspace that only invited the account sees none of it: it is
 * no concern of theirs until the person accepts.
 */
async function noteAccountEvent(
  audit: Audit,
  deps: AppDeps,
  input: { userId: string; actor: 'user' | 'anonymous'; body: unknown; workspaceId?: string; sessionId?: string },
): Promise<void> {
  const workspaces = input.workspaceId
    ? [{ workspaceId: input.workspaceId, slug: null }]
    : await usableMemberships(deps.sql, input.userId);
  const { workspace: named, ...rest } = (input.body ?? {}) as { workspace?: unknown };
  for (const { workspaceId, slug } of workspaces) {
    audit({
      workspaceId,
      actorKind: input.actor,
      actorId: input.actor === 'user' ? input.userId : null,
      targetIds: { userId: input.userId },
      resultIds: input.sessionId ? { sessionId: input.sessionId } : {},
      // The workspace a sign-in named is told to that workspace alone: the others' admins have no
      // business knowing which other tenants their person signs in to.
      summary: summarise(slug === null || named === slug ? input.body : rest),
    });
  }
}

/**
 * The workspace of the account an attempt to sign in to it was aimed at: the one it named, or, when
 * it named none, the account's only one (where such a sign-in opens: auth/users.ts passwordSignIn).
 * Null when it named one the account cannot open, or none while the account opens several.
 */
async function attemptedWorkspace(deps: AppDeps, userId: string, named: unknown): Promise<string | null> {
  const openable = await openableWorkspaces(deps.sql, userId);
  if (typeof named === 'string') return openable.find((w) => w.slug === named)?.workspaceId ?? null;
  return openable.length === 1 ? (openable[0]?.workspaceId ?? null) : null;
}

/**
 * A refused attempt on an existing account is recorded too (status 401 or 429): that is what a
 * reviewer looks for. It is recorded, with the caller's address and user agent, in the workspace the
 * attempt was aimed at only (attemptedWorkspace): the account's other workspaces — another tenant, or
 * an organisation whose directory provisioned the account — learn nothing of where, or from where,
 * its person signs in. An attempt aimed at none of the account's workspaces is recorded in none.
 */
async function noteFailure(
  audit: Audit,
  deps: AppDeps,
  body: { email?: string; workspace?: string },
  error: unknown,
): Promise<void> {
  if (!['unauthenticated', 'rate_limited', 'forbidden'].includes(errorCode(error) ?? '')) return;
  const user = body.email ? await findUserByEmail(deps.sql, body.email) : null;
  if (!user) return;
  const workspaceId = await attemptedWorkspace(deps, user.id, body.workspace);
  if (workspaceId) await noteAccountEvent(audit, deps, { userId: user.id, actor: 'anonymous', body, workspaceId });
}

/**
 * Signing in with a password, changing or setting one, and using an emailed link: anonymous routes
 * whose entries count them per address and refuse other sites' pages. Each is audited in the
 * workspaces of the account it concerns, once that account is known.
 */
export const passwordHandlers = {
  authPasswordSignIn: async ({ body, deps, address, logger, secure, setCookies, audit }) => {
    let signedIn: Awaited<ReturnType<typeof passwordSignIn>>;
    try {
      signedIn = await passwordSignIn(deps, body, address);
    } catch (error) {
      await noteFailure(audit, deps, body, error);
      throw error;
    }
    const { opened, userId } = signedIn;
    const answer = await whoAmI(deps.sql, opened.principal);
    await noteAccountEvent(audit, deps, {
      userId,
      actor: 'user',
      body,
      workspaceId: opened.principal.workspaceId,
      sessionId: opened.principal.sessionId,
    });
    logger.info({ sessionId: opened.principal.sessionId, userId }, 'password sign-in');
    setCookies(sessionCookies(opened, secure));
    return answer;
  },

  authPasswordChange: async ({ body, deps, address, logger, audit }) => {
    let changed: { userId: string };
    try {
      changed = await changePassword(deps, body, address);
    } catch (error) {
      await noteFailure(audit, deps, body, error);
      throw error;
    }
    await noteAccountEvent(audit, deps, { userId: changed.userId, actor: 'user', body });
    logger.info({ userId: changed.userId }, 'password changed; every session of the account ended');
    return null;
  },

  authEmailConfirm: async ({ body, deps, logger, audit }) => {
    const { userId, verifiedNow, answer } = await confirmEmail(deps, body);
    await noteAccountEvent(audit, deps, { userId, actor: 'user', body });
    if (answer.joined) {
      audit({
        workspaceId: answer.joined.id,
        actorKind: 'user',
        actorId: userId,
        action: 'accountInvitationsAccept',
        targetIds: { userId },
        resultIds: {},
        summary: { through: 'emailed link' },
      });
    }
    logger.info({ userId, verifiedNow, passwordSet: answer.passwordSet, joined: answer.joined?.id ?? null }, 'emailed link used');
    return answer;
  },

  authPasswordSetup: async ({ body, deps, logger, audit }) => {
    const { userId } = await setupPassword(deps, body);
    await noteAccountEvent(audit, deps, { userId, actor: 'user', body });
    logger.info({ userId }, 'password set with a setup token; every session of the account ended');
    return null;
  },

  /**
   * The answer is the same whether or not an account has the address. Asking is not audited: anyone
   * may ask for anyone, and each workspace of the account would learn the asker's address; using
   * the link is.
   */
  authPasswordReset: async ({ body, deps, address }) => {
    await requestPasswordReset(deps, body, address);
    return { message: PASSWORD_RESET_ANSWER };
  },

  authPasswordResetConfirm: async ({ body, deps, logger, audit }) => {
    const { userId, email, verifiedNow } = await confirmPasswordReset(deps, body);
    await noteAccountEvent(audit, deps, { userId, actor: 'user', body });
    logger.info({ userId, verifiedNow }, 'password reset with an emailed link; every session of the account ended');
    return { email };
  },
} satisfies Pick<
  Handlers,
  | 'authPasswordSignIn'
  | 'authPasswordChange'
  | 'authEmailConfirm'
  | 'authPasswordSetup'
  | 'authPasswordReset'
  | 'authPasswordResetConfirm'
>;
