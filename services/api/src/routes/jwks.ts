import type { Hono } from 'hono';
import { requestAddress } from '../auth/permissions.js';
import type { AppDeps } from '../context.js';
import type { AppEnv } from '../http/env.js';
import { API_PREFIX } from '../http/mount-routes.js';

export const JWKS_PATH = `${API_PREFIX}/.well-known/jwks.json`;

/**
 * The JWKS document of run-token signing keys: public, at this exact path only (see PUBLIC_PATHS).
 * It holds public keys alone — current, pending (published before they sign) and recently retired —
 * so a verifier outside this process (another replica, a sidecar) can check run tokens and follow a
 * rotation without ever holding a credential. Cached briefly; a rotation publishes keys 15 minutes
 * before they sign, longer than this cache and jose's 10-minute JWKS cache.
 */
export function mountJwks(app: Hono<AppEnv>, deps: AppDeps): void {
  app.get(JWKS_PATH, async (c) => {
    deps.rateLimiter.checkJwks(requestAddress(c, deps));
    const jwks = await deps.tokens.jwks();
    c.header('cache-control', 'public, max-age=300');
    return c.body(JSON.stringify(jwks), 200, { 'content-type': 'application/jwk-set+json' });
  });
}
