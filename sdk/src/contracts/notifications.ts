import * as z from 'zod';
import { Id, Name, PageLimit, Timestamp } from './common.js';

/**
 * Notifications: channels a notify action sends through (a signed webhook, a Slack incoming
 * webhook, email) and the outbox of deliveries, retried with backoff and kept as dead letters after
 * the last attempt. Subjects and bodies are CEL `{{ }}` templates over `event` (the OutpostEvent
 * that caused the notification) and `automation` ({id, name}).
 */

export const NotificationChannelKind = z.enum(['webhook', 'slack', 'email']);
export type NotificationChannelKind = z.infer<typeof NotificationChannelKind>;

export const NOTIFICATION_DELIVERY_STATUSES = ['PENDING', 'SENT', 'DEAD'] as const;
export const NotificationDeliveryStatus = z.enum(NOTIFICATION_DELIVERY_STATUSES);
export type NotificationDeliveryStatus = z.infer<typeof NotificationDeliveryStatus>;

/** The header carrying a webhook delivery's signature: `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`. */
export const NOTIFICATION_SIGNATURE_HEADER = 'x-outpost-signature';
/** The header carrying a delivery's id, the same on every attempt: receivers dedupe by it. */
export const NOTIFICATION_DELIVERY_HEADER = 'x-outpost-delivery';

const HttpUrl = z.url({ protocol: /^https?$/, error: 'an http:// or https:// URL' }).max(2000);
const Template = z.string().min(1).max(4000);
const Email = z.email().max(320);
/**
 * The most addresses one email channel sends to. Each must be the verified address of an active
 * member of the workspace, or an address that confirmed by the link Outpost mailed it.
 */
export const MAX_EMAIL_RECIPIENTS = 20;
const Recipients = z.array(Email).min(1).max(MAX_EMAIL_RECIPIENTS);
/** A signing secret chosen by the caller; one is generated when absent. */
const SigningSecret = z.string().min(16).max(200);

const ChannelCommon = {
  name: Name,
  /** Template of the subject when the notify action gives none (email subject, Slack heading). */
  subjectTemplate: Template.optional(),
  /** Template of the body when the notify action gives none. */
  bodyTemplate: Template.optional(),
  enabled: z.boolean().optional(),
};

export const NotificationChannelCreateRequest = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('webhook'), url: HttpUrl, secret: SigningSecret.optional(), ...ChannelCommon }),
  /** `secretUrl`: the Slack incoming-webhook URL, a credential: stored sealed and never shown again. */
  z.strictObject({ kind: z.literal('slack'), secretUrl: HttpUrl, ...ChannelCommon }),
  z.strictObject({ kind: z.literal('email'), recipients: Recipients, ...ChannelCommon }),
]);
export type NotificationChannelCreateRequest = z.infer<typeof NotificationChannelCreateRequest>;

/** Changes to a channel; its kind stays. `null` clears a template. */
export const NotificationChannelUpdateRequest = z.strictObject({
  url: HttpUrl.optional(),
  secretUrl: HttpUrl.optional(),
  recipients: Recipients.optional(),
  subjectTemplate: Template.nullable().optional(),
  bodyTemplate: Template.nullable().optional(),
  enabled: z.boolean().optional(),
  /** Webhook channels: a new signing secret is generated and shown once. */
  rotateSecret: z.boolean().optional(),
});
export type NotificationChannelUpdateRequest = z.infer<typeof NotificationChannelUpdateRequest>;

