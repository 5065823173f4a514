import type { DirectoryGroup, DirectoryGroupMember, GroupRole } from '@outpost/sdk/contracts';
import type { Db } from '../../db/client.js';
import { iso, keysetPage } from '../../db/values.js';

/*
 * What an organisation's owners, admins and auditors read of its directory groups, and the one thing
 * they change: the role each group grants in each workspace. The directory (SCIM, db/directory.ts)
 * makes the groups and their members; db/directory.ts also turns the mapping into memberships.
 *
 * Costs: a page holds at most MAX_PAGE_SIZE groups, each read with its member count (an index-only
 * count on the members' primary key, at most a group's members) and its roles (at most one per
 * workspace of the organisation). A page of members sorts one group's members by email: a group holds
 * at most SCIM_GROUP_MEMBERS_MAX (10,000) members, so that sort is bounded too.
 */

interface GroupRow {
  id: string;
  display_name: string;
  external_id: string | null;
  created_at: Date;
  updated_at: Date;
  members: number;
  roles: { workspace: string; role: GroupRole }[] | null;
  sort_name: string;
}

const SELECT_GROUP = (db: Db, organisationId: string) => db`
  SELECT g.id, g.display_name, g.external_id, g.created_at, g.updated_at, lower(g.display_name) AS sort_name,
         (SELECT count(*)::int FROM directory_group_members gm WHERE gm.group_id = g.id) AS members,
         (SELECT jsonb_agg(jsonb_build_object('workspace', w.slug, 'role', r.role) ORDER BY w.slug)
          FROM directory_group_roles r JOIN workspaces w ON w.id = r.workspace_id
          WHERE r.group_id = g.id) AS roles
  FROM directory_groups g
  WHERE g.organisation_id = ${organisationId}`;

function toGroup(row: GroupRow): DirectoryGroup {
  return {
    id: row.id,
    displayName: row.display_name,
    externalId: row.external_id,
    members: row.members,
    roles: row.roles ?? [],
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  };
}

/** The sort key of a group in its list: its display name lowercased (as its unique index has it), then its id. */
export type GroupKey = readonly [lowerName: string, id: string];

export interface GroupPage {
  items: DirectoryGroup[];
  /** The key of the last item, when there are more after it. */
  next: GroupKey | null;
}

/**
 * A page of the organisation's groups by lowercased display name, then id, after `after`: the order
 * of the unique index on (organisation_id, lower(display_name)), so a page reads `limit` entries of it.
 */
export async function listDirectoryGroups(
  db: Db,
  organisationId: string,
  after: GroupKey | null,
  limit: number,
): Promise<GroupPage> {
  const rows = await db<GroupRow[]>`
    ${SELECT_GROUP(db, organisationId)}
    ${after === null ? db`` : db`AND (lower(g.display_name), g.id) > (${after[0]}, ${after[1]}::uuid)`}
    ORDER BY lower(g.display_name), g.id
    LIMIT ${limit + 1}`;
  const { items, next } = keysetPage(rows, limit, (last): GroupKey => [last.sort_name, last.id]);
  return { items: items.map(toGroup), next };
}

/** One group of the organisation; null when it has none of that id (another organisation's group included). */
export async function getDirectoryGroup(db: Db, organisationId: string, groupId: string): Promise<DirectoryGroup | null> {
  const [row] = await db<GroupRow[]>`${SELECT_GROUP(db, organisationId)} AND g.id = ${groupId}`;
  return row ? toGroup(row) : null;
}

/**
 * A page of the group's members by email (unique: an account's sign-in name), after `afterEmail`.
 * A member without a directory record of the organisation counts as active, as applyDirectoryRoles
 * counts them: only the directory's own `active: false` takes their groups' roles away. A pending
 * member (provisioned outside the organisation's proven domains, not yet accepted: no account) is
 * listed at the address they were provisioned with, and not active: the group gives them nothing yet.
 */
export async function listDirectoryGroupMembers(
  db: Db,
  organisationId: string,
  groupId: string,
  afterEmail: string | null,
  limit: number,
): Promise<{ items: DirectoryGroupMember[]; next: string | null }> {
  const rows = await db<{ user_id: string; email: string; name: string | null; active: boolean }[]>`
    SELECT m.* FROM (
      SELECT gm.user_id, coalesce(u.email, du.pending_email) AS email, u.name,
             coalesce(du.active, true) AND du.pending_email IS NULL AS active
      FROM directory_group_members gm
      LEFT JOIN users u ON u.id = gm.user_id
      LEFT JOIN directory_users du ON du.organisation_id = ${organisationId} AND du.user_id = gm.user_id
      WHERE gm.group_id = ${groupId}) m
    WHERE m.email IS NOT NULL ${afterEmail === null ? db`` : db`AND m.email > ${afterEmail}`}
    ORDER BY m.email
    LIMIT ${limit + 1}`;
  const { items, next } = keysetPage(rows, limit, (last) => last.email);
  return { items: items.map((r) => ({ userId: r.user_id, email: r.email, name: r.name, active: r.active })), next };
}

/** Every member of the group, by user id: whose roles from groups a change of the group's roles moves. */
export async function directoryGroupMemberIds(db: Db, groupId: string): Promise<string[]> {
  const rows = await db<{ user_id: string }[]>`SELECT user_id FROM directory_group_members WHERE group_id = ${groupId}`;
  return rows.map((r) => r.user_id);
}

/** The organisation's workspaces among `slugs`, archived ones included: slug → id. */
export async function organisationWorkspacesBySlug(
  db: Db,
  organisationId: string,
  slugs: readonly string[],
): Promise<Map<string, string>> {
  if (slugs.length === 0) return new Map();
  const rows = await db<{ id: string; slug: string }[]>`
    SELECT id, slug FROM workspaces WHERE organisation_id = ${organisationId} AND slug = ANY(${db.array([...slugs])}::text[])`;
  return new Map(rows.map((r) => [r.slug, r.id]));
}

/**
 * Replaces the roles the group grants with `roles` (one per workspace); returns the workspaces and
 * roles it granted before, by workspace id. Two statements whatever the number of roles.
 */
export async function replaceDirectoryGroupRoles(
  db: Db,
  groupId: string,
  roles: readonly { workspaceId: string; role: GroupRole }[],
): Promise<Map<string, GroupRole>> {
  const before = await db<{ workspace_id: string; role: GroupRole }[]>`
    DELETE FROM directory_group_roles WHERE group_id = ${groupId} RETURNING workspace_id, role`;
  if (roles.length > 0) {
    await db`
      INSERT INTO directory_group_roles (group_id, workspace_id, role)
      SELECT ${groupId}::uuid, r.workspace_id, r.role
      FROM unnest(${db.array(roles.map((r) => r.workspaceId))}::uuid[], ${db.array(roles.map((r) => r.role))}::text[])
        AS r(workspace_id, role)`;
  }
  return new Map(before.map((r) => [r.workspace_id, r.role]));
}
