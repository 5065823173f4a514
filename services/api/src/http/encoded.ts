import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';

/**
 * Bytes a response sends, with their ETag and their gzip: what a static file, the API reference
 * script and a large workspace's lineage keep between requests, so a client that holds the same
 * bytes is answered 304 and one that takes gzip gets them compressed, each made once.
 */
export interface Encoded {
  readonly body: Uint8Array<ArrayBuffer>;
  readonly etag: string;
  /** The body gzipped (made on first use and kept), or null when it is not to be: too small, or already compressed. */
  gzip(): Uint8Array<ArrayBuffer> | null;
}

/**
 * Below this many bytes a body is sent as it is: the gzip header and trailer and the extra work
 * would take back most of what compression saves (below 512 bytes it often saves nothing). One
 * threshold for every kind of body: static files, the API reference script and the lineage.
 */
export const GZIP_FROM = 1024;

/**
 * `body` as a response keeps it: its ETag (a hash of the bytes) now, its gzip at `level` when first
 * asked for (9 for files gzipped once, lower for answers gzipped each time they change; null for
 * bytes already compressed, such as images and fonts).
 */
export function encoded(body: Uint8Array<ArrayBuffer>, level: number | null): Encoded {
  let gzip: Uint8Array<ArrayBuffer> | null | undefined;
  return {
    body,
    etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
    gzip() {
      gzip ??= level !== null && body.length >= GZIP_FROM ? new Uint8Array(gzipSync(body, { level })) : null;
      return gzip;
    },
  };
}

/** Whether an If-None-Match header names `etag` (a list, weak validators and `*` included). */
function held(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  return ifNoneMatch.split(',').some((tag) => {
    const t = tag.trim();
    return t === '*' || t === etag || t === `W/${etag}`;
  });
}

/**
 * The response carrying `file` with `headers`: 304 without a body when the request holds it
 * (If-None-Match), else 200 with the bytes, gzipped when the request accepts gzip.
 */
export function negotiated(
  file: Encoded,
  header: (name: string) => string | undefined,
  headers: Record<string, string>,
): Response {
  const all: Record<string, string> = { ...headers, etag: file.etag, vary: 'accept-encoding' };
  if (held(header('if-none-match'), file.etag)) return new Response(null, { status: 304, headers: all });
  const gzip = /\bgzip\b/.test(header('accept-encoding') ?? '') ? file.gzip() : null;
  if (gzip) all['content-encoding'] = 'gzip';
  return new Response(gzip ?? file.body, { status: 200, headers: all });
}
