import type { Context } from 'hono';

const MAX_ADDRESS_LENGTH = 64;

/**
 * The address a request came from. Behind `trustedProxyHops` reverse proxies (each appending to
 * X-Forwarded-For), it is the entry the outermost trusted proxy added; entries further left were
 * written by the client and prove nothing, so they are never used. With no proxy configured the
 * header is ignored entirely: anyone can send one.
 */
export function clientAddress(c: Context, trustedProxyHops: number): string | null {
  const socket = (c.env as { incoming?: { socket?: { remoteAddress?: unknown } } } | undefined)?.incoming?.socket;
  const direct = typeof socket?.remoteAddress === 'string' ? socket.remoteAddress : null;
  if (trustedProxyHops <= 0) return direct;
  const forwarded = c.req.header('x-forwarded-for');
  if (!forwarded) return direct;
  const hops = forwarded.split(',').map((part) => part.trim());
  const entry = hops[hops.length - trustedProxyHops];
  if (!entry || entry.length > MAX_ADDRESS_LENGTH || !/^[0-9A-Fa-f.:]+$/.test(entry)) return direct;
  return entry;
}
