import { createApiKey, type NewApiKey } from '../auth/create-api-key.js';
import { getApiKey, listApiKeys, revokeApiKey } from '../auth/db/api-keys.js';
import { lockMemberships } from '../auth/db/memberships.js';
import type { Principal } from '../auth/principal.js';
import type { Db } from '../db/client.js';
import { credentialRefused } from '../domain-error.js';
import { ApiError, notFound } from '../errors.js';
import type { Handlers } from '../http/route-types.js';
import { keyRank } from './db/credentials.js';
import { lockOrganisation, organisationOfWorkspace } from './db/organisations.js';

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
 * Takes the locks every revocation of a person's keys holds (identity/db/credentials.ts): the organisation's
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

/**
 * The highest role a key made by this caller may have, read under the same locks: the caller's role
 * as it is now, not as it was when the request was authenticated. A person's session counts their
 * membership's role; a key counts its own role and, when a person made it, that person's role now. A
 * demotion that committed while this request waited for the locks is seen here, so no key outranks
 * its maker even for a moment.
 */
async function roleNow(tx: Db, principal: Principal): Promise<string | null> {
  if (principal.kind === 'session' && principal.userId) {
    const [row] = await tx<{ role: string }[]>`
      SELECT role FROM memberships
      WHERE workspace_id = ${principal.workspaceId} AND user_id = ${principal.userId} AND state = 'active'`;
    return row?.role ?? null;
  }
  const keyId = principal.kind === 'api_key' ? principal.keyId : principal.kind === 'session' ? principal.apiKeyId : null;
  if (keyId === null) return null;
  const [row] = await tx<{ role: string; made_by: string | null; maker_role: string | null }[]>`
    SELECT k.role, k.created_by AS made_by, m.role AS maker_role
    FROM api_keys k
    LEFT JOIN memberships m ON m.workspace_id = k.workspace_id AND m.user_id = k.created_by AND m.state = 'active'
    WHERE k.id = ${keyId}`;
  if (!row) return null;
  if (row.made_by === null) return row.role;
  return keyRank(row.maker_role) < keyRank(row.role) ? row.maker_role : row.role;
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
      const now = await roleNow(tx, principal);
      if (now !== 'owner' && now !== 'admin') {
        throw new ApiError('forbidden', `your role here is now ${now ?? 'none'}: only owners and admins make keys`);
      }
      if (keyRank(body.role) > keyRank(now)) {
        throw new ApiError('forbidden', `a key never outranks its maker: your role here is ${now}`);
      }
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