export const NotificationChannel = z.object({
  id: Id,
  name: Name,
  kind: NotificationChannelKind,
  /** The webhook's URL; null for Slack (the URL is the secret) and email. */
  url: z.string().nullable(),
  recipients: z.array(z.string()),
  /**
   * Of `recipients`, the external addresses that have not confirmed yet (each was mailed one
   * confirmation link): nothing is sent to them until they do.
   */
  pendingRecipients: z.array(z.string()),
  subjectTemplate: z.string().nullable(),
  bodyTemplate: z.string().nullable(),
  enabled: z.boolean(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type NotificationChannel = z.infer<typeof NotificationChannel>;

/** A created (or secret-rotated) channel; `signingSecret` is shown this once, for webhook channels. */
export const NotificationChannelWithSecret = NotificationChannel.extend({ signingSecret: z.string().nullable() });
export type NotificationChannelWithSecret = z.infer<typeof NotificationChannelWithSecret>;

export const NotificationChannelListResponse = z.strictObject({ items: z.array(NotificationChannel) });
export type NotificationChannelListResponse = z.infer<typeof NotificationChannelListResponse>;

export const NotificationChannelParam = z.strictObject({ name: Name });

export const NotificationDelivery = z.object({
  id: Id,
  channel: z.string(),
  channelId: Id.nullable(),
  automationId: Id.nullable(),
  firingId: Id.nullable(),
  eventId: Id.nullable(),
  subject: z.string(),
  body: z.string(),
  status: NotificationDeliveryStatus,
  attempts: z.number().int(),
  nextAttemptAt: Timestamp.nullable(),
  /**
   * Why the last attempt failed. Owners and admins read it whole ("<lead> — <detail>"); other roles
   * read only the lead: the status class, "could not be reached", "not allowed", or a sentence about the channel.
   */
  lastError: z.string().nullable(),
  sentAt: Timestamp.nullable(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type NotificationDelivery = z.infer<typeof NotificationDelivery>;

export const NotificationDeliveryListQuery = z.strictObject({
  status: NotificationDeliveryStatus.optional(),
  channel: Name.optional(),
  limit: PageLimit,
  cursor: z.string().max(200).optional(),
});
export type NotificationDeliveryListQuery = z.infer<typeof NotificationDeliveryListQuery>;

export const NotificationDeliveryListResponse = z.strictObject({
  items: z.array(NotificationDelivery),
  nextCursor: z.string().nullable(),
});
export type NotificationDeliveryListResponse = z.infer<typeof NotificationDeliveryListResponse>;

// ---- built-in alert rules: presets that create an automation with a notify action ----

export const ALERT_RULES = [
  'run-failed',
  'run-crashed',
  'run-late',
  'pool-no-worker',
  'worker-offline',
  'duration-sla',
  'asset-freshness',
] as const;
export const AlertRuleKind = z.enum(ALERT_RULES);
export type AlertRuleKind = z.infer<typeof AlertRuleKind>;

/** The prefix of the name of every automation an alert rule created: how `GET /alert-rules` finds them. */
export const ALERT_RULE_PREFIX = 'alert.';

export const AlertRuleCreateRequest = z
  .strictObject({
    rule: AlertRuleKind,
    channel: Name,
    /** Only runs of this deployment ("flow/name"): run-failed, run-crashed, run-late, duration-sla. */
    deployment: z
      .string()
      .regex(/^[^/\s]+\/[^/\s]+$/, 'name a deployment as "flow/deployment"')
      .max(300)
      .optional(),
    /** Only this pool: pool-no-worker, worker-offline. */
    pool: Name.optional(),
    /**
     * duration-sla: the longest a run may run (required). run-late: how long a run may stay Late;
     * pool-no-worker: how long a pool may be without a worker, before the alert (absent: at once).
     */
    minutes: z.number().int().min(1).max(44_640).optional(),
  })
  .superRefine((r, ctx) => {
    if (r.rule === 'duration-sla' && r.minutes === undefined) {
      ctx.addIssue({ code: 'custom', path: ['minutes'], message: 'a duration SLA needs its bound in minutes' });
    }
    const byDeployment = ['run-failed', 'run-crashed', 'run-late', 'duration-sla'];
    if (r.deployment !== undefined && !byDeployment.includes(r.rule)) {
      ctx.addIssue({ code: 'custom', path: ['deployment'], message: `the ${r.rule} rule does not filter by deployment` });
    }
    if (r.pool !== undefined && !['pool-no-worker', 'worker-offline'].includes(r.rule)) {
      ctx.addIssue({ code: 'custom', path: ['pool'], message: `the ${r.rule} rule does not filter by pool` });
    }
  });
export type AlertRuleCreateRequest = z.infer<typeof AlertRuleCreateRequest>;

/** `POST /mail-recipients/confirm`: the token of the confirmation link mailed to an email channel's recipient. */
export const MailRecipientConfirmRequest = z.strictObject({ token: z.string().min(1).max(200) });
export type MailRecipientConfirmRequest = z.infer<typeof MailRecipientConfirmRequest>;

export const MailRecipientConfirmResponse = z.strictObject({
  address: z.string(),
  /** The workspace whose notifications the address now receives. */
  workspace: z.strictObject({ name: z.string(), slug: z.string() }),
});
export type MailRecipientConfirmResponse = z.infer<typeof MailRecipientConfirmResponse>;
