import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from '../logger.js';

/** A request handed to the app whose response has not finished. */
export interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
}

/** What the server knows about one open connection. */
export interface Connection {
  /** Requests being served on it, oldest first (more than one when the client pipelines). */
  readonly exchanges: Exchange[];
  /** Told `Connection: close` (or given a parser problem): requests that follow on it are not served. */
  closing: boolean;
  /** `socket.bytesRead` when it last had nothing in flight: more since means a request has begun. */
  bytesAtRest: number;
}

/** One warning when the cap is first reached, then a summary at most this often, so a flood does not flood the logs. */
const REPORT_EVERY_MS = 10_000;

/**
 * Counts the open connections and which of them are being served, and keeps their number at
 * `admitted`. A connection that would pass it closes the connection idle longest — one with
 * nothing in flight: a kept-alive connection between requests, or one still sending (or never
 * sending) its first request's headers, which is what idle floods and slowloris are made of — and
 * is refused only when every connection is being served.
 *
 * Why close idle ones rather than refuse newcomers (what `server.maxConnections` does): under a
 * flood of 1,500 idle connections against a process with 1,024 open files, refusing newcomers kept
 * the flood and shut out /healthz for a minute, until the headers timeout began cutting the flood.
 * Closing the longest idle connection admits the probe at once (the e2e flood test measures it);
 * the one closed loses no request, and its client reconnects when it has one.
 */
export class ConnectionTracker {
  readonly #open = new Map<Socket, Connection>();
  /** Connections with nothing in flight, in the order they became so: the first is idle longest. */
  readonly #idle = new Set<Socket>();
  #served = 0;
  #closed = 0;
  #refused = 0;
  #reportTimer: NodeJS.Timeout | null = null;

  constructor(
    readonly admitted: number,
    readonly logger: Logger,
  ) {}

  /** Connections being served a request. */
  get served(): number {
    return this.#served;
  }

  get open(): number {
    return this.#open.size;
  }

  /** The server's 'connection' event: admits the socket, making room when needed, or closes it. */
  admit(socket: Socket): void {
    if (this.#open.size >= this.admitted && !this.#closeIdlest()) {
      this.#refused++;
      this.#report();
      socket.destroy();
      return;
    }
    this.#open.set(socket, { exchanges: [], closing: false, bytesAtRest: 0 });
    this.#idle.add(socket);
    socket.once('close', () => this.#forget(socket));
  }

  get(socket: Socket): Connection | undefined {
    return this.#open.get(socket);
  }

  /** A request handed to the app: the connection is served until its response ends. */
  begin(socket: Socket, req: IncomingMessage, res: ServerResponse): void {
    const connection = this.#open.get(socket);
    if (!connection) return;
    if (connection.exchanges.length === 0) {
      this.#served++;
      this.#idle.delete(socket);
    }
    const exchange = { req, res };
    connection.exchanges.push(exchange);
    res.once('close', () => this.#end(socket, connection, exchange));
  }

  #end(socket: Socket, connection: Connection, exchange: Exchange): void {
    if (this.#open.get(socket) !== connection) return;
    const index = connection.exchanges.indexOf(exchange);
    if (index < 0) return;
    connection.exchanges.splice(index, 1);
    if (connection.exchanges.length > 0) return;
    this.#served--;
    connection.bytesAtRest = socket.bytesRead;
    this.#idle.add(socket);
  }

  #forget(socket: Socket): void {
    const connection = this.#open.get(socket);
    if (!connection) return;
    if (connection.exchanges.length > 0) this.#served--;
    this.#open.delete(socket);
    this.#idle.delete(socket);
  }

  /** Closes the connection idle longest; false when there is none. */
  #closeIdlest(): boolean {
    for (const socket of this.#idle) {
      this.#forget(socket);
      if (socket.destroyed) continue;
      socket.destroy();
      this.#closed++;
      this.#report();
      return true;
    }
    return false;
  }

  #report(): void {
    if (this.#reportTimer) return;
    this.#flushReport();
  }

  /** Logs what the cap did since the last line, and looks again in REPORT_EVERY_MS while it keeps acting. */
  #flushReport(): void {
    this.#reportTimer = null;
    if (this.#closed === 0 && this.#refused === 0) return;
    this.logger.warn(
      { admitted: this.admitted, open: this.#open.size, served: this.#served, closedIdle: this.#closed, refused: this.#refused },
      'connection cap reached: closing idle connections to admit new ones',
    );
    this.#closed = 0;
    this.#refused = 0;
    this.#reportTimer = setTimeout(() => this.#flushReport(), REPORT_EVERY_MS);
    this.#reportTimer.unref();
  }

  /** Stops the report timer (the server closed). */
  stop(): void {
    if (this.#reportTimer) clearTimeout(this.#reportTimer);
    this.#reportTimer = null;
  }
}
