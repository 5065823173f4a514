import { createHash, randomBytes } from 'node:crypto';
import type { Db } from '../db/client.js';
import { insertEmailToken } from '../db/email-tokens.js';

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

export function emailTokenHash(token: string): string {
  return sha256(token);
}
