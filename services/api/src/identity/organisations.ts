import {
  HEALTH_WINDOW_HOURS,
  type MemberRole,
  ORGANISATION_ADMINS,
  ORGANISATION_READERS,
  type Organisation,
  type OrganisationHealthResponse,
  type OrganisationMember,
  type OrganisationRole,
  type OrganisationWorkspace,
  type OrganisationWorkspaceMember,
  TOKEN_SCOPE_MAKERS,
  WORKSPACES_PER_ACCOUNT,
  WORKSPACES_PER_ORGANISATION,
  type WorkspaceHealth,
} from '@outpost/sdk/contracts';
import { loadBlockers } from '../assets/db/asset-status.js';
import { deleteMembership, getMember, lockMemberships, remainingOwners } from '../auth/db/memberships.js';
import { revokeTokensOutrankingMaker } from '../auth/db/organisation-tokens.js';
import { getUser, releaseManagedAccount, revokeUserSessions } from '../auth/db/users.js';
import type { AppDeps } from '../context.js';
import { countRows, type Db, type TxSql } from '../db/client.js';
import { textArray } from '../db/values.js';
import { DomainError, notFound } from '../domain-error.js';
import { setWorkspaceSchedulesArchived } from '../runs/db/schedules.js';
import {
  forgetRevokedKeys,
  revokeCredentialsInOrganisation,
  revokeCredentialsInWorkspace,
  revokeKeysAboveRole,
} from './db/credentials.js';
import {
  applyDirectoryRoles,
  assertNotTheDirectorys,
  deleteDirectoryUser,
  deprovisionDirectoryUser,
  directoryTransaction,
} from './db/directory.js';
import { voidInvitationTokens } from './db/email-tokens.js';
import {
  deleteOrganisationMember,
  getOrganisationMember,
  insertOrganisationWorkspace,
  listOrganisationMembers,
  lockOrganisation,
  type MemberKey,
  type OrganisationRow,
  organisationsOf,
  organisationsWithWorkspaces,
  organisationWorkspace,
  otherOrganisationOwners,
  putActiveMembership,
  putOrganisationMember,
  renameOrganisation,
  renameWorkspace,
  setWorkspaceArchived,
  workspaceCounts,
} from './db/organisations.js';
import { countWorkspacesCreatedBy } from './db/workspaces.js';

/*
 * Organisations own workspaces (docs/organisations.md). Every route here acts for a person (a
 * session opened with a password or single sign-on) on an organisation named by slug, with the
 * powers of their organisation role, read afresh in the transaction that acts:
 * - an organisation the person is not in is a 404, exactly like one that does not exist;
 * - reading the organisation's people needs owner, admin or auditor; changing anything, owner or
 *   admin; granting or taking away owner or admin, owner;
 * - those powers need an address the person proved: an account a workspace manages may have a
 *   password that workspace's admins set, and must not carry the organisation's keys.
 */

/** The organisation by slug with the person's role in it; a 404 when they are not in it. */
async function organisationFor(db: Db, userId: string, slug: string): Promise<OrganisationRow> {
  const [organisation] = await organisationsOf(db, userId, slug);
  if (!organisation) throw notFound('organisation');
  return organisation;
}

async function assertRole(
  db: Db,
  userId: string,
  organisation: OrganisationRow,
  allowed: readonly OrganisationRole[],
  doing: string,
): Promise<void> {
  if (!allowed.includes(organisation.role)) {
    throw new DomainError(
      'forbidden',
      `${doing} needs the organisation role ${allowed.map((r) => `"${r}"`).join(' or ')}; yours is "${organisation.role}"`,
    );
  }
  const user = await getUser(db, userId);
  if (!user?.emailVerifiedAt) {
    throw new DomainError(
      'forbidden',
      `confirm your email address before ${doing}: organisation roles act only for a proven address`,
    );
  }
}

/**
 * The organisation, locked against other changes to its people and workspaces until the transaction
 * ends, with the person's role read again under the lock: a role taken away a moment ago is gone.
 */
async function lockedOrganisationFor(tx: Db, userId: string, slug: string): Promise<OrganisationRow> {
  const seen = await organisationFor(tx, userId, slug);
  await lockOrganisation(tx, seen.id);
  return organisationFor(tx, userId, slug);
}

/** The organisation's workspace by slug; a 404 when the organisation has none of that slug. */
async function workspaceOf(db: Db, organisation: OrganisationRow, slug: string, userId: string): Promise<OrganisationWorkspace> {
  const workspace = await organisationWorkspace(db, organisation.id, slug, userId);
  if (!workspace) throw notFound('workspace');
  return workspace;
}

