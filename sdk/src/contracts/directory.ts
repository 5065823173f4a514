import * as z from 'zod';
import { Id, PageLimit, page, Timestamp } from './common.js';
import { WORKSPACES_PER_ORGANISATION } from './organisations.js';
import { WorkspaceSlug } from './workspaces.js';

/*
 * An organisation's directory groups, as its owners, admins and auditors see them
 * (docs/organisations.md, "Groups"). The organisation's identity provider makes the groups and their
 * members (SCIM); the organisation's owners and admins decide which workspace role each group grants.
 * A person's role from their groups is the highest any of them grants in a workspace; a membership
 * given by hand is never changed by a group.
 */

/** What a group grants in a workspace: never `owner`, which stays a person's own grant. */
export const GroupRole = z.enum(['admin', 'developer', 'runner', 'viewer']);
export type GroupRole = z.infer<typeof GroupRole>;

/** The role a group grants in one workspace of the organisation, by slug. */
export const DirectoryGroupRole = z.strictObject({ workspace: WorkspaceSlug, role: GroupRole });
export type DirectoryGroupRole = z.infer<typeof DirectoryGroupRole>;

export const DirectoryGroup = z.strictObject({
  id: Id,
  displayName: z.string(),
  /** The identity provider's own id for the group, when it sent one. */
  externalId: z.string().nullable(),
  /** How many people the directory put in the group. */
  members: z.number().int().min(0),
  /** The role the group grants in each workspace, by workspace slug; empty when it grants none. */
  roles: z.array(DirectoryGroupRole),
  createdAt: Timestamp,
  /** When the directory last changed the group (its name or members); changing its roles leaves it. */
  updatedAt: Timestamp,
});
export type DirectoryGroup = z.infer<typeof DirectoryGroup>;

export const OrganisationGroupParams = z.strictObject({ org: WorkspaceSlug, id: Id });

/**
 * A page of the organisation's groups; `cursor` is the last page's `nextCursor`. It carries the last
 * group's name (up to 256 characters of any script, SCIM_TEXT_MAX), hence more room than other lists'.
 */
export const OrganisationGroupsQuery = z.strictObject({
  limit: PageLimit,
  cursor: z.string().max(4000).optional(),
});
export type OrganisationGroupsQuery = z.input<typeof OrganisationGroupsQuery>;

/** The organisation's groups by display name (case-insensitive), then id. */
export const OrganisationGroupsResponse = page(DirectoryGroup);
export type OrganisationGroupsResponse = z.infer<typeof OrganisationGroupsResponse>;

/** A person the directory put in a group. */
export const DirectoryGroupMember = z.strictObject({
  userId: Id,
  email: z.string(),
  name: z.string().nullable(),
  /** False once the directory deactivated the person: their groups then grant them nothing. */
  active: z.boolean(),
});
export type DirectoryGroupMember = z.infer<typeof DirectoryGroupMember>;

/** A page of a group's members; the same shape as the groups' query. */
export const OrganisationGroupMembersQuery = OrganisationGroupsQuery;
export type OrganisationGroupMembersQuery = OrganisationGroupsQuery;

/** A group's members by email. */
export const OrganisationGroupMembersResponse = page(DirectoryGroupMember);
export type OrganisationGroupMembersResponse = z.infer<typeof OrganisationGroupMembersResponse>;

/**
 * Every role the group grants, replacing those it granted: one per workspace, at most one entry for
 * each of the organisation's workspaces. An empty list makes the group grant nothing.
 */
export const PutGroupRolesBody = z.strictObject({
  roles: z
    .array(DirectoryGroupRole)
    .max(WORKSPACES_PER_ORGANISATION)
    .superRefine((roles, ctx) => {
      const seen = new Set<string>();
      roles.forEach((entry, index) => {
        if (seen.has(entry.workspace)) {
          ctx.addIssue({
            code: 'custom',
            path: [index, 'workspace'],
            message: `the workspace "${entry.workspace}" is named more than once: a group grants one role per workspace`,
          });
        }
        seen.add(entry.workspace);
      });
    }),
});
export type PutGroupRolesBody = z.infer<typeof PutGroupRolesBody>;
