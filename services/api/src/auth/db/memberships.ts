import type { AccountState, Invitation, Member, MemberRole, MembershipState } from '@outpost/sdk/contracts';
import type { Db } from '../../db/client.js';
import type { memberships, Row, users } from '../../db/schema.js';
import { iso } from '../../db/values.js';

interface MemberRow
  extends Pick<Row<typeof memberships>, 'user_id' | 'role' | 'state' | 'created_at'>,
    Pick<Row<typeof users>, 'email' | 'name'> {
  account: AccountState;
  has_password: boolean;
  sso: boolean;
}

function toMember(row: MemberRow): Member {
  return {
    userId: row.user_id,
    email: row.email,
    name: row.name,
    role: row.role,
    state: row.state,
    account: row.account,
    hasPassword: row.has_password,
    sso: row.sso,
    createdAt: iso(row.created_at),
  };
}

/*
 * Of an account that has not accepted (an invitation), the workspace sees the address it typed and
 * whether the address is proven, nothing else: its name and how it signs in were set up elsewhere.
 */
const SELECT_MEMBER = (db: Db) => db`
  SELECT m.user_id, u.email, CASE WHEN m.state = 'active' THEN u.name END AS name, m.role, m.state,
         CASE WHEN u.email_verified_at IS NOT NULL THEN 'verified'
              WHEN u.managed_by = m.workspace_id THEN 'managed'
              ELSE 'unverified' END AS account,
         m.state = 'active' AND u.password_hash IS NOT NULL AS has_password,
         m.state = 'active' AND EXISTS (SELECT 1 FROM user_identities i WHERE i.user_id = u.id) AS sso, m.created_at
  FROM memberships m JOIN users u ON u.id = m.user_id`;

export async function listMembers(db: Db, workspaceId: string): Promise<Member[]> {
  const rows = await db<MemberRow[]>`${SELECT_MEMBER(db)} WHERE m.workspace_id = ${workspaceId} ORDER BY u.email`;
  return rows.map(toMember);
}

export async function getMember(db: Db, workspaceId: string, userId: string): Promise<Member | null> {
  const [row] = await db<MemberRow[]>`${SELECT_MEMBER(db)} WHERE m.workspace_id = ${workspaceId} AND m.user_id = ${userId}`;
  return row ? toMember(row) : null;
}

/** Adds the membership; false when the user already is a member (or invited). */
export async function insertMembership(
  db: Db,
  input: { workspaceId: string; userId: string; role: MemberRole; state: MembershipState },
): Promise<boolean> {
  const rows = await db`
    INSERT INTO memberships (workspace_id, user_id, role, state)
    VALUES (${input.workspaceId}, ${input.userId}, ${input.role}, ${input.state})
    ON CONFLICT (workspace_id, user_id) DO NOTHING
    RETURNING user_id`;
  return rows.length > 0;
}

/** A role set by hand: the membership is the hand's from now on (`direct`), so the directory's groups no longer change it. */
export async function updateMembershipRole(db: Db, workspaceId: string, userId: string, role: MemberRole): Promise<boolean> {
  const rows = await db`
    UPDATE memberships SET role = ${role}, source = 'direct', updated_at = now()
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
    SELECT (SELECT count(*) FROM memberships
            WHERE workspace_id = ${workspaceId} AND role = 'owner' AND state = 'active' AND user_id <> ${leaving})
         + (SELECT count(*) FROM api_keys WHERE workspace_id = ${workspaceId} AND role = 'owner' AND revoked_at IS NULL
              AND (expires_at IS NULL OR expires_at > now())) AS n`;
  return Number(row?.n ?? 0);
}

/**
 * The workspaces (id, slug, role) the account can sign in to: active memberships only, and of an
 * account whose address is not verified only the one in the workspace that manages it — whoever
 * set its password there may not be the person the address belongs to.
 */
