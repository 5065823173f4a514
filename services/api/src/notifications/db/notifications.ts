import type {
  NotificationChannel,
  NotificationChannelKind,
  NotificationDelivery,
  NotificationDeliveryStatus,
} from '@outpost/sdk/contracts';
import type { Db } from '../../db/client.js';
import type { notificationChannels, notificationDeliveries, Row } from '../../db/schema.js';
import type { SecretBox } from '../../db/secret-box.js';
import { encodeCursor, iso, isoOrNull, keysetPage } from '../../db/values.js';

export type ChannelRow = Row<typeof notificationChannels>;
export type DeliveryRow = Row<typeof notificationDeliveries>;

/** What a channel's sealed secret is bound to: a value copied to another channel's row does not open. */
export const channelSecretContext = (channelId: string): string => `notification-channel:${channelId}`;

const PLAIN = 'plain:';

/**
 * A channel's secret as stored: sealed with the server's SecretBox (OUTPOST_SECRET_KEY), or, on a
 * server without one, kept as it is, as the run-token signing keys are then (the server warns at
 * start). A secret stored either way opens once a key is set.
 */
export function sealChannelSecret(box: SecretBox | null, channelId: string, secret: string): string {
  return box ? box.seal(secret, channelSecretContext(channelId)) : `${PLAIN}${secret}`;
}

/** The secret, or null when it was sealed under another key (or none is set now). */
export function openChannelSecret(box: SecretBox | null, channelId: string, stored: string): string | null {
  if (stored.startsWith(PLAIN)) return stored.slice(PLAIN.length);
  return box?.open(stored, channelSecretContext(channelId)) ?? null;
}

/** The channel as answered; `pending`: its recipients that have not confirmed (recipients.ts). */
export function toChannel(row: ChannelRow, pending: readonly string[] = []): NotificationChannel {
  return {
    id: row.id,
    name: row.name,
    kind: row.kind,
    url: row.url,
    recipients: row.recipients,
    pendingRecipients: row.recipients.filter((r) => pending.includes(r)),
    subjectTemplate: row.subject_template,
    bodyTemplate: row.body_template,
    enabled: row.enabled,
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  };
}

export function toDelivery(row: DeliveryRow): NotificationDelivery {
  return {
    id: row.id,
    channel: row.channel_name,
    channelId: row.channel_id,
    automationId: row.automation_id,
    firingId: row.firing_id,
    eventId: row.event_id,
    subject: row.subject,
    body: row.body,
    status: row.status,
    attempts: row.attempts,
    nextAttemptAt: row.status === 'PENDING' ? iso(row.next_attempt_at) : null,
    lastError: row.last_error,
    sentAt: isoOrNull(row.sent_at),
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  };
}

export interface NewChannel {
  id: string;
  workspaceId: string;
  name: string;
  kind: NotificationChannelKind;
  url: string | null;
  recipients: string[];
  secretEncrypted: string | null;
  subjectTemplate: string | null;
  bodyTemplate: string | null;
  enabled: boolean;
}

/** The new channel, or null when the workspace already has one of that name. */
export async function insertChannel(db: Db, c: NewChannel): Promise<ChannelRow | null> {
  const [row] = await db<ChannelRow[]>`
    INSERT INTO notification_channels
      (id, workspace_id, name, kind, url, recipients, secret_encrypted, subject_template, body_template, enabled)
    VALUES (${c.id}, ${c.workspaceId}, ${c.name}, ${c.kind}, ${c.url}, ${db.array(c.recipients)}::text[],
            ${c.secretEncrypted}, ${c.subjectTemplate}, ${c.bodyTemplate}, ${c.enabled})
    ON CONFLICT (workspace_id, name) DO NOTHING
    RETURNING *`;
  return row ?? null;
}

export async function listChannels(db: Db, workspaceId: string): Promise<ChannelRow[]> {
  return db<ChannelRow[]>`SELECT * FROM notification_channels WHERE workspace_id = ${workspaceId} ORDER BY name`;
}

export async function getChannel(db: Db, workspaceId: string, name: string, lock = false): Promise<ChannelRow | null> {
  const [row] = lock
    ? await db<ChannelRow[]>`
        SELECT * FROM notification_channels WHERE workspace_id = ${workspaceId} AND name = ${name} FOR UPDATE`
    : await db<ChannelRow[]>`SELECT * FROM notification_channels WHERE workspace_id = ${workspaceId} AND name = ${name}`;
  return row ?? null;
}

export type ChannelChanges = Partial<
  Pick<NewChannel, 'url' | 'recipients' | 'secretEncrypted' | 'subjectTemplate' | 'bodyTemplate' | 'enabled'>
>;

export async function updateChannel(db: Db, id: string, changes: ChannelChanges): Promise<ChannelRow> {
  const [row] = await db<ChannelRow[]>`
    UPDATE notification_channels SET
      url = ${changes.url === undefined ? db`url` : changes.url},
      recipients = ${changes.recipients === undefined ? db`recipients` : db`${db.array(changes.recipients)}::text[]`},
      secret_encrypted = ${changes.secretEncrypted === undefined ? db`secret_encrypted` : changes.secretEncrypted},
      subject_template = ${changes.subjectTemplate === undefined ? db`subject_template` : changes.subjectTemplate},
      body_template = ${changes.bodyTemplate === undefined ? db`body_template` : changes.bodyTemplate},
      enabled = ${changes.enabled === undefined ? db`enabled` : changes.enabled},
      updated_at = now()
    WHERE id = ${id}
    RETURNING *`;
  if (!row) throw new Error('the channel vanished while being updated');
  return row;
}

