import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { WorkerMetrics } from './metrics.js';

/** What `/healthz` says about the worker. */
export interface HealthReport {
  /** `ok` (200): running and it reached the API within its lease; anything else is a 503. */
  status: 'ok' | 'starting' | 'unreachable' | 'draining' | 'stopped' | 'failed';
  worker: string;
  workerId: string;
  pool: string;
  /** The lease the API last reported: the longest the worker may go without reaching it. */
  leaseSeconds: number;
  /** Seconds since the last heartbeat the API answered; null before the first. */
  lastHeartbeatAgeSeconds: number | null;
  /** Seconds since the last claim the API answered (a long-poll ends when its wait does); null before the first. */
  lastPollAgeSeconds: number | null;
  runningAttempts: number;
}

export interface HealthServerOptions {
  host: string;
  port: number;
  report: () => HealthReport;
  metrics: WorkerMetrics;
  logger: Logger;
}

export interface HealthServer {
  /** `http://host:port`, the port the server listens on (the one chosen, with port 0). */
  readonly url: string;
  close(): Promise<void>;
}

/** A health port that cannot be listened on, as one line a person can act on; null for anything else. */
export function healthListenFailure(error: unknown, host: string, port: number): { message: string; hint: string } | null {
  switch ((error as NodeJS.ErrnoException).code) {
    case 'EADDRINUSE':
      return {
        message: `the health port ${port} on ${host} is in use (is another worker or exporter running there?)`,
        hint: 'stop it, or pass another --health-port (OUTPOST_WORKER_HEALTH_PORT)',
      };
    case 'EACCES':
      return {
        message: `this user may not listen on the health port ${port}`,
        hint: 'pass --health-port with a port above 1023',
      };
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
      return {
        message: `${host} is not an address of this machine`,
        hint: 'pass --health-host with one of its addresses (0.0.0.0 for all)',
      };
    default:
      return null;
  }
}

/**
 * The worker's own HTTP port, for Kubernetes probes and Prometheus: `GET /healthz` (200 while the
 * worker is healthy, 503 otherwise, a small JSON either way) and `GET /metrics` (Prometheus text).
 * HEAD works as GET; another method on those paths is a 405, and every other path a 404. It
 * serves nothing secret, takes no credential, and listens on 127.0.0.1 unless told otherwise.
 */
export async function startHealthServer(options: HealthServerOptions): Promise<HealthServer> {
  const log = options.logger.child({ component: 'health' });
  const server: Server = createServer((req, res) => {
    answer(req, res, options).catch((error: unknown) => {
      log.error({ err: error }, 'health request failed');
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('internal error\n');
    });
  });
  // Probes and scrapes are short; a connection left idle is not kept.
  server.keepAliveTimeout = 5_000;
  server.headersTimeout = 10_000;
  server.requestTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const PATHS = new Set(['/healthz', '/metrics']);

async function answer(req: IncomingMessage, res: ServerResponse, options: HealthServerOptions): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (path === undefined || !PATHS.has(path)) {
    send(res, 404, 'text/plain; charset=utf-8', 'not found: this port serves GET /healthz and GET /metrics\n');
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    send(res, 405, 'text/plain; charset=utf-8', `${req.method} is not allowed here\n`);
    return;
  }
  if (path === '/healthz') {
    const report = options.report();
    send(res, report.status === 'ok' ? 200 : 503, 'application/json', `${JSON.stringify(report)}\n`);
    return;
  }
  send(res, 200, options.metrics.contentType, await options.metrics.exposition());
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
