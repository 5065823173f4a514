import { createTransport } from 'nodemailer';
import type { Logger } from '../logger.js';

/** Where and as whom the control plane sends email (OUTPOST_SMTP_URL and OUTPOST_MAIL_FROM). */
export interface MailSettings {
  /** `smtp://user:pass@host:587` (STARTTLS when offered) or `smtps://…:465` (TLS from the start). */
  smtpUrl: string;
  /** The sender, e.g. `Outpost <outpost@example.com>`. */
  from: string;
}

export interface OutgoingMail {
  to: string;
  subject: string;
  text: string;
}

export type Delivery = 'sent' | 'failed';

/**
 * A subject as one header line: line breaks and other control characters become spaces, so text a
 * tenant's template produced can never end the header and start another (Bcc:, a second To:).
 */
export function oneLineSubject(subject: string): string {
  return subject
    .replace(/[\p{Cc}\p{Zl}\p{Zp}]+/gu, ' ')
    .trim()
    .slice(0, 998);
}

/** Sends plain-text mail through one SMTP server. Messages carry one-time links: nothing of them is logged. */
export class Mailer {
  readonly #transport: ReturnType<typeof createTransport>;
  readonly #from: string;

  constructor(
    settings: MailSettings,
    private readonly logger: Logger,
  ) {
    this.#from = settings.from;
    this.#transport = createTransport({
      url: settings.smtpUrl,
      // A request waits for the mail server: a dead one must answer within seconds, not minutes.
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 20_000,
      // nodemailer's own logging would print the message, and with it the link.
      logger: false,
      debug: false,
    });
  }

  /** Hands the message to the mail server; 'failed' (logged without the message) when it refuses or cannot be reached. */
  async send(mail: OutgoingMail, context: Record<string, string>): Promise<Delivery> {
    try {
      await this.#transport.sendMail({ from: this.#from, to: mail.to, subject: oneLineSubject(mail.subject), text: mail.text });
      this.logger.info(context, 'email sent');
      return 'sent';
    } catch (error) {
      // The error of a refused message can quote it; only its code and the server's reply code are kept.
      const { code, responseCode } = error as { code?: unknown; responseCode?: unknown };
      this.logger.warn({ ...context, code, responseCode }, 'email could not be sent');
      return 'failed';
    }
  }

  /**
   * Sends a notification to its recipients and throws when the server refuses it or cannot be
   * reached, with the server's one-line reason: notifications carry no one-time links, and their
   * delivery records why an attempt failed.
   */
  async deliver(mail: { to: string[]; subject: string; text: string }): Promise<void> {
    try {
      await this.#transport.sendMail({ from: this.#from, to: mail.to, subject: oneLineSubject(mail.subject), text: mail.text });
    } catch (error) {
      const { code, responseCode, response } = error as { code?: unknown; responseCode?: unknown; response?: unknown };
      const reply = typeof response === 'string' ? response.split('\n')[0] : (error as Error).message;
      throw new Error(`the mail server refused or could not be reached (${String(code ?? responseCode ?? 'error')}): ${reply}`);
    }
  }

  close(): void {
    this.#transport.close();
  }
}
