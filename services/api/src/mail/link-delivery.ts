import type { EmailDelivery } from '@outpost/sdk/contracts';
import type { Logger } from '../logger.js';
import type { Mailer, OutgoingMail } from './mailer.js';

/** What the server logs, once at start, when it has no mail server. */
export const LINKS_PRINTED_NOTICE =
  'mail is not configured (OUTPOST_SMTP_URL is unset), so address confirmation and password reset links are printed to this log instead of emailed';

/**
 * Sends a message that carries a one-time link to the one address it is for. A server without a
 * mail server (local use, `npm start`) prints the link to its log instead, with the address it was
 * for, and answers `not_configured`: whoever runs the server reads it there, as they could read the
 * database. With a mail server, the link goes into the email and nowhere else.
 */
export async function deliverLink(
  deps: { mailer: Mailer | null; logger: Logger },
  mail: OutgoingMail & { link: string },
  context: Record<string, string>,
): Promise<EmailDelivery> {
  if (deps.mailer) return deps.mailer.send({ to: mail.to, subject: mail.subject, text: mail.text }, context);
  deps.logger.warn(
    { ...context, to: mail.to, link: mail.link },
    `mail is not configured, so this link is printed instead of emailed: ${mail.subject} (${mail.to}): ${mail.link}`,
  );
  return 'not_configured';
}
