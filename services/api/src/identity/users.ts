import { createHash, randomBytes } from 'node:crypto';
import type {
  EmailDelivery,
  Member,
  MemberAddOutcome,
  MemberAddRequest,
  MemberAddResponse,
  MemberRole,
  Role,
  SessionMethod,
} from '@outpost/sdk/contracts';
import {
  deleteMembership,
  getMember,
  insertMembership,
  lockMemberships,
  openableWorkspaces,
  remainingOwners,
  updateMembershipRole,
} from '../auth/db/memberships.js';
import { revokeSessionById } from '../auth/db/sessions.js';
import {
  claimUnheldAccount,
  consumeSetupToken,
  ensureUser,
  findUserByEmail,
  getUser,
  insertSetupToken,
  releaseManagedAccount,
  revokeUserSessions,
  setPasswordHash,
  upgradePasswordHash,
} from '../auth/db/users.js';
import { hashPassword, passwordProblem, verifyPassword } from '../auth/passwords.js';
import type { Principal } from '../auth/principal.js';
import { type OpenedSession, openUserSession } from '../auth/sessions.js';
import type { AppDeps } from '../context.js';
import type { Db } from '../db/client.js';
import { DomainError, notFound } from '../domain-error.js';
import { takeMailOrThrow } from '../mail/mail-quota.js';
import { invitationMail, newAccountMail } from '../mail/messages.js';
import { forgetRevokedKeys, revokeCredentialsInWorkspace, revokeKeysAboveRole } from './db/credentials.js';
import { applyDirectoryRoles, assertNotTheDirectorys } from './db/directory.js';
import { voidInvitationTokens } from './db/email-tokens.js';
import { lockOrganisation, organisationOfWorkspace, organisationSlugOf } from './db/organisations.js';
import { getWorkspace } from './db/workspaces.js';
import { type EmailLink, newEmailLink } from './email-links.js';

/** A setup token (first password, or a reset an admin issued) works this long. */
const SETUP_TOKEN_SECONDS = 7 * 24 * 3600;

const sha256 = (value: string) => createHash('sha256').update(value, 'utf8').digest('hex');

function callerRole(principal: Principal): Role | null {
  return principal.kind === 'run_token' ? null : principal.role;
}

/** Only owners make, unmake or manage owners. */
function assertMayManage(principal: Principal, ...roles: MemberRole[]): void {
  if (roles.includes('owner') && callerRole(principal) !== 'owner') {
    throw new DomainError('forbidden', 'only an owner can grant, change or take away the owner role');
  }
}

async function newSetupToken(db: Db, userId: string, workspaceId: string): Promise<{ token: string; expiresAt: Date }> {
  const token = randomBytes(32).toString('base64url');
  const { expiresAt } = await insertSetupToken(db, {
    tokenHash: sha256(token),
    userId,
    workspaceId,
    ttlSeconds: SETUP_TOKEN_SECONDS,
  });
  return { token, expiresAt };
}

// ---- memberships -----------------------------------------------------------------------------------

/** What the admin who added someone is told: what happened, and how the person gets in. */
function addedMessage(outcome: MemberAddOutcome, email: EmailDelivery): string {
  const created = 'A new account, managed by this workspace: it signs in here only until the person confirms their address.';
  const invited =
    'This address already has an account, so it was invited: the membership grants nothing until the person accepts.';
  switch (`${outcome}:${email}` as const) {
    case 'created:sent':
      return `${created} They were emailed a link to confirm it and choose a password; the setup token works too (for this workspace only).`;
    case 'created:failed':
      return `${created} The email to them could not be sent; hand them the setup link yourself.`;
    case 'created:not_configured':
      return `${created} No email server is configured (OUTPOST_SMTP_URL), so nothing was sent: hand them the setup link yourself.`;
    case 'invited:sent':
      return `${invited} They were emailed a link to accept (confirming their address on the way).`;
    case 'invited:failed':
      return `${invited} The email to them could not be sent; remove the invitation and add them again to retry, or ask them to accept in the dashboard.`;
    case 'invited:not_configured':
      // No link is shown: it proves control of the address, and this workspace does not manage the
      // account — in its admin's hands the link would let them take an account that is not theirs.
      return `${invited} No email server is configured (OUTPOST_SMTP_URL), so no invitation was sent, and this answer cannot carry its link: the link proves control of the address, and this workspace does not manage the account. Hand the invitation over some other way: ask them to sign in with a confirmed address and accept it under Settings, or to sign in here with single sign-on.`;
  }
}

