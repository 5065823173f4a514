import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from '../logger.js';
import type { ConnectionTracker } from './connection-tracker.js';
import { isLingering, lingerClose } from './lingering-close.js';
import { type RawProblem, rawProblem, rawProblemResponse, sendRawProblem } from './raw-problems.js';

/** An error of Node's HTTP parser or its timeouts, as the 'clientError' event gives it. */
type ClientError = Error & { code?: string; rawPacket?: Buffer };

/** The peer is gone or the socket failed: there is nobody to answer. */
const NO_ANSWER = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ETIMEDOUT', 'ERR_STREAM_DESTROYED']);

/** The problem for a parser error, as Node's own plain-text answers map them (http's socketOnError). */
function problemFor(error: ClientError): RawProblem {
  switch (error.code) {
    case 'HPE_HEADER_OVERFLOW':
      return rawProblem('headers_too_large', 'the request line and headers together are larger than the server accepts');
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return rawProblem('payload_too_large', 'the chunk extensions of the request body are too large');
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return rawProblem('request_timeout', 'the request did not arrive in time');
    default:
      return rawProblem('malformed_request', 'the request is not valid HTTP/1.1');
  }
}

/** Writes the answer and closes: at once for a timeout (the client has gone quiet), lingering otherwise. */
function answerAndClose(socket: Socket, problem: RawProblem | null, timedOut: boolean): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  if (problem === null) {
    socket.destroy();
    return;
  }
  if (timedOut) {
    socket.end(rawProblemResponse(problem), () => socket.destroy());
    return;
  }
  socket.write(rawProblemResponse(problem));
  lingerClose(socket);
}

/**
 * The server's 'clientError' listener: what Node's parser refuses (malformed requests, headers too
 * large) and the headers and request timeouts are answered with a problem+json body, then the
 * connection closes. Nothing is ever written over a response already under way:
 *
 * - the error is in a request the app has not seen (nothing in flight, or every request in flight
 *   fully received): it is answered after the responses in flight finish, in order;
 * - the error is in the body of the request being served (a timeout, bad chunking): it is answered
 *   if that response has not started, and the connection is closed, which ends the request;
 * - a timeout on a connection that never sent a byte is not answered, only closed.
 */
export function answerClientErrors(tracker: ConnectionTracker, logger: Logger) {
  return (error: ClientError, duplex: unknown): void => {
    const socket = duplex as Socket;
    const connection = tracker.get(socket);
    logger.debug(
      { code: error.code, bytes: error.rawPacket?.length, remote: socket.remoteAddress },
      'client error: %s',
      error.message,
    );
    // Already being closed after a Connection: close answer; whatever else the client sends is discarded.
    if (connection?.closing || isLingering(socket)) return;
    if ((error.code !== undefined && NO_ANSWER.has(error.code)) || !socket.writable) {
      socket.destroy();
      return;
    }
    if (connection) connection.closing = true;
    const timedOut = error.code === 'ERR_HTTP_REQUEST_TIMEOUT';
    const inFlight = connection?.exchanges ?? [];
    const last = inFlight.at(-1);

    if (last && !last.req.complete) {
      // The request being served lost its body; a response of its own may already be under way.
      const answer = inFlight.length === 1 && !last.res.headersSent ? problemFor(error) : null;
      answerAndClose(socket, answer, true);
      return;
    }
    const sentNothing = socket.bytesRead === (connection?.bytesAtRest ?? 0);
    const answer = timedOut && sentNothing ? null : problemFor(error);
    if (!last) {
      answerAndClose(socket, answer, timedOut);
      return;
    }
    last.res.once('close', () => {
      if (last.res.writableFinished) answerAndClose(socket, answer, timedOut);
      else socket.destroy();
    });
  };
}

/** 'checkExpectation': an `Expect` other than 100-continue is refused with a problem, not Node's bare 417. */
export function refuseExpectation(_req: IncomingMessage, res: ServerResponse): void {
  sendRawProblem(res, rawProblem('expectation_failed', 'the only expectation this server meets is 100-continue'));
}
