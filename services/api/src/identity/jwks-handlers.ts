import type { Handlers, ResponseOf } from '../http/route-types.js';

/**
 * The JWKS document of run-token signing keys: public, counted per address in a bucket of its own.
 * It holds public keys alone — current, pending (published before they sign) and recently retired —
 * so a verifier outside this process (another replica, a sidecar) can check run tokens and follow a
 * rotation without ever holding a credential. Cached briefly (the route's Cache-Control); a rotation
 * publishes keys 15 minutes before they sign, longer than that cache and jose's 10-minute JWKS cache.
 */
export const jwksHandlers = {
  // The runtime's JsonWebKey leaves `kty` optional; every key it publishes has one, as the contract checks.
  jwks: async ({ deps }) => (await deps.tokens.jwks()) as ResponseOf<'jwks'>,
} satisfies Pick<Handlers, 'jwks'>;