/**
 * Adds a person by email. An address without an account gets one, managed by this workspace: its
 * admins hand over the setup token, and it signs in here only. An address with an account — the
 * person's own, or one another workspace manages — is invited instead, with no token: the
 * membership grants nothing until the person, with a proven address, accepts. (An account that no
 * workspace manages any more and nobody verified is taken over as new, its credentials cleared.)
 */
export async function addMember(deps: AppDeps, principal: Principal, input: MemberAddRequest): Promise<MemberAddResponse> {
  assertMayManage(principal, input.role);
  const workspaceId = principal.workspaceId;
  const added = await deps.sql.begin(async (tx) => {
    await lockMemberships(tx, workspaceId);
    const name = input.name ?? null;
    const { user, created } = await ensureUser(tx, { email: input.email, name, managedBy: workspaceId });
    const outcome: MemberAddOutcome =
      created || (await claimUnheldAccount(tx, user.id, workspaceId, name)) ? 'created' : 'invited';
    const state = outcome === 'created' ? 'active' : 'invited';
    if (!(await insertMembership(tx, { workspaceId, userId: user.id, role: input.role, state }))) {
      throw new DomainError('conflict', 'this person is already a member or invited; change their role instead');
    }
    const member = await getMember(tx, workspaceId, user.id);
    const workspace = await getWorkspace(tx, workspaceId);
    if (!member || !workspace) throw new Error(`membership of ${user.id} vanished in its own transaction`);
    const setup = outcome === 'created' ? await newSetupToken(tx, user.id, workspaceId) : null;
    // The mail this addition sends counts against the workspace's mail quota (a 429 when it is used up).
    if (deps.mailer) await takeMailOrThrow(tx, workspaceId, 1, 'adding a member');
    // A link for the address alone: to confirm it (a new account) or to accept (an invitation).
    const link: EmailLink | null = deps.mailer
      ? await newEmailLink(tx, deps.publicUrl, {
          userId: user.id,
          email: user.email,
          workspaceId: outcome === 'invited' ? workspaceId : null,
        })
      : null;
    return { member, workspace, outcome, setup, link, email: user.email };
  });
  let email: EmailDelivery = 'not_configured';
  if (deps.mailer && added.link) {
    const content = { to: added.email, workspace: added.workspace, role: input.role, ...added.link };
    email = await deps.mailer.send(added.outcome === 'created' ? newAccountMail(content) : invitationMail(content), {
      workspaceId,
      userId: added.member.userId,
      purpose: added.outcome === 'created' ? 'new account' : 'invitation',
    });
  }
  return {
    member: added.member,
    outcome: added.outcome,
    setupToken: added.setup?.token ?? null,
    setupTokenExpiresAt: added.setup?.expiresAt.toISOString() ?? null,
    email,
    message: addedMessage(added.outcome, email),
  };
}

export async function changeMemberRole(deps: AppDeps, principal: Principal, userId: string, role: MemberRole): Promise<Member> {
  const workspaceId = principal.workspaceId;
  let revokedKeys: string[] = [];
  const changed = await deps.sql.begin(async (tx) => {
    // The organisation's lock first, as the directory's changes of memberships take it.
    await lockOrganisation(tx, await organisationOfWorkspace(tx, workspaceId));
    await lockMemberships(tx, workspaceId);
    const member = await getMember(tx, workspaceId, userId);
    if (!member) throw notFound('member');
    assertMayManage(principal, member.role, role);
    // An invitation administers nothing, so changing or removing one never leaves the workspace without an owner.
    const activeOwner = member.role === 'owner' && member.state === 'active';
    if (activeOwner && role !== 'owner' && (await remainingOwners(tx, workspaceId, userId)) === 0) {
      throw new DomainError('conflict', 'the workspace would have no owner left; make someone else owner first');
    }
    if (!(await updateMembershipRole(tx, workspaceId, userId, role))) throw notFound('member');
    // Sessions read the role from the membership on every request, so the change applies at once;
    // keys carry their role, so those above the new one go (a key never outranks its maker).
    revokedKeys = await revokeKeysAboveRole(tx, workspaceId, userId, role);
    return { ...member, role };
  });
  forgetRevokedKeys(deps.apiKeys, revokedKeys);
  return changed;
}

