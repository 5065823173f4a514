import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { discardBody } from './unread-body.js';

/*
 * Closing a connection the client is still writing to makes the kernel answer its next bytes with
 * a reset, and a client that is still sending often reports the reset instead of reading the answer
 * already in its buffer. RFC 9112 §9.6 has the server close in stages: stop writing, keep reading
 * for a while, then close. These bounds follow nginx (lingering_timeout 5 s) and stay above the
 * largest body a route accepts (5 MiB), so a well-behaved client finishes well inside them.
 */
export const LINGER_MS = 5_000;
export const LINGER_MAX_BYTES = 16 * 1024 * 1024;

const lingering = new WeakSet<Socket>();

/**
 * Ends the connection without losing the answer written to it: half-closes it (the client reads the
 * answer and then the end), discards what the client still sends, and closes it for good when the
 * client closes its side or after LINGER_MS — sooner once more than LINGER_MAX_BYTES of the answered
 * request's body arrived.
 */
export function lingerClose(socket: Socket, req?: IncomingMessage): void {
  if (socket.destroyed || lingering.has(socket)) return;
  lingering.add(socket);
  const bytesAtStart = socket.bytesRead;
  const timer = setTimeout(() => socket.destroy(), LINGER_MS);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
  // The body of the answered request still arrives through the HTTP parser; reading it discards it.
  if (req && !req.readableEnded) {
    discardBody(req);
    req.on('data', () => {
      if (socket.bytesRead - bytesAtStart > LINGER_MAX_BYTES) socket.destroy();
    });
  }
  socket.end();
}

export function isLingering(socket: Socket): boolean {
  return lingering.has(socket);
}

/**
 * Makes Node's close after a `Connection: close` answer a lingering one. Node ends such a connection
 * with `socket.destroySoon()` once the answer is written (http's resOnFinish), which closes it as
 * soon as the answer is flushed; this socket lingers instead. The HTTP adapter's own clean-up of an
 * unread body calls the same method, so it cannot cut the linger short either.
 */
export function lingerOnDestroySoon(socket: Socket, req: IncomingMessage): void {
  (socket as Socket & { destroySoon?: () => void }).destroySoon = () => lingerClose(socket, req);
}
