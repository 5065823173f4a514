import { recordTaskAck, TASK_EVENT_WINDOW, taskWindow } from './ipc-window.js';
import { lazy } from './lazy.js';
import type { RpcBody, RpcMethod, RunnerToWorkerMessage } from './protocol.js';
import type { ReplyMessage, RpcError as RpcErrorBody } from './worker-messages.js';

type Protocol = typeof import('./worker-messages.js');

/*
 * The schemas of the worker's messages, loaded when a channel opens rather than when the runtime is
 * imported. A reply only ever answers an rpc sent after that, so it nearly always finds them loaded;
 * one that does not is checked once they are, before any later message.
 */
let protocol: Protocol | null = null;
const loadProtocol = lazy(() =>
  import('./worker-messages.js').then((loaded) => {
    protocol = loaded;
    return loaded;
  }),
);

/** The part of Node's `process` (as an IPC child) the channel uses; tests pass an in-memory stand-in. */
export interface IpcPort {
  send?: ((message: unknown, callback: (error: Error | null) => void) => boolean) | undefined;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  on(event: 'disconnect', listener: () => void): unknown;
  off(event: 'message', listener: (message: unknown) => void): unknown;
  off(event: 'disconnect', listener: () => void): unknown;
}

/** An `rpc` the worker answered with `ok: false`, or that could not be answered. */
export class RpcFailedError extends Error {
  override readonly name = 'RpcFailedError';
  readonly status: number | undefined;
  readonly code: string | undefined;
  constructor(method: string, error: RpcErrorBody) {
    super(`${method} failed: ${error.message}`);
    this.status = error.status;
    this.code = error.code;
  }
}

/** How long one rpc may wait for its reply; the worker retries the API behind it, so this is generous. */
export const DEFAULT_RPC_TIMEOUT_MS = 120_000;

