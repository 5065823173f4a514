import type {
  MemberRole,
  Organisation,
  OrganisationMember,
  OrganisationRole,
  OrganisationWorkspace,
} from '@outpost/sdk/contracts';
import { lockMemberships, remainingOwners } from '../../auth/db/memberships.js';
import { countRows, type Db, type TxSql } from '../../db/client.js';
import { iso, isoOrNull, keysetPage } from '../../db/values.js';
import { DomainError } from '../../domain-error.js';

/** The organisation roles that read every workspace of the organisation, as SQL. */
const READER_ROLES_SQL = `('owner', 'admin', 'auditor')`;

export interface OrganisationRow {
  id: string;
  slug: string;
  name: string;
  createdAt: string;
  role: OrganisationRole;
  /** Made by an account with its first workspace: its workspaces count against their creators' WORKSPACES_PER_ACCOUNT. */
  selfService: boolean;
}

interface WorkspaceRow {
  organisation_id: string;
  id: string;
  slug: string;
  name: string;
  created_at: Date;
  archived_at: Date | null;
  role: MemberRole;
}

function toOrganisationWorkspace(row: WorkspaceRow): OrganisationWorkspace {
  return {
    id: row.id,
    slug: row.slug,
    name: row.name,
    createdAt: iso(row.created_at),
    archivedAt: isoOrNull(row.archived_at),
    role: row.role,
  };
}

/** The organisations the account belongs to, with its role in each, by slug. */
export async function organisationsOf(db: Db, userId: string, slug: string | null = null): Promise<OrganisationRow[]> {
  const rows = await db<
    { id: string; slug: string; name: string; created_at: Date; role: OrganisationRole; self_service: boolean }[]
  >`
    SELECT o.id, o.slug, o.name, o.created_at, om.role, o.created_by IS NOT NULL AS self_service
    FROM organisation_members om JOIN organisations o ON o.id = om.organisation_id
    WHERE om.user_id = ${userId} ${slug === null ? db`` : db`AND o.slug = ${slug}`}
    ORDER BY o.slug`;
  return rows.map((r) => ({
    id: r.id,
    slug: r.slug,
    name: r.name,
    createdAt: iso(r.created_at),
    role: r.role,
    selfService: r.self_service,
  }));
}

/**
 * The workspaces of these organisations the account can open, with its role in each: its active
 * membership's (usable: an account whose address is not verified opens only the workspace that
 * manages it), else `viewer` where its organisation role reads every workspace (verified accounts only).
 */
export async function workspacesOpenTo(
  db: Db,
  userId: string,
  organisationIds: string[],
): Promise<Map<string, OrganisationWorkspace[]>> {
  const byOrganisation = new Map<string, OrganisationWorkspace[]>(organisationIds.map((id) => [id, []]));
  if (organisationIds.length === 0) return byOrganisation;
  const rows = await db.unsafe<WorkspaceRow[]>(
    `SELECT w.organisation_id, w.id, w.slug, w.name, w.created_at, w.archived_at,
            coalesce(m.role, 'viewer') AS role
     FROM workspaces w
     JOIN users u ON u.id = $1
     JOIN organisation_members om ON om.organisation_id = w.organisation_id AND om.user_id = u.id
     LEFT JOIN memberships m ON m.workspace_id = w.id AND m.user_id = u.id AND m.state = 'active'
       AND (u.email_verified_at IS NOT NULL OR u.managed_by = w.id)
     WHERE w.organisation_id = ANY($2::uuid[])
       AND (m.user_id IS NOT NULL OR (om.role IN ${READER_ROLES_SQL} AND u.email_verified_at IS NOT NULL))
     ORDER BY w.slug`,
    [userId, organisationIds],
  );
  for (const row of rows) byOrganisation.get(row.organisation_id)?.push(toOrganisationWorkspace(row));
  return byOrganisation;
}

/** The organisations of the account with the workspaces it can open in each. */
export async function organisationsWithWorkspaces(db: Db, userId: string, slug: string | null = null): Promise<Organisation[]> {
  const organisations = await organisationsOf(db, userId, slug);
  const workspaces = await workspacesOpenTo(
    db,
    userId,
    organisations.map((o) => o.id),
  );
  return organisations.map((o) => ({
    id: o.id,
    slug: o.slug,
    name: o.name,
    createdAt: o.createdAt,
    role: o.role,
    workspaces: workspaces.get(o.id) ?? [],
  }));
}

