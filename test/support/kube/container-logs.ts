import type { ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import { loopbackCertificate } from '../loopback-certificate.js';

/** One line a container wrote (with its newline, unless the process ended mid-line). */
export interface LogLine {
  time: Date;
  text: string;
}

/** What a container wrote, in order, and whether it can still write more. */
export class ContainerLog {
  readonly lines: LogLine[] = [];
  private partial = '';
  private ended = false;
  private readonly followers = new Set<(line: LogLine | null) => void>();

  constructor(readonly container: string) {}

  write(chunk: Buffer): void {
    const text = this.partial + chunk.toString('utf8');
    const parts = text.split('\n');
    this.partial = parts.pop() ?? '';
    for (const part of parts) this.push(`${part}\n`);
  }

  end(): void {
    if (this.ended) return;
    if (this.partial) this.push(this.partial);
    this.partial = '';
    this.ended = true;
    for (const follower of this.followers) follower(null);
    this.followers.clear();
  }

  get done(): boolean {
    return this.ended;
  }

  /** Calls `onLine` for each later line and once with null when the container has ended; returns the unsubscribe. */
  follow(onLine: (line: LogLine | null) => void): () => void {
    if (this.ended) {
      onLine(null);
      return () => {};
    }
    this.followers.add(onLine);
    return () => this.followers.delete(onLine);
  }

  private push(text: string): void {
    const line = { time: new Date(), text };
    this.lines.push(line);
    for (const follower of this.followers) follower(line);
  }
}

/** RFC 3339 with nanoseconds, as the kubelet prefixes lines when asked for timestamps. */
function rfc3339Nano(time: Date): string {
  return time.toISOString().replace(/\.(\d{3})Z$/, '.$1000000Z');
}

export type LogLookup = (namespace: string, pod: string, container: string) => ContainerLog | string;

/**
 * The kubelet's `GET /containerLogs/{namespace}/{pod}/{container}` on 127.0.0.1 over HTTPS with a
 * self-signed certificate made by the `openssl` CLI: the API server proxies `pods/log` here (it
 * does not verify the kubelet's certificate when started without --kubelet-certificate-authority).
 * Honours follow, timestamps, sinceTime, sinceSeconds, tailLines and limitBytes. `lookup` answers
 * the container's log, or the message to answer 400 with (as the kubelet does for a container
 * that never started).
 */
export async function startContainerLogServer(
  dir: string,
  name: string,
  lookup: LogLookup,
): Promise<{ server: Server; port: number }> {
  const tls = await loopbackCertificate(dir, 'kubelet', name);
  const server = createServer({ key: tls.key, cert: tls.cert }, (request, response) => {
    const url = new URL(request.url ?? '/', 'https://127.0.0.1');
    const match = url.pathname.match(/^\/containerLogs\/([^/]+)\/([^/]+)\/([^/]+)$/);
    if (request.method !== 'GET' || !match) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    const [namespace, pod, container] = match.slice(1).map(decodeURIComponent) as [string, string, string];
    const log = lookup(namespace, pod, container);
    if (typeof log === 'string') {
      response.writeHead(400, { 'content-type': 'text/plain' }).end(log);
      return;
    }
    serveLog(log, url.searchParams, response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return { server, port: typeof address === 'object' && address ? address.port : 0 };
}

function serveLog(log: ContainerLog, query: URLSearchParams, response: ServerResponse): void {
  const timestamps = query.get('timestamps') === 'true';
  const follow = query.get('follow') === 'true';
  const sinceTime = query.get('sinceTime');
  const sinceSeconds = query.get('sinceSeconds');
  const since = sinceTime ? new Date(sinceTime) : sinceSeconds ? new Date(Date.now() - Number(sinceSeconds) * 1000) : null;
  const tailLines = query.get('tailLines');
  let budget = query.get('limitBytes') ? Number(query.get('limitBytes')) : Number.POSITIVE_INFINITY;

  response.writeHead(200, { 'content-type': 'text/plain' });
  const format = (line: LogLine) => (timestamps ? `${rfc3339Nano(line.time)} ${line.text}` : line.text);
  /** False once limitBytes is spent. */
  const send = (line: LogLine): boolean => {
    if (since && line.time < since) return true;
    const bytes = Buffer.from(format(line));
    if (bytes.length >= budget) {
      response.write(bytes.subarray(0, budget));
      budget = 0;
      return false;
    }
    budget -= bytes.length;
    response.write(bytes);
    return true;
  };

  let backlog = log.lines.filter((line) => !since || line.time >= since);
  if (tailLines !== null) backlog = Number(tailLines) > 0 ? backlog.slice(-Number(tailLines)) : [];
  for (const line of backlog) {
    if (!send(line)) {
      response.end();
      return;
    }
  }
  if (!follow || log.done) {
    response.end();
    return;
  }
  const unfollow = log.follow((line) => {
    if (line === null || !send(line)) {
      unfollow();
      response.end();
    }
  });
  response.on('close', unfollow);
}
