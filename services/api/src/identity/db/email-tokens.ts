import type { Db } from '../../db/client.js';

/** What a link does: confirm an address (and accept an invitation), or reset a password. Each works on its own route only. */
export type EmailTokenPurpose = 'confirm' | 'password_reset';

export interface EmailTokenUse {
  userId: string;
  email: string;
  /** The workspace whose invitation the link accepts; null for a plain verification. */
  workspaceId: string | null;
}

/** Stores an emailed link's token (its sha256 only), valid for `ttlSeconds`. */
export async function insertEmailToken(
  db: Db,
  input: {
    tokenHash: string;
    userId: string;
    email: string;
    workspaceId: string | null;
    ttlSeconds: number;
    purpose?: EmailTokenPurpose;
  },
): Promise<{ expiresAt: Date }> {
  const [row] = await db<{ expires_at: Date }[]>`
    INSERT INTO email_tokens (token_hash, user_id, email, workspace_id, expires_at, purpose)
    VALUES (${input.tokenHash}, ${input.userId}, ${input.email}, ${input.workspaceId},
            now() + make_interval(secs => ${input.ttlSeconds}), ${input.purpose ?? 'confirm'})
    RETURNING expires_at`;
  if (!row) throw new Error('insert returned no row');
  return { expiresAt: row.expires_at };
}

/**
 * Uses an emailed link up: one UPDATE that only an unused, unexpired token matches, and only while
 * its account still has the address it was sent to. Rolled back with the caller's transaction, so
 * a refused password leaves the link usable.
 */
export async function consumeEmailToken(
  db: Db,
  tokenHash: string,
  purpose: EmailTokenPurpose = 'confirm',
): Promise<EmailTokenUse | null> {
  const [row] = await db<{ user_id: string; email: string; workspace_id: string | null }[]>`
    UPDATE email_tokens t SET used_at = now()
    FROM users u
    WHERE t.token_hash = ${tokenHash} AND t.purpose = ${purpose} AND t.used_at IS NULL AND t.expires_at > now()
      AND u.id = t.user_id AND u.email = t.email
    RETURNING t.user_id, t.email, t.workspace_id`;
  return row ? { userId: row.user_id, email: row.email, workspaceId: row.workspace_id } : null;
}

/** The account's unused links for one invitation stop working (the membership was removed or accepted). */
export async function voidInvitationTokens(db: Db, userId: string, workspaceId: string): Promise<void> {
  await db`
    UPDATE email_tokens SET used_at = now()
    WHERE user_id = ${userId} AND workspace_id = ${workspaceId} AND used_at IS NULL`;
}

/** Earlier unused password reset links of the account stop working: only the latest one does. */
export async function voidPasswordResetTokens(db: Db, userId: string): Promise<void> {
  await db`
    UPDATE email_tokens SET used_at = now()
    WHERE user_id = ${userId} AND purpose = 'password_reset' AND used_at IS NULL`;
}
