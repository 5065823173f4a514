import { PASSWORD_RESET_MINUTES } from '@outpost/sdk/contracts';
import { findUserByEmail, getUser, revokeUserSessions, setPasswordHash, verifyAccount } from '../auth/db/users.js';
import { hashPassword, passwordProblem } from '../auth/passwords.js';
import type { AppDeps } from '../context.js';
import { DomainError } from '../domain-error.js';
import { deliverLink } from '../mail/link-delivery.js';
import { passwordResetMail } from '../mail/messages.js';
import { consumeEmailToken, voidPasswordResetTokens } from './db/email-tokens.js';
import { emailTokenHash, newPasswordResetLink } from './email-links.js';

/*
 * Password reset by emailed link, for anyone whose account has an address: a person who forgot
 * their password, and an account a directory made (no password, address not confirmed yet). Asking
 * is answered the same whatever the address; the link goes to the address alone (or, on a server
 * without a mail server, into its log), works once for PASSWORD_RESET_MINUTES, and only the latest
 * one works. Using it proves the address, so it confirms it too.
 */

/** The one answer to every request, account or not. */
export const PASSWORD_RESET_ANSWER = `If an Outpost account has this address, a link to choose a new password was sent there; it works once, for ${PASSWORD_RESET_MINUTES} minutes.`;

/**
 * Takes a request for a reset link. Counted per address asked for and per client (a 429 comes
 * whether or not an account has the address). The link is made and sent after the answer, so how
 * long the answer takes does not tell whether an account has the address either. Returns the
 * account's id, for the audit log (never for the answer), or null.
 */
export async function requestPasswordReset(
  deps: AppDeps,
  input: { email: string },
  address: string | null,
): Promise<{ userId: string | null }> {
  deps.rateLimiter.checkPasswordReset(input.email, address);
  const user = await findUserByEmail(deps.sql, input.email);
  if (!user) return { userId: null };
  // The address's own allowance of mail: past it, nothing more is sent this hour (and the answer is the same).
  if (!deps.rateLimiter.takeEmail(user.id)) {
    deps.logger.info(
      { userId: user.id, purpose: 'password reset' },
      'password reset link not sent: too many emails to this address',
    );
    return { userId: user.id };
  }
  void sendResetLink(deps, user.id, user.email).catch((error: unknown) => {
    deps.logger.error({ userId: user.id, err: error }, 'password reset link could not be made');
  });
  return { userId: user.id };
}

async function sendResetLink(deps: AppDeps, userId: string, email: string): Promise<void> {
  const link = await newPasswordResetLink(deps.sql, deps.publicUrl, { userId, email });
  await deliverLink(
    deps,
    { ...passwordResetMail({ to: email, ...link }), link: link.link },
    { userId, purpose: 'password reset' },
  );
}

/**
 * Uses a reset link: the password is set (with the policy of every other password), the address is
 * confirmed (an account a workspace managed becomes its person's own, as with any confirmation
 * link), every session of the account ends, and every other reset link stops working. A refused
 * password rolls everything back, and the link stays usable.
 */
export async function confirmPasswordReset(
  deps: AppDeps,
  input: { token: string; password: string },
): Promise<{ userId: string; email: string; verifiedNow: boolean }> {
  return deps.sql.begin(async (tx) => {
    // The cheap check first: a made-up token costs one indexed UPDATE, never a scrypt.
    const used = await consumeEmailToken(tx, emailTokenHash(input.token), 'password_reset');
    const user = used ? await getUser(tx, used.userId) : null;
    if (!used || !user)
      throw new DomainError('unauthenticated', 'this reset link has expired, was already used, or was replaced');
    const problem = passwordProblem(input.password, user.email);
    if (problem) {
      throw new DomainError('validation_failed', 'the new password is not acceptable', {
        errors: [{ path: 'body.password', message: problem }],
      });
    }
    const hash = await hashPassword(input.password, deps.passwordParams);
    const verifiedNow = await verifyAccount(tx, user.id, hash);
    if (!verifiedNow) await setPasswordHash(tx, user.id, hash);
    await revokeUserSessions(tx, user.id);
    await voidPasswordResetTokens(tx, user.id);
    return { userId: user.id, email: user.email, verifiedNow };
  });
}
