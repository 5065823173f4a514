import { createHash, timingSafeEqual } from 'node:crypto';
import type { Hono } from 'hono';
import { requestAddress } from '../auth/permissions.js';
import { bearerToken } from '../auth/principal.js';
import type { AppDeps } from '../context.js';
import { ApiError } from '../errors.js';
import type { AppEnv } from '../http/env.js';

export const METRICS_PATH = '/metrics';

/**
 * What OUTPOST_METRICS_TOKEN must look like: 32 or more visible ASCII characters (a bearer token
 * carries no spaces), so that nobody guesses it. `openssl rand -hex 32` makes one.
 */
export const METRICS_TOKEN_PATTERN = /^[\x21-\x7E]{32,}$/;

/** What the server keeps of the metrics token: its sha256, never the token itself. */
export function metricsTokenDigest(token: string): Buffer {
  if (!METRICS_TOKEN_PATTERN.test(token)) {
    throw new Error('the metrics token must be 32 or more visible ASCII characters, without spaces');
  }
  return createHash('sha256').update(token).digest();
}

/** Whether the request carries the metrics token, compared in constant time (digests of equal length). */
function carriesToken(authorization: string | undefined, digest: Buffer): boolean {
  const offered = bearerToken(authorization);
  if (!offered) return false;
  return timingSafeEqual(createHash('sha256').update(offered).digest(), digest);
}

/**
 * `GET /metrics`, Prometheus text format, for the operator: it spans every workspace (queue depth
 * by workspace and pool), so no workspace credential opens it — API keys, run tokens and sessions
 * of any role are refused alike. It answers only `Authorization: Bearer <OUTPOST_METRICS_TOKEN>`;
 * without a configured token it is not mounted, and the path answers as any unknown path does.
 * Failed attempts count against the client address's anonymous rate, like failed authentications
 * elsewhere.
 */
export function mountMetrics(app: Hono<AppEnv>, deps: AppDeps): void {
  const digest = deps.metricsTokenDigest;
  if (!digest) return;
  app.get(METRICS_PATH, async (c) => {
    if (!carriesToken(c.req.header('authorization'), digest)) {
      deps.rateLimiter.checkAnonymous(requestAddress(c, deps));
      throw new ApiError('unauthenticated', 'send the metrics token as "Authorization: Bearer <token>"', {
        headers: { 'www-authenticate': 'Bearer' },
      });
    }
    const text = await deps.metrics.exposition();
    return c.body(text, 200, { 'content-type': deps.metrics.contentType, 'cache-control': 'no-store' });
  });
}
