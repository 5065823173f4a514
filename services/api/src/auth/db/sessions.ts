import type { Role, SessionMethod } from '@outpost/sdk/contracts';
import type { Db } from '../../db/client.js';

export interface NewSession {
  workspaceId: string;
  tokenHash: string;
  csrfHash: string;
  role: Role;
  label: string;
  apiKeyId: string | null;
  /** A person's session (password or single sign-on); their role is then read from the membership. */
  userId?: string | null;
  /** How a person's session was opened. */
  openedBy?: SessionMethod | null;
  absoluteSeconds: number;
  /** An absolute expiry earlier than `absoluteSeconds` from now: a session that replaces another keeps its end. */
  expiresAt?: Date;
}

export async function insertSession(db: Db, session: NewSession): Promise<{ id: string }> {
  const [row] = await db<{ id: string }[]>`
    INSERT INTO sessions (workspace_id, token_hash, csrf_hash, role, label, api_key_id, user_id, opened_by, expires_at)
    VALUES (${session.workspaceId}, ${session.tokenHash}, ${session.csrfHash}, ${session.role}, ${session.label},
            ${session.apiKeyId}, ${session.userId ?? null}, ${session.openedBy ?? null},
            least(now() + make_interval(secs => ${session.absoluteSeconds}), ${session.expiresAt ?? null}::timestamptz))
    RETURNING id`;
  if (!row) throw new Error('insert returned no row');
  return row;
}

export interface SessionRow {
  id: string;
  workspaceId: string;
  role: Role;
  csrfHash: string;
  apiKeyId: string | null;
  userId: string | null;
  openedBy: SessionMethod | null;
  /** The workspace is archived: the session reads, and changes nothing. */
  archived: boolean;
  /** last_seen_at is older than the touch interval. */
  stale: boolean;
}

/**
 * The usable session with this token hash: not revoked, within its absolute lifetime, seen within
 * the idle limit, and (when an API key opened it) that key still active — so revoking or expiring
 * the key ends its sessions without touching them. One indexed lookup per request.
 */
export async function findActiveSession(
  db: Db,
  tokenHash: string,
  limits: { idleSeconds: number; touchSeconds: number },
): Promise<SessionRow | null> {
  const [row] = await db<
    {
      id: string;
      workspace_id: string;
      role: Role;
      csrf_hash: string;
      api_key_id: string | null;
      user_id: string | null;
      opened_by: SessionMethod | null;
      archived: boolean;
      stale: boolean;
    }[]
  >`
    SELECT s.id, s.workspace_id, s.csrf_hash, s.api_key_id, s.user_id, s.opened_by, w.archived_at IS NOT NULL AS archived,
           coalesce(m.role, CASE WHEN om.user_id IS NOT NULL THEN 'viewer' END, s.role) AS role,
           s.last_seen_at < now() - make_interval(secs => ${limits.touchSeconds}) AS stale
    FROM sessions s
    JOIN workspaces w ON w.id = s.workspace_id
    LEFT JOIN api_keys k ON k.id = s.api_key_id
    LEFT JOIN users u ON u.id = s.user_id
    LEFT JOIN memberships m ON m.workspace_id = s.workspace_id AND m.user_id = s.user_id AND m.state = 'active'
      AND (u.email_verified_at IS NOT NULL OR u.managed_by = s.workspace_id)
    LEFT JOIN organisation_members om ON om.organisation_id = w.organisation_id AND om.user_id = s.user_id
      AND om.role IN ('owner', 'admin', 'auditor') AND u.email_verified_at IS NOT NULL
    WHERE s.token_hash = ${tokenHash}
      AND s.revoked_at IS NULL
      AND s.expires_at > now()
      AND s.last_seen_at > now() - make_interval(secs => ${limits.idleSeconds})
      AND (s.api_key_id IS NULL OR (k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now())))
      -- A person's session acts with their membership's role as it is now, and ends with the
      -- membership; an invitation is no membership, and an account whose address is not verified
      -- acts only in the workspace that manages it. Without a membership, an organisation owner,
      -- admin or auditor reads the organisation's workspaces as a viewer.
      AND (s.user_id IS NULL OR m.user_id IS NOT NULL OR om.user_id IS NOT NULL)`;
  return row
    ? {
        id: row.id,
        workspaceId: row.workspace_id,
        role: row.role,
        csrfHash: row.csrf_hash,
        apiKeyId: row.api_key_id,
        userId: row.user_id,
        openedBy: row.opened_by,
        archived: row.archived,
        stale: row.stale,
      }
    : null;
}

/** Moves the idle deadline at most once per interval, so reads do not all become writes. */
export async function touchSession(db: Db, id: string, touchSeconds: number): Promise<void> {
  await db`
    UPDATE sessions SET last_seen_at = now()
    WHERE id = ${id} AND last_seen_at < now() - make_interval(secs => ${touchSeconds})`;
}

/** Revokes the session with this id; its absolute expiry when it was active until now, else null. */
export async function revokeSessionById(db: Db, id: string): Promise<Date | null> {
  const [row] = await db<{ expires_at: Date }[]>`
    UPDATE sessions SET revoked_at = now() WHERE id = ${id} AND revoked_at IS NULL RETURNING expires_at`;
  return row?.expires_at ?? null;
}

/** Revokes the session with this token hash; true when it was active until now. */
export async function revokeSessionByHash(db: Db, tokenHash: string): Promise<boolean> {
  const rows =
    await db`UPDATE sessions SET revoked_at = now() WHERE token_hash = ${tokenHash} AND revoked_at IS NULL RETURNING id`;
  return rows.length > 0;
}

export async function insertSignInToken(
  db: Db,
  token: { workspaceId: string; tokenHash: string; role: Role; ttlSeconds: number; userId?: string | null },
): Promise<{ id: string; expiresAt: Date }> {
  const [row] = await db<{ id: string; expires_at: Date }[]>`
    INSERT INTO sign_in_tokens (workspace_id, token_hash, role, user_id, expires_at)
    VALUES (${token.workspaceId}, ${token.tokenHash}, ${token.role}, ${token.userId ?? null},
            now() + make_interval(secs => ${token.ttlSeconds}))
    RETURNING id, expires_at`;
  if (!row) throw new Error('insert returned no row');
  return { id: row.id, expiresAt: row.expires_at };
}

/**
 * Uses the sign-in token up: one UPDATE that only an unused, unexpired token matches, so two
 * concurrent sign-ins with the same link cannot both succeed (the second finds used_at set).
 */
export async function consumeSignInToken(
  db: Db,
  tokenHash: string,
): Promise<{ workspaceId: string; role: Role; userId: string | null } | null> {
  const [row] = await db<{ workspace_id: string; role: Role; user_id: string | null }[]>`
    UPDATE sign_in_tokens SET used_at = now()
    WHERE token_hash = ${tokenHash} AND used_at IS NULL AND expires_at > now()
    RETURNING workspace_id, role, user_id`;
  return row ? { workspaceId: row.workspace_id, role: row.role, userId: row.user_id } : null;
}
