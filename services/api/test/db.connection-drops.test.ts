import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { connectDatabase, type Sql } from '../src/db/client.js';
import { createTestDatabase, type TestDatabase } from '../src/testing.js';

/**
 * A TCP proxy in front of Postgres that drops any connection whose client sends the array-type
 * query postgres.js runs while it opens a connection, as a Postgres restart or a network fault in
 * the middle of a handshake would.
 */
class HandshakeBreaker {
  dropped = 0;
  armed = false;
  readonly #sockets = new Set<Socket>();
  #server: Server | null = null;

  constructor(private readonly target: { host: string; port: number }) {}

  async start(): Promise<number> {
    this.#server = createServer((client) => {
      const upstream = connect(this.target.port, this.target.host);
      for (const s of [client, upstream]) this.#sockets.add(s);
      const drop = () => {
        client.destroy();
        upstream.destroy();
        this.#sockets.delete(client);
        this.#sockets.delete(upstream);
      };
      client.on('data', (chunk: Buffer) => {
        if (this.armed && chunk.includes('typarray')) {
          this.dropped++;
          // A reset, as a restarting server or a broken network gives, not an orderly close.
          client.resetAndDestroy();
          upstream.destroy();
          return;
        }
        upstream.write(chunk);
      });
      upstream.pipe(client);
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
    });
    const server = this.#server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return (server.address() as { port: number }).port;
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => this.#server?.close(() => resolve()) ?? resolve());
  }
}

let db: TestDatabase;
let breaker: HandshakeBreaker;
let sql: Sql;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);

beforeAll(async () => {
  db = await createTestDatabase();
  const url = new URL(db.url);
  breaker = new HandshakeBreaker({ host: url.hostname, port: Number(url.port || 5432) });
  url.port = String(await breaker.start());
  sql = await connectDatabase(url.toString(), { max: 4 });
  process.on('unhandledRejection', onUnhandled);
});
afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  await sql?.end({ timeout: 1 });
  await breaker?.close();
  await db?.drop();
});

test('connections the pool opens later skip the type fetch, so one dropped in its handshake cannot leave a rejection unhandled', async () => {
  breaker.armed = true;
  // Four at once make the pool open three more connections, each through the breaker; one of them
  // is a transaction, whose connection postgres.js reserves before it is ready.
  const answers = await Promise.all([
    ...[1, 2, 3].map((n) => sql<{ a: string[] }[]>`SELECT pg_sleep(0.1), ${sql.array([`x${n}`, 'y'])}::text[] AS a`),
    sql.begin((tx) => tx<{ a: string[] }[]>`SELECT pg_sleep(0.1), ${tx.array(['x4', 'y'])}::text[] AS a`),
  ]);
  expect(answers.map((rows) => rows[0]?.a)).toEqual([
    ['x1', 'y'],
    ['x2', 'y'],
    ['x3', 'y'],
    ['x4', 'y'],
  ]);
  expect(breaker.dropped).toBe(0);
  expect(unhandled).toEqual([]);
}, 20_000);