interface Pending {
  method: string;
  resolve: (result: unknown) => void;
  reject: (error: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

/** The number in an `rpcPending` message, if that is what `raw` is. */
function pendingRpcId(raw: unknown): number | null {
  const id = (raw as { id?: unknown }).id;
  return typeof id === 'number' && Number.isInteger(id) ? id : null;
}

/*
 * The runner and the bundle's own copy of this module share one process and one channel. Their rpc
 * ids come from a single process-wide counter so a reply can never be taken for the other's request.
 */
const RPC_SEQ_KEY = Symbol.for('outpost.ipc.rpcSeq');
function nextRpcId(): number {
  const holder = globalThis as { [RPC_SEQ_KEY]?: { next: number } };
  holder[RPC_SEQ_KEY] ??= { next: 1 };
  const id = holder[RPC_SEQ_KEY].next;
  holder[RPC_SEQ_KEY].next += 1;
  return id;
}

/** Request/response and fire-and-forget messages over the IPC channel to the worker. */
export class IpcChannel {
  private readonly pending = new Map<number, Pending>();
  private readonly cancelListeners = new Set<(reason: string) => void>();
  private closed = false;

  constructor(
    private readonly port: IpcPort,
    private readonly rpcTimeoutMs = DEFAULT_RPC_TIMEOUT_MS,
  ) {
    port.on('message', this.onMessage);
    port.on('disconnect', this.onDisconnect);
    void loadProtocol();
  }

  /** Queue a message; delivery failures surface as a disconnect, which ends the process. */
  send(message: RunnerToWorkerMessage): void {
    this.port.send?.(message, () => {});
  }

  /** Resolves once the message (and, the channel being ordered, every one before it) is written. */
  flush(message: RunnerToWorkerMessage): Promise<void> {
    return new Promise((resolve, reject) => {
      if (!this.port.send) {
        reject(new Error('no IPC channel to the worker'));
        return;
      }
      this.port.send(message, (error) => (error ? reject(error) : resolve()));
    });
  }

  /** Sends a task-run event; counted against the window. */
  sendTaskEvent(message: RunnerToWorkerMessage): void {
    taskWindow(this.port).sent += 1;
    this.send(message);
  }

  /**
   * Null when another task-run event may go now; otherwise a promise that resolves once the worker
   * has settled enough of the earlier ones (or the channel is gone, when waiting would help nothing).
   */
  taskRoom(): Promise<void> | null {
    const window = taskWindow(this.port);
    if (this.closed || window.settled === null || window.sent - window.settled < TASK_EVENT_WINDOW) return null;
    return new Promise((resolve) => window.waiters.push(resolve));
  }

  /** Lets as many waiting tasks go as the window has room for (each sends at least its creation), or all of them. */
  private releaseTaskRoom(all: boolean): void {
    const window = taskWindow(this.port);
    const room = all || window.settled === null ? Infinity : TASK_EVENT_WINDOW - (window.sent - window.settled);
    if (room <= 0 || window.waiters.length === 0) return;
    for (const resolve of window.waiters.splice(0, room)) resolve();
  }

  rpc<M extends RpcMethod>(method: M, body: RpcBody<M>): Promise<unknown> {
    if (this.closed) return Promise.reject(new RpcFailedError(method, { message: 'IPC channel closed' }));
    const id = nextRpcId();
    return new Promise((resolve, reject) => {
      this.pending.set(id, { method, resolve, reject, timer: this.replyTimer(id, method, reject) });
      this.send({ t: 'rpc', id, method, body } as RunnerToWorkerMessage);
    });
  }

  /** Fails rpc `id` when no reply, nor word that the worker is still on it, comes within the rpc timeout. */
  private replyTimer(id: number, method: string, reject: (error: Error) => void): ReturnType<typeof setTimeout> {
    return setTimeout(() => {
      this.pending.delete(id);
      reject(new RpcFailedError(method, { message: `no reply within ${this.rpcTimeoutMs} ms` }));
    }, this.rpcTimeoutMs);
  }

  onCancel(listener: (reason: string) => void): () => void {
    this.cancelListeners.add(listener);
    return () => this.cancelListeners.delete(listener);
  }

  /** Stop listening; pending rpcs fail. The port itself stays open for whoever else uses it. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.port.off('message', this.onMessage);
    this.port.off('disconnect', this.onDisconnect);
    this.cancelListeners.clear();
    this.releaseTaskRoom(true);
    this.failPending('IPC channel closed');
  }

  private readonly onMessage = (raw: unknown): void => {
    const t = (raw as { t?: unknown } | null)?.t;
    if (t === 'cancel') {
      const reason = (raw as { reason?: unknown }).reason;
      for (const listener of this.cancelListeners) listener(typeof reason === 'string' ? reason : 'cancelled');
      return;
    }
    if (t === 'taskAck') {
      if (recordTaskAck(this.port, raw)) this.releaseTaskRoom(false);
      return;
    }
    if (t === 'rpcPending') {
      // The worker keeps retrying the API behind this rpc (an outage): wait another full timeout.
      const id = pendingRpcId(raw);
      const entry = id === null ? undefined : this.pending.get(id);
      if (id !== null && entry) {
        clearTimeout(entry.timer);
        entry.timer = this.replyTimer(id, entry.method, entry.reject);
      }
      return;
    }
    if (t !== 'reply') return;
    if (protocol) this.onReply(protocol, raw);
    else void loadProtocol().then((loaded) => this.onReply(loaded, raw));
  };

  private onReply({ ReplyMessage }: Protocol, raw: unknown): void {
    const parsed = ReplyMessage.safeParse(raw);
    if (!parsed.success) return;
    const reply: ReplyMessage = parsed.data;
    const entry = this.pending.get(reply.id);
    if (!entry) return;
    this.pending.delete(reply.id);
    clearTimeout(entry.timer);
    if (reply.ok) entry.resolve(reply.result);
    else entry.reject(new RpcFailedError(entry.method, reply.error));
  }

  private readonly onDisconnect = (): void => {
    this.releaseTaskRoom(true);
    this.failPending('IPC channel disconnected');
  };

  private failPending(message: string): void {
    for (const [id, entry] of this.pending) {
      this.pending.delete(id);
      clearTimeout(entry.timer);
      entry.reject(new RpcFailedError(entry.method, { message }));
    }
  }
}