/** Deletes the channel; its pending deliveries become dead letters saying why, its history stays. */
export async function deleteChannel(db: Db, workspaceId: string, name: string): Promise<boolean> {
  const [row] = await db<{ id: string }[]>`
    DELETE FROM notification_channels WHERE workspace_id = ${workspaceId} AND name = ${name} RETURNING id`;
  if (!row) return false;
  await db`
    UPDATE notification_deliveries
    SET status = 'DEAD', last_error = ${`the channel "${name}" was deleted`}, updated_at = now()
    WHERE workspace_id = ${workspaceId} AND channel_name = ${name} AND status = 'PENDING' AND channel_id IS NULL`;
  return true;
}

export interface DeliveryListFilter {
  workspaceId: string;
  status?: NotificationDeliveryStatus | undefined;
  channel?: string | undefined;
  limit: number;
  /** Keyset: rows strictly older than this (created_at, id). */
  before: [string, string] | null;
}

/** Newest first, a page at a time. */
export async function listDeliveries(db: Db, f: DeliveryListFilter): Promise<{ rows: DeliveryRow[]; nextCursor: string | null }> {
  const rows = await db<DeliveryRow[]>`
    SELECT * FROM notification_deliveries
    WHERE workspace_id = ${f.workspaceId}
      ${f.status ? db`AND status = ${f.status}` : db``}
      ${f.channel ? db`AND channel_name = ${f.channel}` : db``}
      ${f.before ? db`AND (created_at, id) < (${f.before[0]}::timestamptz, ${f.before[1]}::uuid)` : db``}
    ORDER BY created_at DESC, id DESC
    LIMIT ${f.limit + 1}`;
  const { items, next } = keysetPage(rows, f.limit, (last) => [iso(last.created_at), last.id]);
  return { rows: items, nextCursor: next === null ? null : encodeCursor(next) };
}

export async function getDelivery(db: Db, workspaceId: string, id: string): Promise<DeliveryRow | null> {
  const [row] = await db<DeliveryRow[]>`
    SELECT * FROM notification_deliveries WHERE workspace_id = ${workspaceId} AND id = ${id}`;
  return row ?? null;
}

/** Puts a delivery back in the queue with a fresh set of attempts; null when it was already sent (or is not there). */
export async function requeueDelivery(db: Db, workspaceId: string, id: string): Promise<DeliveryRow | null> {
  const [row] = await db<DeliveryRow[]>`
    UPDATE notification_deliveries
    SET status = 'PENDING', attempts = 0, next_attempt_at = now(), updated_at = now()
    WHERE workspace_id = ${workspaceId} AND id = ${id} AND status <> 'SENT'
    RETURNING *`;
  return row ?? null;
}

/** A due delivery with what sending it needs from its channel (null fields when the channel is gone). */
export interface DueDelivery {
  id: string;
  workspace_id: string;
  channel_name: string;
  channel_id: string | null;
  kind: NotificationChannelKind | null;
  url: string | null;
  recipients: string[] | null;
  secret_encrypted: string | null;
  enabled: boolean | null;
  subject: string;
  body: string;
  payload: Record<string, unknown>;
  attempts: number;
}

/**
 * Takes up to `limit` due deliveries for one attempt each: counts the attempt and pushes the next
 * one `leaseSeconds` ahead, so a replica that dies mid-send leaves the delivery to be tried again
 * then (receivers dedupe by the delivery id), and two replicas never send it at once.
 */
export async function claimDueDeliveries(db: Db, limit: number, leaseSeconds: number): Promise<DueDelivery[]> {
  return db<DueDelivery[]>`
    WITH due AS (
      SELECT id FROM notification_deliveries
      WHERE status = 'PENDING' AND next_attempt_at <= now()
      ORDER BY next_attempt_at
      LIMIT ${limit}
      FOR UPDATE SKIP LOCKED
    ), taken AS (
      UPDATE notification_deliveries d
      SET attempts = d.attempts + 1, next_attempt_at = now() + make_interval(secs => ${leaseSeconds}), updated_at = now()
      FROM due WHERE d.id = due.id
      RETURNING d.*
    )
    SELECT t.id, t.workspace_id, t.channel_name, t.channel_id, c.kind, c.url, c.recipients, c.secret_encrypted, c.enabled,
           t.subject, t.body, t.payload, t.attempts
    FROM taken t LEFT JOIN notification_channels c ON c.id = t.channel_id`;
}

export async function markSent(db: Db, id: string, attempt: number): Promise<void> {
  await db`
    UPDATE notification_deliveries
    SET status = 'SENT', sent_at = now(), last_error = NULL, updated_at = now()
    WHERE id = ${id} AND status = 'PENDING' AND attempts = ${attempt}`;
}

/** Records a failed attempt: another one after `retryInSeconds`, or DEAD when null. */
export async function markFailed(
  db: Db,
  id: string,
  attempt: number,
  error: string,
  retryInSeconds: number | null,
): Promise<void> {
  await db`
    UPDATE notification_deliveries
    SET last_error = ${error.slice(0, 2000)}, updated_at = now(),
        status = ${retryInSeconds === null ? 'DEAD' : 'PENDING'},
        next_attempt_at = ${retryInSeconds === null ? db`next_attempt_at` : db`now() + make_interval(secs => ${retryInSeconds})`}
    WHERE id = ${id} AND status = 'PENDING' AND attempts = ${attempt}`;
}
