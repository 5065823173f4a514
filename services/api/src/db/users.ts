import type { Db } from './client.js';

export interface UserRecord {
  id: string;
  email: string;
  name: string | null;
  passwordHash: string | null;
  passwordChangedAt: Date | null;
  createdAt: Date;
}

interface UserRow {
  id: string;
  email: string;
  name: string | null;
  password_hash: string | null;
  password_changed_at: Date | null;
  created_at: Date;
}

function toUser(row: UserRow): UserRecord {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    passwordHash: row.password_hash,
    passwordChangedAt: row.password_changed_at,
    createdAt: row.created_at,
  };
}

/** Emails are compared lowercased and trimmed; this is the one place that says so. */
export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

export async function findUserByEmail(db: Db, email: string): Promise<UserRecord | null> {
  const [row] = await db<UserRow[]>`SELECT * FROM users WHERE email = ${normaliseEmail(email)}`;
  return row ? toUser(row) : null;
}

export async function getUser(db: Db, id: string): Promise<UserRecord | null> {
  const [row] = await db<UserRow[]>`SELECT * FROM users WHERE id = ${id}`;
  return row ? toUser(row) : null;
}

/** The account with this email, created (without a password) when missing; `created` says which. */
export async function ensureUser(
  db: Db,
  input: { email: string; name: string | null },
): Promise<{ user: UserRecord; created: boolean }> {
  const email = normaliseEmail(input.email);
  const [inserted] = await db<UserRow[]>`
    INSERT INTO users (email, name) VALUES (${email}, ${input.name})
    ON CONFLICT (email) DO NOTHING
    RETURNING *`;
  if (inserted) return { user: toUser(inserted), created: true };
  const existing = await findUserByEmail(db, email);
  if (!existing) throw new Error(`user ${email} vanished after a conflicting insert`);
  return { user: existing, created: false };
}

/** Stores a new password hash and the time it changed (sessions opened before it are ended by the caller). */
export async function setPasswordHash(db: Db, userId: string, hash: string): Promise<void> {
  await db`UPDATE users SET password_hash = ${hash}, password_changed_at = now() WHERE id = ${userId}`;
}

/** Replaces a hash with a stronger one of the same password; the password did not change, so sessions stay. */
export async function upgradePasswordHash(db: Db, userId: string, previous: string, hash: string): Promise<void> {
  await db`UPDATE users SET password_hash = ${hash} WHERE id = ${userId} AND password_hash = ${previous}`;
}

/** Ends every session of the user, in every workspace; returns how many were active. */
export async function revokeUserSessions(db: Db, userId: string, workspaceId: string | null = null): Promise<number> {
  const rows = await db`
    UPDATE sessions SET revoked_at = now()
    WHERE user_id = ${userId} AND revoked_at IS NULL ${workspaceId ? db`AND workspace_id = ${workspaceId}` : db``}
    RETURNING id`;
  return rows.length;
}

// ---- one-time password setup tokens ----------------------------------------------------------------

export async function insertSetupToken(
  db: Db,
  input: { tokenHash: string; userId: string; workspaceId: string; ttlSeconds: number },
): Promise<{ expiresAt: Date }> {
  // A new token replaces any earlier unused one of the same user: only the latest link works.
  await db`UPDATE password_setup_tokens SET used_at = now() WHERE user_id = ${input.userId} AND used_at IS NULL`;
  const [row] = await db<{ expires_at: Date }[]>`
    INSERT INTO password_setup_tokens (token_hash, user_id, workspace_id, expires_at)
    VALUES (${input.tokenHash}, ${input.userId}, ${input.workspaceId}, now() + make_interval(secs => ${input.ttlSeconds}))
    RETURNING expires_at`;
  if (!row) throw new Error('insert returned no row');
  return { expiresAt: row.expires_at };
}

/**
 * Uses a setup token up, in one UPDATE only an unused, unexpired token matches. The token is also
 * refused when its user has meanwhile joined a workspace other than the issuing one: from then on,
 * whoever controls the account reaches that workspace too, which the issuer has no say over.
 */
export async function consumeSetupToken(db: Db, tokenHash: string): Promise<{ userId: string; workspaceId: string } | null> {
  const [row] = await db<{ user_id: string; workspace_id: string }[]>`
    UPDATE password_setup_tokens t SET used_at = now()
    WHERE t.token_hash = ${tokenHash} AND t.used_at IS NULL AND t.expires_at > now()
      AND NOT EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = t.user_id AND m.workspace_id <> t.workspace_id)
    RETURNING t.user_id, t.workspace_id`;
  return row ? { userId: row.user_id, workspaceId: row.workspace_id } : null;
}

// ---- single sign-on identities ---------------------------------------------------------------------

export async function findUserByIdentity(db: Db, issuer: string, subject: string): Promise<UserRecord | null> {
  const [row] = await db<UserRow[]>`
    SELECT u.* FROM user_identities i JOIN users u ON u.id = i.user_id
    WHERE i.issuer = ${issuer} AND i.subject = ${subject}`;
  return row ? toUser(row) : null;
}

export async function linkIdentity(db: Db, input: { issuer: string; subject: string; userId: string }): Promise<void> {
  await db`
    INSERT INTO user_identities (issuer, subject, user_id) VALUES (${input.issuer}, ${input.subject}, ${input.userId})
    ON CONFLICT (issuer, subject) DO NOTHING`;
}