export async function renameOrganisation(db: Db, organisationId: string, name: string): Promise<void> {
  await db`UPDATE organisations SET name = ${name} WHERE id = ${organisationId}`;
}

/** A new organisation; null when the slug is taken. */
export async function insertOrganisation(db: Db, input: { slug: string; name: string }): Promise<{ id: string } | null> {
  const [row] = await db<{ id: string }[]>`
    INSERT INTO organisations (slug, name) VALUES (${input.slug}, ${input.name})
    ON CONFLICT (slug) DO NOTHING
    RETURNING id`;
  return row ?? null;
}

/** Makes the account a person of the organisation with this role, or changes the role it has. */
export async function putOrganisationMember(
  db: Db,
  organisationId: string,
  userId: string,
  role: OrganisationRole,
): Promise<void> {
  await db`
    INSERT INTO organisation_members (organisation_id, user_id, role) VALUES (${organisationId}, ${userId}, ${role})
    ON CONFLICT (organisation_id, user_id) DO UPDATE SET role = EXCLUDED.role, updated_at = now()`;
}

/** One workspace of the organisation by slug, with the account's role in it (`viewer` through the organisation when not a member). */
export async function organisationWorkspace(
  db: Db,
  organisationId: string,
  slug: string,
  userId: string,
): Promise<OrganisationWorkspace | null> {
  const [row] = await db<WorkspaceRow[]>`
    SELECT w.organisation_id, w.id, w.slug, w.name, w.created_at, w.archived_at, coalesce(m.role, 'viewer') AS role
    FROM workspaces w
    LEFT JOIN memberships m ON m.workspace_id = w.id AND m.user_id = ${userId} AND m.state = 'active'
    WHERE w.organisation_id = ${organisationId} AND w.slug = ${slug}`;
  return row ? toOrganisationWorkspace(row) : null;
}

/** A new workspace of the organisation; null when the slug is taken (by any organisation's workspace). */
export async function insertOrganisationWorkspace(
  db: Db,
  input: { organisationId: string; slug: string; name: string; createdBy: string | null },
): Promise<{ id: string } | null> {
  const [row] = await db<{ id: string }[]>`
    INSERT INTO workspaces (organisation_id, slug, name, created_by)
    VALUES (${input.organisationId}, ${input.slug}, ${input.name}, ${input.createdBy})
    ON CONFLICT (slug) DO NOTHING
    RETURNING id`;
  return row ?? null;
}

export async function renameWorkspace(db: Db, workspaceId: string, name: string): Promise<void> {
  await db`UPDATE workspaces SET name = ${name} WHERE id = ${workspaceId}`;
}

/** Archives or restores the workspace's row; false when it already was so. */
export async function setWorkspaceArchived(db: TxSql, workspaceId: string, archived: boolean): Promise<boolean> {
  const rows = archived
    ? await db`UPDATE workspaces SET archived_at = now() WHERE id = ${workspaceId} AND archived_at IS NULL RETURNING id`
    : await db`UPDATE workspaces SET archived_at = NULL WHERE id = ${workspaceId} AND archived_at IS NOT NULL RETURNING id`;
  return rows.length > 0;
}

interface MemberRow {
  user_id: string;
  email: string;
  name: string | null;
  role: OrganisationRole;
  created_at: Date;
  workspaces: { slug: string; role: MemberRole }[] | null;
}

const SELECT_ORGANISATION_MEMBER = (db: Db, organisationId: string) => db`
  SELECT om.user_id, u.email, u.name, om.role, om.created_at,
         (SELECT jsonb_agg(jsonb_build_object('slug', w.slug, 'role', m.role) ORDER BY w.slug)
          FROM memberships m JOIN workspaces w ON w.id = m.workspace_id
          WHERE m.user_id = om.user_id AND m.state = 'active' AND w.organisation_id = om.organisation_id) AS workspaces
  FROM organisation_members om JOIN users u ON u.id = om.user_id
  WHERE om.organisation_id = ${organisationId}`;

function toOrganisationMember(row: MemberRow): OrganisationMember {
  return {
    userId: row.user_id,
    email: row.email,
    name: row.name,
    role: row.role,
    workspaces: row.workspaces ?? [],
    createdAt: iso(row.created_at),
  };
}

