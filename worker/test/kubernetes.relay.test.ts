import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { connect as connectPlain, type Socket } from 'node:net';
import { connect as connectTls, createServer as createTlsServer } from 'node:tls';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { HELLO_FRAME_BYTES, POD_FRAME_BYTES, relayKey, relayToken } from '../src/executors/kubernetes/relay-protocol.js';
import { type BundlePayload, RelayLink, RelayServer } from '../src/executors/kubernetes/relay-server.js';
import { connectPinned, RelayPinMismatch, relayIdentity, relayPin } from '../src/executors/kubernetes/relay-tls.js';

/*
 * The worker's relay against real sockets on 127.0.0.1: pods are played by raw clients here, so
 * each test can send exactly the bytes an attacker on the pod network could (over TLS, which
 * anyone can speak to the relay; only the token and the resume proof let a client in).
 */
const log = pino({ level: 'silent' });
const KEY = relayKey('op_relay_test_key');
const WORKER = 'relay-test-worker';
const IDENTITY = relayIdentity(KEY, WORKER);
const POD_RUNNER = fileURLToPath(new URL('../src/pod-runner/main.ts', import.meta.url));

type Frame = Record<string, unknown>;

/** A client of the relay that records every frame it receives and when its connection closed. */
interface Client {
  socket: Socket;
  frames: Frame[];
  /** Resolves with the first frame of type `t` (already received or still to come). */
  frame(t: string): Promise<Frame>;
  /** Resolves once the connection is closed, with whether the server closed it. */
  closed: Promise<void>;
  isClosed(): boolean;
  send(frame: Frame): void;
}

const servers: RelayServer[] = [];
const clients: Client[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.socket.destroy();
  for (const server of servers.splice(0)) await server.close();
});

async function startServer(port = 0): Promise<{ server: RelayServer; port: number }> {
  // A hello timeout longer than any test: only the frame bounds can close a connection here.
  const server = new RelayServer(KEY, () => IDENTITY, { host: '127.0.0.1', port }, log, 600_000);
  servers.push(server);
  const bound = await server.start();
  return { server, port: bound.port };
}

/** A TLS client that checks nothing about the server: what anyone on the pod network can open. */
function dial(port: number, plaintext = false): Promise<Client> {
  return new Promise((resolve, reject) => {
    const socket = plaintext
      ? connectPlain({ host: '127.0.0.1', port })
      : connectTls({ host: '127.0.0.1', port, rejectUnauthorized: false });
    const frames: Frame[] = [];
    const waiters: { t: string; resolve: (frame: Frame) => void }[] = [];
    let buffered = '';
    let isClosed = false;
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      let nl = buffered.indexOf('\n');
      while (nl >= 0) {
        const frame = JSON.parse(buffered.slice(0, nl)) as Frame;
        buffered = buffered.slice(nl + 1);
        frames.push(frame);
        for (const waiter of waiters.filter((w) => w.t === frame.t)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(frame);
        }
        nl = buffered.indexOf('\n');
      }
    });
    socket.on('error', () => {});
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    void closed.then(() => (isClosed = true));
    socket.once(plaintext ? 'connect' : 'secureConnect', () => {
      const client: Client = {
        socket,
        frames,
        frame: (t) => {
          const seen = frames.find((f) => f.t === t);
          if (seen) return Promise.resolve(seen);
          return new Promise((r) => waiters.push({ t, resolve: r }));
        },
        closed,
        isClosed: () => isClosed,
        send: (frame) => socket.write(`${JSON.stringify(frame)}\n`),
      };
      clients.push(client);
      resolve(client);
    });
    socket.once('error', reject);
  });
}

/** A link for one attempt with a one-file bundle; `messages` collects what its pod sent. */
function attemptLink(server: RelayServer, bundle: BundlePayload | null = defaultBundle(), runId = randomUUID()) {
  const messages: unknown[] = [];
  const link = new RelayLink(runId, 1, (m) => messages.push(m), bundle, log);
  server.register(link);
  return { runId, link, messages, token: relayToken(KEY, runId, 1) };
}

