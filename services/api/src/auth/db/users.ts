import type { Db } from '../../db/client.js';
import type { Row, users } from '../../db/schema.js';

/** An account as stored (see `users` in schema.ts). */
export type UserRecord = typeof users.$inferSelect;

type UserRow = Row<typeof users>;

function toUser(row: UserRow): UserRecord {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    passwordHash: row.password_hash,
    passwordChangedAt: row.password_changed_at,
    emailVerifiedAt: row.email_verified_at,
    managedBy: row.managed_by,
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

/** The account with this email, locked until the transaction ends; null when there is none. */
export async function lockUserByEmail(db: Db, email: string): Promise<UserRecord | null> {
  const [row] = await db<UserRow[]>`SELECT * FROM users WHERE email = ${normaliseEmail(email)} FOR UPDATE`;
  return row ? toUser(row) : null;
}

/**
 * The account with this email, created (without a password) when missing; `created` says which.
 * A new account is managed by `managedBy` when given (a workspace's admin created it), else it is
 * created verified (single sign-on with a verified email created it).
 */
export async function ensureUser(
  db: Db,
  input: { email: string; name: string | null; managedBy: string | null },
): Promise<{ user: UserRecord; created: boolean }> {
  const email = normaliseEmail(input.email);
  const [inserted] = await db<UserRow[]>`
    INSERT INTO users (email, name, managed_by, email_verified_at)
    VALUES (${email}, ${input.name}, ${input.managedBy}, ${input.managedBy === null ? db`now()` : null})
    ON CONFLICT (email) DO NOTHING
    RETURNING *`;
  if (inserted) return { user: toUser(inserted), created: true };
  const existing = await lockUserByEmail(db, email);
  if (!existing) throw new Error(`user ${email} vanished after a conflicting insert`);
  return { user: existing, created: false };
}

/**
 * Makes a workspace the manager of an account nobody manages or verified (its managing workspace
 * removed it). Whatever credentials it had are gone — a password someone else's admin may know,
 * sessions, setup tokens — so it is, for the new manager, a new account. False when it is not such
 * an account (any more).
 */
export async function claimUnheldAccount(db: Db, userId: string, workspaceId: string, name: string | null): Promise<boolean> {
  const rows = await db`
    UPDATE users SET managed_by = ${workspaceId}, name = ${name}, password_hash = NULL, password_changed_at = now()
    WHERE id = ${userId} AND managed_by IS NULL AND email_verified_at IS NULL
      AND NOT EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = users.id AND m.state = 'active')
    RETURNING id`;
  if (rows.length === 0) return false;
  await voidSetupTokens(db, userId);
  await revokeUserSessions(db, userId);
  return true;
}

/**
 * Lets go of an account the workspace manages, when its membership there ends: its password (which
 * the workspace's admins may know) is cleared and its setup tokens stop working, so whichever
 * workspace adds the address next starts from nothing. True when the account was managed by it.
 */
export async function releaseManagedAccount(db: Db, userId: string, workspaceId: string): Promise<boolean> {
  const rows = await db`
    UPDATE users SET managed_by = NULL, password_hash = NULL, password_changed_at = now()
    WHERE id = ${userId} AND managed_by = ${workspaceId} AND email_verified_at IS NULL
    RETURNING id`;
  if (rows.length === 0) return false;
  await voidSetupTokens(db, userId);
  return true;
}

/**
 * Marks the address proven: the account is the person's from now on, managed by no workspace.
 * When it was not verified before, whatever credentials an admin could have known end with it: the
 * password is replaced by `passwordHash` (cleared when null), every session ends, and no setup
 * token works any more. `through` is the workspace whose emailed link or single sign-on proved the
 * address (null: a link of the account's own, asked for in the workspace that manages it). Proven
 * through another workspace, the managing workspace may have added an address that was never its
 * person's: its membership becomes an invitation, which the person may accept or leave. Returns
 * whether the account was unverified until now.
 */
export async function verifyAccount(
  db: Db,
  userId: string,
  passwordHash: string | null,
  through: string | null = null,
): Promise<boolean> {
  const rows = await db<{ managed_by: string | null }[]>`
    UPDATE users u SET email_verified_at = now(), managed_by = NULL, password_hash = ${passwordHash}, password_changed_at = now()
    FROM (SELECT id, managed_by FROM users WHERE id = ${userId} FOR UPDATE) before
    WHERE u.id = before.id AND u.email_verified_at IS NULL
    RETURNING before.managed_by`;
  const [verified] = rows;
  if (!verified) return false;
  if (through !== null && verified.managed_by !== null && verified.managed_by !== through) {
    await db`
      UPDATE memberships SET state = 'invited', updated_at = now()
      WHERE workspace_id = ${verified.managed_by} AND user_id = ${userId} AND state = 'active'`;
  }
  await voidSetupTokens(db, userId);
  await revokeUserSessions(db, userId);
  return true;
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
 * refused once the issuing workspace no longer manages the account (the person verified the
 * address, or the workspace let the account go): from then on the account may reach other
 * workspaces, and the issuer has no say over those.
 */
export async function consumeSetupToken(db: Db, tokenHash: string): Promise<{ userId: string; workspaceId: string } | null> {
  const [row] = await db<{ user_id: string; workspace_id: string }[]>`
    UPDATE password_setup_tokens t SET used_at = now()
    FROM users u
    WHERE t.token_hash = ${tokenHash} AND t.used_at IS NULL AND t.expires_at > now()
      AND u.id = t.user_id AND u.managed_by = t.workspace_id AND u.email_verified_at IS NULL
    RETURNING t.user_id, t.workspace_id`;
  return row ? { userId: row.user_id, workspaceId: row.workspace_id } : null;
}

/** No setup token of the account works any more. */
export async function voidSetupTokens(db: Db, userId: string): Promise<void> {
  await db`UPDATE password_setup_tokens SET used_at = now() WHERE user_id = ${userId} AND used_at IS NULL`;
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
