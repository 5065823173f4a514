import { acceptInvitation, createOwnWorkspace, listInvitations, sendVerification } from '../auth/account.js';
import type { Principal } from '../auth/principal.js';
import type { Handlers } from './types.js';

/** The account of a person's session; the route's access (`person`) admits no other caller. */
function personOf(principal: Principal): string {
  if (principal.kind === 'session' && principal.userId) return principal.userId;
  throw new Error('a caller without an account reached a person route');
}

/**
 * A person's own account. Their entries say `audit: 'handler'`, because what they change belongs
 * to another workspace than the session's: accepting an invitation is recorded in the workspace
 * that invited, and nothing of it in the session's (whose admins have no business knowing who else
 * invited the person).
 */
export const accountHandlers = {
  accountInvitationsList: async ({ principal, deps }) => listInvitations(deps, personOf(principal)),

  accountInvitationsAccept: async ({ params, principal, deps, logger, audit }) => {
    const userId = personOf(principal);
    const { workspaceId } = params;
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