/** Where a page of the organisation's people starts: after the one who joined at `createdAt` with this id. */
export type MemberKey = readonly [createdAt: string, userId: string];

/**
 * A page of the organisation's people in the order they joined it (then by id), after `after`; `next`
 * is the last one's key when more follow. A page reads `limit` + 1 entries of the index
 * (organisation_id, created_at, user_id) from the cursor, however many people the organisation has,
 * and each one's account and workspaces by key.
 */
export async function listOrganisationMembers(
  db: Db,
  organisationId: string,
  after: MemberKey | null,
  limit: number,
): Promise<{ items: OrganisationMember[]; next: MemberKey | null }> {
  const rows = await db<MemberRow[]>`
    ${SELECT_ORGANISATION_MEMBER(db, organisationId)}
    ${after === null ? db`` : db`AND (om.created_at, om.user_id) > (${after[0]}::timestamptz, ${after[1]}::uuid)`}
    ORDER BY om.created_at, om.user_id
    LIMIT ${limit + 1}`;
  return keysetPage(rows.map(toOrganisationMember), limit, (last): MemberKey => [last.createdAt, last.userId]);
}

export async function getOrganisationMember(db: Db, organisationId: string, userId: string): Promise<OrganisationMember | null> {
  const [row] = await db<MemberRow[]>`${SELECT_ORGANISATION_MEMBER(db, organisationId)} AND om.user_id = ${userId}`;
  return row ? toOrganisationMember(row) : null;
}

/** Owners of the organisation other than `leaving`. */
export async function otherOrganisationOwners(db: Db, organisationId: string, leaving: string): Promise<number> {
  return countRows(
    db,
    db`organisation_members WHERE organisation_id = ${organisationId} AND role = 'owner' AND user_id <> ${leaving}`,
  );
}

/**
 * Refuses (409) to take the account out of the organisation when that would leave the organisation,
 * or one of its workspaces, without an owner. Every path that takes a person out ends in
 * deleteOrganisationMember (removal by hand, the directory's deprovisioning and DELETE), so the check
 * lives there, whatever the caller checked before. Each workspace's memberships are locked, as a
 * demotion there locks them, so two removals cannot both pass the count.
 */
async function assertOwnersRemainWithout(db: Db, organisationId: string, userId: string): Promise<void> {
  if ((await getOrganisationRole(db, organisationId, userId)) === 'owner') {
    if ((await otherOrganisationOwners(db, organisationId, userId)) === 0) {
      throw new DomainError('conflict', 'the organisation would have no owner left; make someone else owner first');
    }
  }
  const owned = await db<{ id: string; slug: string }[]>`
    SELECT w.id, w.slug FROM memberships m JOIN workspaces w ON w.id = m.workspace_id
    WHERE w.organisation_id = ${organisationId} AND m.user_id = ${userId} AND m.role = 'owner' AND m.state = 'active'
    ORDER BY w.slug`;
  for (const workspace of owned) {
    await lockMemberships(db, workspace.id);
    if ((await remainingOwners(db, workspace.id, userId)) === 0) {
      throw new DomainError(
        'conflict',
        `the workspace "${workspace.slug}" would have no owner left; make someone else its owner first`,
      );
    }
  }
}

async function getOrganisationRole(db: Db, organisationId: string, userId: string): Promise<string | null> {
  const [row] = await db<{ role: string }[]>`
    SELECT role FROM organisation_members WHERE organisation_id = ${organisationId} AND user_id = ${userId}`;
  return row?.role ?? null;
}

/**
 * Takes the account out of the organisation: its memberships and invitations in every workspace of
 * it, its organisation role, and the groups its single sign-on listed. Returns the workspaces it was in.
 */
export async function deleteOrganisationMember(db: Db, organisationId: string, userId: string): Promise<string[]> {
  await assertOwnersRemainWithout(db, organisationId, userId);
  const removed = await db<{ workspace_id: string }[]>`
    DELETE FROM memberships m USING workspaces w
    WHERE w.id = m.workspace_id AND w.organisation_id = ${organisationId} AND m.user_id = ${userId}
    RETURNING m.workspace_id`;
  await db`DELETE FROM organisation_members WHERE organisation_id = ${organisationId} AND user_id = ${userId}`;
  // The groups their last single sign-on listed grant nothing once they are out (db/organisation-sso.ts).
  await db`DELETE FROM organisation_sso_groups WHERE organisation_id = ${organisationId} AND user_id = ${userId}`;
  return removed.map((r) => r.workspace_id);
}

