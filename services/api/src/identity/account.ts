import {
  type EmailConfirmResponse,
  type InvitationAcceptResponse,
  type InvitationListResponse,
  type MemberRole,
  type VerificationSendResponse,
  WORKSPACES_PER_ACCOUNT,
  type WorkspaceCreateRequest,
  type WorkspaceCreateResponse,
} from '@outpost/sdk/contracts';
import { activateMembership, insertMembership, invitationsOf, lockMemberships } from '../auth/db/memberships.js';
import { getUser, revokeUserSessions, setPasswordHash, verifyAccount } from '../auth/db/users.js';
import { hashPassword, passwordProblem } from '../auth/passwords.js';
import type { AppDeps } from '../context.js';
import type { Db } from '../db/client.js';
import { DomainError, notFound } from '../domain-error.js';
import { deliverLink } from '../mail/link-delivery.js';
import { verificationMail } from '../mail/messages.js';
import { forgetRevokedKeys } from './db/credentials.js';
import { claimPendingDirectoryPerson, pendingDirectoryOffers } from './db/directory.js';
import { consumeEmailToken, voidInvitationTokens } from './db/email-tokens.js';
import { lockOrganisation } from './db/organisations.js';
import { countWorkspacesCreatedBy, getWorkspace, insertWorkspace } from './db/workspaces.js';
import { emailTokenHash, newEmailLink } from './email-links.js';

/*
 * What a person does with their own account: see and accept invitations, and prove their address.
 * These act on the signed-in account, across workspaces, so they are not scoped to the session's
 * workspace — but only ever to the account itself: an invitation is found by (this account, the
 * inviting workspace), and another account's is a 404 like a missing one.
 */

const unverified = () =>
  new DomainError(
    'forbidden',
    'confirm your email address first (Settings → Confirm address): whoever set this account up may not be you',
  );

/**
 * The account's open invitations, once its address is verified; before, none is shown. Besides the
 * workspaces' invitations, what an organisation's directory offers the address while the person is
 * pending there (provisioned outside the organisation's proven domains: db/directory.ts
 * pendingDirectoryOffers), each workspace once, newest first.
 */
export async function listInvitations(deps: AppDeps, userId: string): Promise<InvitationListResponse> {
  const user = await getUser(deps.sql, userId);
  // A workspace's admin may hold an account they manage: the workspaces inviting its address are not theirs to see.
  if (!user?.emailVerifiedAt) return { emailVerified: false, items: [] };
  const invited = await invitationsOf(deps.sql, userId);
  const offered = (await pendingDirectoryOffers(deps.sql, userId, user.email)).filter(
    (o) => !invited.some((i) => i.workspace.id === o.workspace.id),
  );
  const items = [...invited, ...offered].sort(
    (a, b) => b.invitedAt.localeCompare(a.invitedAt) || a.workspace.slug.localeCompare(b.workspace.slug),
  );
  return { emailVerified: true, items };
}

/**
 * Accepts the account's invitation to a workspace: the membership becomes active. Needs a verified
 * address. An offer of an organisation's directory to the address (listInvitations) is accepted the
 * same way: the directory's pending record becomes the account's (db/directory.ts
 * claimPendingDirectoryPerson), its groups' roles are applied, and the workspace's becomes active.
 * The organisation's lock is taken first, as the directory's changes of memberships take it.
 */
export async function acceptInvitation(deps: AppDeps, userId: string, workspaceId: string): Promise<InvitationAcceptResponse> {
  let revokedKeys: string[] = [];
  const accepted = await deps.sql.begin(async (tx) => {
    const [place] = await tx<{ organisation_id: string }[]>`SELECT organisation_id FROM workspaces WHERE id = ${workspaceId}`;
    if (place) await lockOrganisation(tx, place.organisation_id);
    await lockMemberships(tx, workspaceId);
    const user = await getUser(tx, userId);
    // Refused before anything is looked up, so an account that is not verified learns nothing of invitations.
    if (!user?.emailVerifiedAt) throw unverified();
    let role = await activateMembership(tx, workspaceId, userId);
    if (!role && place) {
      const claimed = await claimPendingDirectoryPerson(tx, place.organisation_id, workspaceId, userId, user.email);
      if (claimed) {
        revokedKeys = claimed.revokedKeyIds;
        // The groups' roles came as an invitation (or active at once, for a person of the organisation already).
        role = (await activateMembership(tx, workspaceId, userId)) ?? (await activeRole(tx, workspaceId, userId));
      }
    }
    const workspace = role ? await getWorkspace(tx, workspaceId) : null;
    if (!role || !workspace) throw notFound('invitation');
    await voidInvitationTokens(tx, userId, workspaceId);
    return { workspace, role };
  });
  forgetRevokedKeys(deps.apiKeys, revokedKeys);
  return accepted;
}

async function activeRole(db: Db, workspaceId: string, userId: string): Promise<MemberRole | null> {
  const [row] = await db<{ role: MemberRole }[]>`
    SELECT role FROM memberships WHERE workspace_id = ${workspaceId} AND user_id = ${userId} AND state = 'active'`;
  return row?.role ?? null;
}

