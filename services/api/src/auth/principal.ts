import { type Role, SESSION_COOKIE } from '@outpost/sdk/contracts';
import type { AppDeps } from '../context.js';
import { credentialRefused } from '../domain-error.js';
import { ORGANISATION_TOKEN_PREFIX, parseApiKey } from './api-key-format.js';
import { findApiKeyByHash, type KeyPrincipalRow, touchApiKey } from './db/api-keys.js';
import { looksLikeJwt } from './run-token.js';
import { authenticateSession, readCookie, type SessionPrincipal, type SessionRequest } from './sessions.js';

export type Principal =
  | { kind: 'api_key'; workspaceId: string; keyId: string; role: Role; pools: string[]; archived?: boolean }
  | { kind: 'run_token'; workspaceId: string; runId: string; attempt: number; workerId?: string }
  | SessionPrincipal;

/** last_used_at is written at most this often per key. */
const TOUCH_SECONDS = 60;

function keyPrincipal(key: KeyPrincipalRow): Principal {
  return {
    kind: 'api_key',
    workspaceId: key.workspaceId,
    keyId: key.id,
    role: key.role,
    pools: [...key.pools],
    archived: key.archived,
  };
}

/** The token of an `Authorization: Bearer <token>` header, if it has one. */
export function bearerToken(authorization: string | undefined): string | undefined {
  return authorization === undefined ? undefined : /^Bearer +([^\s]+)$/i.exec(authorization)?.[1];
}

/** What authentication reads: the database, the run-token keys and the app's cache of verified API keys. */
export type AuthDeps = Pick<AppDeps, 'sql' | 'tokens' | 'apiKeys'>;

/** The bearer credential of a request: an `op_` API key or a run token. */
export async function authenticate(authorization: string | undefined, { sql, tokens, apiKeys }: AuthDeps): Promise<Principal> {
  const token = bearerToken(authorization);
  if (!token) throw credentialRefused('send an API key or run token as "Authorization: Bearer <token>"');
  if (looksLikeJwt(token)) {
    try {
      const claims = await tokens.verify(token);
      return {
        kind: 'run_token',
        workspaceId: claims.workspaceId,
        runId: claims.runId,
        attempt: claims.attempt,
        ...(claims.workerId === undefined ? {} : { workerId: claims.workerId }),
      };
    } catch {
      throw credentialRefused('the run token is invalid or expired');
    }
  }
  if (token.startsWith(ORGANISATION_TOKEN_PREFIX)) {
    throw credentialRefused(
      'an organisation token is taken only by organisation routes (/organisations/:org/…): send an API key here',
    );
  }
  const parsed = parseApiKey(token);
  if (!parsed) throw credentialRefused('the API key is malformed');
  // An active key this app verified moments ago is believed for a few seconds; revocation through
  // this app forgets it at once (auth/db/api-keys.ts says what the cache keeps and for how long).
  const cached = apiKeys.get(parsed.hash);
  if (cached) return keyPrincipal(cached);
  const generation = apiKeys.generation;
  const key = await findApiKeyByHash(sql, parsed.hash, TOUCH_SECONDS);
  if (!key?.active) throw credentialRefused('the API key is unknown, revoked or expired');
  if (key.stale) await touchApiKey(sql, key.id, TOUCH_SECONDS);
  apiKeys.remember(parsed.hash, key, generation);
  return keyPrincipal(key);
}

/**
 * The request's principal: the bearer credential when there is an Authorization header, else the
 * browser session named by the `outpost_session` cookie (with its CSRF and same-origin checks).
 */
export async function authenticateRequest(req: SessionRequest, deps: AuthDeps): Promise<Principal> {
  const authorization = req.header('authorization');
  const session = authorization === undefined ? readCookie(req.header('cookie'), SESSION_COOKIE) : undefined;
  if (session !== undefined) return authenticateSession(deps.sql, req, session);
  return authenticate(authorization, deps);
}

/** Log fields that say who made a request, never a secret. */
export function principalLogFields(principal: Principal): Record<string, string> {
  switch (principal.kind) {
    case 'api_key':
      return { apiKeyId: principal.keyId };
    case 'run_token':
      return { runId: principal.runId };
    case 'session':
      return { sessionId: principal.sessionId };
  }
}
