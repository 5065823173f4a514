import type { Wait } from '@outpost/sdk/contracts';
import type { Db, Sql } from '../db/client.js';
import { DomainError } from '../domain-error.js';
import { getWait, toWait } from './db/waits.js';
import { resolveWaits } from './resolve.js';

/**
 * Serialises completing a token with beginning a wait for it: without it, a wait inserted while the
 * completion is in flight would find no completed token, and the completion no waiting wait.
 */
export async function lockToken(tx: Db, workspaceId: string, token: string): Promise<void> {
  await tx`SELECT pg_advisory_xact_lock(hashtextextended(${`wait-token:${workspaceId}:${token}`}, 0))`;
}

/**
 * Completes a token with a value, once: a second completion changes nothing (the first value
 * stands). Every WAITING wait for the token resolves with it in the same transaction (queueing a
 * run suspended on it). A token no wait of the workspace asked for is refused: storing it for a
 * wait that may ask later would let any caller who may complete tokens pre-answer waits by guessing
 * their names. Returns the newest wait for the token.
 */
export async function completeToken(
  sql: Sql,
  input: { workspaceId: string; token: string; value: unknown },
): Promise<{ token: string; wait: Wait | null }> {
  const waitId = await sql.begin(async (tx) => {
    await lockToken(tx, input.workspaceId, input.token);
    const [newest] = await tx<{ id: string }[]>`
      SELECT id FROM waits WHERE workspace_id = ${input.workspaceId} AND token = ${input.token}
      ORDER BY created_at DESC, id DESC LIMIT 1`;
    if (!newest) {
      throw new DomainError(
        'not_found',
        `no wait asks for the token "${input.token}": a token is completed after the wait that asks for it begins`,
      );
    }
    await tx`
      INSERT INTO wait_tokens (workspace_id, token, value)
      VALUES (${input.workspaceId}, ${input.token}, ${input.value === undefined ? null : tx.json(input.value as never)})
      ON CONFLICT (workspace_id, token) DO NOTHING`;
    const [stored] = await tx<{ value: unknown }[]>`
      SELECT value FROM wait_tokens WHERE workspace_id = ${input.workspaceId} AND token = ${input.token}`;
    const waiting = await tx<{ id: string }[]>`
      SELECT id FROM waits WHERE workspace_id = ${input.workspaceId} AND token = ${input.token} AND status = 'WAITING'`;
    await resolveWaits(
      tx,
      waiting.map((w) => ({ id: w.id, outcome: { status: 'RESOLVED' as const, value: stored?.value ?? null } })),
    );
    return newest.id;
  });
  const row = await getWait(sql, input.workspaceId, waitId);
  return { token: input.token, wait: row ? toWait(row) : null };
}
