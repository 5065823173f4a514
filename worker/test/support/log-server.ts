import type { IncomingMessage, ServerResponse } from 'node:http';
import { LoopbackServer } from './loopback-server.js';

export interface ReceivedLine {
  seq: number;
  message: string;
  stream: string;
  level: string;
  timestamp: string;
  taskRunId?: string;
}

/** What the server does with the next request. */
export type Behaviour = 'ok' | 'fail-503' | 'throttle-429' | 'drop' | 'store-then-drop' | 'refuse-409';

/**
 * A stand-in for the API's log ingest on 127.0.0.1: stores lines keyed by (attempt, seq) like the
 * real endpoint, and misbehaves on request according to a script.
 */
export class LogServer extends LoopbackServer {
  readonly stored = new Map<string, ReceivedLine>();
  /** Every line of every request that was stored, in arrival order, duplicates included. */
  readonly deliveries: ReceivedLine[] = [];
  requests = 0;
  private script: Behaviour[] = [];
  private fallback: Behaviour = 'ok';

  /** The next requests behave as listed, then `fallback` applies. */
  plan(script: Behaviour[], fallback: Behaviour = 'ok'): void {
    this.script = [...script];
    this.fallback = fallback;
  }

  seqs(attempt = 1): number[] {
    return [...this.stored.entries()]
      .filter(([key]) => key.startsWith(`${attempt}/`))
      .map(([, line]) => line.seq)
      .sort((a, b) => a - b);
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.requests++;
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const behaviour = this.script.shift() ?? this.fallback;
    if (behaviour === 'drop') {
      req.socket.destroy();
      return;
    }
    if (behaviour === 'fail-503')
      return this.reply(res, 503, { type: 'about:blank', title: 'Unavailable', status: 503, code: 'unavailable' });
    if (behaviour === 'throttle-429') {
      res.setHeader('retry-after', '0');
      return this.reply(res, 429, { type: 'about:blank', title: 'Too many requests', status: 429, code: 'rate_limited' });
    }
    if (behaviour === 'refuse-409') {
      return this.reply(res, 409, { type: 'about:blank', title: 'Stale attempt', status: 409, code: 'stale_attempt' });
    }
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { attempt: number; logs: ReceivedLine[] };
    let accepted = 0;
    let duplicates = 0;
    for (const line of body.logs) {
      const key = `${body.attempt}/${line.seq}`;
      this.deliveries.push(line);
      if (this.stored.has(key)) duplicates++;
      else {
        this.stored.set(key, line);
        accepted++;
      }
    }
    if (behaviour === 'store-then-drop') {
      req.socket.destroy();
      return;
    }
    this.reply(res, 200, { accepted, duplicates });
  }

  private reply(res: ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'content-type': status >= 400 ? 'application/problem+json' : 'application/json' });
    res.end(JSON.stringify(body));
  }
}
