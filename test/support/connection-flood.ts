import net, { isIP } from 'node:net';

export interface FloodOptions {
  /** Connections to open, one after another. */
  count: number;
  /** Every `slowlorisEvery`th connection sends half a request and then one byte a second; the others send nothing. @default 2 */
  slowlorisEvery?: number;
}

export interface Flood {
  /** Connections opened (the server may have closed some since). */
  readonly opened: number;
  /** Connections the client could not open (refused or reset while connecting). */
  readonly failed: number;
  /** Connections still open. */
  open(): number;
  /** Resolves once every connection was attempted. */
  started: Promise<void>;
  /** Stops the trickle and destroys every connection; resolves when all are closed. */
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', '::1']);

/**
 * Idle and slowloris connections to an API on a loopback address, for resilience tests. Connections
 * are opened one after another, so the flood never has more than one connect in flight.
 */
export function startFlood(url: string, options: FloodOptions): Flood {
  const { hostname, port } = new URL(url);
  const host = hostname.replace(/^\[|\]$/g, '');
  if (!isIP(host) || !LOOPBACK.has(host)) throw new Error(`a flood may only target a loopback address, not ${hostname}`);
  const every = options.slowlorisEvery ?? 2;
  const sockets = new Set<net.Socket>();
  const slow = new Set<net.Socket>();
  const closed: Promise<void>[] = [];
  let opened = 0;
  let failed = 0;
  let stopping = false;

  const openOne = (index: number) =>
    new Promise<void>((resolve) => {
      const socket = net.connect({ host, port: Number(port) });
      sockets.add(socket);
      closed.push(
        new Promise<void>((done) =>
          socket.once('close', () => {
            sockets.delete(socket);
            slow.delete(socket);
            done();
          }),
        ),
      );
      let connected = false;
      socket.on('error', () => {});
      socket.once('connect', () => {
        connected = true;
        opened++;
        if (index % every === 0) {
          socket.write(`GET /healthz?slowloris=${index} HTTP/1.1\r\nHost: ${hostname}\r\nX-Wait: `);
          slow.add(socket);
        }
        resolve();
      });
      socket.once('close', () => {
        if (!connected) failed++;
        resolve();
      });
    });

  const started = (async () => {
    for (let i = 0; i < options.count && !stopping; i++) await openOne(i);
  })();
  // The slowloris half: one more header byte a second on each, never the end of the headers.
  const trickle = setInterval(() => {
    for (const socket of slow) if (socket.writable) socket.write('a');
  }, 1_000);

  return {
    get opened() {
      return opened;
    },
    get failed() {
      return failed;
    },
    open: () => sockets.size,
    started,
    close: async () => {
      stopping = true;
      clearInterval(trickle);
      await started;
      for (const socket of sockets) socket.destroy();
      await Promise.all(closed);
    },
  };
}
