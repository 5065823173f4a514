import type { Db } from '../db/client.js';
import { quotaExceeded, workspaceQuotas } from '../quotas/quotas.js';

/*
 * The workspace's `mailPerHour` quota, counted in the database (one row per workspace and UTC
 * hour) so every replica counts against the same number. A message to n recipients counts n.
 */

export interface MailAllowance {
  ok: boolean;
  limit: number;
  /** Seconds until the hour's count starts over. */
  retryAfterSeconds: number;
}

/**
 * Takes `count` messages from the workspace's hour, all or nothing: one statement that only adds
 * when the total stays within the quota, so two replicas cannot both take the last messages.
 */
export async function takeMail(db: Db, workspaceId: string, count: number): Promise<MailAllowance> {
  const { mailPerHour: limit } = await workspaceQuotas(db, workspaceId);
  const [row] = await db<{ taken: boolean; retry_after: number }[]>`
    WITH taken AS (
      INSERT INTO mail_usage AS u (workspace_id, hour, sent)
      SELECT ${workspaceId}, date_trunc('hour', now()), ${count}
      WHERE ${count}::int <= ${limit}::int
      ON CONFLICT (workspace_id, hour) DO UPDATE SET sent = u.sent + EXCLUDED.sent
        WHERE u.sent + EXCLUDED.sent <= ${limit}
      RETURNING 1
    )
    SELECT EXISTS (SELECT 1 FROM taken) AS taken,
           extract(epoch FROM date_trunc('hour', now()) + interval '1 hour' - now())::float8 AS retry_after`;
  return { ok: row?.taken ?? false, limit, retryAfterSeconds: row?.retry_after ?? 3600 };
}

/** Takes the messages or throws the 429 `quota_exceeded` problem of a call that would send them now. */
export async function takeMailOrThrow(db: Db, workspaceId: string, count: number, what: string): Promise<void> {
  const allowance = await takeMail(db, workspaceId, count);
  if (!allowance.ok) {
    throw quotaExceeded(
      'mailPerHour',
      allowance.limit,
      `${what} would send ${count} more mail this hour`,
      allowance.retryAfterSeconds,
    );
  }
}

/** Deletes hourly counts older than a day: they say nothing about any quota any more. */
export async function pruneMailUsage(db: Db): Promise<void> {
  await db`DELETE FROM mail_usage WHERE hour < now() - interval '1 day'`;
  await db`DELETE FROM mail_confirmation_sends WHERE day < now() - interval '2 days'`;
}

/**
 * Refuses with the 429 when the workspace's hour has no room for `count` more messages, without
 * taking them: for a call that queues mail the notifications loop takes (and counts) when it sends.
 */
export async function assertMailHeadroom(db: Db, workspaceId: string, count: number, what: string): Promise<void> {
  const { mailPerHour: limit } = await workspaceQuotas(db, workspaceId);
  const [row] = await db<{ sent: number; retry_after: number }[]>`
    SELECT coalesce((SELECT sent FROM mail_usage WHERE workspace_id = ${workspaceId} AND hour = date_trunc('hour', now())), 0) AS sent,
           extract(epoch FROM date_trunc('hour', now()) + interval '1 hour' - now())::float8 AS retry_after`;
  if ((row?.sent ?? 0) + count > limit) {
    throw quotaExceeded('mailPerHour', limit, `${what} would send ${count} more mail this hour`, row?.retry_after ?? 3600);
  }
}