function defaultBundle(): BundlePayload {
  return {
    entry: 'flow.mjs',
    env: { RUN_SECRET: 's3cret-value' },
    files: async () => [{ path: 'flow.mjs', mode: 0o644, data: Buffer.from('export {}').toString('base64') }],
  };
}

function hello(runId: string, token: string, extra: Frame = {}): Frame {
  return { t: 'hello', runId, attempt: 1, token, session: null, received: 0, hasBundle: false, ...extra };
}

/** Writes `bytes` with no newline, a MiB at a time, stopping early once the server closes the socket; returns what was written. */
async function flood(client: Client, bytes: number): Promise<number> {
  const chunk = Buffer.alloc(1024 * 1024, 'x');
  let written = 0;
  while (written < bytes && !client.isClosed()) {
    const ok = await new Promise<boolean>((r) => client.socket.write(chunk, (error) => r(!error)));
    if (!ok) break;
    written += chunk.length;
  }
  return written;
}

/** A pod's whole session: hello, welcome, its bundle, one message each way. */
async function completeSession(port: number, attempt: ReturnType<typeof attemptLink>): Promise<void> {
  const pod = await dial(port);
  pod.send(hello(attempt.runId, attempt.token));
  expect((await pod.frame('welcome')).session).toBe(attempt.link.session);
  expect((await pod.frame('bundle')).env).toEqual({ RUN_SECRET: 's3cret-value' });
  attempt.link.send({ t: 'start' });
  expect((await pod.frame('msg')).m).toEqual({ t: 'start' });
  pod.send({ t: 'msg', seq: 1, m: { t: 'ready' } });
  await new Promise<void>((r) => {
    const check = () => (attempt.messages.length > 0 ? r() : setImmediate(check));
    check();
  });
  expect(attempt.messages).toEqual([{ t: 'ready' }]);
}

