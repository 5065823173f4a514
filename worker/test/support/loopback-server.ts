import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A stand-in service's HTTP server on a free loopback port: a subclass answers requests in
 * `handle`, and a request whose handling throws gets `failed` (a 500 with the error by default).
 */
export abstract class LoopbackServer {
  /** The server's base URL, once started. */
  url = '';
  #server: Server | null = null;

  protected abstract handle(req: IncomingMessage, res: ServerResponse): Promise<void>;

  protected failed(res: ServerResponse, error: unknown): void {
    res.writeHead(500);
    res.end(String(error));
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => this.failed(res, error));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.#server = server;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  /** Stops listening and drops the connections still open; again, or before a start, it does nothing. */
  async close(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = null;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