export async function removeMember(deps: AppDeps, principal: Principal, userId: string): Promise<void> {
  const workspaceId = principal.workspaceId;
  let revokedKeys: string[] = [];
  await deps.sql.begin(async (tx) => {
    // The organisation's lock first, as every path that changes memberships from groups takes it.
    const organisationId = await organisationOfWorkspace(tx, workspaceId);
    await lockOrganisation(tx, organisationId);
    await lockMemberships(tx, workspaceId);
    const member = await getMember(tx, workspaceId, userId);
    if (!member) throw notFound('member');
    assertMayManage(principal, member.role);
    await assertNotTheDirectorys(tx, { organisationId, userId, workspaceId });
    if (member.role === 'owner' && member.state === 'active' && (await remainingOwners(tx, workspaceId, userId)) === 0) {
      throw new DomainError('conflict', 'the workspace would have no owner left; make someone else owner first');
    }
    await deleteMembership(tx, workspaceId, userId);
    await voidInvitationTokens(tx, userId, workspaceId);
    // An account this workspace manages is let go, its password (which admins here may know) cleared.
    const released = await releaseManagedAccount(tx, userId, workspaceId);
    await revokeUserSessions(tx, userId, released ? null : workspaceId);
    // The keys they made here answer to them: they go with their access.
    revokedKeys = (await revokeCredentialsInWorkspace(tx, workspaceId, userId, deps.apiKeys)).apiKeyIds;
    // What their directory groups grant here, if anything, takes the place of what was given by hand.
    await applyDirectoryRoles(tx, organisationId, [userId]);
  });
  forgetRevokedKeys(deps.apiKeys, revokedKeys);
}

/**
 * A fresh setup token for a member — a password reset by an admin. Only for accounts this
 * workspace manages: such an account signs in here alone, while a verified one is the person's,
 * and whoever sets its password would reach every workspace it belongs to.
 */
export async function issueSetupToken(
  deps: AppDeps,
  principal: Principal,
  userId: string,
): Promise<{ setupToken: string; expiresAt: string }> {
  const workspaceId = principal.workspaceId;
  return deps.sql.begin(async (tx) => {
    await lockMemberships(tx, workspaceId);
    const member = await getMember(tx, workspaceId, userId);
    if (!member) throw notFound('member');
    assertMayManage(principal, member.role);
    const user = await getUser(tx, userId);
    if (!user || user.managedBy !== workspaceId || user.emailVerifiedAt !== null) {
      throw new DomainError(
        'conflict',
        'this workspace does not manage this account (its address is confirmed, or it is invited); the person sets their password themselves',
      );
    }
    const { token, expiresAt } = await newSetupToken(tx, userId, workspaceId);
    return { setupToken: token, expiresAt: expiresAt.toISOString() };
  });
}

// ---- passwords -------------------------------------------------------------------------------------

const wrongCredentials = () => new DomainError('unauthenticated', 'the email or password is wrong');

/** Checks email and password (always at the cost of one scrypt, account or not); the user, or a 401. */
async function checkPassword(deps: AppDeps, email: string, password: string) {
  const user = await findUserByEmail(deps.sql, email);
  const { ok, rehash } = await verifyPassword(password, user?.passwordHash ?? null, deps.passwordParams);
  if (!user || !ok) throw wrongCredentials();
  if (rehash && user.passwordHash) {
    await upgradePasswordHash(deps.sql, user.id, user.passwordHash, await hashPassword(password, deps.passwordParams));
  }
  return user;
}

export interface SignedIn {
  opened: OpenedSession;
  userId: string;
}

/** Email and password to a session in one of the account's workspaces (named by slug when it has several). */
export async function passwordSignIn(
  deps: AppDeps,
  input: { email: string; password: string; workspace?: string | undefined },
  address: string | null,
): Promise<SignedIn> {
  deps.rateLimiter.checkSignIn(input.email, address);
  const user = await checkPassword(deps, input.email, input.password);
  const memberships = await openableWorkspaces(deps.sql, user.id);
  const chosen =
    input.workspace === undefined
      ? memberships.length === 1
        ? memberships[0]
        : undefined
      : memberships.find((m) => m.slug === input.workspace);
  if (!chosen) {
    if (input.workspace !== undefined || memberships.length === 0) {
      throw new DomainError('forbidden', 'this account is not a member of that workspace');
    }
    // Asked for without a list: whoever holds the password learns only that there is more than one.
    // The slugs would tell them which tenants the account reaches (to an admin who set the password of
    // an account they manage, or to someone reading over a shoulder), and the person knows them anyway.
    throw new DomainError('validation_failed', 'name the workspace to sign in to', {
      errors: [{ path: 'body.workspace', message: 'name the workspace to sign in to (its short name, as in its address)' }],
    });
  }
  const opened = await openUserSession(deps.sql, {
    workspaceId: chosen.workspaceId,
    userId: user.id,
    role: chosen.role,
    label: `password sign-in (${user.email})`,
    openedBy: 'password',
  });
  return { opened, userId: user.id };
}