/**
 * The organisation by slug, once the person's role in it is one of `allowed` and their address is
 * proven; `doing` says what for, in the refusal.
 */
export async function organisationWithRole(
  db: Db,
  userId: string,
  slug: string,
  allowed: readonly OrganisationRole[],
  doing: string,
): Promise<OrganisationRow> {
  const organisation = await organisationFor(db, userId, slug);
  await assertRole(db, userId, organisation, allowed, doing);
  return organisation;
}

export async function listOrganisations(deps: AppDeps, userId: string): Promise<Organisation[]> {
  return organisationsWithWorkspaces(deps.sql, userId);
}

export async function getOrganisation(deps: AppDeps, userId: string, slug: string): Promise<Organisation> {
  const [organisation] = await organisationsWithWorkspaces(deps.sql, userId, slug);
  if (!organisation) throw notFound('organisation');
  return organisation;
}

/** Workspaces whose blocked assets the health reads at once. */
const HEALTH_CONCURRENCY = 4;

/**
 * How each workspace the person can open is doing, worst first. The counts are one statement over
 * indexes; the blocked assets are one statement per workspace (at most WORKSPACES_PER_ORGANISATION).
 */
export async function organisationHealth(deps: AppDeps, userId: string, slug: string): Promise<OrganisationHealthResponse> {
  const organisation = await getOrganisation(deps, userId, slug);
  const ids = organisation.workspaces.map((w) => w.id);
  const counts = await workspaceCounts(deps.sql, ids, HEALTH_WINDOW_HOURS);
  const blocked = new Map<string, number>();
  // A few workspaces at a time: each read holds a connection of the pool every request shares.
  for (let i = 0; i < organisation.workspaces.length; i += HEALTH_CONCURRENCY) {
    await Promise.all(
      organisation.workspaces.slice(i, i + HEALTH_CONCURRENCY).map(async (w) => {
        blocked.set(w.id, new Set((await loadBlockers(deps.sql, w.id, null)).map((b) => b.assetKey)).size);
      }),
    );
  }
  const items: WorkspaceHealth[] = [];
  for (const workspace of organisation.workspaces) {
    const count = counts.get(workspace.id);
    items.push({
      workspace,
      failedRuns: count?.failedRuns ?? 0,
      completedRuns: count?.completedRuns ?? 0,
      runningRuns: count?.runningRuns ?? 0,
      lateRuns: count?.lateRuns ?? 0,
      overdueAssets: count?.overdueAssets ?? 0,
      blockedAssets: blocked.get(workspace.id) ?? 0,
    });
  }
  const badness = (h: WorkspaceHealth) => [h.failedRuns, h.blockedAssets + h.overdueAssets, h.lateRuns];
  items.sort((a, b) => {
    const [x, y] = [badness(a), badness(b)];
    for (let i = 0; i < x.length; i++) if ((y[i] ?? 0) !== (x[i] ?? 0)) return (y[i] ?? 0) - (x[i] ?? 0);
    return a.workspace.slug.localeCompare(b.workspace.slug);
  });
  return { windowHours: HEALTH_WINDOW_HOURS, items };
}

export async function updateOrganisation(deps: AppDeps, userId: string, slug: string, name: string): Promise<Organisation> {
  const organisation = await organisationFor(deps.sql, userId, slug);
  await assertRole(deps.sql, userId, organisation, ORGANISATION_ADMINS, 'renaming the organisation');
  await renameOrganisation(deps.sql, organisation.id, name);
  return getOrganisation(deps, userId, slug);
}

/** A new workspace of the organisation, owned by the person who creates it. */
export async function createOrganisationWorkspace(
  deps: AppDeps,
  userId: string,
  slug: string,
  input: { slug: string; name?: string | undefined },
): Promise<OrganisationWorkspace> {
  return deps.sql.begin(async (tx) => {
    const organisation = await lockedOrganisationFor(tx, userId, slug);
    await assertRole(tx, userId, organisation, ORGANISATION_ADMINS, 'creating a workspace');
    if (organisation.selfService) await assertAccountQuota(tx, userId);
    const held = await countRows(tx, tx`workspaces WHERE organisation_id = ${organisation.id}`);
    if (held >= WORKSPACES_PER_ORGANISATION) {
      throw new DomainError(
        'quota_exceeded',
        `an organisation holds at most ${WORKSPACES_PER_ORGANISATION} workspaces (archived ones count), and this one holds ${held}`,
      );
    }
    const created = await insertOrganisationWorkspace(tx, {
      organisationId: organisation.id,
      slug: input.slug,
      name: input.name ?? input.slug,
      createdBy: userId,
    });
    if (!created) {
      throw new DomainError('conflict', `a workspace with the slug "${input.slug}" already exists`, {
        errors: [{ path: 'body.slug', message: 'already taken' }],
      });
    }
    await putActiveMembership(tx, created.id, userId, 'owner');
    return workspaceOf(tx, organisation, input.slug, userId);
  });
}

