import { NOTIFICATION_DELIVERY_HEADER, NOTIFICATION_SIGNATURE_HEADER } from '@outpost/sdk/contracts';
import type { Sql } from '../db/client.js';
import type { SecretBox } from '../db/secret-box.js';
import type { Logger } from '../logger.js';
import { takeMail } from '../mail/mail-quota.js';
import type { Mailer } from '../mail/mailer.js';
import {
  claimDueDeliveries,
  type DueDelivery,
  markFailed,
  markSent,
  openChannelSecret,
} from '../notifications/db/notifications.js';
import { failureText } from '../notifications/delivery-errors.js';
import { notificationAllowance, OutboundRefused, postOutbound } from '../notifications/outbound.js';
import { deliverableRecipients } from '../notifications/recipients.js';
import { signatureHeader } from '../notifications/signature.js';
import type { RunNotifier } from '../runs/run-notifier.js';
import { ElectedRounds } from './elected-loop.js';

export interface NotificationLoopOptions {
  /** Attempts before a delivery is DEAD. @default 6 */
  maxAttempts?: number;
  /** Delay before the second attempt; each next one doubles it, with jitter. @default 10000 */
  baseDelayMs?: number;
  /** The longest delay between attempts. @default 3600000 */
  maxDelayMs?: number;
  /** How long one attempt may take. @default 10000 */
  timeoutMs?: number;
  /** Deliveries taken per pass. @default 20 */
  batchSize?: number;
  /** Delay after a pass with nothing due (a new delivery wakes the loop sooner). @default 1000 */
  idleMs?: number;
  /** Let notification URLs reach private and loopback addresses (OUTPOST_NOTIFY_ALLOW_PRIVATE_NETWORKS). @default false */
  allowPrivateNetworks?: boolean;
}