/**
 * Creates a workspace whose owner is the signed-in account. Needs a verified address (an account a
 * workspace manages signs in there only, and its admins may know its password), and each account
 * creates at most WORKSPACES_PER_ACCOUNT: a hosted server's tenants cannot multiply their quotas
 * without bound. The account's row is locked, so two concurrent requests cannot both take the last.
 */
export async function createOwnWorkspace(
  deps: AppDeps,
  userId: string,
  input: WorkspaceCreateRequest,
): Promise<WorkspaceCreateResponse> {
  return deps.sql.begin(async (tx) => {
    await tx`SELECT 1 FROM users WHERE id = ${userId} FOR UPDATE`;
    const user = await getUser(tx, userId);
    if (!user) throw new DomainError('unauthenticated', 'the account of this session no longer exists');
    if (!user.emailVerifiedAt) throw unverified();
    const created = await countWorkspacesCreatedBy(tx, userId);
    if (created >= WORKSPACES_PER_ACCOUNT) {
      throw new DomainError(
        'quota_exceeded',
        `an account may create at most ${WORKSPACES_PER_ACCOUNT} workspaces (the limit "workspacesPerAccount"), and this one created ${created}`,
      );
    }
    const workspace = await insertWorkspace(tx, { slug: input.slug, name: input.name ?? input.slug, createdBy: userId });
    if (!workspace) {
      throw new DomainError('conflict', `a workspace with the slug "${input.slug}" already exists`, {
        errors: [{ path: 'body.slug', message: 'already taken' }],
      });
    }
    await insertMembership(tx, { workspaceId: workspace.id, userId, role: 'owner', state: 'active' });
    return { workspace, role: 'owner' };
  });
}

/** Emails the signed-in person a link that verifies their address; the link goes to the address only. */
export async function sendVerification(deps: AppDeps, userId: string): Promise<VerificationSendResponse> {
  deps.rateLimiter.checkEmail(userId);
  const user = await getUser(deps.sql, userId);
  if (!user) throw new DomainError('unauthenticated', 'the account of this session no longer exists');
  if (user.emailVerifiedAt) throw new DomainError('conflict', 'this address is already confirmed');
  const link = await newEmailLink(deps.sql, deps.publicUrl, { userId, email: user.email, workspaceId: null });
  const mail = { ...verificationMail({ to: user.email, ...link }), link: link.link };
  const email = await deliverLink(deps, mail, { userId, purpose: 'verification' });
  return {
    email,
    message:
      email === 'sent'
        ? `A link to confirm ${user.email} was sent there.`
        : email === 'not_configured'
          ? "No email server is configured on this Outpost server (OUTPOST_SMTP_URL), so the link was printed to the server's log: ask its operator for it, or to confirm your address with `outpost server users verify-email`, or sign in with single sign-on."
          : 'The email could not be sent; try again later, or ask the operator of this server.',
  };
}

export interface EmailConfirmed {
  userId: string;
  /** The account's address was proven just now (it was not before). */
  verifiedNow: boolean;
  answer: EmailConfirmResponse;
}

/**
 * Uses an emailed link: the account's address is proven, and the invitation the link came with is
 * accepted. An account that was not verified must choose a new password — one an admin set may be
 * known to them — and every session of it ends; a verified account may set one (a reset through
 * the mailbox) or not. A refused password rolls everything back, and the link stays usable.
 */
export async function confirmEmail(
  deps: AppDeps,
  input: { token: string; password?: string | undefined },
): Promise<EmailConfirmed> {
  return deps.sql.begin(async (tx) => {
    const used = await consumeEmailToken(tx, emailTokenHash(input.token));
    const user = used ? await getUser(tx, used.userId) : null;
    if (!used || !user) throw new DomainError('unauthenticated', 'this link has expired, was already used, or was replaced');
    const verifiedBefore = user.emailVerifiedAt !== null;
    if (input.password === undefined && !verifiedBefore) {
      throw new DomainError('validation_failed', 'choose a password', {
        errors: [{ path: 'body.password', message: 'choose a password: one set up for you by an admin is replaced' }],
      });
    }
    if (input.password !== undefined) {
      const problem = passwordProblem(input.password, user.email);
      if (problem) {
        throw new DomainError('validation_failed', 'the new password is not acceptable', {
          errors: [{ path: 'body.password', message: problem }],
        });
      }
    }
    const hash = input.password === undefined ? null : await hashPassword(input.password, deps.passwordParams);
    if (!verifiedBefore) await verifyAccount(tx, user.id, hash, used.workspaceId);
    else if (hash) {
      await setPasswordHash(tx, user.id, hash);
      await revokeUserSessions(tx, user.id);
    }
    let joined: EmailConfirmResponse['joined'] = null;
    if (used.workspaceId) {
      await lockMemberships(tx, used.workspaceId);
      if (await activateMembership(tx, used.workspaceId, user.id)) {
        joined = await getWorkspace(tx, used.workspaceId);
        await voidInvitationTokens(tx, user.id, used.workspaceId);
      }
    }
    return {
      userId: user.id,
      verifiedNow: !verifiedBefore,
      answer: { email: user.email, passwordSet: hash !== null, joined },
    };
  });
}