/**
 * An organisation an account made for itself (`POST /workspaces`) is no way round the account's
 * WORKSPACES_PER_ACCOUNT: each workspace made in it counts against the account that made it, as its
 * first did, so its quotas cannot be multiplied by making workspaces inside it. The account's row is
 * locked, as `createOwnWorkspace` locks it.
 */
async function assertAccountQuota(tx: Db, userId: string): Promise<void> {
  await tx`SELECT 1 FROM users WHERE id = ${userId} FOR UPDATE`;
  const created = await countWorkspacesCreatedBy(tx, userId);
  if (created >= WORKSPACES_PER_ACCOUNT) {
    throw new DomainError(
      'quota_exceeded',
      `an account may create at most ${WORKSPACES_PER_ACCOUNT} workspaces in organisations made by people (the limit "workspacesPerAccount"), and this one created ${created}`,
    );
  }
}

export async function updateOrganisationWorkspace(
  deps: AppDeps,
  userId: string,
  slug: string,
  workspaceSlug: string,
  name: string,
): Promise<OrganisationWorkspace> {
  const organisation = await organisationFor(deps.sql, userId, slug);
  await assertRole(deps.sql, userId, organisation, ORGANISATION_ADMINS, 'renaming a workspace');
  const workspace = await workspaceOf(deps.sql, organisation, workspaceSlug, userId);
  await renameWorkspace(deps.sql, workspace.id, name);
  return { ...workspace, name };
}

/**
 * Archives or restores the workspace in the caller's transaction, its schedules with it; false when
 * it already was so.
 */
export async function archiveWorkspaceIn(tx: TxSql, workspaceId: string, archived: boolean): Promise<boolean> {
  if (!(await setWorkspaceArchived(tx, workspaceId, archived))) return false;
  await setWorkspaceSchedulesArchived(tx, workspaceId, archived);
  return true;
}

/**
 * Archives or restores a workspace. Archived, it keeps every record readable and refuses every
 * change (http: `whileArchived`), its background loops skip it, its workers' claims are refused,
 * and its schedules stop as a paused deployment's do; runs already under way report to the end. The app's cache of API keys is emptied, so its keys
 * learn of it at once here and within seconds on other replicas (API_KEY_CACHE_MS).
 */
export async function setOrganisationWorkspaceArchived(
  deps: AppDeps,
  userId: string,
  slug: string,
  workspaceSlug: string,
  archived: boolean,
): Promise<OrganisationWorkspace> {
  const organisation = await organisationFor(deps.sql, userId, slug);
  await assertRole(
    deps.sql,
    userId,
    organisation,
    ORGANISATION_ADMINS,
    archived ? 'archiving a workspace' : 'restoring a workspace',
  );
  const workspace = await workspaceOf(deps.sql, organisation, workspaceSlug, userId);
  const changed = await deps.sql.begin((tx) => archiveWorkspaceIn(tx, workspace.id, archived));
  if (!changed) {
    throw new DomainError('conflict', `the workspace "${workspaceSlug}" is ${archived ? 'already archived' : 'not archived'}`);
  }
  deps.apiKeys.forgetAll();
  return workspaceOf(deps.sql, organisation, workspaceSlug, userId);
}

/** A page of the organisation's people in the order they joined, after `after` (the last page's last). */
export async function listMembersOfOrganisation(
  deps: AppDeps,
  userId: string,
  slug: string,
  after: MemberKey | null,
  limit: number,
): Promise<{ items: OrganisationMember[]; next: MemberKey | null }> {
  const organisation = await organisationFor(deps.sql, userId, slug);
  await assertRole(deps.sql, userId, organisation, ORGANISATION_READERS, "reading the organisation's people");
  return listOrganisationMembers(deps.sql, organisation.id, after, limit);
}

