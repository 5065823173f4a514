import type { EventWebhook, EventWebhookTemplate } from '@outpost/sdk/contracts';
import type { Db } from '../../db/client.js';
import type { eventWebhooks, Row } from '../../db/schema.js';
import { iso, isoOrNull } from '../../db/values.js';

export type EventWebhookRow = Row<typeof eventWebhooks>;

export function toEventWebhook(row: EventWebhookRow): EventWebhook {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    signatureHeader: row.signature_header,
    template: row.template,
    enabled: row.enabled,
    createdAt: iso(row.created_at),
    lastUsedAt: isoOrNull(row.last_used_at),
    lastError: row.last_error,
  };
}

export interface NewEventWebhook {
  id: string;
  workspaceId: string;
  name: string;
  description: string | null;
  tokenHash: string;
  secretSealed: string;
  signatureHeader: string;
  template: EventWebhookTemplate;
  enabled: boolean;
}

/** Inserts a webhook; null when the workspace already has one of that name. */
export async function insertEventWebhook(db: Db, w: NewEventWebhook): Promise<EventWebhookRow | null> {
  const [row] = await db<EventWebhookRow[]>`
    INSERT INTO event_webhooks (id, workspace_id, name, description, token_hash, secret_sealed, signature_header, template, enabled)
    VALUES (${w.id}, ${w.workspaceId}, ${w.name}, ${w.description}, ${w.tokenHash}, ${w.secretSealed}, ${w.signatureHeader},
            ${db.json(w.template as never)}, ${w.enabled})
    ON CONFLICT (workspace_id, name) DO NOTHING
    RETURNING *`;
  return row ?? null;
}

export async function listEventWebhooks(db: Db, workspaceId: string): Promise<EventWebhookRow[]> {
  return db<EventWebhookRow[]>`SELECT * FROM event_webhooks WHERE workspace_id = ${workspaceId} ORDER BY name`;
}

/** A new token hash and secret for a webhook of the workspace; null when there is none. */
export async function rotateEventWebhook(
  db: Db,
  workspaceId: string,
  id: string,
  tokenHash: string,
  secretSealed: string,
): Promise<EventWebhookRow | null> {
  const [row] = await db<EventWebhookRow[]>`
    UPDATE event_webhooks SET token_hash = ${tokenHash}, secret_sealed = ${secretSealed}, updated_at = now()
    WHERE workspace_id = ${workspaceId} AND id = ${id}
    RETURNING *`;
  return row ?? null;
}

export async function deleteEventWebhook(db: Db, workspaceId: string, id: string): Promise<boolean> {
  const rows = await db`DELETE FROM event_webhooks WHERE workspace_id = ${workspaceId} AND id = ${id} RETURNING id`;
  return rows.length > 0;
}

/** The webhook a delivery's URL token names, whatever its workspace (the token is the credential). */
export async function findEventWebhookByTokenHash(db: Db, tokenHash: string): Promise<EventWebhookRow | null> {
  const [row] = await db<EventWebhookRow[]>`SELECT * FROM event_webhooks WHERE token_hash = ${tokenHash}`;
  return row ?? null;
}

/** Notes a delivery; at most once a minute per webhook, so a busy webhook does not rewrite its row on every event. */
export async function touchEventWebhook(db: Db, id: string): Promise<void> {
  await db`
    UPDATE event_webhooks SET last_used_at = now()
    WHERE id = ${id} AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`;
}

/** Records why a delivery could not become an event (shown on the webhook). */
export async function recordEventWebhookError(db: Db, id: string, message: string): Promise<void> {
  await db`UPDATE event_webhooks SET last_error = ${message.slice(0, 1000)} WHERE id = ${id}`;
}