export async function usableMemberships(
  db: Db,
  userId: string,
): Promise<{ workspaceId: string; slug: string; role: MemberRole }[]> {
  const rows = await db<{ workspace_id: string; slug: string; role: MemberRole }[]>`
    SELECT m.workspace_id, w.slug, m.role
    FROM memberships m JOIN workspaces w ON w.id = m.workspace_id JOIN users u ON u.id = m.user_id
    WHERE m.user_id = ${userId} AND m.state = 'active'
      AND (u.email_verified_at IS NOT NULL OR u.managed_by = m.workspace_id)
    ORDER BY w.slug`;
  return rows.map((r) => ({ workspaceId: r.workspace_id, slug: r.slug, role: r.role }));
}

/**
 * The workspaces (id, slug, role) the account can open a session in: those of `usableMemberships`,
 * and, for an account with a verified address, every workspace of an organisation where it is
 * owner, admin or auditor, as a `viewer` where it is not a member.
 */
export async function openableWorkspaces(
  db: Db,
  userId: string,
): Promise<{ workspaceId: string; slug: string; role: MemberRole }[]> {
  const rows = await db<{ workspace_id: string; slug: string; role: MemberRole }[]>`
    SELECT w.id AS workspace_id, w.slug, coalesce(m.role, 'viewer') AS role
    FROM users u
    JOIN workspaces w ON w.id IN (
      SELECT workspace_id FROM memberships WHERE user_id = u.id AND state = 'active'
      UNION
      SELECT ow.id FROM organisation_members om JOIN workspaces ow ON ow.organisation_id = om.organisation_id
      WHERE om.user_id = u.id AND om.role IN ('owner', 'admin', 'auditor') AND u.email_verified_at IS NOT NULL)
    LEFT JOIN memberships m ON m.workspace_id = w.id AND m.user_id = u.id AND m.state = 'active'
      AND (u.email_verified_at IS NOT NULL OR u.managed_by = w.id)
    WHERE u.id = ${userId}
      AND (m.user_id IS NOT NULL OR u.email_verified_at IS NOT NULL)
    ORDER BY w.slug`;
  return rows.map((r) => ({ workspaceId: r.workspace_id, slug: r.slug, role: r.role }));
}

/** Whether the account holds an active membership anywhere. */
export async function hasActiveMembership(db: Db, userId: string): Promise<boolean> {
  const [row] = await db<{ found: boolean }[]>`
    SELECT EXISTS (SELECT 1 FROM memberships WHERE user_id = ${userId} AND state = 'active') AS found`;
  return row?.found ?? false;
}

/** The account's open invitations, newest first. */
export async function invitationsOf(db: Db, userId: string): Promise<Invitation[]> {
  const rows = await db<{ id: string; slug: string; name: string; ws_created_at: Date; role: MemberRole; created_at: Date }[]>`
    SELECT w.id, w.slug, w.name, w.created_at AS ws_created_at, m.role, m.created_at
    FROM memberships m JOIN workspaces w ON w.id = m.workspace_id
    WHERE m.user_id = ${userId} AND m.state = 'invited'
    ORDER BY m.created_at DESC, w.slug`;
  return rows.map((r) => ({
    workspace: { id: r.id, slug: r.slug, name: r.name, createdAt: iso(r.ws_created_at) },
    role: r.role,
    invitedAt: iso(r.created_at),
  }));
}

/** Turns the account's invitation to the workspace into an active membership; its role, or null when there was none. */
export async function activateMembership(db: Db, workspaceId: string, userId: string): Promise<MemberRole | null> {
  const [row] = await db<{ role: MemberRole }[]>`
    UPDATE memberships SET state = 'active', updated_at = now()
    WHERE workspace_id = ${workspaceId} AND user_id = ${userId} AND state = 'invited'
    RETURNING role`;
  return row?.role ?? null;
}

/** Serialises membership changes of one workspace, so two concurrent demotions cannot both pass the last-owner check. */
export async function lockMemberships(db: Db, workspaceId: string): Promise<void> {
  await db`SELECT pg_advisory_xact_lock(hashtext('outpost.memberships'), hashtext(${workspaceId}))`;
}