/** Owners alone grant or take away owner and admin; the organisation keeps at least one owner. */
export async function changeOrganisationRole(
  deps: AppDeps,
  userId: string,
  slug: string,
  memberId: string,
  role: OrganisationRole,
): Promise<OrganisationMember> {
  return deps.sql.begin(async (tx) => {
    const organisation = await lockedOrganisationFor(tx, userId, slug);
    await assertRole(tx, userId, organisation, ORGANISATION_ADMINS, 'changing organisation roles');
    const member = await getOrganisationMember(tx, organisation.id, memberId);
    if (!member) throw notFound('organisation member');
    if ([member.role, role].some((r) => ORGANISATION_ADMINS.includes(r)) && organisation.role !== 'owner') {
      throw new DomainError('forbidden', 'only an organisation owner can grant or take away owner or admin');
    }
    if (member.role === 'owner' && role !== 'owner' && (await otherOrganisationOwners(tx, organisation.id, memberId)) === 0) {
      throw new DomainError('conflict', 'the organisation would have no owner left; make someone else owner first');
    }
    await putOrganisationMember(tx, organisation.id, memberId, role);
    // A token never outranks its maker: those whose scopes need the role taken away go with it.
    await revokeTokensOutrankingMaker(tx, organisation.id, memberId);
    // Sessions read the organisation role on every request, so a reader's view ends or begins at once.
    return { ...member, role };
  });
}

/**
 * Takes a person out of the organisation: every membership and invitation in its workspaces, their
 * sessions in them and the API keys they made there end in one transaction. An account one of those workspaces manages is let
 * go, its password (which that workspace's admins may know) cleared. Returns the workspaces they left.
 */
export async function removeFromOrganisation(deps: AppDeps, userId: string, slug: string, memberId: string): Promise<string[]> {
  let revokedKeys: string[] = [];
  const left = await deps.sql.begin(async (tx) => {
    const organisation = await lockedOrganisationFor(tx, userId, slug);
    await assertRole(tx, userId, organisation, ORGANISATION_ADMINS, 'removing people from the organisation');
    const member = await getOrganisationMember(tx, organisation.id, memberId);
    if (!member) throw notFound('organisation member');
    await assertNotTheDirectorys(tx, { organisationId: organisation.id, userId: memberId });
    if (ORGANISATION_ADMINS.includes(member.role) && organisation.role !== 'owner') {
      throw new DomainError('forbidden', 'only an organisation owner can remove an owner or admin');
    }
    if (member.role === 'owner' && (await otherOrganisationOwners(tx, organisation.id, memberId)) === 0) {
      throw new DomainError('conflict', 'the organisation would have no owner left; make someone else owner first');
    }
    for (const workspace of member.workspaces) {
      const place = await organisationWorkspace(tx, organisation.id, workspace.slug, memberId);
      if (place) await assertNotLastOwner(tx, place.id, memberId, workspace.slug);
    }
    const left = await deleteOrganisationMember(tx, organisation.id, memberId);
    for (const workspaceId of left) {
      await voidInvitationTokens(tx, memberId, workspaceId);
      await releaseManagedAccount(tx, memberId, workspaceId);
    }
    revokedKeys = (await revokeCredentialsInOrganisation(tx, organisation.id, memberId, deps.apiKeys)).apiKeyIds;
    return left;
  });
  forgetRevokedKeys(deps.apiKeys, revokedKeys);
  return left;
}

/** An organisation's owners and admins are staffed by its owners only: an admin does not rearrange the people above them. */
function assertMayStaff(organisation: OrganisationRow, member: OrganisationMember): void {
  if (ORGANISATION_ADMINS.includes(member.role) && organisation.role !== 'owner') {
    throw new DomainError('forbidden', "only an organisation owner can change an owner's or admin's workspace roles");
  }
}

/**
 * assertMayStaff for many people at once, in one statement however many: what changing a group's
 * members or roles does to each of them. `actorRole` is the organisation role of the person acting,
 * by hand or through a token they made; a group holding an owner or admin is staffed by owners only,
 * or an admin could give themselves (or another admin) a role through a group they are in.
 */
export async function assertMayStaffAll(
  db: Db,
  organisationId: string,
  actorRole: OrganisationRole,
  memberIds: readonly string[],
): Promise<void> {
  if (actorRole === 'owner' || memberIds.length === 0) return;
  const admins = await countRows(
    db,
    db`organisation_members
       WHERE organisation_id = ${organisationId} AND user_id = ANY(${textArray(db, [...new Set(memberIds)])}::uuid[])
         AND role = ANY(${textArray(db, ORGANISATION_ADMINS)}::text[])`,
  );
  if (admins > 0) {
    throw new DomainError(
      'forbidden',
      `only an organisation owner can change an owner's or admin's workspace roles, and this change concerns ${admins} of them`,
    );
  }
}

