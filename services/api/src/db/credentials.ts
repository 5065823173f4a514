import type { ApiKeyCache } from './api-keys.js';
import type { Db } from './client.js';
import { textArray } from './values.js';

/** What ending a person's access to an organisation revoked. */
export interface RevokedCredentials {
  /** Browser sessions ended, in any of the organisation's workspaces. */
  sessions: number;
  /** API keys revoked: those the person made (or that a key of theirs made) in the organisation's workspaces. */
  apiKeys: number;
  /** Their ids, for `forgetRevokedKeys` once the transaction has committed. */
  apiKeyIds: string[];
}

/**
 * Ends a person's sessions and revokes the API keys they made in every workspace of the
 * organisation, in the caller's transaction: what deprovisioning and removal from the organisation
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
  return { sessions: sessions.length, apiKeys: apiKeyIds.length, apiKeyIds };
}

/** Makes this app's key cache forget revoked keys: call once the revoking transaction has committed. */
export function forgetRevokedKeys(cache: ApiKeyCache, ids: readonly string[]): void {
  for (const id of ids) cache.forget(id);
}
