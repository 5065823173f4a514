import { createApiKey } from '../auth/create-api-key.js';
import { getApiKey, listApiKeys, revokeApiKey } from '../db/api-keys.js';
import { ApiError, notFound } from '../errors.js';
import type { Handlers } from './types.js';

function callerRole(principal: { kind: string; role?: string }): string | null {
  return principal.kind === 'api_key' || principal.kind === 'session' ? (principal.role ?? null) : null;
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
    const { apiKey, key } = await createApiKey(deps.sql, {
      workspaceId: principal.workspaceId,
      name: body.name,
      role: body.role,
      pools: body.pools ?? [],
      expiresAt,
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
