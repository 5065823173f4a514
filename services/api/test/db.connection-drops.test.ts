import { spawnSync } from 'node:child_process';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { connectDatabase, type Sql } from '../src/db/client.js';
import { createTestDatabase, type TestDatabase } from '../src/testing/index.js';

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

/**
 * Run in a process of its own, since the defect it guards against ends the process: a transaction
 * or reserved connection whose backend is terminated, then asked for one more statement.
 */
const AFTER_TERMINATION = `
import { connectDatabase } from './src/db/client.ts';
const url = process.argv[1];
const sql = await connectDatabase(url, { max: 2 });
const killer = await connectDatabase(url, { max: 1 });
const code = (p) => p.then(() => 'ok', (e) => e.code);
const out = {};
const reserved = await sql.reserve();
const [{ pid }] = await reserved\`SELECT pg_backend_pid() AS pid\`;
await killer\`SELECT pg_terminate_backend(\${pid})\`;
out.first = await code(reserved\`SELECT 1\`);
out.second = await code(reserved\`SELECT 1\`);
reserved.release();
out.transaction = await code(sql.begin(async (tx) => {
  const [{ pid }] = await tx\`SELECT pg_backend_pid() AS pid\`;
  await killer\`SELECT pg_terminate_backend(\${pid})\`;
  await tx\`SELECT 1\`.catch(() => {});
  await tx\`SELECT 1\`;
}));
out.after = await Promise.all([1, 2, 3].map((n) => sql\`SELECT \${n}::int AS n\`.then((r) => r[0].n)));
console.log(JSON.stringify(out));
await sql.end({ timeout: 1 });
await killer.end({ timeout: 1 });
`;

test('a terminated backend under a transaction or a reserved connection fails its statements with CONNECTION_CLOSED, and the process and its pool live on', () => {
  const cwd = fileURLToPath(new URL('..', import.meta.url));
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', AFTER_TERMINATION, db.url], {
    cwd,
    encoding: 'utf8',
    timeout: 30_000,
  });
  expect(child.stderr).not.toContain('TypeError');
  expect(child.status).toBe(0);
  const out = JSON.parse(child.stdout);
  // The first statement learns of the loss from the socket (a reset) or from the close, by timing.
  expect(['ECONNRESET', 'CONNECTION_CLOSED']).toContain(out.first);
  // The second is written after the socket is gone: before the guard, this is what ended the process.
  expect(out).toEqual({
    first: out.first,
    second: 'CONNECTION_CLOSED',
    transaction: 'CONNECTION_CLOSED',
    after: [1, 2, 3],
  });
}, 40_000);
