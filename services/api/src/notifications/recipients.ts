import { createHash, randomBytes } from 'node:crypto';
import { normaliseEmail } from '../auth/db/users.js';
import type { Db } from '../db/client.js';
import { textArray } from '../db/values.js';
import { DomainError } from '../domain-error.js';
import { takeMailOrThrow } from '../mail/mail-quota.js';

/*
 * Who an email channel may send to: the verified address of an active member of the workspace, or
 * an external address whose person confirmed by the one link mailed to it. Anything else is a
 * pending recipient, skipped at every send: a workspace cannot make the control plane mail people
 * who never agreed to hear from it.
 */

/** A confirmation link works this long; a later save of the channel mails a new one after that. */
export const CONFIRMATION_LINK_SECONDS = 7 * 24 * 3600;
/** Confirmation mails one address receives per UTC day, from every workspace together. */
export const CONFIRMATIONS_PER_ADDRESS_PER_DAY = 3;

const sha256 = (value: string) => createHash('sha256').update(value, 'utf8').digest('hex');

/** Recipients as stored: lowercased, trimmed, each once, in the order given. */
export function normaliseRecipients(addresses: readonly string[]): string[] {
  return [...new Set(addresses.map(normaliseEmail))];
}

/** Of `addresses`, those that may receive the workspace's mail now: verified members and confirmed ones. */
export async function deliverableRecipients(db: Db, workspaceId: string, addresses: readonly string[]): Promise<string[]> {
  if (addresses.length === 0) return [];
  const rows = await db<{ address: string }[]>`
    SELECT a.address FROM unnest(${textArray(db, addresses.map(normaliseEmail))}::text[]) WITH ORDINALITY AS a(address, n)
    WHERE EXISTS (
            SELECT 1 FROM users u JOIN memberships m ON m.user_id = u.id
            WHERE u.email = a.address AND u.email_verified_at IS NOT NULL
              AND m.workspace_id = ${workspaceId} AND m.state = 'active')
       OR EXISTS (
            SELECT 1 FROM mail_recipients r
            WHERE r.workspace_id = ${workspaceId} AND r.address = a.address AND r.confirmed_at IS NOT NULL)
    ORDER BY a.n`;
  return rows.map((r) => r.address);
}

/** Of `addresses`, those that have not confirmed (and are no verified member): nothing is sent to them. */
export async function pendingRecipients(db: Db, workspaceId: string, addresses: readonly string[]): Promise<string[]> {
  const ok = new Set(await deliverableRecipients(db, workspaceId, addresses));
  return normaliseRecipients(addresses).filter((a) => !ok.has(a));
}

/** A confirmation to mail once the transaction that stored its token commits. */
export interface ConfirmationToSend {
  to: string;
  token: string;
  expiresAt: Date;
}

/**
 * Records the pending recipients of a channel being saved and makes one confirmation link for each
 * that has no live one: an address is mailed once per link (a re-save does not mail again while
 * its link works), at most CONFIRMATIONS_PER_ADDRESS_PER_DAY times a day by all workspaces
 * together, and each mail counts against the workspace's `mailPerHour` (a 429 when it is used up).
 */
export async function requestConfirmations(
  tx: Db,
  workspaceId: string,
  pending: readonly string[],
): Promise<ConfirmationToSend[]> {
  const due: string[] = [];
  for (const address of pending) {
    const [row] = await tx<{ needs_link: boolean }[]>`
      INSERT INTO mail_recipients (workspace_id, address) VALUES (${workspaceId}, ${address})
      ON CONFLICT (workspace_id, address) DO UPDATE SET address = EXCLUDED.address
      RETURNING confirmed_at IS NULL AND (token_hash IS NULL OR token_expires_at <= now()) AS needs_link`;
    if (!row?.needs_link) continue;
    const [counted] = await tx<{ sent: number }[]>`
      INSERT INTO mail_confirmation_sends AS s (address, day, sent) VALUES (${address}, date_trunc('day', now()), 1)
      ON CONFLICT (address, day) DO UPDATE SET sent = s.sent + 1 WHERE s.sent < ${CONFIRMATIONS_PER_ADDRESS_PER_DAY}
      RETURNING sent`;
    // Over the address's daily allowance: it stays pending, and a later save mails it (on another day).
    if (counted) due.push(address);
  }
  if (due.length === 0) return [];
  await takeMailOrThrow(tx, workspaceId, due.length, 'confirming the new recipients');
  const links: ConfirmationToSend[] = [];
  for (const address of due) {
    const token = randomBytes(32).toString('base64url');
    const [row] = await tx<{ token_expires_at: Date }[]>`
      UPDATE mail_recipients
      SET token_hash = ${sha256(token)}, token_expires_at = now() + make_interval(secs => ${CONFIRMATION_LINK_SECONDS})
      WHERE workspace_id = ${workspaceId} AND address = ${address}
      RETURNING token_expires_at`;
    if (!row) throw new Error(`the recipient ${address} vanished in its own transaction`);
    links.push({ to: address, token, expiresAt: row.token_expires_at });
  }
  return links;
}

/**
 * Uses a confirmation link: the address receives the workspace's notifications from now on. One
 * UPDATE that only an unused, unexpired token matches.
 */
export async function confirmRecipient(
  db: Db,
  token: string,
): Promise<{ address: string; workspace: { name: string; slug: string } }> {
  const [row] = await db<{ address: string; name: string; slug: string }[]>`
    UPDATE mail_recipients r SET confirmed_at = now(), token_hash = NULL, token_expires_at = NULL
    FROM workspaces w
    WHERE r.token_hash = ${sha256(token)} AND r.token_expires_at > now() AND r.confirmed_at IS NULL
      AND w.id = r.workspace_id
    RETURNING r.address, w.name, w.slug`;
  if (!row) throw new DomainError('unauthenticated', 'this link has expired, was already used, or was replaced');
  return { address: row.address, workspace: { name: row.name, slug: row.slug } };
}