/** The delay before attempt `attempt + 1`: doubling from the base, capped, with up to half of it as jitter. */
export function backoffMs(attempt: number, baseMs: number, maxMs: number, random = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/**
 * Sends the outbox (notification_deliveries): each due delivery is taken for one attempt (a lease on
 * its next_attempt_at, notifications/db/notifications.ts), sent outside any transaction, then marked SENT, given
 * another attempt after an exponential backoff, or DEAD with the last error once the attempts are
 * used up. A new or retried delivery NOTIFYs `outpost_notifications`, which wakes the loop at once.
 */
export class NotificationLoop extends ElectedRounds {
  readonly #options: Required<NotificationLoopOptions>;

  constructor(
    private readonly sql: Sql,
    databaseUrl: string,
    private readonly logger: Logger,
    private readonly notifier: RunNotifier | null,
    private readonly secretBox: SecretBox | null,
    private readonly mailer: Mailer | null,
    options: NotificationLoopOptions = {},
  ) {
    const settings: Required<NotificationLoopOptions> = {
      maxAttempts: options.maxAttempts ?? 6,
      baseDelayMs: options.baseDelayMs ?? 10_000,
      maxDelayMs: options.maxDelayMs ?? 3_600_000,
      timeoutMs: options.timeoutMs ?? 10_000,
      batchSize: options.batchSize ?? 20,
      idleMs: options.idleMs ?? 1_000,
      allowPrivateNetworks: options.allowPrivateNetworks ?? false,
    };
    super(databaseUrl, logger, { name: 'notifications', busyMs: 0, idleMs: settings.idleMs });
    this.#options = settings;
  }

  protected round(): Promise<number> {
    return this.tick();
  }

  protected override doorbell(wake: () => void): (() => void) | null | undefined {
    return this.notifier?.onNotificationsDue(wake);
  }

  /** One pass: sends what is due; returns how many deliveries it attempted. */
  async tick(): Promise<number> {
    const leaseSeconds = Math.ceil(this.#options.timeoutMs / 1000) + 30;
    const due = await claimDueDeliveries(this.sql, this.#options.batchSize, leaseSeconds);
    await Promise.all(due.map((d) => this.#attempt(d)));
    return due.length;
  }

  async #attempt(d: DueDelivery): Promise<void> {
    try {
      await this.#send(d);
      await markSent(this.sql, d.id, d.attempts);
      this.logger.info({ delivery: d.id, channel: d.channel_name, attempt: d.attempts }, 'notification sent');
    } catch (error) {
      // Unsendable says something about the channel itself; anything else gets a lead readers may see (delivery-errors.ts).
      const message = error instanceof Unsendable ? error.message : failureText(error, d.kind);
      // A refused address or a missing channel will not get better by itself: dead at once.
      const final = error instanceof Unsendable || error instanceof OutboundRefused || d.attempts >= this.#options.maxAttempts;
      const retryIn = final ? null : backoffMs(d.attempts, this.#options.baseDelayMs, this.#options.maxDelayMs) / 1000;
      await markFailed(this.sql, d.id, d.attempts, message, retryIn);
      this.logger.warn(
        { delivery: d.id, channel: d.channel_name, attempt: d.attempts, error: message, dead: final },
        final ? 'notification is a dead letter' : 'notification attempt failed; will retry',
      );
    }
  }

  #secret(d: DueDelivery): string {
    if (!d.secret_encrypted || !d.channel_id) throw new Unsendable(`the channel "${d.channel_name}" has no secret`);
    const secret = openChannelSecret(this.secretBox, d.channel_id, d.secret_encrypted);
    if (secret === null) {
      throw new Unsendable(`the channel "${d.channel_name}"'s secret cannot be opened: OUTPOST_SECRET_KEY is missing or changed`);
    }
    return secret;
  }

  async #send(d: DueDelivery): Promise<void> {
    if (!d.channel_id || !d.kind) throw new Unsendable(`the channel "${d.channel_name}" was deleted`);
    if (!d.enabled) throw new Unsendable(`the channel "${d.channel_name}" is disabled`);
    const post = { timeoutMs: this.#options.timeoutMs, allowance: notificationAllowance(this.#options.allowPrivateNetworks) };
    switch (d.kind) {
      case 'webhook': {
        if (!d.url) throw new Unsendable('the webhook channel has no URL');
        const body = JSON.stringify(d.payload);
        const headers = {
          'content-type': 'application/json',
          'user-agent': 'Outpost-Notifications/1',
          [NOTIFICATION_DELIVERY_HEADER]: d.id,
          [NOTIFICATION_SIGNATURE_HEADER]: signatureHeader(this.#secret(d), body),
        };
        await postOutbound(d.url, body, { ...post, headers });
        return;
      }
      case 'slack': {
        const body = JSON.stringify(slackMessage(d.subject, d.body));
        const headers = { 'content-type': 'application/json', 'user-agent': 'Outpost-Notifications/1' };
        await postOutbound(this.#secret(d), body, { ...post, headers });
        return;
      }
      case 'email': {
        if (!this.mailer) throw new Unsendable('the server has no OUTPOST_SMTP_URL to send email with');
        // Only verified members and confirmed addresses receive mail; pending ones are skipped.
        const to = await deliverableRecipients(this.sql, d.workspace_id, d.recipients ?? []);
        if (to.length === 0) {
          throw new Unsendable(
            `none of the channel "${d.channel_name}"'s recipients can receive mail yet: each must be a verified member's address or confirm by the link mailed to it`,
          );
        }
        const allowance = await takeMail(this.sql, d.workspace_id, to.length);
        if (!allowance.ok) {
          throw new Unsendable(
            `not sent: the workspace's quota "mailPerHour" (${allowance.limit}) is reached; the mail would have gone to ${to.length} recipient(s)`,
          );
        }
        await this.mailer.deliver({ to, subject: d.subject, text: d.body });
        return;
      }
    }
  }
}

/** A delivery that no further attempt can send. */
class Unsendable extends Error {}

/** A Slack incoming-webhook message: `text` for notifications and clients without blocks, blocks for the rest. */
export function slackMessage(subject: string, body: string): { text: string; blocks: unknown[] } {
  return {
    text: `${subject}\n${body}`,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: subject.slice(0, 150), emoji: false } },
      { type: 'section', text: { type: 'mrkdwn', text: body.slice(0, 3000) || ' ' } },
    ],
  };
}
