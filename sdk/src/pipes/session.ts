import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import type { AssetContext } from '../assets/asset.js';
import { currentScope } from '../runtime/context.js';
import { type Logger, log } from '../runtime/logger.js';
import { buildContext, openReceiver, type PipesClientError, type PipesRunResult } from './host.js';

/** The most one request of messages may carry; a longer one is refused (413) and the client told so. */
export const PIPES_MAX_REQUEST_BYTES = 8 * 1024 * 1024;

export interface PipesSessionOptions {
  /** The asset's context, inside an asset: metadata and check results become the asset's. */
  asset?: AssetContext;
  /** JSON handed to the process as the context's `extras`. @default {} */
  extras?: Record<string, unknown>;
  /** What the process is called in log lines. @default 'pipes session' */
  name?: string;
  /**
   * Where to listen for the process, `host:port`: `0.0.0.0:0` for a pod or a job on another
   * machine of your network. @default '127.0.0.1:0' (this machine only; port 0: any free port)
   */
  listen?: string;
  /**
   * The base URL the process dials when it reaches this machine by another name (a Service, a
   * load balancer). @default `http://<listen host>:<port>`; when listening on all addresses, the
   * machine's first non-internal IPv4 address
   */
  url?: string;
}

export interface PipesSessionResult<R = unknown> extends Omit<PipesRunResult<R>, 'exitCode'> {
  /** Whether the process said it closed (`closed`); false when it ended without a word, or never called. */
  closed: boolean;
  /** The error the process reported with `closed`, if it did. */
  clientError: PipesClientError | null;
}

/** A channel the launcher keeps open for a process it does not start: a pod, a remote job. */
export interface PipesSession<R = unknown> {
  /**
   * What the process needs in its environment: `OUTPOST_PIPES_CONTEXT` and `OUTPOST_PIPES_MESSAGES`,
   * URLs carrying the session's secret (192 random bits). Treat them as credentials.
   */
  readonly env: Readonly<Record<'OUTPOST_PIPES_CONTEXT' | 'OUTPOST_PIPES_MESSAGES', string>>;
  /** The base URL the process dials. */
  readonly url: string;
  /** Stops listening, handles every message received, and returns what the process reported. Idempotent. */
  close(): Promise<PipesSessionResult<R>>;
}

function firstExternalIPv4(): string | null {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const a of addresses ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return null;
}

function parseListen(listen: string): { host: string; port: number } {
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:\s]+):(\d{1,5})$/.exec(listen);
  const port = Number(match?.[2]);
  if (!match || port > 65_535) throw new TypeError(`pipes.open: listen must be host:port, e.g. 0.0.0.0:0, not '${listen}'`);
  return { host: (match[1] as string).replace(/^\[|\]$/g, ''), port };
}

/**
 * Opens a Pipes channel over HTTP for a process this code does not start — a Kubernetes pod, a
 * Databricks or SageMaker job, a program on another machine of your network — and receives its
 * messages as `pipes.run` does: log lines, metadata, check results, artifacts and a result, the
 * asset's inside an asset. Hand `session.env` to the process (a pod's `env`, a job's parameters);
 * the clients read the context from `OUTPOST_PIPES_CONTEXT` and post messages to
 * `OUTPOST_PIPES_MESSAGES`. Call `close()` once the process has ended. The listener answers only
 * those two URLs, which carry the session's secret; it speaks plain HTTP, so keep it inside your
 * network, as the worker is.
 * @example
 * const session = await pipes.open({ asset: ctx, listen: '0.0.0.0:0' });
 * try {
 *   await runExternalJob((await kubernetesPods()).pod, { image, command: ['python', 'train.py'], env: session.env });
 * } finally {
 *   const reported = await session.close();
 * }
 */
export async function open<R = unknown>(options: PipesSessionOptions = {}): Promise<PipesSession<R>> {
  const listen = parseListen(options.listen ?? '127.0.0.1:0');
  if (
    options.extras !== undefined &&
    (typeof options.extras !== 'object' || options.extras === null || Array.isArray(options.extras))
  )
    throw new TypeError('pipes.open: extras must be an object of JSON values');
  const shown = options.name ?? 'pipes session';
  const logger: Logger = options.asset?.log ?? log;
  const started = performance.now();
  const contextJson = JSON.stringify(buildContext(options));
  const secret = randomBytes(24).toString('base64url');
  const receiver = openReceiver<R>(shown, options.asset, logger);
  let closedSeen = false;
  const paths = { context: `/${secret}/context`, messages: `/${secret}/messages` };
  const matches = (url: string, path: string) =>
    url.length === path.length && timingSafeEqual(Buffer.from(url), Buffer.from(path));

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '';
    const answer = (status: number, body = '') => {
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' });
      res.end(body);
    };
    if (req.method === 'GET' && matches(url, paths.context)) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(contextJson);
      return;
    }
    if (req.method !== 'POST' || !matches(url, paths.messages)) {
      req.resume();
      answer(404, 'not found\n');
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > PIPES_MAX_REQUEST_BYTES) refused = true;
      else chunks.push(chunk);
    });
    req.on('end', () => {
      if (refused) {
        receiver.warn(`a request of ${size} bytes is more than ${PIPES_MAX_REQUEST_BYTES}; refused`);
        answer(413, `at most ${PIPES_MAX_REQUEST_BYTES} bytes per request\n`);
        return;
      }
      // A request holds whole lines: pushed at once, it never interleaves with another's.
      let body = Buffer.concat(chunks).toString('utf8');
      if (!body.endsWith('\n')) body += '\n';
      if (/"method"\s*:\s*"closed"/.test(body)) closedSeen = true;
      receiver.messages.push(Buffer.from(body, 'utf8'));
      answer(204);
    });
    req.on('error', () => undefined);
  };
  const server = createServer(handler);
  server.headersTimeout = 30_000;
  server.requestTimeout = 120_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new Error(
          `pipes.open: cannot listen on ${options.listen ?? '127.0.0.1:0'}: ${error.code === 'EADDRINUSE' ? 'the port is in use' : error.message}`,
        ),
      ),
    );
    server.listen(listen.port, listen.host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  const wildcard = listen.host === '0.0.0.0' || listen.host === '::';
  const host = wildcard ? (firstExternalIPv4() ?? '127.0.0.1') : listen.host;
  const base = (options.url ?? `http://${host.includes(':') ? `[${host}]` : host}:${port}`).replace(/\/+$/, '');
  const signal = options.asset?.signal ?? currentScope().task?.signal ?? currentScope().run?.signal;

  let closing: Promise<PipesSessionResult<R>> | null = null;
  const close = (): Promise<PipesSessionResult<R>> => {
    closing ??= (async () => {
      signal?.removeEventListener('abort', onAbort);
      await new Promise<void>((resolve) => server.close(() => resolve()));
      receiver.messages.end();
      await receiver.settled();
      const { outcome } = receiver;
      return {
        result: outcome.result,
        metadata: outcome.metadata,
        checks: outcome.checks,
        artifacts: outcome.artifacts,
        durationMs: Math.max(0, Math.round(performance.now() - started)),
        closed: closedSeen,
        clientError: receiver.clientError(),
      };
    })();
    return closing;
  };
  // The run stopping stops the listener too; what arrived is still handled by close().
  const onAbort = () => server.close();
  signal?.addEventListener('abort', onAbort, { once: true });
  return {
    env: { OUTPOST_PIPES_CONTEXT: `${base}${paths.context}`, OUTPOST_PIPES_MESSAGES: `${base}${paths.messages}` },
    url: base,
    close,
  };
}
