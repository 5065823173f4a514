import { createApiKey, type NewApiKey } from '../auth/create-api-key.js';
import type { Principal } from '../auth/principal.js';
import { getApiKey, listApiKeys, revokeApiKey } from '../db/api-keys.js';
import type { Db } from '../db/client.js';
import { lockMemberships } from '../db/memberships.js';
import { lockOrganisation, organisationOfWorkspace } from '../db/organisations.js';
import { credentialRefused } from '../domain-error.js';
import { ApiError, notFound } from '../errors.js';
import type { Handlers } from './types.js';

function callerRole(principal: { kind: string; role?: string }): string | null {
  return principal.kind === 'api_key' || principal.kind === 'session' ? (principal.role ?? null) : null;
}

/** Who a new key answers to (see NewApiKey.madeBy): the person signed in, else the key behind the call. */
function madeBy(principal: Principal): NewApiKey['madeBy'] {
  if (principal.kind === 'session' && principal.userId) return { userId: principal.userId };
  if (principal.kind === 'session' && principal.apiKeyId) return { apiKeyId: principal.apiKeyId };
  if (principal.kind === 'api_key') return { apiKeyId: principal.keyId };
  return null;
}

/**
 * Takes the locks every revocation of a person's keys holds (db/credentials.ts): the organisation's
 * (the directory, removal from the organisation) and the workspace's memberships' (removal from the
 * workspace), in that order, as those paths take them. A key made meanwhile is then either seen by
 * the revocation's UPDATE or made after it, by a caller `assertStillLive` refuses.
 */
async function lockAgainstRevocation(tx: Db, workspaceId: string): Promise<void> {
  await lockOrganisation(tx, await organisationOfWorkspace(tx, workspaceId));
  await lockMemberships(tx, workspaceId);
}

/**
 * The session or key making a key is still live under those locks: another replica may believe a
 * revoked key, or a session's request may have begun before its person was removed, for a few
 * seconds, and a key made from either would otherwise outlive the revocation for good.
 */
async function assertStillLive(tx: Db, principal: Principal): Promise<void> {
  const sessionId = principal.kind === 'session' ? principal.sessionId : null;
  const keyId = principal.kind === 'api_key' ? principal.keyId : principal.kind === 'session' ? principal.apiKeyId : null;
  const [live] = await tx<{ session: boolean; key: boolean }[]>`
    SELECT (${sessionId}::uuid IS NULL OR EXISTS (
              SELECT 1 FROM sessions WHERE id = ${sessionId}::uuid AND revoked_at IS NULL AND expires_at > now())) AS session,
           (${keyId}::uuid IS NULL OR EXISTS (
              SELECT 1 FROM api_keys WHERE id = ${keyId}::uuid AND revoked_at IS NULL
                AND (expires_at IS NULL OR expires_at > now()))) AS key`;
  if (!live?.session) throw credentialRefused('the session has ended');
  if (!live.key) throw credentialRefused('the API key is unknown, revoked or expired');
}

export const apiKeyHandlers = {
  apiKeysCreate: async ({ body, principal, deps }) => {
    if (body.role === 'owner' && callerRole(principal) !== 'owner') {
      throw new ApiError('forbidden', 'only an owner can create an owner key');
    }
    if (body.pools?.length && body.role !== 'worker') {
      throw new ApiError('validation_failed', 'pools apply to worker keys only', {
        errors: [{ path: 'body.pools', message: 'only a key with role "worker" is limited to pools' }],
      });
    }
    const expiresAt = body.expiresAt ? new Date(body.expiresAt) : null;
    if (expiresAt && expiresAt.getTime() <= Date.now()) {
      throw new ApiError('validation_failed', 'the key would be expired already', {
        errors: [{ path: 'body.expiresAt', message: 'must be in the future' }],
      });
    }
    const { apiKey, key } = await deps.sql.begin(async (tx) => {
      await lockAgainstRevocation(tx, principal.workspaceId);
      await assertStillLive(tx, principal);
      return createApiKey(tx, {
        workspaceId: principal.workspaceId,
        name: body.name,
        role: body.role,
        pools: body.pools ?? [],
        expiresAt,
        madeBy: madeBy(principal),
      });
    });
    return { apiKey, key };
  },

  apiKeysList: async ({ principal, deps }) => ({ items: await listApiKeys(deps.sql, principal.workspaceId) }),

  apiKeysRevoke: async ({ params, principal, deps }) => {
    const existing = await getApiKey(deps.sql, principal.workspaceId, params.id);
    if (!existing) throw notFound('API key');
    if (existing.role === 'owner' && callerRole(principal) !== 'owner') {
      throw new ApiError('forbidden', 'only an owner can revoke an owner key');
    }
    const revoked = await revokeApiKey(deps.sql, deps.apiKeys, principal.workspaceId, params.id);
    if (!revoked) throw notFound('API key');
    return revoked;
  },
} satisfies Pick<Handlers, 'apiKeysCreate' | 'apiKeysList' | 'apiKeysRevoke'>;
