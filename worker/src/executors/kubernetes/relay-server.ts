import { randomBytes, randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import { attemptKey } from '../executor.js';
import {
  type BundleFile,
  HELLO_FRAME_BYTES,
  Outbox,
  POD_FRAME_BYTES,
  readFrames,
  resumeNonce,
  resumeProof,
  tokenMatches,
  type WorkerFrame,
  writeFrame,
} from './relay-protocol.js';

/** What a link hands a pod that has no bundle yet: the verified bundle's files, its entry and the run's variables. */
export interface BundlePayload {
  entry: string;
  env: Record<string, string>;
  files: () => Promise<BundleFile[]>;
}

/**
 * The worker's end of one attempt's relay session. Messages sent while the pod is not connected
 * wait in the outbox; frames the pod re-sends after a reconnect are taken once.
 */
export class RelayLink {
  readonly session = randomUUID();
  private socket: Socket | null = null;
  private readonly outbox = new Outbox();
  /** The last pod frame taken; frames at or below it are re-sends. */
  private received = 0;
  private ackTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private connectedOnce = false;
  private readonly connectWaiters: (() => void)[] = [];
  /** The Node.js version the pod said it runs (its hello), once one connected. */
  nodeVersion: string | null = null;
  /**
   * Whether the first connection that proves the token may take this link: true for an attempt this
   * process started (its pod has not connected yet), false once one has and for an adopted attempt,
   * whose pod connected to an earlier worker process and holds a resume proof.
   */
  private claimable: boolean;
  /** The nonce of the resume proof held by the pod that took this link. */
  private nonce: string | null = null;

  constructor(
    readonly runId: string,
    readonly attempt: number,
    private readonly onMessage: (m: unknown) => void,
    private readonly bundle: BundlePayload | null,
    private readonly log: Logger,
  ) {
    this.claimable = bundle !== null;
  }

  /**
   * Decides who may attach: the first connection (no resume proof) takes a link this process
   * started; after that, and on an adopted link, only the nonce of the pod that took it is let in.
   * Returns the nonce to welcome the connection with, or why it is refused.
   */
  admit(resume: string | null): { nonce: string } | { refused: string } {
    if (this.closed) return { refused: 'the attempt is over' };
    if (resume === null) {
      if (!this.claimable) return { refused: 'another connection holds this attempt' };
      this.claimable = false;
      this.nonce = randomBytes(16).toString('hex');
      return { nonce: this.nonce };
    }
    // An adopted link binds to the first valid proof it sees: only the pod an earlier process welcomed has one.
    this.nonce ??= resume;
    this.claimable = false;
    return resume === this.nonce ? { nonce: resume } : { refused: 'another connection holds this attempt' };
  }

  /** Queues a message for the flow; false once the link is closed. */
  send(m: unknown): boolean {
    if (this.closed) return false;
    const frame = this.outbox.add(m);
    if (this.socket) writeFrame(this.socket, frame);
    return true;
  }

  /** Whether a pod has connected to this link at least once. */
  get hasConnected(): boolean {
    return this.connectedOnce;
  }

  /** Resolves once a pod has connected (at once if one has), or after `ms`. */
  connected(ms: number): Promise<boolean> {
    if (this.connectedOnce) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      this.connectWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /**
   * A pod was admitted: it takes over the link (an older connection of the same pod, half-open
   * after a network break, is dropped) and is welcomed with its resume proof.
   */
  async attach(
    socket: Socket,
    hello: { session: unknown; received: unknown; hasBundle: unknown; node?: unknown },
    resume: string,
  ): Promise<void> {
    // The pod's word, kept only when it looks like a Node version: it goes into the run's manifest.
    if (typeof hello.node === 'string' && /^v\d{1,3}\.\d{1,3}\.\d{1,3}[\w.-]{0,40}$/.test(hello.node)) {
      this.nodeVersion = hello.node;
    }
    if (this.closed) {
      writeFrame(socket, { t: 'refused', reason: 'the attempt is over' });
      socket.end();
      return;
    }
    this.socket?.destroy();
    this.socket = socket;
    const sameSession = hello.session === this.session;
    if (sameSession && typeof hello.received === 'number') this.outbox.ack(hello.received);
    writeFrame(socket, { t: 'welcome', session: this.session, received: sameSession ? this.received : null, resume });
    if (hello.hasBundle !== true) {
      if (!this.bundle) {
        writeFrame(socket, { t: 'refused', reason: 'this worker no longer has the bundle of the attempt' });
        socket.end();
        return;
      }
      const frame: WorkerFrame = {
        t: 'bundle',
        entry: this.bundle.entry,
        env: this.bundle.env,
        files: await this.bundle.files(),
      };
      if (this.socket !== socket) return;
      writeFrame(socket, frame);
    }
    for (const frame of this.outbox.pending()) writeFrame(socket, frame);
    this.log.debug({ resumed: sameSession }, 'pod connected to the relay');
    if (!this.connectedOnce) {
      this.connectedOnce = true;
      for (const waiter of this.connectWaiters.splice(0)) waiter();
    }
    socket.on('close', () => {
      if (this.socket === socket) this.socket = null;
    });
  }

  /** A frame from the attached pod. */
  take(socket: Socket, frame: Record<string, unknown>): void {
    if (socket !== this.socket) return;
    if (frame.t === 'ack' && typeof frame.seq === 'number') {
      this.outbox.ack(frame.seq);
      return;
    }
    if (frame.t !== 'msg' || typeof frame.seq !== 'number') return;
    if (frame.seq <= this.received) return;
    this.received = frame.seq;
    this.scheduleAck();
    this.onMessage(frame.m);
  }

  private scheduleAck(): void {
    if (this.ackTimer) return;
    this.ackTimer = setTimeout(() => {
      this.ackTimer = null;
      if (this.socket) writeFrame(this.socket, { t: 'ack', seq: this.received });
    }, 20);
  }

  /** The attempt is over: nothing more is sent or taken. */
  close(): void {
    this.closed = true;
    if (this.ackTimer) clearTimeout(this.ackTimer);
    this.ackTimer = null;
    if (this.socket && this.received > 0) writeFrame(this.socket, { t: 'ack', seq: this.received });
    this.socket?.end();
    this.socket = null;
    for (const waiter of this.connectWaiters.splice(0)) waiter();
  }
}

/**
 * The TLS server pods dial: it checks each pod's token (and, after its first connection, its resume
 * proof) and hands the connection to its attempt's link. Plaintext gets nothing: the handshake fails.
 */
export class RelayServer {
  private readonly links = new Map<string, RelayLink>();
  private readonly sockets = new Set<Socket>();
  private server: Server | null = null;
  private listening: Promise<{ host: string; port: number }> | null = null;

  constructor(
    private readonly key: Buffer,
    /** The certificate and key the relay presents (`relayIdentity`); made when the server starts. */
    private readonly identity: () => Promise<{ key: string; cert: string }>,
    private readonly listen: { host: string; port: number },
    private readonly log: Logger,
    /** How long a connection may take to say hello before it is dropped. */
    private readonly helloTimeoutMs = 10_000,
  ) {}

  /** Starts listening (once); resolves with the bound address. */
  start(): Promise<{ host: string; port: number }> {
    this.listening ??= this.identity().then(({ key, cert }) => this.bind(key, cert));
    return this.listening;
  }

  private bind(key: string, cert: string): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      const server = createServer({ key, cert, minVersion: 'TLSv1.3', handshakeTimeout: this.helloTimeoutMs }, (socket) =>
        this.accept(socket),
      );
      this.server = server;
      server.on('connection', (raw: Socket) => {
        this.sockets.add(raw);
        raw.on('close', () => this.sockets.delete(raw));
        raw.setNoDelay(true);
        raw.setKeepAlive(true, 10_000);
      });
      // A plaintext client, a scanner or a pod pinned to another key: that connection ends, nothing else.
      server.on('tlsClientError', (error, socket) =>
        this.log.debug({ err: error, remote: socket.remoteAddress }, 'a relay connection failed its TLS handshake'),
      );
      server.once('error', reject);
      server.listen(this.listen.port, this.listen.host, () => {
        server.off('error', reject);
        const address = server.address();
        const port = typeof address === 'object' && address ? address.port : this.listen.port;
        this.log.info({ host: this.listen.host, port }, `relay for pods listening on ${this.listen.host}:${port}`);
        resolve({ host: this.listen.host, port });
      });
    });
  }

  register(link: RelayLink): void {
    this.links.set(attemptKey(link), link);
  }

  unregister(link: RelayLink): void {
    if (this.links.get(attemptKey(link)) === link) this.links.delete(attemptKey(link));
    link.close();
  }

  private accept(socket: TLSSocket): void {
    let link: RelayLink | null = null;
    // A connection that does not say hello promptly is dropped.
    const helloTimer = setTimeout(() => socket.destroy(), this.helloTimeoutMs);
    socket.on('close', () => clearTimeout(helloTimer));
    const reader = readFrames(
      socket,
      HELLO_FRAME_BYTES,
      (frame) => {
        if (link) {
          link.take(socket, frame);
          return;
        }
        clearTimeout(helloTimer);
        const { runId, attempt, token } = frame;
        if (frame.t !== 'hello' || typeof runId !== 'string' || typeof attempt !== 'number' || typeof token !== 'string') {
          socket.destroy();
          return;
        }
        if (!tokenMatches(this.key, runId, attempt, token)) {
          this.log.warn({ runId, attempt, remote: socket.remoteAddress }, 'refused a relay connection with a bad token');
          writeFrame(socket, { t: 'refused', reason: 'bad relay token' });
          socket.end();
          return;
        }
        const found = this.links.get(attemptKey({ runId, attempt }));
        if (!found) {
          // Not (or no longer) an attempt of this worker process; the pod retries until one adopts it.
          socket.destroy();
          return;
        }
        let nonce: string | null = null;
        if (frame.resume !== undefined) {
          nonce = typeof frame.resume === 'string' ? resumeNonce(this.key, runId, attempt, frame.resume) : null;
          if (nonce === null) {
            this.log.warn({ runId, attempt, remote: socket.remoteAddress }, 'refused a relay connection with a bad resume proof');
            writeFrame(socket, { t: 'refused', reason: 'bad resume proof' });
            socket.end();
            return;
          }
        }
        const admitted = found.admit(nonce);
        if ('refused' in admitted) {
          this.log.warn(
            { runId, attempt, remote: socket.remoteAddress },
            `refused a relay connection for an attempt: ${admitted.refused}`,
          );
          writeFrame(socket, { t: 'refused', reason: admitted.refused });
          socket.end();
          return;
        }
        link = found;
        reader.limit = POD_FRAME_BYTES;
        found
          .attach(
            socket,
            frame as { session: unknown; received: unknown; hasBundle: unknown; node?: unknown },
            resumeProof(this.key, runId, attempt, admitted.nonce),
          )
          .catch((error: unknown) => {
            this.log.error({ err: error, runId, attempt }, 'could not hand the pod its attempt');
            socket.destroy();
          });
      },
      (problem) => this.log.warn({ remote: socket.remoteAddress, runId: link?.runId }, `closed a relay connection: ${problem}`),
    );
  }

  async close(): Promise<void> {
    for (const link of this.links.values()) link.close();
    this.links.clear();
    for (const socket of this.sockets) socket.destroy();
    const server = this.server;
    if (!server) return;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    this.server = null;
    this.listening = null;
  }
}
