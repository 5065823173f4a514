import { type DirectoryGroup, ORGANISATION_ADMINS, ORGANISATION_READERS } from '@outpost/sdk/contracts';
import { z } from 'zod';
import type { Principal } from '../auth/principal.js';
import type { AppDeps } from '../context.js';
import type { Db } from '../db/client.js';
import { encodeCursor } from '../db/values.js';
import { DomainError, notFound } from '../domain-error.js';
import { decodeCursor } from '../http/pagination.js';
import type { Handlers } from '../http/route-types.js';
import { forgetRevokedKeys } from './db/credentials.js';
import { applyDirectoryRoles, directoryTransaction } from './db/directory.js';
import {
  directoryGroupMemberIds,
  getDirectoryGroup,
  listDirectoryGroupMembers,
  listDirectoryGroups,
  organisationWorkspacesBySlug,
  replaceDirectoryGroupRoles,
} from './db/directory-groups.js';
import type { OrganisationRow } from './db/organisations.js';
import { actingIn, actingWithRole, noteIn } from './organisation-handlers.js';
import { assertMayStaffAll, organisationWithRole } from './organisations.js';

/*
 * The organisation's side of its directory groups (docs/organisations.md, "Groups"): owners, admins
 * and auditors read the groups the identity provider made and their members; owners and admins decide
 * which role each group grants in each workspace. A group never grants owner (GroupRole has none),
 * and never changes a membership given by hand: db/directory.ts recomputes only the memberships
 * groups made, to the highest role any of the person's groups grants in the workspace.
 *
 * Groups are made by the directory alone, so a group of another organisation, or none, is the same
 * 404; and a person outside the organisation gets the 404 of a missing organisation (actingIn).
 */

/** A cursor of the groups' list: the last group's lowercased display name and id. */
const GroupCursor = z.tuple([z.string().max(3000), z.uuid()]);
/** A cursor of a group's members: the last member's email (unique). */
const MemberCursor = z.tuple([z.string().max(320)]);

/** The organisation, once the person's organisation role may read its groups. */
async function readableOrganisation(deps: AppDeps, principal: Principal, org: string): Promise<OrganisationRow> {
  const userId = await actingIn(deps, principal, org);
  return organisationWithRole(deps.sql, userId, org, ORGANISATION_READERS, "reading the organisation's groups");
}

async function groupOf(db: Db, organisationId: string, groupId: string): Promise<DirectoryGroup> {
  const group = await getDirectoryGroup(db, organisationId, groupId);
  if (!group) throw notFound('group');
  return group;
}

export const organisationGroupHandlers = {
  organisationGroupsList: async ({ params, query, principal, deps }) => {
    const after = decodeCursor(query.cursor, GroupCursor);
    const organisation = await readableOrganisation(deps, principal, params.org);
    const page = await listDirectoryGroups(deps.sql, organisation.id, after, query.limit);
    return { items: page.items, nextCursor: page.next ? encodeCursor(page.next) : null };
  },

  organisationGroupGet: async ({ params, principal, deps }) => {
    const organisation = await readableOrganisation(deps, principal, params.org);
    return groupOf(deps.sql, organisation.id, params.id);
  },

  organisationGroupMembersList: async ({ params, query, principal, deps }) => {
    const after = decodeCursor(query.cursor, MemberCursor);
    const organisation = await readableOrganisation(deps, principal, params.org);
    await groupOf(deps.sql, organisation.id, params.id);
    const page = await listDirectoryGroupMembers(deps.sql, organisation.id, params.id, after?.[0] ?? null, query.limit);
    return { items: page.items, nextCursor: page.next === null ? null : encodeCursor([page.next]) };
  },

  organisationGroupRolesPut: async ({ params, body, principal, deps, audit, logger }) => {
    const doing = 'changing the roles a group grants';
    const { userId, organisation: seen } = await actingWithRole(deps, principal, params.org, ORGANISATION_ADMINS, doing);
    // Under the organisation's lock, as the directory's own changes of groups and members are, so the
    // memberships recomputed below see one mapping and one set of members, and within the directory's
    // time limit; the person's role is read again under the lock, so a role taken away a moment ago
    // no longer acts.
    const { group, granted, members, revokedKeyIds } = await directoryTransaction(deps.sql, seen.id, true, async (tx) => {
      const organisation = await organisationWithRole(tx, userId, params.org, ORGANISATION_ADMINS, doing);
      const before = await groupOf(tx, organisation.id, params.id);

      const bySlug = await organisationWorkspacesBySlug(
        tx,
        organisation.id,
        body.roles.map((r) => r.workspace),
      );
      // The same answer whether another organisation has a workspace of that slug or nobody does:
      // the organisation's admins learn nothing of other organisations here.
      const unknown = body.roles.flatMap((r, index) =>
        bySlug.has(r.workspace)
          ? []
          : [{ path: `body.roles.${index}.workspace`, message: `no workspace of this organisation is named "${r.workspace}"` }],
      );
      if (unknown.length > 0) {
        throw new DomainError(
          'validation_failed',
          `a group grants roles only in workspaces of the organisation "${params.org}"`,
          { errors: unknown },
        );
      }
      const roles = body.roles.map((r) => ({ workspaceId: bySlug.get(r.workspace) as string, role: r.role }));
      const previous = await replaceDirectoryGroupRoles(tx, before.id, roles);
      const memberIds = await directoryGroupMemberIds(tx, before.id);
      // The rules of staffing by hand: an admin does not give roles to owners or admins through a group.
      await assertMayStaffAll(tx, organisation.id, organisation.role, memberIds);
      // One recomputation for every member at once: a group may hold thousands of people.
      const changes = await applyDirectoryRoles(tx, organisation.id, memberIds);
      const now = new Map(roles.map((r) => [r.workspaceId, r.role]));
      const changed = [...new Set([...previous.keys(), ...now.keys()])].filter((id) => previous.get(id) !== now.get(id));
      return {
        group: await groupOf(tx, organisation.id, before.id),
        granted: changed.map((workspaceId) => ({ workspaceId, role: now.get(workspaceId) ?? null })),
        members: memberIds.length,
        revokedKeyIds: changes.revokedKeyIds,
      };
    });
    // Keys of people who lost a workspace went with it (identity/db/credentials.ts); this app believes them no longer.
    forgetRevokedKeys(deps.apiKeys, revokedKeyIds);
    // Each workspace whose grant changed records it, so its own admins see who changed which group's
    // role there; the call itself is recorded in the session's workspace, as every call is.
    for (const { workspaceId, role } of granted) {
      noteIn(audit, principal, [workspaceId], {
        targetIds: { groupId: group.id, workspaceId },
        summary: { group: group.displayName.slice(0, 200), role },
      });
    }
    logger.info({ groupId: group.id, workspaces: granted.length, members }, "group's roles set");
    return group;
  },
} satisfies Pick<
  Handlers,
  'organisationGroupsList' | 'organisationGroupGet' | 'organisationGroupMembersList' | 'organisationGroupRolesPut'
>;
