import type { Principal } from '../auth/principal.js';
import type { AppDeps } from '../context.js';
import { DomainError, notFound } from '../domain-error.js';
import type { Handlers } from '../http/route-types.js';
import { acceptInvitation, createOwnWorkspace, listInvitations, sendVerification } from './account.js';

/** The account of a person's session; the route's access (`person`) admits no other caller. */
function personOf(principal: Principal): string {
  if (principal.kind === 'session' && principal.userId) return principal.userId;
  throw new Error('a caller without an account reached a person route');
}

/**
 * The workspaces whose invitations a session reaches: any, for a password session; for one opened
 * with single sign-on, those its provider vouches for: its workspace for a workspace's provider,
 * the organisation's workspaces for an organisation's. A provider's admins must not learn, or
 * accept, what other workspaces offer the person.
 */
async function reach(deps: AppDeps, principal: Principal): Promise<Set<string> | null> {
  if (principal.kind !== 'session' || principal.openedBy === 'password' || principal.openedBy === null) return null;
  if (principal.openedBy === 'single-sign-on') return new Set([principal.workspaceId]);
  const rows = await deps.sql<{ id: string }[]>`
    SELECT id FROM workspaces
    WHERE organisation_id = (SELECT organisation_id FROM workspaces WHERE id = ${principal.workspaceId})`;
  return new Set(rows.map((r) => r.id));
}

/**
 * A person's own account. Their entries say `audit: 'handler'`, because what they change belongs
 * to another workspace than the session's: accepting an invitation is recorded in the workspace
 * that invited, and nothing of it in the session's (whose admins have no business knowing who else
 * invited the person).
 */
export const accountHandlers = {
  accountInvitationsList: async ({ principal, deps }) => {
    const listed = await listInvitations(deps, personOf(principal));
    const within = await reach(deps, principal);
    return within === null ? listed : { ...listed, items: listed.items.filter((i) => within.has(i.workspace.id)) };
  },

  accountInvitationsAccept: async ({ params, principal, deps, logger, audit }) => {
    const userId = personOf(principal);
    const { workspaceId } = params;
    const within = await reach(deps, principal);
    if (within !== null && !within.has(workspaceId)) throw notFound('invitation');
    const accepted = await acceptInvitation(deps, userId, workspaceId);
    audit({
      workspaceId,
      actorKind: 'user',
      actorId: userId,
      targetIds: { userId },
      resultIds: {},
      summary: { role: accepted.role },
    });
    logger.info({ userId, workspaceId }, 'invitation accepted');
    return accepted;
  },

  accountVerificationSend: async ({ principal, deps, audit }) => {
    const userId = personOf(principal);
    const sent = await sendVerification(deps, userId);
    audit({
      workspaceId: principal.workspaceId,
      actorKind: 'user',
      actorId: userId,
      targetIds: { userId },
      resultIds: {},
      summary: { email: sent.email },
    });
    return sent;
  },

  /** Recorded in the new workspace, by its creator; the session's workspace learns nothing of it. */
  workspacesCreate: async ({ body, principal, deps, logger, audit }) => {
    const userId = personOf(principal);
    if ((await reach(deps, principal)) !== null) {
      throw new DomainError(
        'forbidden',
        'this session was opened with single sign-on, which vouches for you where it was set up only: sign in with your password to make a workspace of your own',
      );
    }
    const created = await createOwnWorkspace(deps, userId, body);
    audit({
      workspaceId: created.workspace.id,
      actorKind: 'user',
      actorId: userId,
      targetIds: { userId },
      resultIds: { workspaceId: created.workspace.id },
      summary: { slug: created.workspace.slug, role: created.role },
    });
    logger.info({ userId, workspaceId: created.workspace.id }, 'workspace created');
    return created;
  },
} satisfies Pick<
  Handlers,
  'accountInvitationsList' | 'accountInvitationsAccept' | 'accountVerificationSend' | 'workspacesCreate'
>;