/**
 * Moves a person's session to another workspace they can open (`openableWorkspaces`): a new session
 * there, and the old one ends in the same transaction. The new session keeps the old one's end, so
 * moving never prolongs a session; and only the request that ended the old one gets the new one, so
 * two moves at once cannot fork it. A workspace they cannot open is the same 404 as one that does
 * not exist; the workspace the session is already in is a 409.
 */
export async function switchWorkspace(
  deps: AppDeps,
  input: {
    userId: string;
    sessionId: string;
    fromWorkspaceId: string;
    workspace: string;
    openedBy: SessionMethod;
    /** The slug of the organisation the session is confined to; a workspace outside it is unknown. */
    withinOrganisation: string | null;
  },
): Promise<OpenedSession> {
  const user = await getUser(deps.sql, input.userId);
  if (!user) throw new DomainError('unauthenticated', 'the account of this session no longer exists');
  const chosen = (await openableWorkspaces(deps.sql, user.id)).find((w) => w.slug === input.workspace);
  if (!chosen) throw notFound('workspace');
  if (
    input.withinOrganisation !== null &&
    (await organisationSlugOf(deps.sql, chosen.workspaceId)) !== input.withinOrganisation
  ) {
    throw notFound('workspace');
  }
  if (chosen.workspaceId === input.fromWorkspaceId) {
    throw new DomainError('conflict', `this session is already in the workspace "${input.workspace}"`);
  }
  return deps.sql.begin(async (tx) => {
    const expiresAt = await revokeSessionById(tx, input.sessionId);
    if (!expiresAt) throw new DomainError('unauthenticated', 'the session has ended; sign in again');
    return openUserSession(tx, {
      workspaceId: chosen.workspaceId,
      userId: user.id,
      role: chosen.role,
      label: `switched workspace (${user.email})`,
      openedBy: input.openedBy,
      expiresAt,
    });
  });
}

function assertNewPassword(password: string, email: string, path: string): void {
  const problem = passwordProblem(password, email);
  if (problem)
    throw new DomainError('validation_failed', 'the new password is not acceptable', { errors: [{ path, message: problem }] });
}

/** Changes the password and ends every session of the account (a stolen session must not survive a password change). */
export async function changePassword(
  deps: AppDeps,
  input: { email: string; currentPassword: string; newPassword: string },
  address: string | null,
): Promise<{ userId: string }> {
  deps.rateLimiter.checkSignIn(input.email, address);
  const user = await checkPassword(deps, input.email, input.currentPassword);
  assertNewPassword(input.newPassword, user.email, 'body.newPassword');
  if (input.newPassword === input.currentPassword) {
    throw new DomainError('validation_failed', 'the new password is not acceptable', {
      errors: [{ path: 'body.newPassword', message: 'must differ from the current password' }],
    });
  }
  const hash = await hashPassword(input.newPassword, deps.passwordParams);
  await deps.sql.begin(async (tx) => {
    await setPasswordHash(tx, user.id, hash);
    await revokeUserSessions(tx, user.id);
  });
  return { userId: user.id };
}

/** Sets a password with a one-time setup token; ends every session of the account. */
export async function setupPassword(deps: AppDeps, input: { token: string; password: string }): Promise<{ userId: string }> {
  return deps.sql.begin(async (tx) => {
    // The cheap check first: a made-up token costs one indexed UPDATE, never a scrypt.
    const used = await consumeSetupToken(tx, sha256(input.token));
    const user = used ? await getUser(tx, used.userId) : null;
    if (!user) throw new DomainError('unauthenticated', 'this setup link has expired, was already used, or was replaced');
    // Throwing from here on rolls the transaction back, and the link stays usable.
    assertNewPassword(input.password, user.email, 'body.password');
    await setPasswordHash(tx, user.id, await hashPassword(input.password, deps.passwordParams));
    await revokeUserSessions(tx, user.id);
    return { userId: user.id };
  });
}
