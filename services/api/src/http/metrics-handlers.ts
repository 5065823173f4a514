import { createHash, timingSafeEqual } from 'node:crypto';
import type { Handlers } from './route-types.js';

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

/** Whether `offered` is the metrics token, compared in constant time (digests of equal length). */
export function carriesMetricsToken(offered: string, digest: Buffer): boolean {
  return timingSafeEqual(createHash('sha256').update(offered).digest(), digest);
}

/**
 * `GET /metrics`, Prometheus text format, for the operator: it spans every workspace (queue depth
 * by workspace and pool), so the route's access is the operator's token alone (see `operator` in
 * the route table), and without a configured token the route does not exist.
 */
export const metricsHandlers = {
  metrics: async ({ deps }) =>
    new Response(await deps.metrics.exposition(), { status: 200, headers: { 'content-type': deps.metrics.contentType } }),
} satisfies Pick<Handlers, 'metrics'>;
