import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A request as a stand-in saw it: the path below the API's prefix, the query, the JSON body and the Authorization header. */
export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  body: Record<string, unknown> | null;
  authorization: string | null;
}

/** An HTTP server on loopback standing in for a provider's API: the provider's stand-ins implement `respond`. */
export abstract class StandInServer {
  private server: Server | null = null;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => void this.respond(req, Buffer.concat(chunks).toString('utf8'), res));
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  /** Answers one request whose body has been read as `text`. */
  protected abstract respond(req: IncomingMessage, text: string, res: ServerResponse): Promise<void>;

  /** The request as recorded, with `prefix` taken off its path. */
  protected recorded(req: IncomingMessage, prefix: RegExp, body: Record<string, unknown> | null): RecordedRequest {
    const url = new URL(req.url ?? '/', 'http://stand-in');
    return {
      method: req.method ?? '',
      path: url.pathname.replace(prefix, ''),
      query: Object.fromEntries(url.searchParams),
      body,
      authorization: req.headers.authorization ?? null,
    };
  }

  protected json(res: ServerResponse, status: number, body: unknown, type = 'application/json'): void {
    res.writeHead(status, { 'content-type': type });
    res.end(JSON.stringify(body));
  }
}
