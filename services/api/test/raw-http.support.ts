import net from 'node:net';

/** One HTTP/1.1 response read off a raw connection. */
export interface RawResponse {
  status: number;
  /** Lower-case names; a repeated header keeps its last value. */
  headers: Record<string, string>;
  body: string;
}

/** A plain TCP connection to the API, for what a fetch client cannot do: pipelining, half requests, garbage. */
export interface RawConnection {
  socket: net.Socket;
  /** Everything received so far (latin1). */
  received(): string;
  /** The complete responses received so far, in order. */
  responses(): RawResponse[];
  /** Resolves with the `n`th complete response (1-based); rejects when the connection closes first or after `timeoutMs`. */
  response(n?: number, timeoutMs?: number): Promise<RawResponse>;
  /** Resolves when the server has closed the connection (or it failed); rejects after `timeoutMs`. */
  closed(timeoutMs?: number): Promise<void>;
  isClosed(): boolean;
  /** The socket error, when there was one (ECONNRESET, EPIPE…). */
  error(): NodeJS.ErrnoException | null;
}

const open = new Set<net.Socket>();

/** Connects to the host and port of `url` (a loopback address) and resolves once connected. */
export async function rawConnection(url: string): Promise<RawConnection> {
  const { hostname, port } = new URL(url);
  const socket = net.connect(Number(port), hostname);
  open.add(socket);
  let text = '';
  let failure: NodeJS.ErrnoException | null = null;
  let isClosed = false;
  const changed = new Set<() => void>();
  const wake = () => {
    for (const f of changed) f();
  };
  socket.on('data', (chunk: Buffer) => {
    text += chunk.toString('latin1');
    wake();
  });
  socket.on('error', (error: NodeJS.ErrnoException) => {
    failure = error;
  });
  socket.on('close', () => {
    isClosed = true;
    open.delete(socket);
    wake();
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });

  const until = <T>(check: () => T | undefined, what: string, timeoutMs: number): Promise<T> =>
    new Promise((resolve, reject) => {
      const test = () => {
        const value = check();
        if (value !== undefined) return finish(() => resolve(value));
        if (isClosed) finish(() => reject(new Error(`the connection closed before ${what}; received:\n${text}`)));
      };
      const timer = setTimeout(
        () => finish(() => reject(new Error(`no ${what} within ${timeoutMs} ms; received:\n${text}`))),
        timeoutMs,
      );
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        changed.delete(test);
        settle();
      };
      changed.add(test);
      test();
    });

  return {
    socket,
    received: () => text,
    responses: () => parseResponses(text),
    response: (n = 1, timeoutMs = 30_000) => until(() => parseResponses(text)[n - 1], `response ${n}`, timeoutMs),
    closed: (timeoutMs = 30_000) =>
      new Promise((resolve, reject) => {
        if (isClosed) return resolve();
        const timer = setTimeout(
          () => reject(new Error(`the connection stayed open ${timeoutMs} ms; received:\n${text}`)),
          timeoutMs,
        );
        socket.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
      }),
    isClosed: () => isClosed,
    error: () => failure,
  };
}

/** Destroys every raw connection still open and says how many there were (a test should leave none). */
export function destroyOpenConnections(): number {
  const count = open.size;
  for (const socket of open) socket.destroy();
  open.clear();
  return count;
}

/** Splits received bytes into complete responses (Content-Length or chunked bodies); an incomplete tail is left out. */
export function parseResponses(text: string): RawResponse[] {
  const responses: RawResponse[] = [];
  let rest = text;
  for (;;) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) return responses;
    const [statusLine = '', ...lines] = rest.slice(0, end).split('\r\n');
    const status = Number(statusLine.split(' ')[1]);
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    let after = rest.slice(end + 4);
    let body = '';
    if (headers['transfer-encoding']?.toLowerCase() === 'chunked') {
      for (;;) {
        const lineEnd = after.indexOf('\r\n');
        if (lineEnd < 0) return responses;
        const size = Number.parseInt(after.slice(0, lineEnd), 16);
        if (after.length < lineEnd + 2 + size + 2) return responses;
        body += after.slice(lineEnd + 2, lineEnd + 2 + size);
        after = after.slice(lineEnd + 2 + size + 2);
        if (size === 0) break;
      }
    } else {
      const length = Number(headers['content-length'] ?? 0);
      if (after.length < length) return responses;
      body = after.slice(0, length);
      after = after.slice(length);
    }
    responses.push({ status, headers, body });
    rest = after;
  }
}

/** A request head as raw bytes; `headers` are written as given, after Host. */
export function requestHead(method: string, path: string, headers: Record<string, string | number> = {}): string {
  const lines = [`${method} ${path} HTTP/1.1`, 'Host: 127.0.0.1'];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  return `${lines.join('\r\n')}\r\n\r\n`;
}
