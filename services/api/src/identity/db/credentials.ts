import type { ApiKeyCache } from '../../auth/db/api-keys.js';
import { revokeTokensOutrankingMaker } from '../../auth/db/organisation-tokens.js';
import type { Db } from '../../db/client.js';
import { textArray } from '../../db/values.js';

/** What ending a person's access to an organisation revoked. */
export interface RevokedCredentials {
  /** Browser sessions ended, in any of the organisation's workspaces. */
  sessions: number;
  /** API keys revoked: those the person made (or that a key of theirs made) in the organisation's workspaces. */
  apiKeys: number;
  /** Their ids, for `forgetRevokedKeys` once the transaction has committed. */
  apiKeyIds: string[];
  /** Organisation tokens the person made that need a role they no longer hold (auth/db/organisation-tokens.ts). */
  organisationTokens: number;
}

/**
 * Ends a person's sessions and revokes the API keys they made in every workspace of the
 * organisation (and the organisation tokens they made that need a role they no longer hold), in the
 * caller's transaction: what deprovisioning and removal from the organisation
 * do, so a departed person holds no credential of it a moment later. Sessions are read from the
 * database on every request, so they end with the commit. Keys are believed for up to
 * API_KEY_CACHE_MS by each app that verified them: the caller passes `cache`, which forgets them
 * now (a lookup under way is not remembered), and calls `forgetRevokedKeys` again after the commit;
 * other replicas stop believing them within API_KEY_CACHE_MS.
 */
export function revokeCredentialsInOrganisation(
  db: Db,
  organisationId: string,
  userId: string,
  cache?: ApiKeyCache,
): Promise<RevokedCredentials> {
  return revokeCredentials(db, { organisationId }, userId, cache);
}

/** The same for one workspace: what taking a person out of it does. */
export function revokeCredentialsInWorkspace(
  db: Db,
  workspaceId: string,
  userId: string,
  cache?: ApiKeyCache,
): Promise<RevokedCredentials> {
  return revokeCredentials(db, { workspaceId }, userId, cache);
}

async function revokeCredentials(
  db: Db,
  where: { organisationId: string } | { workspaceId: string },
  userId: string,
  cache: ApiKeyCache | undefined,
): Promise<RevokedCredentials> {
  const workspaces =
    'organisationId' in where
      ? db`SELECT id FROM workspaces WHERE organisation_id = ${where.organisationId}`
      : db`SELECT ${where.workspaceId}::uuid AS id`;
  const sessions = await db`
    UPDATE sessions SET revoked_at = now()
    WHERE workspace_id IN (${workspaces}) AND user_id = ${userId} AND revoked_at IS NULL
    RETURNING id`;
  const keys = await db<{ id: string }[]>`
    UPDATE api_keys SET revoked_at = now()
    WHERE workspace_id IN (${workspaces}) AND created_by = ${userId} AND revoked_at IS NULL
    RETURNING id`;
  const apiKeyIds = keys.map((k) => k.id);
  if (cache) forgetRevokedKeys(cache, apiKeyIds);
  // A session an API key opened dies with the key; say so in the database too, not only at its next use.
  if (apiKeyIds.length > 0) {
    await db`UPDATE sessions SET revoked_at = now() WHERE api_key_id = ANY(${textArray(db, apiKeyIds)}::uuid[]) AND revoked_at IS NULL`;
  }
  // An organisation token never outranks its maker: those needing a role the person lost go too. A
  // workspace's removal can end their organisation role (the last membership of a `member`), so it is
  // read again either way.
  const [organisation] =
    'organisationId' in where
      ? [{ id: where.organisationId }]
      : await db<{ id: string }[]>`SELECT organisation_id AS id FROM workspaces WHERE id = ${where.workspaceId}`;
  const organisationTokens = organisation ? await revokeTokensOutrankingMaker(db, organisation.id, userId) : 0;
  return { sessions: sessions.length, apiKeys: apiKeyIds.length, apiKeyIds, organisationTokens };
}

/**
 * What a role is worth, for keys: a key never outranks the person who made it. A `worker` key is an
 * admin's credential for machines (only owners and admins make keys), so it ranks with admin.
 */
const KEY_RANKS: Record<string, number> = { owner: 5, admin: 4, worker: 4, developer: 3, runner: 2, viewer: 1 };

/** A role's rank for keys (see KEY_RANK_SQL); 0 for none. */
export const keyRank = (role: string | null): number => (role === null ? 0 : (KEY_RANKS[role] ?? 0));
export const KEY_RANK_SQL = (column: string): string =>
  `CASE ${column} ${Object.entries(KEY_RANKS)
    .map(([role, rank]) => `WHEN '${role}' THEN ${rank}`)
    .join(' ')} ELSE 5 END`;

/**
 * Revokes the keys the person made in the workspace whose role outranks `role`, their role there now,
 * and the sessions those keys opened: a demotion takes away what the person's keys could do above it,
 * as a removal takes all of them. Returns the keys' ids, for `forgetRevokedKeys` after the commit.
 */
export async function revokeKeysAboveRole(db: Db, workspaceId: string, userId: string, role: string): Promise<string[]> {
  const rank = KEY_RANKS[role] ?? 0;
  const keys = await db<{ id: string }[]>`
    UPDATE api_keys SET revoked_at = now()
    WHERE workspace_id = ${workspaceId} AND created_by = ${userId} AND revoked_at IS NULL
      AND ${db.unsafe(KEY_RANK_SQL('role'))} > ${rank}
    RETURNING id`;
  const ids = keys.map((k) => k.id);
  if (ids.length > 0) {
    await db`UPDATE sessions SET revoked_at = now() WHERE api_key_id = ANY(${textArray(db, ids)}::uuid[]) AND revoked_at IS NULL`;
  }
  return ids;
}

/** Makes this app's key cache forget revoked keys: call once the revoking transaction has committed. */
export function forgetRevokedKeys(cache: ApiKeyCache, ids: readonly string[]): void {
  for (const id of ids) cache.forget(id);
}
