import * as z from 'zod';
import { Id, JsonObject, Name, Timestamp } from './common.js';

/**
 * Inbound webhooks: a URL with a secret token that another system (GitHub, a storage bucket's
 * notifications, a CI job) posts JSON to. The body must be signed with the webhook's secret
 * (`sha256=<hex HMAC-SHA256 of the raw body>` in the signature header); a template picks the
 * fields that become the event, and only those are stored.
 */

/** The header carrying the signature unless the webhook names another (GitHub: `x-hub-signature-256`). */
export const DEFAULT_WEBHOOK_SIGNATURE_HEADER = 'x-outpost-signature';

const TemplateString = z.string().min(1).max(2000);

/**
 * Which event a request becomes. Strings may hold CEL placeholders `{{ … }}` over `body` (the parsed
 * JSON) and `headers` (lower-case names); a string that is exactly one placeholder keeps its type.
 */
export const EventWebhookTemplate = z.strictObject({
  /** The event kind, literal (`github.push`) or templated (`github.{{ headers["x-github-event"] }}`). */
  kind: TemplateString,
  /** What the event is about; the webhook itself unless given. */
  resource: z.strictObject({ kind: TemplateString, id: TemplateString, name: TemplateString.optional() }).optional(),
  /** The payload: each field a template. Only these fields are stored. */
  payload: JsonObject.default({}),
});
export type EventWebhookTemplate = z.infer<typeof EventWebhookTemplate>;

export const EventWebhookCreateRequest = z.strictObject({
  name: Name,
  description: z.string().max(1000).optional(),
  /** Lower-case header name carrying `sha256=<hex>`. @default "x-outpost-signature" */
  signatureHeader: z
    .string()
    .regex(/^[a-z0-9-]{1,100}$/, 'a lower-case header name')
    .optional(),
  template: EventWebhookTemplate,
  enabled: z.boolean().optional(),
});
export type EventWebhookCreateRequest = z.infer<typeof EventWebhookCreateRequest>;

export const EventWebhook = z.object({
  id: Id,
  name: z.string(),
  description: z.string().nullable(),
  signatureHeader: z.string(),
  template: EventWebhookTemplate,
  enabled: z.boolean(),
  createdAt: Timestamp,
  lastUsedAt: Timestamp.nullable(),
  /** Why the last delivery refused with a 422 could not become an event (its template failed on the body, or ran past its budget). */
  lastError: z.string().nullable(),
});
export type EventWebhook = z.infer<typeof EventWebhook>;

/** The URL token and the signing secret, shown once: only a hash of the token is kept. */
export const EventWebhookSecretResponse = z.object({
  webhook: EventWebhook,
  /** The path to post to, under the server's address: `/api/v1/hooks/<token>`. */
  path: z.string(),
  token: z.string(),
  secret: z.string(),
});
export type EventWebhookSecretResponse = z.infer<typeof EventWebhookSecretResponse>;

export const EventWebhookListResponse = z.strictObject({ items: z.array(EventWebhook) });
export type EventWebhookListResponse = z.infer<typeof EventWebhookListResponse>;

export const EventWebhookParams = z.strictObject({ id: Id });

/** Any token is looked up (an unknown one is a 404 like a missing webhook); issued ones are `wh_` and 43 base64url characters. */
export const EventWebhookTokenParams = z.strictObject({ token: z.string().min(1).max(200) });

export const EventWebhookReceiveResponse = z.object({ id: Id });
export type EventWebhookReceiveResponse = z.infer<typeof EventWebhookReceiveResponse>;