/**
 * What a `scim` token may do to these people: what its maker may do by hand (assertMayStaffAll), with
 * their organisation role read again under the organisation's lock, which the caller holds. A maker
 * who no longer holds a role that may keep the token is refused (`403`), though the token is revoked in
 * the transaction that changed their role and refused at authentication. A token without a maker was
 * made by the server's operator, not through the API: it acts with an owner's powers.
 */
export async function assertTokenMayStaff(
  db: Db,
  token: { organisationId: string; createdBy: string | null },
  memberIds: readonly string[],
): Promise<void> {
  if (token.createdBy === null) return;
  const [maker] = await db<{ role: OrganisationRole }[]>`
    SELECT role FROM organisation_members WHERE organisation_id = ${token.organisationId} AND user_id = ${token.createdBy}`;
  if (!maker || !TOKEN_SCOPE_MAKERS.scim.includes(maker.role)) {
    throw new DomainError('forbidden', 'the person who made this token no longer holds a role that may use it');
  }
  await assertMayStaffAll(db, token.organisationId, maker.role, memberIds);
}

async function assertNotLastOwner(db: Db, workspaceId: string, userId: string, slug: string): Promise<void> {
  await lockMemberships(db, workspaceId);
  const member = await getMember(db, workspaceId, userId);
  if (member?.role === 'owner' && member.state === 'active' && (await remainingOwners(db, workspaceId, userId)) === 0) {
    throw new DomainError('conflict', `the workspace "${slug}" would have no owner left; make someone else its owner first`);
  }
}

/**
 * Gives a person of the organisation a role in one of its workspaces, or changes it. The membership
 * is active at once: the person is already the organisation's, so nothing of theirs is disclosed.
 */
export async function putWorkspaceMember(
  deps: AppDeps,
  userId: string,
  slug: string,
  workspaceSlug: string,
  memberId: string,
  role: MemberRole,
): Promise<OrganisationWorkspaceMember & { workspaceId: string }> {
  let revokedKeys: string[] = [];
  const put = await deps.sql.begin(async (tx) => {
    const organisation = await lockedOrganisationFor(tx, userId, slug);
    await assertRole(tx, userId, organisation, ORGANISATION_ADMINS, "managing a workspace's members");
    const workspace = await workspaceOf(tx, organisation, workspaceSlug, userId);
    const member = await getOrganisationMember(tx, organisation.id, memberId);
    if (!member) throw notFound('organisation member');
    assertMayStaff(organisation, member);
    if (role !== 'owner') await assertNotLastOwner(tx, workspace.id, memberId, workspaceSlug);
    else await lockMemberships(tx, workspace.id);
    await putActiveMembership(tx, workspace.id, memberId, role);
    // A key never outranks its maker: those the person made above the new role go.
    revokedKeys = await revokeKeysAboveRole(tx, workspace.id, memberId, role);
    return { userId: memberId, workspace: workspaceSlug, role, workspaceId: workspace.id };
  });
  forgetRevokedKeys(deps.apiKeys, revokedKeys);
  return put;
}

export async function removeWorkspaceMember(
  deps: AppDeps,
  userId: string,
  slug: string,
  workspaceSlug: string,
  memberId: string,
): Promise<{ workspaceId: string }> {
  let revokedKeys: string[] = [];
  const removed = await deps.sql.begin(async (tx) => {
    const organisation = await lockedOrganisationFor(tx, userId, slug);
    await assertRole(tx, userId, organisation, ORGANISATION_ADMINS, "managing a workspace's members");
    const workspace = await workspaceOf(tx, organisation, workspaceSlug, userId);
    const member = await getOrganisationMember(tx, organisation.id, memberId);
    if (!member) throw notFound('member');
    assertMayStaff(organisation, member);
    await assertNotTheDirectorys(tx, { organisationId: organisation.id, userId: memberId, workspaceId: workspace.id });
    await assertNotLastOwner(tx, workspace.id, memberId, workspaceSlug);
    if (!(await deleteMembership(tx, workspace.id, memberId))) throw notFound('member');
    await voidInvitationTokens(tx, memberId, workspace.id);
    const released = await releaseManagedAccount(tx, memberId, workspace.id);
    await revokeUserSessions(tx, memberId, released ? null : workspace.id);
    revokedKeys = (await revokeCredentialsInWorkspace(tx, workspace.id, memberId, deps.apiKeys)).apiKeyIds;
    // What their directory groups grant here, if anything, takes the place of what was given by hand.
    await applyDirectoryRoles(tx, organisation.id, [memberId]);
    return { workspaceId: workspace.id };
  });
  forgetRevokedKeys(deps.apiKeys, revokedKeys);
  return removed;
}