/** The organisation a workspace belongs to (every workspace belongs to one). */
export async function organisationOfWorkspace(db: Db, workspaceId: string): Promise<string> {
  const [row] = await db<{ organisation_id: string }[]>`SELECT organisation_id FROM workspaces WHERE id = ${workspaceId}`;
  if (!row) throw new Error(`workspace ${workspaceId} does not exist`);
  return row.organisation_id;
}

/** Serialises changes to one organisation's people, so two demotions cannot both pass the last-owner check. */
export async function lockOrganisation(db: Db, organisationId: string): Promise<void> {
  await db`SELECT pg_advisory_xact_lock(hashtext('outpost.organisation'), hashtext(${organisationId}))`;
}

/**
 * Sets the account's active membership of the workspace to `role` (an invitation becomes active). It
 * is given by hand: one a directory group granted becomes `direct`, which groups no longer change.
 */
export async function putActiveMembership(db: Db, workspaceId: string, userId: string, role: MemberRole): Promise<void> {
  await db`
    INSERT INTO memberships (workspace_id, user_id, role, state) VALUES (${workspaceId}, ${userId}, ${role}, 'active')
    ON CONFLICT (workspace_id, user_id) DO UPDATE SET role = EXCLUDED.role, state = 'active', source = 'direct', updated_at = now()`;
}

export interface WorkspaceCounts {
  failedRuns: number;
  completedRuns: number;
  runningRuns: number;
  lateRuns: number;
  overdueAssets: number;
}

/**
 * Run and asset counts of these workspaces, by workspace id, each from an index: the window of due
 * times by state (flow_runs_stats_idx), the Late runs (flow_runs_workspace_late_idx), RUNNING runs
 * (flow_runs_active_workspace_idx) and the freshness verdicts.
 */
export async function workspaceCounts(
  db: Db,
  workspaceIds: string[],
  windowHours: number,
): Promise<Map<string, WorkspaceCounts>> {
  const counts = new Map<string, WorkspaceCounts>(
    workspaceIds.map((id) => [id, { failedRuns: 0, completedRuns: 0, runningRuns: 0, lateRuns: 0, overdueAssets: 0 }]),
  );
  if (workspaceIds.length === 0) return counts;
  const ids = db.array(workspaceIds);
  const rows = await db<
    { workspace_id: string; failed: number; completed: number; running: number; late: number; overdue: number }[]
  >`
    SELECT w.id AS workspace_id,
      (SELECT count(*)::int FROM flow_runs r WHERE r.workspace_id = w.id
         AND r.expected_start_time > now() - make_interval(hours => ${windowHours})
         AND r.state_type IN ('FAILED', 'CRASHED')) AS failed,
      (SELECT count(*)::int FROM flow_runs r WHERE r.workspace_id = w.id
         AND r.expected_start_time > now() - make_interval(hours => ${windowHours})
         AND r.state_type = 'COMPLETED') AS completed,
      (SELECT count(*)::int FROM flow_runs r WHERE r.workspace_id = w.id AND r.state_type = 'RUNNING') AS running,
      (SELECT count(*)::int FROM flow_runs r WHERE r.workspace_id = w.id
         AND r.state_type = 'SCHEDULED' AND r.state_name = 'Late') AS late,
      (SELECT count(*)::int FROM asset_freshness f WHERE f.workspace_id = w.id AND f.violated) AS overdue
    FROM workspaces w WHERE w.id = ANY(${ids}::uuid[])`;
  for (const r of rows) {
    counts.set(r.workspace_id, {
      failedRuns: r.failed,
      completedRuns: r.completed,
      runningRuns: r.running,
      lateRuns: r.late,
      overdueAssets: r.overdue,
    });
  }
  return counts;
}

/** The organisation of a workspace, by slug: where a session in that workspace stands. */
export async function organisationSlugOf(db: Db, workspaceId: string): Promise<string | null> {
  const [row] = await db<{ slug: string }[]>`
    SELECT o.slug FROM workspaces w JOIN organisations o ON o.id = w.organisation_id WHERE w.id = ${workspaceId}`;
  return row?.slug ?? null;
}
