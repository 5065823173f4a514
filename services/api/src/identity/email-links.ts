import { createHash, randomBytes } from 'node:crypto';
import { PASSWORD_RESET_MINUTES } from '@outpost/sdk/contracts';
import type { Db } from '../db/client.js';
import { insertEmailToken, voidPasswordResetTokens } from './db/email-tokens.js';

/** An emailed link works this long. */
export const EMAIL_LINK_SECONDS = 7 * 24 * 3600;

const sha256 = (value: string) => createHash('sha256').update(value, 'utf8').digest('hex');

export interface EmailLink {
  /** The dashboard page that uses the link, with its one-time token; only the token's hash is stored. */
  link: string;
  expiresAt: Date;
}

/**
 * A one-time link to the address of an account: using it proves control of the address (and
 * accepts the invitation of `workspaceId`, when given). It is put into an email and nowhere else —
 * never into an answer, a log or the audit log.
 */
export async function newEmailLink(
  db: Db,
  publicUrl: string,
  input: { userId: string; email: string; workspaceId: string | null },
): Promise<EmailLink> {
  const token = randomBytes(32).toString('base64url');
  const { expiresAt } = await insertEmailToken(db, { tokenHash: sha256(token), ...input, ttlSeconds: EMAIL_LINK_SECONDS });
  return { link: `${publicUrl}/#/confirm-email?token=${token}`, expiresAt };
}

/** A password reset link works this long (PASSWORD_RESET_MINUTES). */
export const PASSWORD_RESET_SECONDS = PASSWORD_RESET_MINUTES * 60;

/**
 * A one-time link that resets the account's password, for PASSWORD_RESET_MINUTES; it replaces any
 * earlier one. Like every emailed link, it goes into the email (or, without a mail server, the
 * server's log) and nowhere else.
 */
export async function newPasswordResetLink(
  db: Db,
  publicUrl: string,
  input: { userId: string; email: string },
): Promise<EmailLink> {
  await voidPasswordResetTokens(db, input.userId);
  const token = randomBytes(32).toString('base64url');
  const { expiresAt } = await insertEmailToken(db, {
    tokenHash: sha256(token),
    ...input,
    workspaceId: null,
    ttlSeconds: PASSWORD_RESET_SECONDS,
    purpose: 'password_reset',
  });
  return { link: `${publicUrl}/#/reset-password?token=${token}`, expiresAt };
}

export function emailTokenHash(token: string): string {
  return sha256(token);
}
