import { readFileSync, statSync } from 'node:fs';
import { extname, join, resolve, sep } from 'node:path';
import { type RouteDef, routes } from '@outpost/sdk/contracts';
import type { Context, MiddlewareHandler } from 'hono';
import { type Encoded, encoded, negotiated } from './encoded.js';
import type { AppEnv } from './env.js';

/** The page may load only its own scripts, styles and images and talk only to its own origin. */
export const DASHBOARD_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

const IMMUTABLE = 'public, max-age=31536000, immutable';
const NOT_BUILT =
  'The Outpost dashboard is not built, so there is nothing to show here yet.\n' +
  'Build it with `npm run build -w @outpost/dashboard` (or `npm run build` for everything) and reload.\n' +
  'The API itself is under /api/v1.\n';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
};
const COMPRESSIBLE = new Set(['.html', '.js', '.mjs', '.css', '.json', '.map', '.svg', '.txt', '.webmanifest']);

/** Paths the API owns: never answered with the page, so an unknown API path stays a problem response. */
export function isApiPath(path: string): boolean {
  return path === '/api' || path.startsWith('/api/');
}

/**
 * Paths a machine asks for outside /api — the route table's `root` routes, such as the Prometheus
 * scrape of a server without a metrics token, where the route is not mounted — with or without a
 * trailing slash: a 404, never the dashboard's page with a 200 that a scraper would take for an answer.
 */
const MACHINE_PATHS: ReadonlySet<string> = new Set(
  (Object.values(routes) as RouteDef[]).filter((route) => route.root && !isApiPath(route.path)).map((route) => route.path),
);

function isMachinePath(path: string): boolean {
  return MACHINE_PATHS.has(path.replace(/\/+$/, ''));
}

/** Headers on every response: no MIME sniffing, no Referer leaking run ids to other sites. */
export function baseSecurityHeaders(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    await next();
    c.res.headers.set('x-content-type-options', 'nosniff');
    c.res.headers.set('referrer-policy', 'no-referrer');
  };
}

/** A file as the cache keeps it: its bytes with their ETag and gzip, and its content type. */
export interface LoadedFile {
  readonly bytes: Encoded;
  readonly type: string;
}

/**
 * Reads files on first use and keeps them while their size and mtime stay the same, so a rebuilt
 * dashboard is picked up without a restart. Text files are gzipped once, not per request.
 */
export class FileCache {
  readonly #files = new Map<string, LoadedFile & { stamp: string }>();

  load(path: string): LoadedFile | null {
    let stat: ReturnType<typeof statSync>;
    try {
      stat = statSync(path);
    } catch {
      return null;
    }
    if (!stat.isFile()) return null;
    const stamp = `${stat.size}-${stat.mtimeMs}`;
    const cached = this.#files.get(path);
    if (cached?.stamp === stamp) return cached;
    // Copied into a plain ArrayBuffer once, so responses can hand it over as it is.
    const ext = extname(path).toLowerCase();
    const bytes = encoded(new Uint8Array(readFileSync(path)), COMPRESSIBLE.has(ext) ? 9 : null);
    // Gzipped now, once, so no request waits for it.
    bytes.gzip();
    const file = { stamp, bytes, type: TYPES[ext] ?? 'application/octet-stream' };
    this.#files.set(path, file);
    return file;
  }
}

function send(c: Context<AppEnv>, file: LoadedFile, cacheControl: string): Response {
  return negotiated(file.bytes, (name) => c.req.header(name), {
    'content-type': file.type,
    'cache-control': cacheControl,
    'content-security-policy': DASHBOARD_CSP,
  });
}

/**
 * Serves the built dashboard (`dir`: its dist folder, or null for none) for GET and HEAD outside
 * /api: `/` and every other unknown path get index.html (routing lives in the URL hash), files
 * under /assets/ are content-hashed and cached for a year, everything else is revalidated. The
 * files hold no data, so they need no credential; the data comes from the API, which does.
 */
export function serveDashboard(dir: string | null): (c: Context<AppEnv>) => Promise<Response> {
  const root = dir ? resolve(dir) : null;
  const cache = new FileCache();
  return async (c) => {
    const path = c.req.path;
    if (isApiPath(path) || isMachinePath(path)) return c.notFound();
    const index = root ? cache.load(join(root, 'index.html')) : null;
    if (!root || !index) {
      return c.body(NOT_BUILT, 404, {
        'content-type': 'text/plain; charset=utf-8',
        'cache-control': 'no-cache',
        'content-security-policy': DASHBOARD_CSP,
      });
    }
    let decoded: string;
    try {
      decoded = decodeURIComponent(path);
    } catch {
      decoded = '\0';
    }
    const target = resolve(root, `.${decoded}`);
    const inside = !decoded.includes('\0') && (target === root || target.startsWith(root + sep));
    if (inside && path !== '/' && path !== '/index.html') {
      const file = cache.load(target);
      if (file) return send(c, file, path.startsWith('/assets/') ? IMMUTABLE : 'no-cache');
    }
    // A missing hashed asset is a stale page asking for an old build: the page itself would be the wrong answer.
    if (path.startsWith('/assets/') || !inside) {
      return c.body('Not found\n', 404, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-cache' });
    }
    return send(c, index, 'no-cache');
  };
}
