import type { OutpostEvent } from '@outpost/sdk/contracts';
import type { Db } from '../db/client.js';
import { DomainError } from '../domain-error.js';
import { DEFAULT_BODY, DEFAULT_SUBJECT, renderText } from './templates.js';

export interface NotificationRequest {
  workspaceId: string;
  /** The channel's name in the workspace. */
  channel: string;
  automationId: string | null;
  /** Optional: the automation's name, for templates and the payload. */
  automationName?: string | null | undefined;
  firingId: string | null;
  /** Unique per workspace: a second request with the same key stores nothing (a redone firing). */
  idempotencyKey: string;
  /** Already rendered by the caller; empty or absent: the channel's template, else the default. */
  subject?: string | null | undefined;
  body?: string | null | undefined;
  event: OutpostEvent;
}

interface ChannelRow {
  id: string;
  enabled: boolean;
  subject_template: string | null;
  body_template: string | null;
}

/**
 * Puts a notification in the outbox, in the caller's transaction: the delivery exists exactly when
 * the firing that asked for it commits, and the notifications loop sends it after. Returns the
 * delivery's id (the existing one when the idempotency key was used before). Throws a DomainError
 * naming the channel when the workspace has no such channel or it is disabled: the automation
 * records that as the action's failure.
 */
export async function enqueueNotification(tx: Db, request: NotificationRequest): Promise<string> {
  const [channel] = await tx<ChannelRow[]>`
    SELECT id, enabled, subject_template, body_template FROM notification_channels
    WHERE workspace_id = ${request.workspaceId} AND name = ${request.channel}`;
  if (!channel) throw new DomainError('not_found', `notification channel "${request.channel}" does not exist`);
  if (!channel.enabled) throw new DomainError('conflict', `notification channel "${request.channel}" is disabled`);

  const bindings = {
    event: request.event,
    automation: { id: request.automationId, name: request.automationName ?? null },
  };
  const subject = request.subject?.trim()
    ? request.subject
    : await renderText(request.workspaceId, channel.subject_template ?? DEFAULT_SUBJECT, bindings);
  const body = request.body?.trim()
    ? request.body
    : await renderText(request.workspaceId, channel.body_template ?? DEFAULT_BODY, bindings);

  const id = crypto.randomUUID();
  const payload = {
    id,
    channel: request.channel,
    subject,
    body,
    automation: bindings.automation,
    firingId: request.firingId,
    event: request.event,
  };
  const [row] = await tx<{ id: string }[]>`
    INSERT INTO notification_deliveries
      (id, workspace_id, channel_id, channel_name, automation_id, firing_id, event_id, idempotency_key, subject, body, payload)
    VALUES (${id}, ${request.workspaceId}, ${channel.id}, ${request.channel}, ${request.automationId}, ${request.firingId},
            ${request.event.id}, ${request.idempotencyKey}, ${subject}, ${body}, ${tx.json(payload as never)})
    ON CONFLICT (workspace_id, idempotency_key) DO NOTHING
    RETURNING id`;
  if (row) return row.id;
  const [existing] = await tx<{ id: string }[]>`
    SELECT id FROM notification_deliveries
    WHERE workspace_id = ${request.workspaceId} AND idempotency_key = ${request.idempotencyKey}`;
  if (!existing) throw new Error('notification delivery vanished after a conflicting insert');
  return existing.id;
}
