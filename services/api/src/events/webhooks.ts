import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { EventEmitRequest, type EventResource, type EventWebhookTemplate, MAX_EVENT_PAYLOAD_BYTES } from '@outpost/sdk/contracts';
import { compileTemplate } from '../cel/index.js';
import { celFieldError, celValidationError } from '../cel/problems.js';
import { celSandbox, isBudgetFailure } from '../cel/sandbox.js';
import type { SecretBox } from '../db/secret-box.js';
import { DomainError } from '../domain-error.js';

/*
 * Inbound webhooks. The URL carries a random token (256 bits; only its sha256 is stored, so a copy
 * of the database cannot post as anyone) and every body must be signed with the webhook's secret:
 * `sha256=<hex HMAC-SHA256(secret, raw body)>`, GitHub's `X-Hub-Signature-256` format. The template
 * is CEL compiled when the webhook is saved; a delivery keeps only what the template picks.
 */

export const TEMPLATE_VARIABLES = ['body', 'headers'] as const;

export function newWebhookToken(): string {
  return `wh_${randomBytes(32).toString('base64url')}`;
}

export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64url')}`;
}

export function hashWebhookToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** The secret as stored: sealed for this webhook when the server has a key, else marked plain. */
export function sealWebhookSecret(box: SecretBox | null, secret: string, webhookId: string): string {
  return box ? box.seal(secret, `event-webhook:${webhookId}`) : `plain.${secret}`;
}

export function openWebhookSecret(box: SecretBox | null, stored: string, webhookId: string): string | null {
  if (stored.startsWith('plain.')) return stored.slice('plain.'.length);
  return box?.open(stored, `event-webhook:${webhookId}`) ?? null;
}

/** `sha256=<hex>` of the body under the secret: what a sender puts in the signature header. */
export function signWebhookBody(secret: string, body: string | Uint8Array): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** Compared in constant time; any other shape of header is simply not a match. */
export function signatureMatches(secret: string, body: Uint8Array, header: string | undefined): boolean {
  if (header === undefined) return false;
  const expected = Buffer.from(signWebhookBody(secret, body), 'utf8');
  const offered = Buffer.from(header.trim(), 'utf8');
  return offered.length === expected.length && timingSafeEqual(offered, expected);
}

/**
 * Compiles a template, or throws a 422 naming the field (`body.template.payload.sha`) and the
 * position inside its string: `<message> (line L, column C)`.
 */
export function compileWebhookTemplate(template: EventWebhookTemplate, field = 'body.template') {
  try {
    return compileTemplate(template, TEMPLATE_VARIABLES);
  } catch (error) {
    const problem = celFieldError(error, field);
    if (!problem) throw error;
    throw celValidationError([problem]);
  }
}

/** What a delivery becomes once rendered: the event's kind, resource and payload. */
export interface RenderedEvent {
  kind: string;
  resource: EventResource;
  payload: Record<string, unknown>;
}

/** Why a delivery could not become an event; `overBudget` when its template ran past its time or memory budget. */
export class WebhookRenderError extends DomainError {
  constructor(
    detail: string,
    readonly overBudget: boolean,
  ) {
    super('validation_failed', detail);
  }
}

/**
 * The event a delivery becomes, or a 422 saying why the template cannot make one from this body (a
 * field it reads is missing, the kind it yields is not a kind, the payload is over the limit, the
 * template ran past its budget). The template is rendered in the CEL sandbox, off the event loop.
 */
export async function renderWebhookEvent(
  template: EventWebhookTemplate,
  variables: { body: unknown; headers: Record<string, string> },
  webhook: { id: string; name: string; workspaceId: string },
): Promise<RenderedEvent> {
  const [result] = await celSandbox().run(
    webhook.workspaceId,
    [variables as unknown as Record<string, unknown>],
    [{ kind: 'template', template, variables: TEMPLATE_VARIABLES, bindings: 0 }],
  );
  if (!result?.ok) {
    const message = result?.message ?? 'not evaluated';
    if (result && isBudgetFailure(result)) {
      throw new WebhookRenderError(`the webhook's template ran past its budget: ${message}`, true);
    }
    throw new WebhookRenderError(`the webhook's template cannot be evaluated on this body: ${message}`, false);
  }
  const rendered = result.value as { kind?: unknown; resource?: Record<string, unknown>; payload?: unknown };
  const text = (value: unknown) => (typeof value === 'string' ? value : JSON.stringify(value ?? null));
  const resource: EventResource = rendered.resource
    ? {
        kind: text(rendered.resource.kind),
        id: text(rendered.resource.id),
        ...(rendered.resource.name !== undefined ? { name: text(rendered.resource.name) } : {}),
      }
    : { kind: 'webhook', id: webhook.id, name: webhook.name };
  const candidate = { kind: text(rendered.kind), resource, payload: rendered.payload ?? {} };
  const checked = EventEmitRequest.safeParse(candidate);
  if (!checked.success) {
    const issue = checked.error.issues[0];
    const where = issue?.path.join('.') || 'event';
    const limit = where === 'payload' ? ` (limit ${MAX_EVENT_PAYLOAD_BYTES} bytes)` : '';
    throw new DomainError('validation_failed', `the template made an invalid event: ${where}: ${issue?.message}${limit}`);
  }
  return { kind: checked.data.kind, resource: checked.data.resource ?? resource, payload: checked.data.payload ?? {} };
}