describe('the relay for pods', () => {
  it('closes a connection that sends a few KiB without a newline before its hello', async () => {
    const { port } = await startServer();
    const client = await dial(port);
    // Just over the bound and nothing more: the server closes it without waiting for a newline.
    client.socket.write(Buffer.alloc(HELLO_FRAME_BYTES + 1024, 'x'));
    await client.closed;
    expect(client.frames).toEqual([]);
  });

  it("closes a connection that floods megabytes without a newline, while another pod's session completes", async () => {
    const { server, port } = await startServer();
    const flooder = await dial(port);
    const flooding = flood(flooder, 64 * 1024 * 1024);
    await completeSession(port, attemptLink(server));
    const written = await flooding;
    await flooder.closed;
    // Only what the kernel's socket buffers held got through before the server closed it.
    expect(written).toBeLessThan(64 * 1024 * 1024);
    // The server keeps accepting: a new attempt's pod connects after the flood.
    await completeSession(port, attemptLink(server));
  });

  it('closes a session whose frame after hello is not JSON, and only that session', async () => {
    const { server, port } = await startServer();
    const good = attemptLink(server);
    const bad = attemptLink(server);
    const pod = await dial(port);
    pod.send(hello(good.runId, good.token));
    await pod.frame('bundle');
    const broken = await dial(port);
    broken.send(hello(bad.runId, bad.token));
    await broken.frame('bundle');
    broken.socket.write('{"t":"msg", this is not JSON\n');
    await broken.closed;
    good.link.send({ t: 'still-here' });
    expect((await pod.frame('msg')).m).toEqual({ t: 'still-here' });
    expect(pod.isClosed()).toBe(false);
  });

  it('closes a session that sends a frame longer than the pod frame bound after its hello', async () => {
    const { server, port } = await startServer();
    const attempt = attemptLink(server);
    const pod = await dial(port);
    pod.send(hello(attempt.runId, attempt.token));
    await pod.frame('bundle');
    await flood(pod, POD_FRAME_BYTES + 2 * 1024 * 1024);
    await pod.closed;
    expect(attempt.messages).toEqual([]);
  });

  it('refuses a second connection with the same token: the first pod keeps its session and the second never sees the bundle', async () => {
    const { server, port } = await startServer();
    const attempt = attemptLink(server);
    const first = await dial(port);
    first.send(hello(attempt.runId, attempt.token));
    await first.frame('bundle');
    const second = await dial(port);
    second.send(hello(attempt.runId, attempt.token));
    expect((await second.frame('refused')).reason).toMatch(/another connection/);
    await second.closed;
    expect(second.frames.map((f) => f.t)).toEqual(['refused']);
    // The first pod's connection was not replaced: it still gets the attempt's messages.
    attempt.link.send({ t: 'for-the-first' });
    expect((await first.frame('msg')).m).toEqual({ t: 'for-the-first' });
    expect(first.isClosed()).toBe(false);
  });

  it('lets the first pod back in after its connection drops only with the resume proof it was welcomed with', async () => {
    const { server, port } = await startServer();
    const attempt = attemptLink(server);
    const pod = await dial(port);
    pod.send(hello(attempt.runId, attempt.token));
    const welcome = await pod.frame('welcome');
    expect(welcome.resume).toEqual(expect.any(String));
    await pod.frame('bundle');
    pod.socket.destroy();
    await pod.closed;
    attempt.link.send({ t: 'while-away' });

    const thief = await dial(port);
    thief.send(hello(attempt.runId, attempt.token, { hasBundle: true }));
    await thief.frame('refused');
    const forger = await dial(port);
    forger.send(hello(attempt.runId, attempt.token, { hasBundle: true, resume: `${'0'.repeat(32)}.${'0'.repeat(64)}` }));
    await forger.frame('refused');

    const back = await dial(port);
    back.send(hello(attempt.runId, attempt.token, { session: welcome.session, hasBundle: true, resume: welcome.resume }));
    expect((await back.frame('welcome')).session).toBe(welcome.session);
    expect((await back.frame('msg')).m).toEqual({ t: 'while-away' });
    expect(back.frames.some((f) => f.t === 'bundle' || f.t === 'refused')).toBe(false);
    for (const refused of [thief, forger]) expect(refused.frames.map((f) => f.t)).toEqual(['refused']);
  });

  it("lets a restarted worker's relay take the pod back by its resume proof, and refuses the bare token", async () => {
    const before = await startServer();
    const attempt = attemptLink(before.server);
    const pod = await dial(before.port);
    pod.send(hello(attempt.runId, attempt.token));
    const welcome = await pod.frame('welcome');
    await pod.frame('bundle');
    await before.server.close();
    await pod.closed;

    // The new worker process adopts the attempt: it has no bundle and never issued a resume proof.
    const after = await startServer();
    const adopted = attemptLink(after.server, null, attempt.runId);
    const thief = await dial(after.port);
    thief.send(hello(attempt.runId, attempt.token, { hasBundle: true }));
    await thief.frame('refused');
    const back = await dial(after.port);
    back.send(hello(attempt.runId, attempt.token, { session: welcome.session, hasBundle: true, resume: welcome.resume }));
    const again = await back.frame('welcome');
    expect(again.session).toBe(adopted.link.session);
    expect(again.received).toBeNull();
    back.send({ t: 'msg', seq: 1, m: { t: 'after-restart' } });
    await new Promise<void>((r) => {
      const check = () => (adopted.messages.length > 0 ? r() : setImmediate(check));
      check();
    });
    expect(adopted.messages).toEqual([{ t: 'after-restart' }]);
  });

  it("refuses a resume proof made for another attempt's pod", async () => {
    const { server, port } = await startServer();
    const mine = attemptLink(server);
    const other = attemptLink(server);
    const pod = await dial(port);
    pod.send(hello(other.runId, other.token));
    const welcome = await pod.frame('welcome');
    const first = await dial(port);
    first.send(hello(mine.runId, mine.token));
    await first.frame('bundle');
    const borrower = await dial(port);
    borrower.send(hello(mine.runId, mine.token, { hasBundle: true, resume: welcome.resume }));
    await borrower.frame('refused');
    expect(first.isClosed()).toBe(false);
  });

  it('speaks TLS only: a plaintext hello gets no frame and is closed, and the relay goes on', async () => {
    const { server, port } = await startServer();
    const attempt = attemptLink(server);
    const plain = await dial(port, true);
    plain.send(hello(attempt.runId, attempt.token));
    await plain.closed;
    expect(plain.frames).toEqual([]);
    expect(attempt.link.hasConnected).toBe(false);
    await completeSession(port, attempt);
  });

  it("presents the key the worker's pods are pinned to: the same for a restarted worker of that name, another for another name", async () => {
    const { port } = await startServer();
    const pin = relayPin(KEY, WORKER);
    const socket = await new Promise<ReturnType<typeof connectPinned>>((resolve, reject) => {
      const s = connectPinned({ host: '127.0.0.1', port, pin }, () => resolve(s));
      s.once('error', reject);
    });
    expect(socket.getProtocol()).toBe('TLSv1.3');
    socket.destroy();
    expect((await relayIdentity(KEY, WORKER)).pin).toBe(pin);
    expect(relayPin(KEY, 'another-worker')).not.toBe(pin);
    expect(relayPin(relayKey('op_another_key'), WORKER)).not.toBe(pin);
  });

  it('makes a pod refuse a relay whose key does not match its pin, before it sends anything', async () => {
    // The relay of another worker: a valid certificate, the wrong key.
    const other = await relayIdentity(KEY, 'another-worker');
    let received = 0;
    const connections: Socket[] = [];
    const impostor = createTlsServer({ key: other.key, cert: other.cert, minVersion: 'TLSv1.3' }, (s) => {
      s.on('data', (chunk: Buffer) => (received += chunk.length));
      s.on('error', () => {});
    });
    impostor.on('connection', (raw: Socket) => connections.push(raw));
    impostor.on('tlsClientError', () => {});
    await new Promise<void>((r) => impostor.listen(0, '127.0.0.1', () => r()));
    const port = (impostor.address() as { port: number }).port;
    try {
      const error = await new Promise<Error>((resolve) => {
        const s = connectPinned({ host: '127.0.0.1', port, pin: relayPin(KEY, WORKER) }, () =>
          resolve(new Error('verified an impostor')),
        );
        s.once('error', resolve);
      });
      expect(error).toBeInstanceOf(RelayPinMismatch);

      // The pod runner itself: it names the mismatch, exits non-zero and never sent its token.
      const runner = spawn(process.execPath, ['--import', 'tsx', POD_RUNNER], {
        env: {
          PATH: process.env.PATH ?? '',
          OUTPOST_RELAY_ADDRESS: `127.0.0.1:${port}`,
          OUTPOST_RELAY_TOKEN: relayToken(KEY, 'run-1', 1),
          OUTPOST_RELAY_PIN: relayPin(KEY, WORKER),
          OUTPOST_RUN_ID: 'run-1',
          OUTPOST_RUN_ATTEMPT: '1',
        },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      runner.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const code = await new Promise<number | null>((r) => runner.once('exit', (c) => r(c)));
      expect(code).not.toBe(0);
      expect(stderr).toContain('not the pinned one');
      // Both clients connected and finished the handshake's key check; neither sent a byte after it.
      await Promise.all(connections.map((s) => new Promise<void>((r) => (s.destroyed ? r() : s.once('close', () => r())))));
      expect(connections).toHaveLength(2);
      expect(received).toBe(0);
    } finally {
      await new Promise<void>((r) => impostor.close(() => r()));
    }
  });
});
