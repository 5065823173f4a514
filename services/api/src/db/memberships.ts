import type { Member, MemberRole } from '@outpost/sdk/contracts';
import type { Db } from './client.js';
import { iso } from './values.js';

interface MemberRow {
  user_id: string;
  email: string;
  name: string | null;
  role: MemberRole;
  has_password: boolean;
  sso: boolean;
  created_at: Date;
}

function toMember(row: MemberRow): Member {
  return {
    userId: row.user_id,
    email: row.email,
    name: row.name,
    role: row.role,
    hasPassword: row.has_password,
    sso: row.sso,
    createdAt: iso(row.created_at),
  };
}

const SELECT_MEMBER = (db: Db) => db`
  SELECT m.user_id, u.email, u.name, m.role, u.password_hash IS NOT NULL AS has_password,
         EXISTS (SELECT 1 FROM user_identities i WHERE i.user_id = u.id) AS sso, m.created_at
  FROM memberships m JOIN users u ON u.id = m.user_id`;

export async function listMembers(db: Db, workspaceId: string): Promise<Member[]> {
  const rows = await db<MemberRow[]>`${SELECT_MEMBER(db)} WHERE m.workspace_id = ${workspaceId} ORDER BY u.email`;
  return rows.map(toMember);
}

export async function getMember(db: Db, workspaceId: string, userId: string): Promise<Member | null> {
  const [row] = await db<MemberRow[]>`${SELECT_MEMBER(db)} WHERE m.workspace_id = ${workspaceId} AND m.user_id = ${userId}`;
  return row ? toMember(row) : null;
}

/** Adds the membership; null when the user already is a member. */
export async function insertMembership(
  db: Db,
  input: { workspaceId: string; userId: string; role: MemberRole },
): Promise<boolean> {
  const rows = await db`
    INSERT INTO memberships (workspace_id, user_id, role) VALUES (${input.workspaceId}, ${input.userId}, ${input.role})
    ON CONFLICT (workspace_id, user_id) DO NOTHING
    RETURNING user_id`;
  return rows.length > 0;
}

export async function updateMembershipRole(db: Db, workspaceId: string, userId: string, role: MemberRole): Promise<boolean> {
  const rows = await db`
    UPDATE memberships SET role = ${role}, updated_at = now()
    WHERE workspace_id = ${workspaceId} AND user_id = ${userId}
    RETURNING user_id`;
  return rows.length > 0;
}

export async function deleteMembership(db: Db, workspaceId: string, userId: string): Promise<boolean> {
  const rows = await db`DELETE FROM memberships WHERE workspace_id = ${workspaceId} AND user_id = ${userId} RETURNING user_id`;
  return rows.length > 0;
}

/**
 * Owners who would remain if `leaving` stopped being one: owner memberships and usable owner API
 * keys both count, so a workspace can always be administered by someone.
 */
export async function remainingOwners(db: Db, workspaceId: string, leaving: string): Promise<number> {
  const [row] = await db<{ n: number }[]>`
    SELECT (SELECT count(*) FROM memberships WHERE workspace_id = ${workspaceId} AND role = 'owner' AND user_id <> ${leaving})
         + (SELECT count(*) FROM api_keys WHERE workspace_id = ${workspaceId} AND role = 'owner' AND revoked_at IS NULL
              AND (expires_at IS NULL OR expires_at > now())) AS n`;
  return Number(row?.n ?? 0);
}

/** The workspaces (id, slug, role) the user belongs to. */
export async function membershipsOf(db: Db, userId: string): Promise<{ workspaceId: string; slug: string; role: MemberRole }[]> {
  const rows = await db<{ workspace_id: string; slug: string; role: MemberRole }[]>`
    SELECT m.workspace_id, w.slug, m.role FROM memberships m JOIN workspaces w ON w.id = m.workspace_id
    WHERE m.user_id = ${userId} ORDER BY w.slug`;
  return rows.map((r) => ({ workspaceId: r.workspace_id, slug: r.slug, role: r.role }));
}

/** Serialises membership changes of one workspace, so two concurrent demotions cannot both pass the last-owner check. */
export async function lockMemberships(db: Db, workspaceId: string): Promise<void> {
  await db`SELECT pg_advisory_xact_lock(hashtext('outpost.memberships'), hashtext(${workspaceId}))`;
}
