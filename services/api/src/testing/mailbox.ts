import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

/*
 * A real SMTP server on 127.0.0.1 for tests: the API sends to it exactly as to a production mail
 * server (nodemailer over a socket), and a test reads what arrived. Test-only: smtp-server is a
 * development dependency, so this module is its own export (`@outpost/api/testing-mailbox`).
 */

export interface ReceivedMail {
  from: string;
  to: string[];
  subject: string;
  /** The decoded plain-text body. */
  text: string;
}

function decodeQuotedPrintable(body: string): string {
  const bytes = body
    .replace(/=\r?\n/g, '')
    .replace(/=([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
  return Buffer.from(bytes, 'latin1').toString('utf8');
}

function decodeHeader(value: string): string {
  // RFC 2047 encoded words, as nodemailer writes non-ASCII subjects.
  return value.replace(/=\?utf-8\?([BQ])\?([^?]*)\?=/gi, (_, kind: string, data: string) =>
    kind.toUpperCase() === 'B' ? Buffer.from(data, 'base64').toString('utf8') : decodeQuotedPrintable(data.replace(/_/g, ' ')),
  );
}

/** Headers and decoded body of a single-part message (the API sends plain text only). */
function parse(raw: string): { subject: string; text: string } {
  const split = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, split).replace(/\r\n[ \t]+/g, ' ');
  const body = raw.slice(split + 4);
  const header = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'im').exec(head)?.[1]?.trim() ?? '';
  const encoding = header('Content-Transfer-Encoding').toLowerCase();
  const text =
    encoding === 'quoted-printable'
      ? decodeQuotedPrintable(body)
      : encoding === 'base64'
        ? Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8')
        : body;
  return { subject: decodeHeader(header('Subject')), text: text.replace(/\r\n/g, '\n') };
}

export class TestMailbox {
  readonly messages: ReceivedMail[] = [];
  readonly #server: SMTPServer;
  #waiters: (() => void)[] = [];
  #port = 0;

  private constructor() {
    this.#server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          const { subject, text } = parse(Buffer.concat(chunks).toString('latin1'));
          this.messages.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            subject,
            text,
          });
          for (const wake of this.#waiters.splice(0)) wake();
          callback();
        });
      },
    });
  }

  /** A mailbox listening on a free port of 127.0.0.1. */
  static async start(): Promise<TestMailbox> {
    const mailbox = new TestMailbox();
    await new Promise<void>((resolve, reject) => {
      mailbox.#server.once('error', reject);
      mailbox.#server.listen(0, '127.0.0.1', () => resolve());
    });
    mailbox.#port = (mailbox.#server.server.address() as AddressInfo).port;
    return mailbox;
  }

  /** The URL to configure the API with (OUTPOST_SMTP_URL). */
  get url(): string {
    return `smtp://127.0.0.1:${this.#port}`;
  }

  /** The next message to `to` that arrives after `since` messages (all so far by default); fails after `timeoutMs`. */
  async next(to: string, options: { since?: number; timeoutMs?: number } = {}): Promise<ReceivedMail> {
    const since = options.since ?? 0;
    const deadline = Date.now() + (options.timeoutMs ?? 15_000);
    for (;;) {
      const found = this.messages.slice(since).find((m) => m.to.includes(to));
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no mail to ${to} arrived`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Every message to `to` so far. */
  to(address: string): ReceivedMail[] {
    return this.messages.filter((m) => m.to.includes(address));
  }

  close(): Promise<void> {
    for (const wake of this.#waiters.splice(0)) wake();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}

/** The one-time link in a message the API sent, and its token. */
export function linkIn(mail: ReceivedMail): { link: string; token: string } {
  const link = /https?:\/\/\S+#\/confirm-(?:email|recipient)\?token=([A-Za-z0-9_-]+)/.exec(mail.text);
  if (!link?.[1]) throw new Error(`no link in the mail "${mail.subject}"`);
  return { link: link[0], token: link[1] };
}
