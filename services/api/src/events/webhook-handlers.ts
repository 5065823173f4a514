import { API_PREFIX, DEFAULT_WEBHOOK_SIGNATURE_HEADER, type EventWebhookSecretResponse } from '@outpost/sdk/contracts';
import { DomainError, notFound } from '../domain-error.js';
import { ApiError } from '../errors.js';
import type { Handlers } from '../http/route-types.js';
import { storeTenantEvents } from '../quotas/events-per-day.js';
import { assertRoomForOne } from '../quotas/object-counts.js';
import {
  deleteEventWebhook,
  type EventWebhookRow,
  findEventWebhookByTokenHash,
  insertEventWebhook,
  listEventWebhooks,
  recordEventWebhookError,
  rotateEventWebhook,
  toEventWebhook,
  touchEventWebhook,
} from './db/event-webhooks.js';
import {
  compileWebhookTemplate,
  hashWebhookToken,
  newWebhookSecret,
  newWebhookToken,
  openWebhookSecret,
  renderWebhookEvent,
  sealWebhookSecret,
  signatureMatches,
} from './webhooks.js';

function shownOnce(row: EventWebhookRow, token: string, secret: string): EventWebhookSecretResponse {
  return { webhook: toEventWebhook(row), path: `${API_PREFIX}/hooks/${token}`, token, secret };
}

/** The inbound webhooks of a workspace, and the route their deliveries come to. */
export const eventWebhookHandlers = {
  eventWebhooksCreate: async ({ body, principal, deps }) => {
    compileWebhookTemplate(body.template);
    const id = crypto.randomUUID();
    const token = newWebhookToken();
    const secret = newWebhookSecret();
    const row = await deps.sql.begin(async (tx) => {
      await assertRoomForOne(tx, principal.workspaceId, 'webhooks');
      return insertEventWebhook(tx, {
        id,
        workspaceId: principal.workspaceId,
        name: body.name,
        description: body.description ?? null,
        tokenHash: hashWebhookToken(token),
        secretSealed: sealWebhookSecret(deps.secretBox, secret, id),
        signatureHeader: body.signatureHeader ?? DEFAULT_WEBHOOK_SIGNATURE_HEADER,
        template: body.template,
        enabled: body.enabled ?? true,
      });
    });
    if (!row) throw new DomainError('conflict', `a webhook named "${body.name}" already exists`);
    return shownOnce(row, token, secret);
  },

  eventWebhooksList: async ({ principal, deps }) => ({
    items: (await listEventWebhooks(deps.sql, principal.workspaceId)).map(toEventWebhook),
  }),

  eventWebhooksRotate: async ({ params, principal, deps }) => {
    const token = newWebhookToken();
    const secret = newWebhookSecret();
    const row = await rotateEventWebhook(
      deps.sql,
      principal.workspaceId,
      params.id,
      hashWebhookToken(token),
      sealWebhookSecret(deps.secretBox, secret, params.id),
    );
    if (!row) throw notFound('webhook');
    return shownOnce(row, token, secret);
  },

  eventWebhooksDelete: async ({ params, principal, deps }) => {
    if (!(await deleteEventWebhook(deps.sql, principal.workspaceId, params.id))) throw notFound('webhook');
    return null;
  },

  /**
   * A delivery. Nothing is read from the body, and nothing stored, before its signature checks out:
   * an unknown token is a 404, a missing or wrong signature a 401.
   */
  eventWebhookReceive: async ({ params, deps, header, headers, rawBody, status }) => {
    const webhook = await findEventWebhookByTokenHash(deps.sql, hashWebhookToken(params.token));
    if (!webhook) throw notFound('webhook');
    const bytes = await rawBody();
    const secret = openWebhookSecret(deps.secretBox, webhook.secret_sealed, webhook.id);
    if (secret === null) {
      throw new ApiError('unavailable', "the webhook's secret cannot be opened with this server's OUTPOST_SECRET_KEY");
    }
    if (!signatureMatches(secret, bytes, header(webhook.signature_header))) {
      throw new ApiError(
        'unauthenticated',
        `the ${webhook.signature_header} header is missing or is not sha256=<hex HMAC of the body>`,
      );
    }
    if (!webhook.enabled) throw new ApiError('conflict', 'the webhook is disabled');
    const text = Buffer.from(bytes).toString('utf8');
    let body: unknown = null;
    if (text.trim() !== '') {
      try {
        body = JSON.parse(text);
      } catch (error) {
        throw new ApiError('malformed_json', `the body is not valid JSON: ${(error as Error).message}`);
      }
    }
    // A plain object: CEL reads an object's constructor, which hono's header record (null prototype) has not.
    let event: Awaited<ReturnType<typeof renderWebhookEvent>>;
    try {
      event = await renderWebhookEvent(
        webhook.template,
        { body, headers: { ...headers() } },
        { id: webhook.id, name: webhook.name, workspaceId: webhook.workspace_id },
      );
    } catch (error) {
      // The sender sees why; so does the workspace, on the webhook.
      if (error instanceof DomainError) await recordEventWebhookError(deps.sql, webhook.id, error.detail);
      throw error;
    }
    const [id] = await storeTenantEvents(deps.sql, webhook.workspace_id, [
      { workspaceId: webhook.workspace_id, ...event, source: 'webhook', sourceId: webhook.id },
    ]);
    await touchEventWebhook(deps.sql, webhook.id);
    status(202);
    return { id: id as string };
  },
} satisfies Pick<
  Handlers,
  'eventWebhooksCreate' | 'eventWebhooksList' | 'eventWebhooksRotate' | 'eventWebhooksDelete' | 'eventWebhookReceive'
>;
