import type { IncomingMessage, ServerResponse } from 'node:http';

/** True while a body the request announced is still arriving. */
export function bodyStillArriving(req: IncomingMessage): boolean {
  if (req.complete) return false;
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/**
 * When the response starts before the request's body has fully arrived (a 413 for an announced size,
 * a 401 before the body was read), the response says `Connection: close` and `onClose` runs.
 *
 * Otherwise the connection stays open while the rest of the body is read and discarded after the
 * response — which the HTTP adapter bounds at 500 ms and then closes, with the client still believing
 * the connection open: its next request on it was dropped without a word (15 of 20,000 fuzz requests).
 * Telling the client instead costs one reconnect, only for answers given before the body arrived; a
 * body that had fully arrived (the usual small JSON) keeps the connection alive.
 */
export function closeIfAnsweredEarly(req: IncomingMessage, res: ServerResponse, onClose: () => void): void {
  const writeHead = res.writeHead;
  res.writeHead = function (this: ServerResponse, ...args: unknown[]) {
    if (!this.headersSent && bodyStillArriving(req)) {
      this.setHeader('connection', 'close');
      onClose();
    }
    return (writeHead as (...a: unknown[]) => ServerResponse).apply(this, args);
  } as ServerResponse['writeHead'];
}

const discarding = new WeakSet<IncomingMessage>();

/**
 * Reads the rest of a body nobody will read, and drops it, as Node's `IncomingMessage._dump` does.
 * Node dumps only bodies the app never began to read. A body the adapter began to read (a size limit
 * counting the chunks of a chunked body) stays paused by the adapter's web stream once its queue is
 * full, which stalls the connection until the adapter gives up on it and closes it, unannounced.
 */
export function discardBody(req: IncomingMessage): void {
  if (req.readableEnded || discarding.has(req)) return;
  discarding.add(req);
  req.removeAllListeners('data');
  req.on('error', () => {});
  req.resume();
}
