import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { getRequestListener } from '@hono/node-server';
import type { Logger } from '../logger.js';
import { answerClientErrors, refuseExpectation } from './client-errors.js';
import { ConnectionTracker } from './connection-tracker.js';
import { lingerOnDestroySoon } from './lingering-close.js';
import { type RawProblem, rawProblem, sendRawProblem } from './raw-problems.js';
import { type HttpLimits, PROBE_HEADROOM, TIMEOUT_CHECK_INTERVAL_MS } from './server-limits.js';
import { bodyStillArriving, closeIfAnsweredEarly, discardBody } from './unread-body.js';

type Fetch = Parameters<typeof getRequestListener>[0];

/** The health probes, answered even when every connection slot is serving a request. */
function isProbe(req: IncomingMessage): boolean {
  return req.method === 'GET' && (req.url === '/healthz' || req.url === '/readyz');
}

/**
 * The API's HTTP/1.1 server: the app behind timeouts for slow clients, a cap on connections that
 * makes room by closing idle ones, problem+json answers from the parser, and connections that end
 * cleanly when the app answers before reading a body.
 */
export function createHttpServer(fetch: Fetch, limits: HttpLimits, logger: Logger): Server {
  const handle = getRequestListener(fetch);
  const tracker = new ConnectionTracker(limits.maxConnections + PROBE_HEADROOM, logger);

  const serve = (req: IncomingMessage, res: ServerResponse): void => {
    const socket = req.socket;
    const connection = tracker.get(socket);
    // RFC 9112 §9.6: after answering `Connection: close`, later requests on the connection are not processed.
    if (connection?.closing) {
      discardBody(req);
      return;
    }
    const full = tracker.served >= limits.maxConnections;
    tracker.begin(socket, req, res);
    closeIfAnsweredEarly(req, res, () => {
      if (connection) connection.closing = true;
      lingerOnDestroySoon(socket, req);
    });
    const refuse = (problem: RawProblem) => {
      if (connection) connection.closing = true;
      sendRawProblem(res, problem);
    };
    // Node answers this itself with a bare 400 unless told not to (requireHostHeader below).
    if (req.httpVersion === '1.1' && req.headers.host === undefined) {
      refuse(rawProblem('malformed_request', 'an HTTP/1.1 request needs a Host header'));
      return;
    }
    if (full && !isProbe(req)) {
      refuse(rawProblem('unavailable', 'the server is serving as many requests as it can; retry', { 'retry-after': '1' }));
      return;
    }
    // Whatever of the body the app leaves unread is read and dropped once the response is out.
    res.once('finish', () => discardBody(req));
    // Let the parser finish the packet in hand first: the app can answer within microtasks (a 401
    // for a malformed key), before the parser has taken the rest of a body that already arrived,
    // and that answer would close a connection it need not.
    if (bodyStillArriving(req)) setImmediate(() => void handle(req, res));
    else void handle(req, res);
  };

  const server = createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS,
      requireHostHeader: false,
    },
    serve,
  );
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  server.on('connection', (socket) => tracker.admit(socket));
  server.on('close', () => tracker.stop());
  server.on('clientError', answerClientErrors(tracker, logger));
  server.on('checkExpectation', refuseExpectation);
  return server;
}
