import type { Socket } from 'node:net';

/*
 * Closing a connection the client is still writing to makes the kernel answer its next bytes with
 * a reset, and a client that is still sending often reports the reset instead of reading the answer
 * already in its buffer. RFC 9112 §9.6 has the server close in stages: stop writing, keep reading
 * for a while, then close. The bound follows nginx (lingering_timeout 5 s).
 */
export const LINGER_MS = 5_000;

const lingering = new WeakSet<Socket>();

/**
 * Ends the connection without losing the answer written to it: half-closes it (the client reads the
 * answer and then the end), discards what the client still sends, and closes it for good when the
 * client closes its side or after LINGER_MS.
 */
export function lingerClose(socket: Socket): void {
  if (socket.destroyed || lingering.has(socket)) return;
  lingering.add(socket);
  const timer = setTimeout(() => socket.destroy(), LINGER_MS);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
  socket.end();
}

export function isLingering(socket: Socket): boolean {
  return lingering.has(socket);
}