/** What forgetting a person of the directory ended. */
export interface ForgottenDirectoryPerson {
  /** The workspaces where the person lost a membership (direct or given by groups). */
  workspaceIds: string[];
  /** Whether they left the organisation (the directory had made their account). */
  leftOrganisation: boolean;
  /** Whether their account went too: the directory made it and nobody ever used it. */
  accountDeleted: boolean;
  sessionsEnded: number;
}

/**
 * Forgets a person the organisation's directory provisioned, for its owners: for an identity provider
 * that is gone, or a record it will never delete. The directory's record of the person goes, with
 * their place in its groups and what those groups gave (db/directory.ts applyDirectoryRoles; what the
 * organisation's single sign-on lists for them stays hers to give), and their sessions in the
 * organisation's workspaces end. A person whose account the directory made was made the
 * organisation's by the directory, so they leave it as a directory's DELETE takes them out
 * (deprovisionDirectoryUser), and their account goes too when nobody ever used it. Whatever would leave
 * a workspace or the organisation without an owner is refused with a 409 naming it
 * (db/organisations.ts deleteOrganisationMember); nothing is changed then.
 */
export async function forgetDirectoryPerson(
  deps: AppDeps,
  userId: string,
  slug: string,
  personId: string,
): Promise<ForgottenDirectoryPerson> {
  const doing = 'forgetting a person of the directory';
  const seen = await organisationWithRole(deps.sql, userId, slug, ['owner'], doing);
  let revokedKeys: string[] = [];
  const forgotten = await directoryTransaction(deps.sql, seen.id, true, async (tx) => {
    // Read again under the organisation's lock: a role taken away a moment ago no longer acts.
    const organisation = await organisationWithRole(tx, userId, slug, ['owner'], doing);
    const [record] = await tx<{ account_made: boolean }[]>`
      SELECT account_made FROM directory_users WHERE organisation_id = ${organisation.id} AND user_id = ${personId}`;
    if (!record) throw notFound('person of the directory');
    const workspaceIds = new Set<string>();
    let sessionsEnded = 0;
    let leftOrganisation = false;
    if (record.account_made && (await getOrganisationMember(tx, organisation.id, personId))) {
      const gone = await deprovisionDirectoryUser(tx, organisation.id, personId, deps.apiKeys);
      for (const id of gone.workspaceIds) workspaceIds.add(id);
      sessionsEnded += gone.sessions;
      revokedKeys = gone.apiKeyIds;
      leftOrganisation = true;
    }
    const { accountDeleted } = await deleteDirectoryUser(tx, organisation.id, personId);
    if (!accountDeleted) {
      // Out of the groups, nothing of theirs grants a role any more: what the groups gave goes.
      const changes = await applyDirectoryRoles(tx, organisation.id, [personId]);
      for (const id of changes.workspaceIds) workspaceIds.add(id);
      sessionsEnded += changes.sessionsEnded;
      revokedKeys = [...revokedKeys, ...changes.revokedKeyIds];
      const ended = await tx`
        UPDATE sessions SET revoked_at = now()
        WHERE user_id = ${personId} AND revoked_at IS NULL
          AND workspace_id IN (SELECT id FROM workspaces WHERE organisation_id = ${organisation.id})
        RETURNING id`;
      sessionsEnded += ended.length;
    }
    return { workspaceIds: [...workspaceIds], leftOrganisation, accountDeleted, sessionsEnded };
  });
  forgetRevokedKeys(deps.apiKeys, revokedKeys);
  return forgotten;
}

/** The ids of every workspace of the organisation: where an organisation-wide change is recorded. */
export async function organisationWorkspaceIds(deps: AppDeps, userId: string, slug: string): Promise<string[]> {
  const [organisation] = await organisationsOf(deps.sql, userId, slug);
  if (!organisation) return [];
  const rows = await deps.sql<{ id: string }[]>`SELECT id FROM workspaces WHERE organisation_id = ${organisation.id}`;
  return rows.map((r) => r.id);
}
